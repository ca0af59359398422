// Rate limits on the auth routes: per IP (shared by instances), per account with back-off,
// proxies, Redis outages, and proof-of-work challenges.
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import type { CounterName } from '../src/analytics/activity-counters.ts';
import { buildTestApp, PASSWORD, registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { proxyInFrontOfRedis } from './helpers/services.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const apps: TestApp[] = [];
async function app(env: Record<string, string>, logLines?: string[]) {
  const built = await buildTestApp(env, logLines ? { logLines } : {});
  apps.push(built);
  return built;
}
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** An auth request that is cheap to answer (400) but counts toward the per-IP limit. */
const cheapAuthRequest = (t: TestApp, forwardedFor?: string) => {
  const req = request(t.app).post('/api/auth/register').send({});
  return forwardedFor ? req.set('X-Forwarded-For', forwardedFor) : req;
};
const counter = async (t: TestApp, name: CounterName) => {
  await Promise.all(apps.map((a) => a.activity.counters.flush()));
  return Number((await t.redis.get(t.activity.counters.key(name, Date.now()))) ?? 0);
};

describe('per-IP limit', () => {
  it('answers the request after RATE_LIMIT_MAX with 429 and the limit headers, counted across two instances', async () => {
    const one = await app({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
    const two = await app({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000', REDIS_KEY_PREFIX: one.prefix });
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await cheapAuthRequest(i % 2 === 0 ? one : two);
      expect(res.status).toBe(400);
      remaining.push(String(res.headers['x-ratelimit-remaining']));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);

    const limited = await cheapAuthRequest(two);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect(limited.headers['x-ratelimit-limit']).toBe('5');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(limited.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit']).toMatch(/^"5-in-1min"; r=0; t=\d+$/);
    expect(limited.headers['ratelimit-policy']).toMatch(/^"5-in-1min"; q=5; w=60/);
    expect(await counter(one, 'rate_limited')).toBe(1);
    // Login and the challenge endpoint draw on the same budget.
    expect((await request(one.app).post('/api/auth/login').send({ email: uniqueEmail(), password: PASSWORD })).status).toBe(429);
    expect((await request(one.app).get('/api/auth/challenge')).status).toBe(429);
  });

  it('ignores a spoofed X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const t = await app({ RATE_LIMIT_MAX: '3' });
    for (let i = 0; i < 3; i++) expect((await cheapAuthRequest(t, `203.0.113.${i}`)).status).toBe(400);
    expect((await cheapAuthRequest(t, '198.51.100.99')).status).toBe(429);
  });

  it('reports express-rate-limit\'s deployment warnings (here: X-Forwarded-For without trust proxy) in the log', async () => {
    const logLines: string[] = [];
    const t = await app({ RATE_LIMIT_MAX: '3' }, logLines);
    await cheapAuthRequest(t, '203.0.113.1');
    expect(logLines.some((line) => line.includes('ERR_ERL_UNEXPECTED_X_FORWARDED_FOR'))).toBe(true);
  });

  it('behind a trusted proxy, keys IPv4 clients by address and IPv6 clients by /56', async () => {
    const t = await app({ RATE_LIMIT_MAX: '2', TRUST_PROXY: 'loopback' });
    expect((await cheapAuthRequest(t, '2001:db8:0:100::1')).status).toBe(400);
    expect((await cheapAuthRequest(t, '2001:db8:0:1ff::2')).status).toBe(400); // same /56
    expect((await cheapAuthRequest(t, '2001:db8:0:100::3')).status).toBe(429);
    expect((await cheapAuthRequest(t, '2001:db8:0:200::1')).status).toBe(400); // next /56
    expect((await cheapAuthRequest(t, '203.0.113.7')).status).toBe(400);
    expect((await cheapAuthRequest(t, '203.0.113.8')).status).toBe(400);
  });
});

describe('per-account limit', () => {
  const accountEnv = { TRUST_PROXY: 'loopback', ACCOUNT_MAX_FAILURES: '3', ACCOUNT_LOCK_BASE_MS: '1000', ACCOUNT_LOCK_MAX_MS: '60000', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' };
  const login = (t: TestApp, email: string, password: string, ip: string) =>
    request(t.app).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });

  it('locks an account after failures from many IPs and answers like a wrong password, with Retry-After', async () => {
    const t = await app(accountEnv);
    const { email, user } = await registerUser(t);
    const wrong = await login(t, email, 'wrong password 1', '198.51.100.1');
    await login(t, email, 'wrong password 2', '198.51.100.2');
    const third = await login(t, email, 'wrong password 3', '198.51.100.3');
    expect(third.status).toBe(401);
    expect(third.headers['retry-after']).toBe('1');

    const locked = await login(t, email, PASSWORD, '198.51.100.4');
    expect(locked.status).toBe(401);
    expect(locked.body).toEqual(wrong.body);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(locked.headers['set-cookie']).toBeUndefined();
    const events = await t.db.sessionEvent.findMany({ where: { userId: user.id, type: 'rate_limited' } });
    expect(events.length).toBeGreaterThanOrEqual(2); // the lock, and the rejected attempt
    expect(await counter(t, 'rate_limited')).toBeGreaterThanOrEqual(2);

    await sleep(1100);
    expect((await login(t, email, PASSWORD, '198.51.100.5')).status).toBe(200);
  });

  it('locks an email with no account exactly as it locks one that exists', async () => {
    const t = await app(accountEnv);
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 3; i++) await login(t, email, 'wrong password', `198.51.100.${i}`);
    const locked = await login(t, email, 'wrong password', '198.51.100.9');
    expect(locked.status).toBe(401);
    expect(locked.body.error.code).toBe('invalid_credentials');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('doubles the lock for each further burst of failures, and a successful login resets it', async () => {
    const t = await app(accountEnv);
    const { email } = await registerUser(t);
    const burst = async () => {
      let last: request.Response | undefined;
      for (let i = 0; i < 3; i++) last = await login(t, email, `wrong ${i}`, `192.0.2.${i}`);
      return Number(last!.headers['retry-after']);
    };
    expect(await burst()).toBe(1);
    await sleep(1050);
    expect(await burst()).toBe(2);
    await sleep(2050);
    expect(await burst()).toBe(4);
    await sleep(4050);
    expect((await login(t, email, PASSWORD, '192.0.2.50')).status).toBe(200);
    expect(await burst()).toBe(1);
  });

  it('does not count successful logins', async () => {
    const t = await app(accountEnv);
    const { email } = await registerUser(t);
    for (let i = 0; i < 5; i++) expect((await login(t, email, PASSWORD, '192.0.2.77')).status).toBe(200);
  });
});

describe('Redis outage', () => {
  it('falls back to a per-process limit while Redis is cut, logs it once, and returns to Redis', async () => {
    const proxy = await proxyInFrontOfRedis();
    const logLines: string[] = [];
    const t = await app({ REDIS_URL: proxy.serviceUrl, RATE_LIMIT_MAX: '3' }, logLines);
    try {
      expect((await cheapAuthRequest(t)).status).toBe(400); // counted in Redis
      await proxy.cut();
      await waitFor(() => !t.redis.isReady);

      const during = [];
      for (let i = 0; i < 4; i++) during.push((await cheapAuthRequest(t)).status);
      expect(during).toEqual([400, 400, 400, 429]); // limited, not open and not closed
      const fallbackLogs = logLines.filter((l) => l.includes('Redis unavailable') && l.includes('"step":"rate limiter"'));
      expect(fallbackLogs).toHaveLength(1);

      await proxy.restore();
      await waitFor(() => t.redis.isReady, 20_000);
      // Back on Redis, where one request of three was used before the cut.
      expect((await cheapAuthRequest(t)).status).toBe(400);
      expect((await cheapAuthRequest(t)).status).toBe(400);
      expect((await cheapAuthRequest(t)).status).toBe(429);
      expect(logLines.filter((l) => l.includes('Redis answers again') && l.includes('"step":"rate limiter"'))).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('an instance that started while Redis was unreachable', () => {
  it('counts in memory, then in Redis once it answers (the limiter\'s scripts load on connect)', async () => {
    const proxy = await proxyInFrontOfRedis();
    try {
      await proxy.cut();
      const t = await buildTestApp({ REDIS_URL: proxy.serviceUrl, RATE_LIMIT_MAX: '50' }, { noWait: true, connect: false });
      apps.push(t);
      expect((await cheapAuthRequest(t)).status).toBe(400); // counted in memory
      await proxy.restore();
      await waitFor(() => t.redis.isReady, 20_000);
      expect((await cheapAuthRequest(t)).headers['x-ratelimit-remaining']).toBe('49'); // a fresh count, in Redis
      const keys = [];
      for await (const batch of t.redis.scanIterator({ MATCH: `${t.prefix}rl:ip:*` })) keys.push(...batch);
      expect(keys).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('proof-of-work challenge', () => {
  const challengeEnv = { CHALLENGE_AFTER_ACCOUNT_FAILURES: '2', ACCOUNT_MAX_FAILURES: '50' };

  async function solve(challenge: unknown): Promise<string> {
    const solution = await solveChallenge({ challenge: challenge as never, deriveKey });
    expect(solution).not.toBeNull();
    return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  }

  it('is required after repeated failures; a solved one lets the attempt through, a replayed one does not', async () => {
    const t = await app(challengeEnv);
    const { email, user } = await registerUser(t);
    for (let i = 0; i < 2; i++) expect((await request(t.app).post('/api/auth/login').send({ email, password: 'wrong password' })).status).toBe(401);

    const asked = await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD });
    expect(asked.status).toBe(403);
    expect(asked.body.error.code).toBe('challenge_required');
    expect(asked.body.error.challenge).toMatchObject({ parameters: { algorithm: 'PBKDF2/SHA-256' }, signature: expect.any(String) });
    expect(asked.headers['set-cookie']).toBeUndefined();
    expect(await counter(t, 'challenge_issued')).toBe(1);
    expect(await t.db.sessionEvent.count({ where: { userId: user.id, type: 'rate_limited' } })).toBe(1);

    const payload = await solve(asked.body.error.challenge);
    const tampered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64').toString()), solution: { counter: 0, derivedKey: '00' } })).toString('base64');
    expect((await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD, altcha: tampered })).status).toBe(403);

    const passed = await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD, altcha: payload });
    expect(passed.status).toBe(200);

    // Suspicious again; the same solved payload must not work twice.
    for (let i = 0; i < 2; i++) await request(t.app).post('/api/auth/login').send({ email, password: 'wrong password' });
    const replay = await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD, altcha: payload });
    expect(replay.status).toBe(403);
    expect(replay.body.error.code).toBe('challenge_required');
  });

  it('GET /api/auth/challenge hands out a fresh signed challenge', async () => {
    const t = await app({});
    const res = await request(t.app).get('/api/auth/challenge');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ parameters: { algorithm: 'PBKDF2/SHA-256', nonce: expect.any(String) }, signature: expect.any(String) });
  });
});
