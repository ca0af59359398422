// The mirrored store itself: what lands in Redis and PostgreSQL, restores, expiry, throttling.
import { allBuckets, bucketOfUser, newSessionId, SESSION_BUCKETS } from '../src/sessions/session-keys.ts';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { decodeSession } from '../src/sessions/session-serializer.ts';
import { sessionKeyOf, buildTestApp, loginAgent, rawSessionId, registerUser, runKeys, type TestApp } from './helpers/test-app.ts';

const MINUTE_MS = 60_000;
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ SESSION_TTL: '3600', SESSION_IDLE_TIMEOUT: '900' });
});
afterAll(async () => t.close());

const hashOf = (cookie: string) => hashSessionId(rawSessionId(cookie));
const sessionKey = (cookie: string) => sessionKeyOf(t, cookie);

/** Simulates Redis losing this app's data (restart without persistence, FLUSHALL, eviction). */
async function loseRedisData() {
  const keys = await runKeys(t);
  if (keys.length > 0) await t.redis.unlink(keys);
}

describe('storage', () => {
  it('never stores the raw session id: not in Redis keys or values, not in any column', async () => {
    const { cookie, user } = await registerUser(t);
    const sid = rawSessionId(cookie);
    const keys = await runKeys(t);
    expect(keys).toContain(sessionKey(cookie));
    for (const key of keys) {
      expect(key).not.toContain(sid);
      const type = await t.redis.type(key);
      const value = type === 'string' ? await t.redis.get(key) : type === 'hash' ? JSON.stringify(await t.redis.hGetAll(key)) : JSON.stringify(await t.redis.zRange(key, 0, -1));
      expect(value ?? '').not.toContain(sid);
    }
    const rows = await t.db.$queryRaw<Array<{ row: string }>>`SELECT row_to_json(s)::text AS row FROM "Session" s WHERE "userId" = ${user.id}::uuid`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.row).toContain(hashOf(cookie));
    expect(rows[0]!.row).not.toContain(sid);
  });

  it('stores nothing for a session without a signed-in user, whatever it holds', async () => {
    const before = await runKeys(t);
    const sid = 'anonymous-session-id-for-this-test';
    const anonymous = { cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000), httpOnly: true, path: '/' }, cart: ['a lot of data'] };
    await t.sessions.store.set(sid, anonymous as never);
    await t.sessions.store.touch(sid, anonymous as never);
    expect(await runKeys(t)).toEqual(before);
    expect(await t.db.session.count({ where: { idHash: hashSessionId(sid) } })).toBe(0);
  });

  it('mirrors a new session as one Redis entry, one index entry and one row with the same expiry', async () => {
    const { cookie, user } = await registerUser(t);
    const row = await t.db.session.findUniqueOrThrow({ where: { idHash: hashOf(cookie) } });
    expect(row).toMatchObject({ userId: user.id, ip: '127.0.0.1', userAgent: 'vitest' });
    const score = await t.redis.zScore(t.sessions.cache.keys.userIndex(user.id), hashOf(cookie));
    expect(score).toBe(row.expiresAt.getTime());
    // Idle timeout (900 s) comes before the absolute lifetime (3600 s).
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(900_000);
    expect(row.absoluteExpiresAt.getTime() - row.createdAt.getTime()).toBe(3_600_000);
    const ttlMs = await t.redis.pTTL(sessionKey(cookie));
    expect(ttlMs).toBeGreaterThan(890_000);
    expect(ttlMs).toBeLessThanOrEqual(900_000);
  });
});

