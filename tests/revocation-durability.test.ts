// Revocation stays final when Redis is connected but cannot be believed: it refuses writes (out of
// memory), it came back from an older snapshot, or the catch-up that would make it believable
// cannot run (PostgreSQL away, or a catch-up that began before the connection broke). Real
// redis-server processes on ports of their own, real TCP proxies, no mocks.
import { fileCleanups } from './helpers/cleanups.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { freePort } from '../scripts/lib/server-process.ts';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { startRedisServer, type TestRedisServer } from './helpers/redis-server.ts';
import { proxyInFrontOfPostgres, proxyInFrontOfRedis, type ServiceProxy } from './helpers/services.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { locateCookie, loginAgent, rawSessionId, registerUser, type TestApp } from './helpers/test-app.ts';

const { cleanups, app } = fileCleanups();

async function redisServer(dir?: string): Promise<TestRedisServer> {
  const port = await freePort();
  const server = await startRedisServer(port, dir ? ['--dir', dir, '--dbfilename', 'dump.rdb'] : []);
  cleanups.push(() => server.stop());
  return server;
}

/** A plain client for the operator's commands (CONFIG SET, SAVE). */
async function adminClient(port: number) {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on('error', () => undefined); // the server is killed on purpose
  await client.connect();
  cleanups.push(() => client.close());
  return client;
}

async function proxyTo(start: () => Promise<ServiceProxy>): Promise<ServiceProxy> {
  const proxy = await start();
  cleanups.push(() => proxy.close());
  return proxy;
}

const entryKey = (t: TestApp, cookie: string) => t.sessions.cache.keys.session(locateCookie(cookie));
const me = (agent: { get: (path: string) => request.Test }) => agent.get('/api/auth/me');

