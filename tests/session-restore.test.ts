// Restoring a session from PostgreSQL into Redis, when something goes wrong in the middle: a
// revocation lands between the row read and the Redis write (a hook holds the restore there),
// or Redis stops answering there.
import { afterAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { buildTestApp, locateCookie, loginAgent, rawSessionId, registerUser, type TestApp, type TestAppOptions } from './helpers/test-app.ts';
import { proxyInFrontOfRedis } from './helpers/services.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function app(env: Record<string, string>, options: TestAppOptions): Promise<TestApp> {
  const built = await buildTestApp(env, options);
  cleanups.push(() => built.close());
  return built;
}

/** A hook that holds the restore until the test lets it go, and says when it is held. */
function gate() {
  let held = false;
  let open: (() => void) | null = null;
  let armed = false;
  return {
    arm: () => (armed = true),
    isHeld: () => held,
    release: () => open?.(),
    hook: async () => {
      if (!armed) return;
      armed = false;
      held = true;
      await new Promise<void>((resolve) => (open = resolve));
      held = false;
    },
  };
}

describe('restore from PostgreSQL', () => {
  it('a revocation that lands while the restore is between its row read and its Redis write wins: that request is not signed in', async () => {
    const restore = gate();
    const t = await app({}, { sessionHooks: { beforeRestoreWrite: restore.hook } });
    const alice = await registerUser(t);
    const laptop = await loginAgent(t, alice.email);
    const laptopKey = t.sessions.cache.keys.session(locateCookie(laptop.cookie));
    await t.redis.unlink(laptopKey); // Redis lost the laptop's entry

    restore.arm();
    const reading = laptop.agent.get('/api/auth/me').then((res) => res);
    await waitFor(() => restore.isHeld());
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    restore.release();

    expect((await reading).status).toBe(401);
    expect(await t.redis.exists(laptopKey)).toBe(0); // the tombstone refused the write
    expect((await laptop.agent.get('/api/auth/me')).status).toBe(401);
  });

  it('a Redis that stops answering in the middle of a restore gets the same 2 s deadline: the request is answered from the row', async () => {
    const proxy = await proxyInFrontOfRedis();
    cleanups.push(() => proxy.close());
    const restore = gate();
    const t = await app({ REDIS_URL: proxy.serviceUrl }, { sessionHooks: { beforeRestoreWrite: restore.hook } });
    const alice = await registerUser(t);
    await t.redis.unlink(t.sessions.cache.keys.session(locateCookie(alice.cookie)));

    restore.arm();
    const reading = alice.agent.get('/api/auth/me').then((res) => res);
    await waitFor(() => restore.isHeld());
    proxy.stall();
    restore.release();
    const res = await reading;
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(alice.user.id);
    proxy.unstall();
    await waitFor(() => t.redis.isReady, 20_000);
  });
});
