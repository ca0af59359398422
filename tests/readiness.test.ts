// Readiness (README: Health, readiness and shutdown) and starting without Redis (README: Settings), against real Redis and PostgreSQL:
// faults are injected on the wire (a TCP proxy cut or holding back answers) or by starting a
// redis-server where nothing listened, never by mocking a client.
import { singleNode } from '../src/redis-settings.ts';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { connectRedis, createRedisClient, RedisCredentialsError, startRedis } from '../src/redis.ts';
import { freePort } from '../scripts/lib/server-process.ts';
import { startRedisServer, type TestRedisServer } from './helpers/redis-server.ts';
import { proxyInFrontOfPostgres, proxyInFrontOfRedis, type ServiceProxy } from './helpers/services.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { buildTestApp, type TestApp } from './helpers/test-app.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function proxyTo(start: () => Promise<ServiceProxy>): Promise<ServiceProxy> {
  const proxy = await start();
  cleanups.push(() => proxy.close());
  return proxy;
}

/** An app that reaches Redis and/or PostgreSQL only through the given proxies. */
async function appThrough(proxies: { redis?: ServiceProxy; postgres?: ServiceProxy }): Promise<TestApp> {
  const t = await buildTestApp({
    ...(proxies.redis ? { REDIS_URL: proxies.redis.serviceUrl } : {}),
    ...(proxies.postgres ? { DATABASE_URL: proxies.postgres.serviceUrl } : {}),
  });
  cleanups.push(() => t.close());
  return t;
}

const readyz = (t: TestApp) => request(t.app).get('/readyz');
const isOk = async (t: TestApp) => (await readyz(t)).body.status === 'ok';

describe('/readyz', () => {
  it('is 200 ok with both checks ok while Redis and PostgreSQL answer', async () => {
    const t = await appThrough({});
    const res = await readyz(t);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { redis: 'ok', postgres: 'ok' } });
  });

  it('stays 200 "degraded" naming Redis while Redis is cut, and is ok again once it is back', async () => {
    const proxy = await proxyTo(proxyInFrontOfRedis);
    const t = await appThrough({ redis: proxy });
    expect(await isOk(t)).toBe(true);

    await proxy.cut();
    await waitFor(() => !t.redis.isReady);
    const res = await readyz(t);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'degraded', checks: { redis: 'unavailable', postgres: 'ok' }, message: expect.stringMatching(/^Redis is not answering/) });

    await proxy.restore();
    await waitFor(() => isOk(t), 20_000);
  });

  it('says Redis is unavailable when its connection is open but PING gets no answer within 2 s', async () => {
    const proxy = await proxyTo(proxyInFrontOfRedis);
    const t = await appThrough({ redis: proxy });
    expect(await isOk(t)).toBe(true);

    proxy.stall();
    expect(t.redis.isReady).toBe(true); // the client still calls itself ready: only the PING tells
    const res = await readyz(t);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'degraded', checks: { redis: 'unavailable', postgres: 'ok' } });

    proxy.unstall();
    await waitFor(() => isOk(t), 20_000);
  });

  it('stays 200 "degraded" naming PostgreSQL when SELECT 1 gets no answer within 2 s', async () => {
    const proxy = await proxyTo(proxyInFrontOfPostgres);
    const t = await appThrough({ postgres: proxy });
    expect(await isOk(t)).toBe(true);

    proxy.stall();
    const res = await readyz(t);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'degraded', checks: { redis: 'ok', postgres: 'unavailable' }, message: expect.stringMatching(/^PostgreSQL is not answering/) });

    proxy.unstall();
    await waitFor(() => isOk(t), 20_000);
  });

  it('is 503 service_unavailable naming both when neither Redis nor PostgreSQL answers', async () => {
    const redisProxy = await proxyTo(proxyInFrontOfRedis);
    const postgresProxy = await proxyTo(proxyInFrontOfPostgres);
    const t = await appThrough({ redis: redisProxy, postgres: postgresProxy });
    expect(await isOk(t)).toBe(true);

    await Promise.all([redisProxy.cut(), postgresProxy.cut()]);
    await waitFor(() => !t.redis.isReady);
    const res = await readyz(t);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: { code: 'service_unavailable', message: 'Neither Redis nor PostgreSQL is answering.' },
      checks: { redis: 'unavailable', postgres: 'unavailable' },
    });

    await Promise.all([redisProxy.restore(), postgresProxy.restore()]);
    await waitFor(() => isOk(t), 20_000);
  });
});

const LEVEL_ERROR = 50; // pino's

/** A client of the product's own making, whose log lines the test reads. */
function clientFor(redisUrl: string, options: { outageLogEveryMs?: number; redisPassword?: string } = {}) {
  const lines: Array<{ level: number; msg: string; redis?: string; err?: string }> = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const client = createRedisClient({ redis: singleNode(redisUrl, options.redisPassword) }, logger, { outageLogEveryMs: options.outageLogEveryMs });
  let errors = 0;
  client.on('error', () => errors++);
  cleanups.push(async () => client.destroy());
  return {
    client,
    lines,
    errors: () => errors,
    said: (msg: string) => lines.filter((line) => line.msg.startsWith(msg)),
    errorLines: () => lines.filter((line) => line.level >= LEVEL_ERROR),
  };
}

