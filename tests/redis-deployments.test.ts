// The product on Redis's own deployments (README: Deployments), against real servers started by the test:
// a 3-master Redis Cluster with a replica each, a primary + replica + 3 Sentinels, and a TLS
// redis-server with a private CA. Through each, two instances share sign-ins, revocations, the
// admin summary, rate limits and live events; then the primary of the user's data is killed and
// every session keeps authenticating, and sign-ins work again within 30 s.
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { setRole } from '../src/admin/roles.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { createRedisClient, RedisCredentialsError, startRedis } from '../src/redis.ts';
import type { LiveEvent } from '../src/analytics/live-events.ts';
import { checkConsistency } from '../src/sessions/consistency.ts';
import { startRedisCluster, startSentinelSet, startTlsRedis } from './helpers/redis-topologies.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { buildTestApp, locateCookie, loginAgent, PASSWORD, registerUser, type TestApp } from './helpers/test-app.ts';
import { TOOLS, toolOrSkip } from '../scripts/lib/tool.ts';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** The TLS server's private CA and certificates are made with openssl (redis-topologies.ts). */
const openssl = toolOrSkip(import.meta.url, TOOLS.openssl, 'the TLS tests');

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Two instances of one deployment on the given Redis settings. */
async function twoInstances(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const prefix = `${inject('redisKeyPrefix')}${randomBytes(3).toString('hex')}:`;
  const shared = { ...env, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_MAX: '20' };
  const a = await buildTestApp(shared);
  cleanups.push(() => a.close());
  const b = await buildTestApp(shared);
  cleanups.push(() => b.close());
  return [a, b];
}

const me = (t: TestApp, cookie: string) => request(t.app).get('/api/auth/me').set('Cookie', cookie);

/** Everything the product shares through Redis, through this deployment. */
async function sharesEverything(a: TestApp, b: TestApp) {
  const events: LiveEvent[] = [];
  const live = b.activity.live.subscribe((event) => events.push(event));
  cleanups.push(async () => live.unsubscribe());
  expect(await live.subscribed).toBe(true);

  const alice = await registerUser(a);
  const laptop = await loginAgent(b, alice.email);
  for (const t of [a, b]) for (const cookie of [alice.cookie, laptop.cookie]) expect((await me(t, cookie)).status).toBe(200);
  await waitFor(() => events.some((event) => event.type === 'created' && event.userId === alice.user.id)); // made on A, seen on B

  // Revoke one, on B: refused on both.
  expect((await request(b.app).post('/api/sessions/revoke-others').set('Cookie', alice.cookie)).body).toEqual({ revoked: 1 });
  for (const t of [a, b]) expect((await me(t, laptop.cookie)).status).toBe(401);

  // The admin summary counts on both (sessions in every bucket, wherever it lives).
  const admin = await registerUser(a);
  await setRole(a.db, a.sessions.revoker, admin.email, 'admin');
  const adminAgain = await loginAgent(a, admin.email); // a session with the new role
  const summary = async (t: TestApp) => (await request(t.app).get('/admin/sessions').set('Accept', 'application/json').set('Cookie', adminAgain.cookie)).body.summary;
  const counted = await summary(b);
  expect(counted).toMatchObject({ activeSessions: expect.any(Number), activeUsers: expect.any(Number) });
  expect(counted.activeSessions).toBeGreaterThanOrEqual(2); // alice's own, the admin's
  expect(await summary(a)).toMatchObject({ activeSessions: counted.activeSessions, activeUsers: counted.activeUsers });

  // Revoke all, on A: every session of the user ends on both.
  const phone = await loginAgent(b, alice.email);
  expect((await request(a.app).post('/api/auth/logout-all').set('Cookie', alice.cookie)).status).toBe(200);
  for (const t of [a, b]) for (const cookie of [alice.cookie, phone.cookie]) expect((await me(t, cookie)).status).toBe(401);

  // The per-IP limit on auth routes is one count, whichever instance answers.
  const ip = `198.51.100.${Math.floor(Math.random() * 250)}`;
  const statuses: number[] = [];
  for (let i = 0; i < 24; i++) statuses.push((await request((i % 2 === 0 ? a : b).app).get('/api/auth/challenge').set('X-Forwarded-For', ip)).status);
  expect(statuses.filter((status) => status === 429)).toHaveLength(4); // 20 allowed in all, not 20 each

  // Entries, indexes and rows agree (read per key, so across a cluster's slots too).
  expect((await checkConsistency(a.redis, a.db, a.sessions.cache, { userIds: [alice.user.id, admin.user.id] })).problems).toEqual([]);
  return { alice };
}

/** Kill the primary of a user's data: their session keeps working, and sign-ins resume. */
async function survivesFailover(name: string, a: TestApp, b: TestApp, kill: (sessionKey: string) => Promise<void>) {
  const bob = await registerUser(a);
  const tablet = await loginAgent(b, bob.email);
  const revoked = await loginAgent(a, bob.email);
  expect((await request(a.app).delete(`/api/sessions/${(await me(a, revoked.cookie)).body.session.id}`).set('Cookie', bob.cookie)).status).toBe(204);

  const killedAt = Date.now();
  await kill(a.sessions.cache.keys.session(locateCookie(bob.cookie)));
  // During and after the failover: existing sessions authenticate (from PostgreSQL while Redis
  // cannot be believed), the revoked one does not.
  for (const t of [a, b]) {
    expect((await me(t, bob.cookie)).status).toBe(200);
    expect((await me(t, tablet.cookie)).status).toBe(200);
    expect((await me(t, revoked.cookie)).status).toBe(401);
  }
  await waitFor(async () => (await request(a.app).post('/api/auth/login').send({ email: bob.email, password: PASSWORD })).status === 200, 30_000, 250);
  await waitFor(() => a.sessions.outbox.redisTrusted && b.sessions.outbox.redisTrusted, 30_000, 250);
  // Information for the README's Deployments section, not a pass or fail.
  console.info(`${name}: kill → Redis believed again on both instances in ${Date.now() - killedAt} ms`);
  for (const t of [a, b]) {
    expect((await me(t, bob.cookie)).status).toBe(200);
    expect((await me(t, revoked.cookie)).status).toBe(401);
  }
}

