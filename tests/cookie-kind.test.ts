// A session keeps its cookie kind and its lifetime through everything that rewrites it: a
// restore from PostgreSQL after Redis lost the entry, a touch, a degraded read, a re-authentication.
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { fileCleanups } from './helpers/cleanups.ts';
import { cookieExpires, hashOf, isBrowserSessionCookie, reauthenticate, sessionSetCookie } from './helpers/reauth.ts';
import { PASSWORD, registerUser, sessionCookie, sessionKeyOf, uniqueEmail } from './helpers/test-app.ts';

const files = fileCleanups();

describe('a remembered session re-authenticated', () => {
  it("gets a cookie that ends with the session, not a whole SESSION_TTL later", async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      const t = await files.app({ SESSION_TTL: '86400', SESSION_IDLE_TIMEOUT: '86400' });
      const user = await registerUser(t);
      vi.setSystemTime(Date.now() + 6 * 3600_000); // six hours later, the same day
      const res = await reauthenticate(user.agent);
      expect(res.status).toBe(200);
      const me = await request(t.app).get('/api/auth/me').set('Cookie', sessionCookie(res));
      const cookie = cookieExpires(sessionSetCookie(res))!.getTime();
      const sessionEnds = new Date(me.body.session.expiresAt).getTime();
      expect(Math.abs(cookie - sessionEnds), `cookie ${new Date(cookie).toISOString()} vs session ${me.body.session.expiresAt}`).toBeLessThan(60_000);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a not-remembered session never gets a persistent cookie', () => {
  async function shortSession(t: Awaited<ReturnType<typeof files.app>>) {
    const email = uniqueEmail();
    const reg = await request(t.app).post('/api/auth/register').send({ email, password: PASSWORD });
    expect(reg.status).toBe(201);
    const agent = request.agent(t.app);
    const login = await agent.post('/api/auth/login').send({ email, password: PASSWORD, remember: false });
    expect(isBrowserSessionCookie(sessionSetCookie(login))).toBe(true);
    return { agent, cookie: sessionCookie(login), userId: reg.body.user.id as string };
  }
  const noPersistentCookie = (res: request.Response) => {
    const line = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('sid='));
    if (line) expect(isBrowserSessionCookie(line), line).toBe(true);
  };

  it('restore from PostgreSQL after Redis lost the entry, then a touch', async () => {
    const t = await files.app({ SESSION_IDLE_TIMEOUT: '60' });
    const s = await shortSession(t);
    await t.redis.unlink(sessionKeyOf(t, s.cookie));
    const res = await request(t.app).get('/api/auth/me').set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    noPersistentCookie(res);
    expect(JSON.parse((await t.redis.get(sessionKeyOf(t, s.cookie)))!)[1]).toBeNull();
    t.clock.advance(10_000);
    const touched = await request(t.app).get('/account').set('Cookie', s.cookie);
    noPersistentCookie(touched);
    expect(JSON.parse((await t.redis.get(sessionKeyOf(t, s.cookie)))!)[1]).toBeNull();
  });

  it('degraded read from PostgreSQL, then re-authentication while degraded', async () => {
    const t = await files.app();
    const s = await shortSession(t);
    Object.defineProperty(t.sessions.outbox, 'redisTrusted', { get: () => false, configurable: true });
    const res = await request(t.app).get('/api/auth/me').set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    noPersistentCookie(res);
    const re = await request(t.app).post('/api/auth/reauthenticate').set('Cookie', s.cookie).send({ password: PASSWORD });
    expect(re.status).toBe(200);
    expect(isBrowserSessionCookie(sessionSetCookie(re))).toBe(true);
    const row = await t.db.session.findUniqueOrThrow({ where: { idHash: hashOf(sessionCookie(re)) } });
    expect((row.data as { cookie: { expires: unknown } }).cookie.expires).toBeNull();
  });
});
