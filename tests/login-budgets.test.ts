// Failed-login budgets count an attempt before its password is checked, so a concurrent burst
// cannot outrun them: bursts held in flight at the password check (a gate in the hasher), in
// Redis and in the memory fallback; every password check costs one verification, whether the
// email exists or not; and attempts in flight are reservations with deadlines of their own,
// settled in the store that admitted them (LoginBudgets on real Redis, cut through a TCP proxy).
import { singleNode } from '../src/redis-settings.ts';
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { RedisFallback } from '../src/redis-fallback.ts';
import { connectRedis, createRedisClient, type RedisClient } from '../src/redis.ts';
import { LoginBudgets, type Admission, type Attempt, type BudgetPolicy } from '../src/rate-limit/login-budgets.ts';
import { countingHasher, type CountingHasher } from './helpers/counting-hasher.ts';
import { buildTestApp, PASSWORD, registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { proxyInFrontOfRedis } from './helpers/services.ts';
import { waitFor, type TcpProxy } from './helpers/tcp-proxy.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function app(env: Record<string, string>, hasher: CountingHasher, options: { noWait?: boolean } = {}): Promise<TestApp> {
  const built = await buildTestApp({ TRUST_PROXY: 'true', ...env }, { hasher, ...options });
  cleanups.push(() => built.close());
  return built;
}

const storedHash = async (t: TestApp, userId: string) => (await t.db.user.findUniqueOrThrow({ where: { id: userId } })).passwordHash;
const login = (t: TestApp, email: string, password: string, ip: string) => request(t.app).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });

/** Sends `count` logins at once; resolves when every one is either answered or held at the gate. */
async function burst(t: TestApp, hasher: CountingHasher, count: number, send: (i: number) => request.Test) {
  let answered = 0;
  const responses = Array.from({ length: count }, (_, i) =>
    send(i).then((res) => {
      answered++;
      return res;
    }),
  );
  await waitFor(() => answered + hasher.waiting() === count, 20_000);
  return { answered: () => answered, all: () => Promise.all(responses) };
}