async function redisServer(port: number, args: string[] = []): Promise<TestRedisServer> {
  const server = await startRedisServer(port, args);
  cleanups.push(() => server.stop());
  return server;
}

const START_TIMEOUT_MS = 5_000;

describe('starting the Redis client', () => {
  it('reports Redis unreachable without throwing, keeps trying, and connects once a redis-server listens there', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const { client } = clientFor(url);

    const start = await startRedis(client, singleNode(url), START_TIMEOUT_MS);
    expect(start).toEqual({ connected: false, cause: expect.stringContaining('ECONNREFUSED') });
    expect(client.isReady).toBe(false);

    await redisServer(port, ['--requirepass', 'hunter2']);
    await waitFor(() => client.isReady, 30_000);
    expect(await client.ping()).toBe('PONG');
  });

  it('says connected only once the client is ready to take commands', async () => {
    const { client } = clientFor(inject('redisUrl'));
    expect(await startRedis(client, singleNode(inject('redisUrl')), START_TIMEOUT_MS)).toEqual({ connected: true });
    expect(client.isReady).toBe(true);
  });

  it('throws RedisCredentialsError naming Redis when it wants a password and none is given (NOAUTH)', async () => {
    const port = await freePort();
    await redisServer(port, ['--requirepass', 'hunter2']);
    const url = `redis://127.0.0.1:${port}`;
    const { client } = clientFor(url);

    const failure = await startRedis(client, singleNode(url), START_TIMEOUT_MS).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(RedisCredentialsError);
    expect((failure as Error).message).toMatch(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${port} refused the credentials: NOAUTH `));
    expect(client.isOpen).toBe(false); // not left retrying in the background
  });

  it('throws RedisCredentialsError when the ACL user may not run commands (NOPERM)', async () => {
    const port = await freePort();
    await redisServer(port, ['--user', 'app', 'on', '>app-password', '~*', '+@all', '-ping']);
    const url = `redis://app:app-password@127.0.0.1:${port}`;
    const { client } = clientFor(url);

    const failure = await startRedis(client, singleNode(url), START_TIMEOUT_MS).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(RedisCredentialsError);
    expect((failure as Error).message).toMatch(new RegExp(`^Redis at redis://app:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port} refused the credentials: NOPERM `));
    expect((failure as Error).message).not.toContain('app-password');
  });

  it('uses REDIS_PASSWORD instead of a password in the URL', async () => {
    const port = await freePort();
    await redisServer(port, ['--requirepass', 'right-password']);
    const url = `redis://:stale-password@127.0.0.1:${port}`;
    const { client } = clientFor(url, { redisPassword: 'right-password' });

    expect(await startRedis(client, singleNode(url, 'right-password'), START_TIMEOUT_MS)).toEqual({ connected: true });
  });

  it('connectRedis, for tools that need Redis, rejects naming Redis and its masked URL and stops trying', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const { client } = clientFor(url);

    await expect(connectRedis(client, singleNode(url), START_TIMEOUT_MS)).rejects.toThrow(`Redis is unreachable at redis://:****@127.0.0.1:${port}: `);
    expect(client.isOpen).toBe(false);
  });
});

describe('the Redis outage log', () => {
  /** Waits until the client has failed `n` connection attempts. */
  const failedAttempts = (c: ReturnType<typeof clientFor>, n: number) => waitFor(() => c.errors() >= n, 20_000);

  it('logs the first failed attempt at once, naming Redis and its masked URL, and not every retry', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const c = clientFor(url); // the product's 30 s between lines
    await startRedis(c.client, singleNode(url), START_TIMEOUT_MS);

    await failedAttempts(c, 5);
    expect(c.said('Redis is not connected')).toEqual([
      expect.objectContaining({ level: LEVEL_ERROR, redis: `redis://:****@127.0.0.1:${port}`, err: expect.stringContaining('ECONNREFUSED') }),
    ]);
    expect(JSON.stringify(c.lines)).not.toContain('hunter2');
  });

  it('logs again while the outage lasts, once when Redis connects, and nothing more after that', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const everyMs = 200;
    const c = clientFor(url, { outageLogEveryMs: everyMs });
    await startRedis(c.client, singleNode(url), START_TIMEOUT_MS);

    await waitFor(() => c.said('Redis is not connected').length >= 3, 20_000);
    await redisServer(port);
    await waitFor(() => c.client.isReady, 30_000);
    const errorLines = c.errorLines().length;
    await delay(everyMs * 5);
    expect(c.errorLines()).toHaveLength(errorLines);
    expect(c.said('Redis connected')).toEqual([expect.objectContaining({ level: 30, redis: url })]);
  });

  it('stops logging once the client is closed during an outage (a shutdown)', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const everyMs = 200;
    const c = clientFor(url, { outageLogEveryMs: everyMs });
    await startRedis(c.client, singleNode(url), START_TIMEOUT_MS);

    await waitFor(() => c.said('Redis is not connected').length >= 2, 20_000);
    await c.client.close();
    const errorLines = c.errorLines().length;
    await delay(everyMs * 5);
    expect(c.errorLines()).toHaveLength(errorLines);
  });
});
