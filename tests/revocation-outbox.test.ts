// Revocation is final: it is durable in PostgreSQL (an outbox entry written with the row delete)
// before the revoking request answers, and every instance puts it into Redis — also when the
// revoking instance could not reach Redis and then died. A blip on one instance costs nobody
// else a PostgreSQL read.
import { fileCleanups } from './helpers/cleanups.ts';
import request from 'supertest';
import { describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { checkConsistency } from '../src/sessions/consistency.ts';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { locateCookie, loginAgent, rawSessionId, registerUser, type TestApp, type TestAppOptions } from './helpers/test-app.ts';
import { proxyInFrontOfRedis, type ServiceProxy } from './helpers/services.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const { cleanups, app } = fileCleanups();

async function redisProxy(): Promise<ServiceProxy> {
  const proxy = await proxyInFrontOfRedis();
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Two instances of one deployment: the same Redis keys, one of them behind a proxy we can cut. */
async function twoInstances(options: TestAppOptions = {}) {
  const prefix = `${inject('redisKeyPrefix')}${randomBytes(3).toString('hex')}:`;
  const proxy = await redisProxy();
  const a = await app({ REDIS_URL: proxy.serviceUrl, REDIS_KEY_PREFIX: prefix }, options);
  const b = await app({ REDIS_KEY_PREFIX: prefix });
  return { proxy, a, b };
}

const entryKey = (t: TestApp, cookie: string) => t.sessions.cache.keys.session(locateCookie(cookie));

describe('revocation outbox', () => {
  it('instance A cannot reach Redis, revokes a session and dies: instance B refuses the cookie within 5 s', async () => {
    const { proxy, a, b } = await twoInstances();
    b.sessions.maintenance.start();
    const alice = await registerUser(b);
    const laptop = await loginAgent(b, alice.email);
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(200);

    await proxy.cut();
    await waitFor(() => !a.redis.isReady);
    const revoked = await request(a.app).post('/api/sessions/revoke-others').set('Cookie', alice.cookie);
    expect(revoked.body).toEqual({ revoked: 1 });
    // Durable before the answer: the row is gone and the outbox holds the revocation.
    const laptopHash = hashSessionId(rawSessionId(laptop.cookie));
    expect(await a.db.session.count({ where: { idHash: laptopHash } })).toBe(0);
    expect(await a.db.revocationOutbox.count({ where: { idHash: laptopHash, keyPrefix: a.prefix } })).toBe(1);
    expect(await b.redis.exists(entryKey(b, laptop.cookie))).toBe(1); // Redis never heard of it
    await a.close(); // A dies with the revocation unapplied

    await waitFor(async () => (await laptop.agent.get('/api/auth/me')).status === 401, 5_000);
    expect(await b.redis.exists(entryKey(b, laptop.cookie))).toBe(0);
    expect(await b.redis.exists(b.sessions.cache.keys.tombstone(locateCookie(laptop.cookie)))).toBe(1);
    expect(await b.db.revocationOutbox.count({ where: { keyPrefix: b.prefix, appliedAt: null } })).toBe(0); // applied (and kept)
    expect((await alice.agent.get('/api/auth/me')).status).toBe(200);
  });

  it('an instance whose Redis came back applies the outbox before it believes Redis again', async () => {
    let holdCatchUp: Promise<void> | null = null;
    let letGo = () => undefined as void;
    const { proxy, a } = await twoInstances({
      sessionHooks: { beforeOutboxCatchUp: () => holdCatchUp ?? Promise.resolve() },
    });
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);

    await proxy.cut();
    await waitFor(() => !a.redis.isReady);
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    holdCatchUp = new Promise<void>((resolve) => (letGo = resolve));
    await proxy.restore();
    await waitFor(() => a.redis.isReady, 20_000);

    // Connected, the stale entry still in Redis, the outbox not applied yet: sessions come from
    // PostgreSQL, where the laptop's row is gone.
    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(1);
    expect(a.sessions.outbox.redisTrusted).toBe(false);
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(401);
    expect((await alice.agent.get('/api/auth/me')).status).toBe(200);

    holdCatchUp = null;
    letGo();
    await a.sessions.outbox.whenTrusted();
    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(0);
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(401);
  });

  it('a Redis blip on one instance costs no session a PostgreSQL read, on it or on the others', async () => {
    const { proxy, a, b } = await twoInstances();
    const cookies: string[] = [];
    for (let u = 0; u < 5; u++) {
      const user = await registerUser(b);
      cookies.push(user.cookie);
      for (let i = 0; i < 4; i++) cookies.push((await loginAgent(b, user.email)).cookie);
    }
    await proxy.cut();
    await waitFor(() => !a.redis.isReady);
    await proxy.restore();
    await waitFor(() => a.redis.isReady, 20_000);
    await a.sessions.outbox.whenTrusted();

    const misses = async () => {
      await Promise.all([a.activity.counters.flush(), b.activity.counters.flush()]);
      return (await b.activity.counters.lastHour(['cache_misses'])).cache_misses;
    };
    const before = await misses();
    for (const cookie of cookies) {
      expect((await request(a.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(200);
      expect((await request(b.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(200);
    }
    expect(await misses()).toBe(before); // all 50 reads answered by Redis
  });
});

describe('rows that have gone', () => {
  it('the lastSeenAt write-behind finds a session whose row has gone and drops its Redis entry', async () => {
    const t = await app();
    const alice = await registerUser(t);
    const laptop = await loginAgent(t, alice.email);
    const hash = hashSessionId(rawSessionId(laptop.cookie));
    await t.db.session.delete({ where: { idHash: hash } }); // gone without reaching Redis

    t.clock.advance(61_000); // the next request is due to refresh lastSeenAt
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(200); // Redis still has it
    await t.sessions.maintenance.flush();
    expect(await t.redis.exists(entryKey(t, laptop.cookie))).toBe(0);
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(401);
    expect((await alice.agent.get('/api/auth/me')).status).toBe(200);
  });

  it('logging out a session whose row has already gone still tombstones it and cleans the index and counters', async () => {
    const t = await app();
    const alice = await registerUser(t);
    const laptop = await loginAgent(t, alice.email);
    const hash = hashSessionId(rawSessionId(laptop.cookie));
    await t.db.session.delete({ where: { idHash: hash } });

    expect((await laptop.agent.post('/api/auth/logout')).status).toBe(204);
    expect(await t.redis.exists(t.sessions.cache.keys.tombstone(locateCookie(laptop.cookie)))).toBe(1);
    expect(await t.redis.exists(entryKey(t, laptop.cookie))).toBe(0);
    expect(await t.sessions.cache.indexedHashes(alice.user.id)).toEqual([hashSessionId(rawSessionId(alice.cookie))]);
    const report = await checkConsistency(t.redis, t.db, t.sessions.cache, { userIds: [alice.user.id] });
    expect(report.problems).toEqual([]);
    expect(await t.sessions.cache.activeCounts(Date.now())).toEqual({ activeSessions: 1, activeUsers: 1 });
  });
});
