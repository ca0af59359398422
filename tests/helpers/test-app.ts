// Builds the real app, as server.ts does, against the run's database and Redis prefix.
import { locateSessionId, type SessionLocator } from '../../src/sessions/session-keys.ts';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { inject } from 'vitest';
import { createApp, type App, type AppDeps } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createDb, type Db } from '../../src/db.ts';
import { createLogger } from '../../src/logger.ts';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/redis.ts';

export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

/** Real time plus an offset the test can move forward. */
export function testClock(): TestClock {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => (offset += ms) };
}

export interface TestApp extends App {
  config: Config;
  redis: RedisClient;
  db: Db;
  clock: TestClock;
  prefix: string;
  close: () => Promise<void>;
}

export interface TestAppOptions extends Pick<AppDeps, "hasher" | "sessionHooks"> {
  /** Receives the app's log lines (JSON); LOG_LEVEL defaults to info when set. */
  logLines?: string[];
  /** Do not wait for Redis to be trusted (an app whose Redis is unreachable on purpose). */
  noWait?: boolean;
  /** false: start without waiting for Redis to connect, as server.ts does during an outage. */
  connect?: boolean;
}

export async function buildTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    // Each app gets its own prefix under the run's, so one test file can "lose" its Redis data
    // without touching another's.
    REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}${randomBytes(3).toString('hex')}:`,
    SESSION_SECRET: 'test-secret-that-is-long-enough-for-production',
    LOG_LEVEL: options.logLines ? 'info' : 'silent',
    // Every test file signs in from 127.0.0.1 many times: the rate-limit tests set their own.
    RATE_LIMIT_MAX: '100000',
    CHALLENGE_AFTER_IP_FAILURES: '0',
    // Challenges cheap enough to solve in a test.
    CHALLENGE_COST: '1',
    CHALLENGE_MAX_NUMBER: '20',
    ...env,
  });
  const lines = options.logLines;
  const logger = createLogger(config.logLevel, lines ? { write: (line: string) => void lines.push(line) } : undefined);
  const redis = createRedisClient(config, logger);
  if (options.connect === false) redis.connect().catch(() => undefined); // keeps trying until it connects
  else await connectRedis(redis, config.redis, 5_000);
  const db = createDb(config.databaseUrl);
  const clock = testClock();
  const built = createApp({ config, redis, db, logger, now: clock.now, hasher: options.hasher, sessionHooks: options.sessionHooks });
  // Sessions are read from Redis once this instance has applied the revocation outbox.
  if (!options.noWait) await built.sessions.outbox.whenTrusted();
  return {
    ...built,
    config,
    redis,
    db,
    clock,
    prefix: config.redisKeyPrefix,
    close: async () => {
      await built.close();
      await redis.close();
      await db.$disconnect();
    },
  };
}

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.test`;
}

export const PASSWORD = 'correct horse battery staple';

/** Registers a fresh user through the API; returns a cookie-keeping agent signed in as them. */
export async function registerUser(app: TestApp, overrides: { email?: string; password?: string; name?: string; userAgent?: string } = {}) {
  const agent = request.agent(app.app);
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? PASSWORD;
  const res = await agent
    .post('/api/auth/register')
    .set('User-Agent', overrides.userAgent ?? 'vitest')
    .send({ email, password, ...(overrides.name ? { name: overrides.name } : {}) });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { agent, email, password, user: res.body.user as { id: string; email: string; name: string | null; role: string }, cookie: sessionCookie(res) };
}

/** Signs in from a new "device" (a new agent); returns it and its cookie. */
export async function loginAgent(app: TestApp, email: string, password = PASSWORD, userAgent = 'vitest-second-device') {
  const agent = request.agent(app.app);
  const res = await agent.post('/api/auth/login').set('User-Agent', userAgent).send({ email, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { agent, cookie: sessionCookie(res) };
}

/** The `sid=…` pair from a response's Set-Cookie, ready for a Cookie header. */
export function sessionCookie(res: request.Response): string {
  const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const line = header.find((c) => c.startsWith('sid=') || c.startsWith('__Host-sid='));
  if (!line) throw new Error('no session cookie in response');
  return line.split(';')[0]!;
}

/** The raw session id inside a signed cookie value (`s:<id>.<signature>`). */
export function rawSessionId(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

/** Every key this test run's app has written to Redis (SCAN with the run's prefix: tests only). */
export async function runKeys(app: TestApp): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of app.redis.scanIterator({ MATCH: `${app.prefix}*`, COUNT: 1000 })) keys.push(...batch);
  return keys;
}

/** Keys the app wrote beyond its own bookkeeping (each bucket's revocation generation and count). */
export async function writtenKeys(app: TestApp): Promise<string[]> {
  return (await runKeys(app)).filter((key) => !key.startsWith(`${app.prefix}revocations:`));
}

/** Where the session of a `sid=…` cookie lives (session-keys.ts). */
export function locateCookie(cookie: string): SessionLocator {
  const session = locateSessionId(rawSessionId(cookie));
  if (!session) throw new Error('not a session id this server issues');
  return session;
}

/** The Redis key of the session of a cookie. */
export function sessionKeyOf(app: TestApp, cookie: string): string {
  return app.sessions.cache.keys.session(locateCookie(cookie));
}