describe('account budget', () => {
  it('a burst of 29 wrong passwords from 29 IPs: only ACCOUNT_MAX_FAILURES reach the check, and the right password sent meanwhile is refused', async () => {
    const hasher = countingHasher();
    const t = await app({ ACCOUNT_MAX_FAILURES: '5', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    const { email, user } = await registerUser(t);
    const stored = await storedHash(t, user.id);
    hasher.hold((hash) => hash === stored);

    const attack = await burst(t, hasher, 29, (i) => login(t, email, `wrong password ${i}`, `198.51.100.${i + 1}`));
    expect(hasher.waiting()).toBe(5); // in flight, counted before their check
    const right = await login(t, email, PASSWORD, '203.0.113.7');
    expect(right.status).toBe(401);
    expect(right.body.error.code).toBe('invalid_credentials');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(right.headers['set-cookie']).toBeUndefined();

    hasher.release();
    const responses = await attack.all();
    expect(responses.map((res) => res.status)).toEqual(Array(29).fill(401));
    expect(hasher.verifications(stored)).toBe(5);
    // The five failures locked the account: the right password is still refused, without a check.
    expect((await login(t, email, PASSWORD, '203.0.113.8')).status).toBe(401);
    expect(hasher.verifications(stored)).toBe(5);
    expect(await t.db.session.count({ where: { userId: user.id } })).toBe(1); // the registration's only
  });

  it('the proof-of-work threshold counts attempts in flight: 30 at once, 3 checked, 27 challenged', async () => {
    const hasher = countingHasher();
    const t = await app({ ACCOUNT_MAX_FAILURES: '50', CHALLENGE_AFTER_ACCOUNT_FAILURES: '3' }, hasher);
    const { email, user } = await registerUser(t);
    const stored = await storedHash(t, user.id);
    hasher.hold((hash) => hash === stored);

    const attack = await burst(t, hasher, 30, (i) => login(t, email, `wrong password ${i}`, `198.51.100.${i + 1}`));
    expect(hasher.waiting()).toBe(3);
    hasher.release();
    const statuses = (await attack.all()).map((res) => res.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 403)).toHaveLength(27);
    expect(hasher.verifications(stored)).toBe(3);
  });

  it('a success gives its point back and forgets the failures; a failure keeps its point', async () => {
    const hasher = countingHasher();
    const t = await app({ ACCOUNT_MAX_FAILURES: '3', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    const { email } = await registerUser(t);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) expect((await login(t, email, 'wrong password', '198.51.100.1')).status).toBe(401);
      expect((await login(t, email, PASSWORD, '198.51.100.1')).status).toBe(200);
    }
    for (let i = 0; i < 3; i++) expect((await login(t, email, 'wrong password', '198.51.100.1')).status).toBe(401);
    expect((await login(t, email, PASSWORD, '198.51.100.1')).status).toBe(401); // locked by the third
  });
});

describe('IP budget', () => {
  it('30 unknown emails at once from one IP past CHALLENGE_AFTER_IP_FAILURES: 3 checked, 27 challenged', async () => {
    const hasher = countingHasher();
    const t = await app({ CHALLENGE_AFTER_IP_FAILURES: '3', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    hasher.hold(); // unknown emails are checked against the dummy hash: hold every check
    const attack = await burst(t, hasher, 30, () => login(t, uniqueEmail('spray'), 'wrong password', '198.51.100.77'));
    expect(hasher.waiting()).toBe(3);
    hasher.release();
    const statuses = (await attack.all()).map((res) => res.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 403)).toHaveLength(27);
    // Another IP is not affected.
    expect((await login(t, uniqueEmail('other'), 'wrong password', '198.51.100.78')).status).toBe(401);
  });
});

describe('memory fallback while Redis is away', () => {
  it('counts attempts in flight the same way, per instance', async () => {
    const proxy = await proxyInFrontOfRedis();
    cleanups.push(() => proxy.close());
    const hasher = countingHasher();
    const t = await app({ REDIS_URL: proxy.serviceUrl, ACCOUNT_MAX_FAILURES: '5', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    const { email, user } = await registerUser(t);
    const stored = await storedHash(t, user.id);
    await proxy.cut();
    await waitFor(() => !t.redis.isReady);

    hasher.hold((hash) => hash === stored);
    const attack = await burst(t, hasher, 29, (i) => login(t, email, `wrong password ${i}`, `198.51.100.${i + 1}`));
    expect(hasher.waiting()).toBe(5);
    expect((await login(t, email, PASSWORD, '203.0.113.7')).status).toBe(401);
    hasher.release();
    expect((await attack.all()).map((res) => res.status)).toEqual(Array(29).fill(401));
    expect(hasher.verifications(stored)).toBe(5);
    expect((await login(t, email, PASSWORD, '203.0.113.8')).status).toBe(401);
  });
});

describe('current password of a password change', () => {
  it('spends from the account budget: 10 wrong current passwords lock it, and then the right one changes nothing', async () => {
    const hasher = countingHasher();
    const t = await app({ ACCOUNT_MAX_FAILURES: '5', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    const { agent, email, user } = await registerUser(t);
    const stored = await storedHash(t, user.id);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await agent.post('/api/auth/password').send({ currentPassword: `wrong password ${i}`, newPassword: 'a brand new password' })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429, 429, 429, 429]);
    const right = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('rate_limited');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(await storedHash(t, user.id)).toBe(stored);
    expect(hasher.verifications(stored)).toBe(5);
    // The same budget as sign-in: the account is locked there too.
    expect((await login(t, email, PASSWORD, '198.51.100.1')).status).toBe(401);
  });

  it('a burst of wrong current passwords: only ACCOUNT_MAX_FAILURES are checked', async () => {
    const hasher = countingHasher();
    const t = await app({ ACCOUNT_MAX_FAILURES: '5', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    const { agent, user } = await registerUser(t);
    const stored = await storedHash(t, user.id);
    hasher.hold((hash) => hash === stored);
    const attack = await burst(t, hasher, 12, (i) => agent.post('/api/auth/password').send({ currentPassword: `wrong password ${i}`, newPassword: 'a brand new password' }));
    expect(hasher.waiting()).toBe(5);
    hasher.release();
    const statuses = (await attack.all()).map((res) => res.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });
});

describe('one verification per password check', () => {
  it('an unknown email, a wrong password and a locked account each cost exactly one verification', async () => {
    const hasher = countingHasher();
    const t = await app({ ACCOUNT_MAX_FAILURES: '2', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
    const { email } = await registerUser(t);
    const cost = async (send: () => request.Test) => {
      const before = hasher.verifications();
      const res = await send();
      expect(res.status).toBe(401);
      return hasher.verifications() - before;
    };
    expect(await cost(() => login(t, uniqueEmail('nobody'), 'some password', '198.51.100.1'))).toBe(1);
    expect(await cost(() => login(t, email, 'wrong password', '198.51.100.1'))).toBe(1);
    expect(await cost(() => login(t, email, 'wrong password', '198.51.100.1'))).toBe(1); // this one locks
    expect(await cost(() => login(t, email, PASSWORD, '198.51.100.1'))).toBe(1); // locked: the dummy check only
  });
});

// LoginBudgets itself, so a test can set short reservations and windows. Redis judges deadlines
// by its own clock (TIME), so these wait for real time, with bounded polls.
const silent = createLogger('silent');
const IP = '198.51.100.9';
const POLICY: BudgetPolicy = { maxFailures: 2, windowMs: 15 * 60_000, lockBaseMs: 60_000, lockMaxMs: 3_600_000, challengeAfterAccountFailures: 0, challengeAfterIpFailures: 0 };

/** `connect: false`: a client that never connects, so every call takes the memory store. */
async function budgetsOn(policy: Partial<BudgetPolicy>, { url = inject('redisUrl'), connect = true } = {}) {
  const client = createRedisClient({ redis: singleNode(url, undefined) }, silent);
  if (connect) {
    await connectRedis(client, singleNode(url), 5_000);
    cleanups.push(() => client.close());
  }
  const prefix = `${inject('redisKeyPrefix')}${randomBytes(3).toString('hex')}:`;
  return { client, prefix, budgets: new LoginBudgets(new RedisFallback(client, silent), prefix, { ...POLICY, ...policy }, Date.now) };
}

function admitted(admission: Admission): Attempt {
  if (!('admitted' in admission)) throw new Error(`refused: ${JSON.stringify(admission)}`);
  return admission.admitted;
}

/** Polls until one attempt is admitted (an earlier lock or reservation has ended). */
async function nextAdmitted(budgets: LoginBudgets, email: string): Promise<Attempt> {
  let attempt: Attempt | undefined;
  await waitFor(async () => {
    const admission = await budgets.reserve(email, IP, false);
    if ('admitted' in admission) attempt = admission.admitted;
    return attempt !== undefined;
  });
  return attempt!;
}

/** Polls until `count` attempts sent at once are all admitted; each poll gives its attempts back. */
const untilAdmittedAtOnce = (budgets: LoginBudgets, email: string, count: number) =>
  waitFor(async () => {
    const answers = await Promise.all(Array.from({ length: count }, () => budgets.reserve(email, IP, false)));
    await Promise.all(answers.map((a) => ('admitted' in a ? a.admitted.settle('release') : undefined)));
    return answers.every((a) => 'admitted' in a);
  });

describe.each([
  ['Redis', true],
  ['memory', false],
])('attempts in flight, counted in %s', (_, connect) => {
  it('an attempt never settled stops counting at its deadline', async () => {
    const { budgets } = await budgetsOn({ reservationMs: 1_000 }, { connect });
    const email = uniqueEmail('abandoned');
    admitted(await budgets.reserve(email, IP, false)); // its instance died mid-check, say
    await untilAdmittedAtOnce(budgets, email, POLICY.maxFailures);
  });

  it('a window ending during a burst forgets its failures, not the attempts in flight: never more than the limit at once', async () => {
    const { budgets } = await budgetsOn({ maxFailures: 3, windowMs: 1_000 }, { connect });
    const email = uniqueEmail('window');
    for (let i = 0; i < 2; i++) expect(await admitted(await budgets.reserve(email, IP, false)).settle('failure')).toBe(0);
    const inFlight = [admitted(await budgets.reserve(email, IP, false))]; // the last point
    expect(await budgets.reserve(email, IP, false)).toMatchObject({ refused: 'locked' });
    inFlight.push(await nextAdmitted(budgets, email)); // the window has ended
    for (const admission of await Promise.all(Array.from({ length: 10 }, () => budgets.reserve(email, IP, false)))) {
      if ('admitted' in admission) inFlight.push(admission.admitted);
    }
    expect(inFlight).toHaveLength(3);
    await Promise.all(inFlight.map((attempt) => attempt.settle('release')));
  });

  it('exhausted answers Retry-After = the lock the attempts in flight would start, which grows with the strikes', async () => {
    const { budgets } = await budgetsOn({ maxFailures: 1, lockBaseMs: 200 }, { connect });
    const email = uniqueEmail('exhausted');
    const first = admitted(await budgets.reserve(email, IP, false));
    expect(await budgets.reserve(email, IP, false)).toEqual({ refused: 'locked', retryAfterMs: 200 });
    expect(await first.settle('failure')).toBe(200);
    const second = await nextAdmitted(budgets, email); // that lock has ended; its strike stays
    expect(await budgets.reserve(email, IP, false)).toEqual({ refused: 'locked', retryAfterMs: 400 });
    expect(await second.settle('failure')).toBe(400);
  });
});

describe('Redis lost between reserve and settle', () => {
  async function viaProxy(policy: Partial<BudgetPolicy>) {
    const proxy = await proxyInFrontOfRedis();
    cleanups.push(() => proxy.close());
    return { proxy, ...(await budgetsOn(policy, { url: proxy.serviceUrl })) };
  }
  const cut = async (proxy: TcpProxy, client: RedisClient) => (await proxy.cut(), waitFor(() => !client.isReady));
  const restore = async (proxy: TcpProxy, client: RedisClient) => (await proxy.restore(), waitFor(() => client.isReady));

  it('admitted in Redis, settled while it is away: the failure counts in memory, and the Redis reservation ends at its deadline', async () => {
    const { proxy, client, budgets } = await viaProxy({ reservationMs: 1_000 });
    const email = uniqueEmail('lost-settle');
    const first = admitted(await budgets.reserve(email, IP, false));
    await cut(proxy, client);
    expect(await first.settle('failure')).toBe(0);
    // Counted in memory: one more failure there reaches the limit and locks.
    expect(await admitted(await budgets.reserve(email, IP, false)).settle('failure')).toBe(POLICY.lockBaseMs);
    await restore(proxy, client);
    // Redis still holds `first`'s reservation: past its deadline, the whole budget is free again.
    await untilAdmittedAtOnce(budgets, email, POLICY.maxFailures);
  });

  it('admitted in memory, settled once Redis is back: settled in memory, where its reservation is', async () => {
    const { proxy, client, budgets } = await viaProxy({ maxFailures: 1 }); // reservations of 30 s
    const email = uniqueEmail('lost-reserve');
    await cut(proxy, client);
    const attempt = admitted(await budgets.reserve(email, IP, false));
    await restore(proxy, client);
    await attempt.settle('success');
    await cut(proxy, client);
    expect('admitted' in (await budgets.reserve(email, IP, false))).toBe(true);
  });

  it('keys: each budget under one hash tag (Redis Cluster), every key with an expiry', async () => {
    const { client, prefix, budgets } = await budgetsOn({ challengeAfterIpFailures: 5 });
    const email = uniqueEmail('keys');
    await admitted(await budgets.reserve(email, IP, false)).settle('failure');
    const held = admitted(await budgets.reserve(email, IP, false));
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
    const hash = createHash('sha256').update(email).digest('base64url');
    const names = keys.map((key) => key.slice(prefix.length).replace(hash, 'H')).sort();
    expect(names).toEqual([`lg:ip:{${IP}}`, `lg:ip:{${IP}}:p`, 'lg:{H}:f', 'lg:{H}:p']);
    for (const key of keys) expect(await client.pTTL(key)).toBeGreaterThan(0);
    await held.settle('release');
  });
});
