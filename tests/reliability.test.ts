// Faults injected on the wire (a TCP proxy we cut) or by restarting a dedicated redis-server:
// what the product does while Redis or PostgreSQL is away, and how it comes back.
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { readSummary } from '../src/admin/analytics.ts';
import { AppError } from '../src/http/errors.ts';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { listUserSessions, type SessionEntry } from '../src/sessions/session-listing.ts';
import { buildTestApp, locateCookie, loginAgent, PASSWORD, rawSessionId, registerUser, sessionKeyOf, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { freePort } from '../scripts/lib/server-process.ts';
import { proxyInFrontOfPostgres, proxyInFrontOfRedis, type ServiceProxy } from './helpers/services.ts';
import { startRedisServer } from './helpers/redis-server.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const start = Date.now();
  const result = await work();
  return [result, Date.now() - start];
};
/** Recovery times measured here, printed at the end for the record. */
const measured: Record<string, number> = {};
afterAll(() => console.log('recovery times (ms):', JSON.stringify(measured)));

/** A TCP proxy in front of Redis or PostgreSQL, and an app that reaches it only through it. */
async function appBehindProxy(which: 'redis' | 'postgres'): Promise<{ proxy: ServiceProxy; t: TestApp }> {
  const proxy = await (which === 'redis' ? proxyInFrontOfRedis() : proxyInFrontOfPostgres());
  cleanups.push(() => proxy.close());
  return { proxy, t: await appBehind(proxy, which) };
}

async function appBehind(proxy: ServiceProxy, which: 'redis' | 'postgres', env: Record<string, string> = {}): Promise<TestApp> {
  const t = await buildTestApp({ ...(which === 'redis' ? { REDIS_URL: proxy.serviceUrl } : { DATABASE_URL: proxy.serviceUrl }), ...env });
  cleanups.push(() => t.close());
  return t;
}

describe('Redis cut mid-flight', () => {
  it('keeps sessions and sign-ins working from PostgreSQL, keeps revocations, and returns to the fast path', async () => {
    const { proxy, t } = await appBehindProxy('redis');
    const alice = await registerUser(t);
    const aliceLaptop = await loginAgent(t, alice.email);
    const bob = await registerUser(t);

    await proxy.cut();
    await waitFor(() => !t.redis.isReady);

    const [me, meMs] = await timed(() => alice.agent.get('/api/auth/me'));
    expect(me.status).toBe(200);
    expect(meMs).toBeLessThan(3000);
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(200); // degraded, still in service: PostgreSQL answers
    expect(ready.body).toMatchObject({ status: 'degraded', checks: { redis: 'unavailable', postgres: 'ok' } });
    // Sign-in during the outage: written to PostgreSQL, usable at once.
    const carol = await registerUser(t);
    expect((await carol.agent.get('/api/auth/me')).status).toBe(200);
    expect((await carol.agent.get('/api/sessions')).body.sessions).toHaveLength(1);
    // Revocation during the outage reaches PostgreSQL only, with its outbox entries; Redis still
    // holds the old entries.
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    expect((await aliceLaptop.agent.get('/api/auth/me')).status).toBe(401);
    expect((await bob.agent.post('/api/auth/logout')).status).toBe(204);
    const laptopKey = sessionKeyOf(t, aliceLaptop.cookie);
    const bobKey = sessionKeyOf(t, bob.cookie);
    const outboxed = (await t.db.revocationOutbox.findMany({ where: { userId: { in: [alice.user.id, bob.user.id] }, appliedAt: null } })).map((e) => e.idHash);
    expect(outboxed.sort()).toEqual([hashSessionId(rawSessionId(aliceLaptop.cookie)), hashSessionId(rawSessionId(bob.cookie))].sort());

    const restoredAt = Date.now();
    await proxy.restore();
    await waitFor(() => t.redis.isReady, 20_000);
    measured.redisReconnect = Date.now() - restoredAt;
    // Before trusting Redis again the instance applied the outbox: the stale entries are gone.
    await t.sessions.outbox.whenTrusted();
    expect(await t.redis.exists([laptopKey, bobKey])).toBe(0);
    expect(await t.db.revocationOutbox.count({ where: { userId: { in: [alice.user.id, bob.user.id] }, appliedAt: null } })).toBe(0);
    expect((await aliceLaptop.agent.get('/api/auth/me')).status).toBe(401);
    expect((await bob.agent.get('/api/auth/me')).status).toBe(401);
    expect((await alice.agent.get('/api/auth/me')).status).toBe(200);
    // Carol's session, created while Redis was away, is put into Redis on its next request.
    expect((await carol.agent.get('/api/auth/me')).status).toBe(200);
    expect(await t.redis.exists(sessionKeyOf(t, carol.cookie))).toBe(1);
    measured.redisBackToFastPath = Date.now() - restoredAt;
    expect((await request(t.app).get('/readyz')).body.status).toBe('ok');
  });
});