describe('revocation while Redis cannot be believed', () => {
  it('Redis refuses writes (out of memory): the revoked session is refused on every instance, and Redis is believed again once it accepts them', async () => {
    const server = await redisServer();
    const url = `redis://127.0.0.1:${server.port}`;
    const a = await app({ REDIS_URL: url });
    const b = await app({ REDIS_URL: url, REDIS_KEY_PREFIX: a.prefix });
    b.sessions.maintenance.start();
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);
    expect((await me(laptop.agent)).status).toBe(200);
    expect((await request(b.app).get('/api/auth/me').set('Cookie', laptop.cookie)).status).toBe(200);

    const admin = await adminClient(server.port);
    await admin.configSet('maxmemory', '1'); // every write now answers OOM; reads still work
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(1); // Redis could not drop it…
    expect((await me(laptop.agent)).status).toBe(401); // …so A no longer believes Redis
    expect((await request(a.app).get('/readyz')).body).toMatchObject({ status: 'degraded', checks: { redis: 'catching_up', postgres: 'ok' } });
    // B tries the outbox within 2 s, cannot write either, and stops believing Redis too.
    await waitFor(async () => (await request(b.app).get('/api/auth/me').set('Cookie', laptop.cookie)).status === 401, 5_000);
    expect((await me(alice.agent)).status).toBe(200); // the session that stays works, from PostgreSQL
    expect((await alice.agent.get('/api/sessions')).body.sessions).toHaveLength(1); // listed from the rows, not the stale index

    await admin.configSet('maxmemory', '0');
    await waitFor(() => b.sessions.outbox.redisTrusted, 10_000);
    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(0);
    expect(await a.sessions.outbox.catchUp()).toBe(true);
    expect((await me(laptop.agent)).status).toBe(401);
    expect((await request(b.app).get('/api/auth/me').set('Cookie', laptop.cookie)).status).toBe(401);
  });

  it('Redis restarted from a snapshot taken before a revocation: the snapshot does not bring the session back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rsa-snapshot-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let server = await redisServer(dir);
    const a = await app({ REDIS_URL: `redis://127.0.0.1:${server.port}` });
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);
    const phone = await loginAgent(a, alice.email);
    expect((await me(laptop.agent)).status).toBe(200);

    await (await adminClient(server.port)).sendCommand(['SAVE']); // the snapshot holds the laptop's entry
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 2 });
    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(0); // applied at once, outbox entry kept
    await server.kill(); // a crash: the revocation never reached the disk
    await waitFor(() => !a.redis.isReady);
    server = await startRedisServer(server.port, ['--dir', dir, '--dbfilename', 'dump.rdb']);
    cleanups.push(() => server.stop());
    await waitFor(() => a.redis.isReady, 20_000);
    await a.sessions.outbox.whenTrusted();

    expect((await me(laptop.agent)).status).toBe(401);
    expect((await me(phone.agent)).status).toBe(401);
    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(0);
    expect((await me(alice.agent)).status).toBe(200);
  });

  it('PostgreSQL away and the Redis connection broke once: /readyz says the instance cannot serve, and it serves again once PostgreSQL is back', async () => {
    const redisProxy = await proxyTo(proxyInFrontOfRedis);
    const postgresProxy = await proxyTo(proxyInFrontOfPostgres);
    const a = await app({ REDIS_URL: redisProxy.serviceUrl, DATABASE_URL: postgresProxy.serviceUrl });
    a.sessions.maintenance.start();
    const alice = await registerUser(a);
    expect((await me(alice.agent)).status).toBe(200);

    await postgresProxy.cut();
    expect((await me(alice.agent)).status).toBe(200); // Redis alone serves sessions
    await redisProxy.cut();
    await waitFor(() => !a.redis.isReady);
    await redisProxy.restore();
    await waitFor(() => a.redis.isReady, 20_000);
    // Redis answers, but what it may have missed cannot be read: nothing can be served.
    const ready = await request(a.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ error: { code: 'service_unavailable' }, checks: { redis: 'catching_up', postgres: 'unavailable' } });
    expect((await me(alice.agent)).status).toBe(503);

    await postgresProxy.restore();
    await waitFor(async () => (await request(a.app).get('/readyz')).body.status === 'ok', 20_000);
    expect((await me(alice.agent)).status).toBe(200);
  });

  it('a catch-up that began before the connection broke does not vouch for Redis afterwards', async () => {
    let hold: Promise<void> | null = null;
    let release = () => {};
    let arrived = () => {};
    const proxy = await proxyTo(proxyInFrontOfRedis);
    const hooks = {
      afterOutboxBatchRead: () => {
        arrived();
        return hold ?? Promise.resolve();
      },
    };
    const a = await app({ REDIS_URL: proxy.serviceUrl }, { sessionHooks: hooks });
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);

    // A catch-up reads an empty outbox and is held before it finishes…
    hold = new Promise<void>((resolve) => (release = resolve));
    const heldAtBatch = new Promise<void>((resolve) => (arrived = resolve));
    const early = a.sessions.outbox.catchUp();
    await heldAtBatch;
    arrived = () => {};
    // …the connection breaks, a revocation cannot reach Redis, the connection comes back.
    await proxy.cut();
    await waitFor(() => !a.redis.isReady);
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    const held = hold;
    hold = null; // the catch-up on reconnecting is not held
    await proxy.restore();
    await waitFor(() => a.redis.isReady, 20_000);
    await a.sessions.outbox.whenTrusted();
    release();
    await Promise.all([early, held]);

    expect(await a.redis.exists(entryKey(a, laptop.cookie))).toBe(0);
    expect((await me(laptop.agent)).status).toBe(401);
  });

  it('a catch-up whose PostgreSQL query hangs gives up after its deadline instead of holding trust back forever', async () => {
    const postgresProxy = await proxyTo(proxyInFrontOfPostgres);
    const a = await app({ DATABASE_URL: postgresProxy.serviceUrl });
    cleanups.push(async () => postgresProxy.unstall());

    postgresProxy.stall();
    expect(await a.sessions.outbox.catchUp()).toBe(false); // within CATCH_UP_DEADLINE_MS, not never
    postgresProxy.unstall();
    await waitFor(() => a.sessions.outbox.catchUp(), 20_000);
  }, 30_000);
});