describe('Redis data loss', () => {
  it('a user whose index Redis lost still sees every session listed (from the rows)', async () => {
    const { agent, user } = await registerUser(t);
    await loginAgent(t, user.email);
    await t.redis.unlink(t.sessions.cache.keys.userIndex(user.id)); // the entries stay, the index is gone
    expect((await agent.get('/api/auth/me')).status).toBe(200);
    expect((await agent.get('/api/sessions')).body.sessions).toHaveLength(2);
  });

  it('refuses to store a signed-in session under an id issued for another bucket (it could never be read back)', async () => {
    const { cookie, user } = await registerUser(t);
    const sess = decodeSession((await t.redis.get(sessionKey(cookie)))!);
    let foreign = newSessionId(null);
    while (parseInt(foreign.slice(0, 2), 16) === bucketOfUser(user.id)) foreign = newSessionId(null);
    expect(parseInt(foreign.slice(0, 2), 16)).toBeLessThan(SESSION_BUCKETS);
    await expect(t.sessions.store.set(foreign, sess)).rejects.toThrow("a session id that does not carry its user's bucket");
  });

  it('restores a live session from PostgreSQL on its next request, with the user\'s other sessions', async () => {
    const first = await registerUser(t);
    const second = await loginAgent(t, first.email);
    await loseRedisData();
    expect(await t.redis.exists(sessionKey(first.cookie))).toBe(0);

    const me = await first.agent.get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(first.email);
    expect(await t.redis.exists(sessionKey(first.cookie))).toBe(1);
    expect(await t.redis.exists(sessionKey(second.cookie))).toBe(1);
    const list = await first.agent.get('/api/sessions');
    expect(list.body.sessions).toHaveLength(2);
    expect((await second.agent.get('/api/auth/me')).status).toBe(200);
  });

  it('does not bring back a revoked session', async () => {
    const first = await registerUser(t);
    const second = await loginAgent(t, first.email);
    expect((await first.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    await loseRedisData();
    expect((await second.agent.get('/api/auth/me')).status).toBe(401);
    expect(await t.redis.exists(sessionKey(second.cookie))).toBe(0);
    expect((await first.agent.get('/api/auth/me')).status).toBe(200);
  });

  it('does not bring back a session whose row has expired', async () => {
    const { agent, cookie } = await registerUser(t);
    await t.db.session.update({ where: { idHash: hashOf(cookie) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await loseRedisData();
    expect((await agent.get('/api/auth/me')).status).toBe(401);
  });

  it('a session deleted from PostgreSQL is gone everywhere once Redis forgets it', async () => {
    const { agent, cookie } = await registerUser(t);
    await t.db.session.delete({ where: { idHash: hashOf(cookie) } });
    await loseRedisData();
    expect((await agent.get('/api/auth/me')).status).toBe(401);
  });
});

describe('lastSeenAt', () => {
  it('is written at most once per minute: no Redis or database write for requests in between', async () => {
    const { agent, cookie } = await registerUser(t);
    const hash = hashOf(cookie);
    const before = await t.redis.get(sessionKey(cookie));
    const rowBefore = await t.db.session.findUniqueOrThrow({ where: { idHash: hash } });

    t.clock.advance(30_000);
    for (let i = 0; i < 5; i++) expect((await agent.get('/api/auth/me')).status).toBe(200);
    expect(await t.redis.get(sessionKey(cookie))).toBe(before);
    expect(t.sessions.lastSeen.size).toBe(0);
    await t.sessions.lastSeen.flush();
    expect((await t.db.session.findUniqueOrThrow({ where: { idHash: hash } })).lastSeenAt).toEqual(rowBefore.lastSeenAt);

    t.clock.advance(31_000); // 61 s after sign-in: due
    const me = await agent.get('/api/auth/me');
    expect(me.status).toBe(200);
    const after = decodeSession((await t.redis.get(sessionKey(cookie)))!);
    expect(after.auth!.lastSeenAt).toBeGreaterThanOrEqual(rowBefore.lastSeenAt.getTime() + 61_000);
    // The database is not written by the request itself, only by the write-behind flush.
    expect((await t.db.session.findUniqueOrThrow({ where: { idHash: hash } })).lastSeenAt).toEqual(rowBefore.lastSeenAt);
    expect(t.sessions.lastSeen.size).toBeGreaterThanOrEqual(1);
    await t.sessions.lastSeen.flush();
    const rowAfter = await t.db.session.findUniqueOrThrow({ where: { idHash: hash } });
    expect(rowAfter.lastSeenAt.getTime()).toBe(after.auth!.lastSeenAt);
    expect(rowAfter.expiresAt.getTime()).toBe(after.auth!.lastSeenAt + 900_000);
    // The Redis TTL and index score moved with the idle expiry.
    expect(await t.redis.zScore(t.sessions.cache.keys.userIndex(rowAfter.userId), hash)).toBe(rowAfter.expiresAt.getTime());
  });
});

describe('expiry', () => {
  it('signs out a session idle for longer than SESSION_IDLE_TIMEOUT and removes it everywhere', async () => {
    const { agent, cookie } = await registerUser(t);
    t.clock.advance(15 * MINUTE_MS + 1000);
    expect((await agent.get('/api/auth/me')).status).toBe(401);
    expect(await t.redis.exists(sessionKey(cookie))).toBe(0);
    expect(await t.db.session.findUnique({ where: { idHash: hashOf(cookie) } })).toBeNull();
  });

  it('signs out an active session after SESSION_TTL however recently it was used', async () => {
    const { agent, cookie } = await registerUser(t);
    for (let minutes = 10; minutes <= 50; minutes += 10) {
      t.clock.advance(10 * MINUTE_MS);
      expect((await agent.get('/api/auth/me')).status).toBe(200);
    }
    const ttlMs = await t.redis.pTTL(sessionKey(cookie));
    expect(ttlMs).toBeLessThanOrEqual(10 * MINUTE_MS); // capped by the absolute lifetime
    t.clock.advance(10 * MINUTE_MS);
    expect((await agent.get('/api/auth/me')).status).toBe(401);
    expect(await t.db.session.findUnique({ where: { idHash: hashOf(cookie) } })).toBeNull();
  });

  it('lets Redis expire the entry by TTL, and the expired row does not bring it back', async () => {
    const short = await buildTestApp({ SESSION_TTL: '60', SESSION_IDLE_TIMEOUT: '2' });
    try {
      const { agent, cookie } = await registerUser(short);
      expect((await agent.get('/api/auth/me')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await short.redis.exists(`${short.prefix}sess:${hashOf(cookie)}`)).toBe(0);
      expect((await agent.get('/api/auth/me')).status).toBe(401);
      expect(await short.redis.exists(`${short.prefix}sess:${hashOf(cookie)}`)).toBe(0);
      expect(await short.sessions.maintenance.sweepExpired(0)).toBeGreaterThanOrEqual(1);
      expect(await short.db.session.findUnique({ where: { idHash: hashOf(cookie) } })).toBeNull();
    } finally {
      await short.close();
    }
  });
});

describe('revocation during a request', () => {
  it('a request that was in flight when its session was revoked cannot write it back', async () => {
    const first = await registerUser(t);
    const victim = await loginAgent(t, first.email);
    const hash = hashOf(victim.cookie);
    // Load the session as a request would, revoke it, then let that request finish with a save.
    const loaded = await new Promise<any>((resolve, reject) => t.sessions.store.get(rawSessionId(victim.cookie), (err, s) => (err ? reject(err) : resolve(s))));
    expect(loaded.auth).toBeDefined();
    await first.agent.post('/api/sessions/revoke-others');
    loaded.auth.lastSeenAt = t.clock.now() - 61_000; // due for a touch, not expired
    await t.sessions.store.touch(rawSessionId(victim.cookie), loaded);
    await t.sessions.store.set(rawSessionId(victim.cookie), loaded);
    expect(await t.redis.exists(`${t.prefix}sess:${hash}`)).toBe(0);
    expect(await t.db.session.findUnique({ where: { idHash: hash } })).toBeNull();
    expect((await request(t.app).get('/api/auth/me').set('Cookie', victim.cookie)).status).toBe(401);
  });
});

describe('expiry counters (admin summary)', () => {
  it('count each live session and user once, through touches, revocation, logout and expiry', async () => {
    const own = await buildTestApp({ SESSION_TTL: '3600', SESSION_IDLE_TIMEOUT: '900' });
    try {
      const counts = () => own.sessions.cache.activeCounts(own.clock.now());
      // The per-minute fields of every bucket's counter (not its total `n` or trim mark `t`).
      const minuteFields = async (counter: (bucket: number) => string) => {
        const fields: Array<[string, string]> = [];
        for (const bucket of allBuckets()) fields.push(...Object.entries(await own.redis.hGetAll(counter(bucket))).filter(([field]) => field !== 'n' && field !== 't'));
        return fields;
      };
      const minutes = async () => (await minuteFields((b) => own.sessions.cache.keys.sessionCounts(b))).reduce((sum, [, n]) => sum + Number(n), 0);
      const a = await registerUser(own);
      const laptop = await loginAgent(own, a.email);
      const b = await registerUser(own);
      expect(await counts()).toEqual({ activeSessions: 3, activeUsers: 2 });

      // Touches move each session (and its user) to a later expiry minute, never count it twice.
      for (let i = 0; i < 3; i++) {
        own.clock.advance(2 * MINUTE_MS);
        for (const agent of [a.agent, laptop.agent, b.agent]) expect((await agent.get('/api/auth/me')).status).toBe(200);
      }
      expect(await counts()).toEqual({ activeSessions: 3, activeUsers: 2 });
      expect(await minutes()).toBe(3);

      expect((await a.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
      expect(await counts()).toEqual({ activeSessions: 2, activeUsers: 2 });
      expect((await b.agent.post('/api/auth/logout')).status).toBe(204);
      expect(await counts()).toEqual({ activeSessions: 1, activeUsers: 1 });

      // Past the idle timeout nothing is active, and the sweep drops the passed minutes.
      own.clock.advance(16 * MINUTE_MS);
      expect(await counts()).toEqual({ activeSessions: 0, activeUsers: 0 });
      expect(await own.sessions.cache.trimExpired(own.clock.now())).toBe(1);
      expect(await minuteFields((b) => own.sessions.cache.keys.sessionCounts(b))).toEqual([]);
      expect(await minuteFields((b) => own.sessions.cache.keys.userCounts(b))).toEqual([]);
    } finally {
      await own.close();
    }
  });
});