describe('Redis stops answering (connection open, no replies)', () => {
  it('answers from PostgreSQL after the 2 s deadline, reconnects, and keeps revocations made meanwhile', async () => {
    const { proxy, t } = await appBehindProxy('redis');
    const alice = await registerUser(t);
    const laptop = await loginAgent(t, alice.email);

    proxy.stall();
    const [me, meMs] = await timed(() => alice.agent.get('/api/auth/me'));
    expect(me.status).toBe(200);
    expect(meMs).toBeGreaterThanOrEqual(1900); // the deadline, not an error at once
    expect(meMs).toBeLessThan(4000);
    measured.redisStallAnswered = meMs;
    // The stalled connection was dropped: further requests do not wait at all.
    const [again, againMs] = await timed(() => alice.agent.get('/api/auth/me'));
    expect(again.status).toBe(200);
    expect(againMs).toBeLessThan(1000);
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(401);

    const unstalledAt = Date.now();
    proxy.unstall();
    await waitFor(() => t.redis.isReady, 20_000);
    measured.redisStallReconnect = Date.now() - unstalledAt;
    // The revocation made during the stall was applied from the outbox before Redis was trusted.
    await t.sessions.outbox.whenTrusted();
    expect(await t.redis.exists(sessionKeyOf(t, laptop.cookie))).toBe(0);
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(401);
    expect((await alice.agent.get('/api/auth/me')).status).toBe(200);
    expect((await request(t.app).get('/readyz')).body.status).toBe('ok');

    // The other readers of Redis on request paths have the same deadline. Called directly, so
    // each is the first to meet the stall (over HTTP the session read would notice it first).
    const duringStall = async <T>(work: () => Promise<T>): Promise<[T | Error, number]> => {
      proxy.stall();
      try {
        return await timed(() => work().catch((err: Error) => err));
      } finally {
        proxy.unstall();
        await waitFor(() => t.redis.isReady, 20_000);
      }
    };
    const [listed, listMs] = await duringStall(() => listUserSessions(t.sessions, alice.user.id, Date.now()));
    expect((listed as SessionEntry[]).map((entry) => entry.data.auth?.user.id)).toEqual([alice.user.id]); // from the rows
    expect(listMs).toBeGreaterThanOrEqual(1900);
    expect(listMs).toBeLessThan(4500);
    const [summary, summaryMs] = await duringStall(() => readSummary({ redis: t.sessions.redis, db: t.db, cache: t.sessions.cache, activity: t.activity, now: Date.now }));
    expect(summary).toBeInstanceOf(AppError);
    expect((summary as AppError).code).toBe('service_unavailable'); // → 503 through the error handler
    expect(summaryMs).toBeGreaterThanOrEqual(1900);
    expect(summaryMs).toBeLessThan(4500);
  });
});

describe('Redis stops answering while someone signs in', () => {
  it('the rate limiter and login guard give up on Redis after the deadline and count in memory', async () => {
    const { proxy, t } = await appBehindProxy('redis');
    const alice = await registerUser(t);

    proxy.stall();
    // No session request has noticed the stall yet: the per-IP limiter is the first to wait.
    const [login, loginMs] = await timed(() => request(t.app).post('/api/auth/login').send({ email: alice.email, password: PASSWORD }));
    expect(login.status).toBe(200);
    expect(loginMs).toBeGreaterThanOrEqual(1900);
    expect(loginMs).toBeLessThan(4500);
    measured.redisStallLogin = loginMs;
    const [wrong, wrongMs] = await timed(() => request(t.app).post('/api/auth/login').send({ email: alice.email, password: 'wrong password 123' }));
    expect(wrong.status).toBe(401);
    expect(wrongMs).toBeLessThan(1500);
    proxy.unstall();
    await waitFor(() => t.redis.isReady, 20_000);
  });
});