describe('Redis Cluster (3 masters, a replica each)', () => {
  it('shares sessions, revocations, the summary, rate limits and live events, and survives a master failing', async () => {
    const cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
    cleanups.push(() => cluster.stop());
    const [a, b] = await twoInstances({ REDIS_CLUSTER_NODES: cluster.seeds, TRUST_PROXY: 'true' });
    expect(a.redis.deployment.mode).toBe('cluster');
    await sharesEverything(a, b);
    await survivesFailover('cluster', a, b, async (key) => {
      const port = await cluster.masterFor(key);
      await cluster.killMaster(port);
      await cluster.waitForFailover(port);
    });
  }, 180_000);
});

describe('Redis Sentinel (primary, replica, 3 Sentinels)', () => {
  it('shares everything through the primary Sentinel names, and follows it to the replica when it fails', async () => {
    const sentinels = await startSentinelSet({ password: 'data-password', sentinelPassword: 'sentinel-password' });
    cleanups.push(() => sentinels.stop());
    const [a, b] = await twoInstances({ REDIS_SENTINELS: sentinels.sentinels, REDIS_SENTINEL_NAME: sentinels.name, REDIS_PASSWORD: 'data-password', REDIS_SENTINEL_PASSWORD: 'sentinel-password', TRUST_PROXY: 'true' });
    expect(a.redis.deployment.mode).toBe('sentinel');
    await sharesEverything(a, b);
    await survivesFailover('sentinel', a, b, async () => {
      const port = await sentinels.killPrimary();
      await sentinels.waitForFailover(port);
    });
  }, 180_000);
});

describe.skipIf(!openssl)('Redis over TLS with a private CA', () => {
  it('shares everything over rediss:// with REDIS_TLS_CA_FILE and a client certificate', async () => {
    const tls = await startTlsRedis({ requireClientCert: true });
    cleanups.push(() => tls.stop());
    const [a, b] = await twoInstances({ REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.caFile, REDIS_TLS_CERT_FILE: tls.clientCertFile, REDIS_TLS_KEY_FILE: tls.clientKeyFile, TRUST_PROXY: 'true' });
    await sharesEverything(a, b);
  }, 60_000);
});

describe('start-up errors that name the cause (README: Settings)', () => {
  it.skipIf(!openssl)('a certificate that does not verify stops the start, saying so', async () => {
    const tls = await startTlsRedis();
    cleanups.push(() => tls.stop());
    const config = loadConfig({ REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.otherCaFile });
    const client = createRedisClient(config, createLogger('silent'));
    cleanups.push(async () => client.destroy());
    const failure = await startRedis(client, config.redis, 5_000).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RedisCredentialsError);
    expect((failure as Error).message).toBe(
      `Redis at ${tls.url}: its TLS certificate does not verify (SELF_SIGNED_CERT_IN_CHAIN); set REDIS_TLS_CA_FILE to the CA that signed it`,
    );
  });

  it('a cluster or a Sentinel-managed primary that refuses the password stops the start, naming the deployment', async () => {
    const cluster = await startRedisCluster({ password: 'cluster-password' });
    cleanups.push(() => cluster.stop());
    const sentinels = await startSentinelSet({ password: 'data-password' });
    cleanups.push(() => sentinels.stop());
    for (const env of [
      { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_PASSWORD: 'wrong' },
      { REDIS_SENTINELS: sentinels.sentinels, REDIS_SENTINEL_NAME: sentinels.name, REDIS_PASSWORD: 'wrong' },
    ]) {
      const config = loadConfig(env);
      const client = createRedisClient(config, createLogger('silent'));
      cleanups.push(async () => client.destroy());
      const failure = await startRedis(client, config.redis, 5_000).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(RedisCredentialsError);
      expect((failure as Error).message).toMatch(new RegExp(`^Redis at ${config.redis.description.replace(/[()]/g, '\\$&')} refused the credentials: WRONGPASS`));
    }
  }, 60_000);

  it('settings that cannot work are configuration errors, each named', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINELS: '127.0.0.1:26379' })).toEqual(['REDIS_CLUSTER_NODES, REDIS_SENTINELS: set one of them, not both']);
    expect(problems({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_DB: '2' })).toEqual(['REDIS_DB: must be 0 on Redis Cluster (it has one database)']);
    expect(problems({ REDIS_CLUSTER_NODES: 'nohost' })).toEqual(['REDIS_CLUSTER_NODES: expected comma-separated host:port pairs, like 10.0.0.1:6379,10.0.0.2:6379 (got "nohost")']);
    expect(problems({ REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' })).toEqual(['REDIS_TLS_CA_FILE: cannot read /nonexistent/ca.pem (ENOENT)']);
    expect(problems({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/etc/hostname' })).toEqual(['REDIS_URL: use rediss:// when REDIS_TLS_* files are given']);
  });
});
