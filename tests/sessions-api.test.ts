import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { buildTestApp, loginAgent, PASSWORD, rawSessionId, registerUser, sessionKeyOf, type TestApp } from './helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const sessionKey = (cookie: string) => sessionKeyOf(t, cookie);

describe('GET /api/sessions', () => {
  it('lists the user\'s sessions with public handles, marks the current one and describes the device', async () => {
    const first = await registerUser(t);
    const phone = await loginAgent(t, first.email, undefined, IPHONE);
    const stranger = await registerUser(t);

    const res = await first.agent.get('/api/sessions');
    expect(res.status).toBe(200);
    expect(res.body.sessions).toHaveLength(2);
    const [a, b] = res.body.sessions;
    for (const s of res.body.sessions) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
      expect(s.id).toMatch(/^[\w-]{22}$/);
      for (const cookie of [first.cookie, phone.cookie]) {
        expect(s.id).not.toBe(rawSessionId(cookie));
        expect(s.id).not.toBe(hashSessionId(rawSessionId(cookie)));
      }
      expect(s.ip).toBe('127.0.0.1');
    }
    expect([a.current, b.current].sort()).toEqual([false, true]);
    const phoneView = res.body.sessions.find((s: { userAgent: string }) => s.userAgent === IPHONE);
    expect(phoneView.current).toBe(false);
    expect(phoneView.device).toEqual({ type: 'mobile', browser: 'Mobile Safari 17', os: 'iOS 17.0' });
    const strangers = await stranger.agent.get('/api/sessions');
    expect(strangers.body.sessions).toHaveLength(1);
  });

  it('answers 401 when not signed in', async () => {
    expect((await request(t.app).get('/api/sessions')).status).toBe(401);
  });
});

describe('DELETE /api/sessions/:id', () => {
  it('revokes another device: its Redis entry, index entry and row are gone and its cookie stops working', async () => {
    const first = await registerUser(t);
    const second = await loginAgent(t, first.email);
    const list = await first.agent.get('/api/sessions');
    const other = list.body.sessions.find((s: { current: boolean }) => !s.current);

    const res = await first.agent.delete(`/api/sessions/${other.id}`);
    expect(res.status).toBe(204);
    expect(await t.redis.exists(sessionKey(second.cookie))).toBe(0);
    expect(await t.redis.zScore(t.sessions.cache.keys.userIndex(first.user.id), hashSessionId(rawSessionId(second.cookie)))).toBeNull();
    expect(await t.db.session.findUnique({ where: { handle: other.id } })).toBeNull();
    expect((await second.agent.get('/api/auth/me')).status).toBe(401);
    expect((await first.agent.get('/api/auth/me')).status).toBe(200);
    const history = await first.agent.get('/api/sessions/history');
    expect(history.body.events[0]).toMatchObject({ type: 'revoked', sessionId: other.id });
  });

  it('answers 404 for another user\'s session and leaves it alone', async () => {
    const mine = await registerUser(t);
    const theirs = await registerUser(t);
    const theirId = (await theirs.agent.get('/api/auth/me')).body.session.id;
    const res = await mine.agent.delete(`/api/sessions/${theirId}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await theirs.agent.get('/api/auth/me')).status).toBe(200);
  });

  it.each(['nope', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(22), '%00'])('answers 404 for the handle %s', async (handle) => {
    const { agent } = await registerUser(t);
    const res = await agent.delete(`/api/sessions/${handle}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('signs out when the handle is the current session', async () => {
    const { agent, cookie } = await registerUser(t);
    const id = (await agent.get('/api/auth/me')).body.session.id;
    const res = await agent.delete(`/api/sessions/${id}`);
    expect(res.status).toBe(204);
    expect(await t.redis.exists(sessionKey(cookie))).toBe(0);
    expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
  });
});

describe('POST /api/sessions/revoke-others', () => {
  it('revokes every other session and keeps this one', async () => {
    const first = await registerUser(t);
    const others = [await loginAgent(t, first.email), await loginAgent(t, first.email)];
    const res = await first.agent.post('/api/sessions/revoke-others');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });
    for (const other of others) expect((await other.agent.get('/api/auth/me')).status).toBe(401);
    expect((await first.agent.get('/api/auth/me')).status).toBe(200);
    expect(await t.db.session.count({ where: { userId: first.user.id } })).toBe(1);
    expect(await t.redis.zCard(t.sessions.cache.keys.userIndex(first.user.id))).toBe(1);
  });
});

describe('GET /api/sessions/history', () => {
  it('lists the user\'s events newest first with time, IP and user agent', async () => {
    const first = await registerUser(t);
    await request(t.app).post('/api/auth/login').send({ email: first.email, password: 'wrong password' });
    const second = await loginAgent(t, first.email);
    await second.agent.post('/api/auth/logout').set('User-Agent', 'vitest-second-device');
    const res = await first.agent.get('/api/sessions/history');
    expect(res.status).toBe(200);
    expect(res.body.events.map((e: { type: string }) => e.type)).toEqual(['logout', 'login', 'login_failed', 'login', 'registered']);
    const times = res.body.events.map((e: { at: string }) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(res.body.events[0]).toEqual({ type: 'logout', at: expect.any(String), ip: '127.0.0.1', userAgent: expect.any(String), sessionId: expect.stringMatching(/^[\w-]{22}$/) });
  });

  it('a device signed out from another names the device that ended and, separately, the one that did it', async () => {
    const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
    const owner = await registerUser(t, { userAgent: firefox });
    const other = await loginAgent(t, owner.email, PASSWORD, chrome);
    const chromeHandle = (await other.agent.get('/api/auth/me')).body.session.id;
    const firefoxHandle = (await owner.agent.get('/api/auth/me')).body.session.id;
    expect((await owner.agent.delete(`/api/sessions/${chromeHandle}`).set('User-Agent', firefox)).status).toBe(204);
    const [revoked] = (await owner.agent.get('/api/sessions/history')).body.events;
    expect(revoked).toEqual({
      type: 'revoked',
      at: expect.any(String),
      ip: '127.0.0.1',
      userAgent: chrome,
      sessionId: chromeHandle,
      by: { sessionId: firefoxHandle, ip: '127.0.0.1', userAgent: firefox },
    });
  });

  it('a session ended by an admin says so, without the admin\'s device', async () => {
    const victim = await registerUser(t);
    const admin = await registerUser(t);
    await t.db.user.update({ where: { id: admin.user.id }, data: { role: 'admin' } });
    const adminAgent = (await loginAgent(t, admin.email)).agent;
    expect((await adminAgent.post(`/admin/users/${victim.user.id}/revoke-sessions`).set('Accept', 'application/json')).status).toBe(200);
    const events = await t.db.sessionEvent.findMany({ where: { userId: victim.user.id, type: 'revoked' } });
    expect(events).toHaveLength(1);
    const fresh = await loginAgent(t, victim.email);
    const [, revoked] = (await fresh.agent.get('/api/sessions/history')).body.events;
    expect(revoked).toMatchObject({ type: 'revoked', userAgent: 'vitest', by: { admin: true } });
    expect(revoked.by).toEqual({ admin: true });
  });
});