describe('PostgreSQL cut', () => {
  it('keeps sessions working from Redis, answers writes with 503 quickly, and resumes the mirror', async () => {
    const { proxy, t } = await appBehindProxy('postgres');
    const alice = await registerUser(t);
    const second = await loginAgent(t, alice.email);
    const hash = hashSessionId(rawSessionId(alice.cookie));
    const before = await t.db.session.findUniqueOrThrow({ where: { idHash: hash } });

    await proxy.cut();
    t.clock.advance(61_000); // the next request is due to refresh lastSeenAt
    expect((await alice.agent.get('/api/auth/me')).status).toBe(200);
    expect((await alice.agent.get('/api/sessions')).status).toBe(200);

    for (const [label, send] of [
      ['login', () => request(t.app).post('/api/auth/login').send({ email: alice.email, password: PASSWORD })],
      ['register', () => request(t.app).post('/api/auth/register').send({ email: uniqueEmail(), password: PASSWORD })],
      ['revoke-others', () => alice.agent.post('/api/sessions/revoke-others')],
      ['reauthenticate', () => alice.agent.post('/api/auth/reauthenticate').send({ password: PASSWORD })],
      ['logout', () => second.agent.post('/api/auth/logout')],
    ] as const) {
      const [res, ms] = await timed(send);
      expect(res.status, label).toBe(503);
      expect(res.body, label).toEqual({ error: { code: 'service_unavailable', message: expect.any(String) } });
      expect(ms, label).toBeLessThan(5000);
    }
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(200); // degraded, still in service: Redis answers
    expect(ready.body).toMatchObject({ status: 'degraded', checks: { redis: 'ok', postgres: 'unavailable' } });
    await t.sessions.lastSeen.flush(); // fails and keeps the update queued
    expect(t.sessions.lastSeen.size).toBeGreaterThanOrEqual(1);
    expect((await second.agent.get('/api/auth/me')).status).toBe(200); // the failed logout changed nothing

    const restoredAt = Date.now();
    await proxy.restore();
    await waitFor(async () => (await request(t.app).get('/readyz')).body.status === 'ok', 20_000);
    measured.postgresBackToReady = Date.now() - restoredAt;
    await t.sessions.lastSeen.flush();
    expect(t.sessions.lastSeen.size).toBe(0);
    const after = await t.db.session.findUniqueOrThrow({ where: { idHash: hash } });
    expect(after.lastSeenAt.getTime()).toBeGreaterThanOrEqual(before.lastSeenAt.getTime() + 61_000);
    expect((await request(t.app).post('/api/auth/login').send({ email: alice.email, password: PASSWORD })).status).toBe(200);
  });
});

describe('Redis restart without persistence', () => {
  it('brings every live session back from PostgreSQL and leaves revoked ones out', async () => {
    const port = await freePort();
    let server = await startRedisServer(port);
    cleanups.push(() => server.kill());
    const t = await buildTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    cleanups.push(() => t.close());
    const alice = await registerUser(t);
    const aliceLaptop = await loginAgent(t, alice.email);
    const bob = await registerUser(t);
    await bob.agent.post('/api/auth/logout');

    await server.kill();
    await waitFor(() => !t.redis.isReady);
    const restartedAt = Date.now();
    server = await startRedisServer(port);
    await waitFor(() => t.redis.isReady, 20_000);
    // Everything was lost (the catch-up may already have written the kept revocations back).
    const sessionKeys = [alice, aliceLaptop].map((agent) => t.sessions.cache.keys.session(locateCookie(agent.cookie)));
    expect(await t.redis.exists(sessionKeys)).toBe(0);

    expect((await aliceLaptop.agent.get('/api/auth/me')).status).toBe(200);
    expect((await alice.agent.get('/api/sessions')).body.sessions).toHaveLength(2);
    expect((await bob.agent.get('/api/auth/me')).status).toBe(401);
    measured.redisRestartToRestored = Date.now() - restartedAt;
  });
});
