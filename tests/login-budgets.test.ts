// Failed-login budgets count an attempt before its password is checked, so a concurrent burst
// cannot outrun them: bursts held in flight at the password check (a gate in the hasher), in
// Redis and in the memory fallback; and every password check costs one verification, whether
// the email exists or not.
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { countingHasher, type CountingHasher } from './helpers/counting-hasher.ts';
import { buildTestApp, PASSWORD, registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { startTcpProxy, waitFor } from './helpers/tcp-proxy.ts';
import { inject } from 'vitest';

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
    const proxy = await startTcpProxy(Number(new URL(inject('redisUrl')).port || 6379));
    cleanups.push(() => proxy.close());
    const hasher = countingHasher();
    const t = await app({ REDIS_URL: proxy.url('redis'), ACCOUNT_MAX_FAILURES: '5', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, hasher);
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
