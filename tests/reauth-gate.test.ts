// Sensitive actions need a recent password (issue 14 part 1, README: Sensitive actions need a recent password): every session records
// when the password was last entered in it; signing other devices out (and every state-changing
// /admin route) is refused with 403 reauthentication_required once that is older than
// REAUTH_MAX_AGE_SECONDS, and allowed again after POST /api/auth/reauthenticate, which also moves
// the session to a new secret id under the same public handle. Time moves only through the
// app's clock.
import request from 'supertest';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fileCleanups } from './helpers/cleanups.ts';
import { getPage, type Agent } from './helpers/pages.ts';
import {
  agentCookie,
  allAlive,
  expectReauthRequired,
  goStale,
  handleOf,
  reauthenticate,
  REAUTH_APP_ENV,
  json,
  meOf,
  REAUTH_MAX_AGE_SECONDS,
  sessionState,
  signedInAdmin,
  userOnTwoDevices,
} from './helpers/reauth.ts';
import { loginAgent, PASSWORD, rawSessionId, registerUser, sessionCookie, type TestApp } from './helpers/test-app.ts';

const files = fileCleanups();
let t: TestApp;
beforeAll(async () => {
  t = await files.app(REAUTH_APP_ENV);
});
afterEach(() => vi.restoreAllMocks());
const me = (cookie: string) => meOf(t, cookie);

/** An ISO time between two clock readings (inclusive), as GET /api/auth/me gives it. */
function expectIsoBetween(value: unknown, fromMs: number, toMs: number): void {
  expect(value).toEqual(expect.any(String));
  const ms = Date.parse(value as string);
  expect(new Date(ms).toISOString()).toBe(value);
  expect(ms).toBeGreaterThanOrEqual(fromMs);
  expect(ms).toBeLessThanOrEqual(toMs);
}

describe('authenticatedAt', () => {
  it('registration and sign-in record when the password was entered; GET /api/auth/me shows it', async () => {
    const beforeRegister = t.clock.now();
    const { agent, email } = await registerUser(t);
    const afterRegister = t.clock.now();
    expectIsoBetween((await agent.get('/api/auth/me')).body.session.authenticatedAt, beforeRegister, afterRegister);

    t.clock.advance(5 * 60_000);
    const beforeLogin = t.clock.now();
    const laptop = await loginAgent(t, email);
    const afterLogin = t.clock.now();
    expectIsoBetween((await laptop.agent.get('/api/auth/me')).body.session.authenticatedAt, beforeLogin, afterLogin);
  });

  it('a reauthentication moves it; the session\'s createdAt stays', async () => {
    const { agent } = await registerUser(t);
    const before = (await agent.get('/api/auth/me')).body.session;
    t.clock.advance(10 * 60_000);
    const from = t.clock.now();
    const res = await reauthenticate(agent);
    const to = t.clock.now();
    expect(res.status).toBe(200);
    expectIsoBetween(res.body.authenticatedAt, from, to);
    const after = (await agent.get('/api/auth/me')).body.session;
    expect(after.authenticatedAt).toBe(res.body.authenticatedAt);
    expect(after.createdAt).toBe(before.createdAt);
  });

  it('a password change records it too: a stale session may sign other devices out afterwards', async () => {
    const { agent } = await registerUser(t);
    goStale(t);
    const from = t.clock.now();
    const changed = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(changed.status).toBe(200);
    expectIsoBetween((await agent.get('/api/auth/me')).body.session.authenticatedAt, from, t.clock.now());
    expect((await agent.post('/api/sessions/revoke-others')).status).toBe(200);
  });

  it('the account page shows when the password was last entered', async () => {
    const { agent } = await registerUser(t);
    const { authenticatedAt } = (await agent.get('/api/auth/me')).body.session;
    const page = await getPage(agent, '/account');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Password last entered');
    expect(page.text).toMatch(new RegExp(`Password last entered[\\s\\S]*?<time datetime="${authenticatedAt}"`));
  });
});

/** One gated action: who does it to whom, and what "it was done" looks like. */
interface Scenario {
  actor: Agent;
  /** The user whose sessions the action would end, and their cookies (the actor's included when it is theirs). */
  userId: string;
  cookies: string[];
  /** Cookies that stop authenticating when the action runs. */
  targets: string[];
  run: (actor: Agent) => request.Test;
  allowed: (res: request.Response) => void;
}

/** The user, on two devices, does `run` from the first to end (at least) the second's session. */
function ownDevices(run: (actor: Agent, otherHandle: string) => request.Test, allowed: Scenario['allowed']) {
  return async (t: TestApp): Promise<Scenario> => {
    const user = await userOnTwoDevices(t);
    const other = await handleOf(user.second.agent);
    return {
      actor: user.agent,
      userId: user.user.id,
      cookies: [user.cookie, user.second.cookie],
      targets: [user.second.cookie],
      run: (actor) => run(actor, other),
      allowed,
    };
  };
}

const GATED: Array<[string, (t: TestApp) => Promise<Scenario>]> = [
  ['POST /api/auth/logout-all', ownDevices((actor) => actor.post('/api/auth/logout-all'), (res) => expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { revoked: 2 } }))],
  ['POST /api/sessions/revoke-others', ownDevices((actor) => actor.post('/api/sessions/revoke-others'), (res) => expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { revoked: 1 } }))],
  ['DELETE /api/sessions/:id of another session', ownDevices((actor, other) => actor.delete(`/api/sessions/${other}`), (res) => expect(res.status).toBe(204))],
  [
    'DELETE /admin/sessions/:id',
    async (t) => {
      const admin = await signedInAdmin(t);
      const victim = await registerUser(t);
      const handle = await handleOf(victim.agent);
      return {
        actor: admin.agent,
        userId: victim.user.id,
        cookies: [victim.cookie],
        targets: [victim.cookie],
        run: (actor) => json(actor.delete(`/admin/sessions/${handle}`)),
        allowed: (res) => expect(res.status).toBe(204),
      };
    },
  ],
  [
    'POST /admin/users/:id/revoke-sessions',
    async (t) => {
      const admin = await signedInAdmin(t);
      const victim = await userOnTwoDevices(t);
      return {
        actor: admin.agent,
        userId: victim.user.id,
        cookies: [victim.cookie, victim.second.cookie],
        targets: [victim.cookie, victim.second.cookie],
        run: (actor) => json(actor.post(`/admin/users/${victim.user.id}/revoke-sessions`)),
        allowed: (res) => expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { revoked: 2 } }),
      };
    },
  ],
];

describe.each(GATED)('%s', (_name, scenario) => {
  it('is allowed with a fresh password', async () => {
    const s = await scenario(t);
    s.allowed(await s.run(s.actor));
    for (const cookie of s.targets) expect((await me(cookie)).status).toBe(401);
  });

  it(`is refused with 403 reauthentication_required once the password is older than ${REAUTH_MAX_AGE_SECONDS} s, and changes nothing`, async () => {
    const s = await scenario(t);
    const before = await sessionState(t, s.userId, s.cookies);
    expect(before).toEqual(allAlive(s.cookies.length, s.cookies.length, 0));
    goStale(t);
    expectReauthRequired(await s.run(s.actor));
    expect(await sessionState(t, s.userId, s.cookies)).toEqual(before);
    for (const cookie of s.cookies) expect((await me(cookie)).status).toBe(200);
  });

  it('is allowed again after POST /api/auth/reauthenticate, from the session\'s new id', async () => {
    const s = await scenario(t);
    goStale(t);
    const oldCookie = agentCookie(s.actor);
    const again = await reauthenticate(s.actor);
    expect(again.status).toBe(200);
    const newCookie = sessionCookie(again);
    expect(rawSessionId(newCookie)).not.toBe(rawSessionId(oldCookie));
    expect((await me(oldCookie)).status).toBe(401);
    s.allowed(await s.run(s.actor));
    for (const cookie of s.targets) expect((await me(cookie)).status).toBe(401);
  });
});

describe('the limit', () => {
  /** Freezes the app's clock at `ms` (it is real time plus the test's offset). */
  function freezeClockAt(ms: number): void {
    const frozen = Date.now();
    const spy = vi.spyOn(Date, 'now').mockReturnValue(frozen);
    const offset = t.clock.now() - frozen;
    spy.mockReturnValue(ms - offset);
  }

  it('a password entered exactly REAUTH_MAX_AGE_SECONDS ago is still recent enough; a millisecond older is not', async () => {
    const user = await userOnTwoDevices(t);
    const third = await loginAgent(t, user.email);
    const { authenticatedAt } = (await user.agent.get('/api/auth/me')).body.session;
    expect(authenticatedAt).toEqual(expect.any(String));
    const enteredAt = Date.parse(authenticatedAt);

    freezeClockAt(enteredAt + REAUTH_MAX_AGE_SECONDS * 1000 + 1);
    expectReauthRequired(await user.agent.post('/api/sessions/revoke-others'));
    expect((await me(third.cookie)).status).toBe(200);

    freezeClockAt(enteredAt + REAUTH_MAX_AGE_SECONDS * 1000);
    expect((await user.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 2 });
  });

  it('follows REAUTH_MAX_AGE_SECONDS', async () => {
    const strict = await files.app({ REAUTH_MAX_AGE_SECONDS: '60' });
    const user = await registerUser(strict);
    await loginAgent(strict, user.email);
    strict.clock.advance(61_000);
    expectReauthRequired(await user.agent.post('/api/sessions/revoke-others'));
  });
});

describe('what is not gated', () => {
  it('signing out this device, by DELETE /api/sessions/:id of its own handle or POST /api/auth/logout', async () => {
    const user = await userOnTwoDevices(t);
    goStale(t);
    const own = await handleOf(user.agent);
    expect((await user.agent.delete(`/api/sessions/${own}`)).status).toBe(204);
    expect((await me(user.cookie)).status).toBe(401);
    expect((await user.second.agent.post('/api/auth/logout')).status).toBe(204);
    expect((await me(user.second.cookie)).status).toBe(401);
  });

  it('reading: the session list, the history and GET /api/auth/me', async () => {
    const { agent } = await registerUser(t);
    goStale(t);
    expect((await agent.get('/api/sessions')).status).toBe(200);
    expect((await agent.get('/api/sessions/history')).status).toBe(200);
    expect((await agent.get('/api/auth/me')).status).toBe(200);
  });
});

describe('order of the checks', () => {
  it('signed out: 401 unauthenticated from every gated action', async () => {
    const victim = await registerUser(t);
    const handle = await handleOf(victim.agent);
    for (const req of [
      request(t.app).post('/api/auth/logout-all'),
      request(t.app).post('/api/sessions/revoke-others'),
      request(t.app).delete(`/api/sessions/${handle}`),
      json(request(t.app).delete(`/admin/sessions/${handle}`)),
      json(request(t.app).post(`/admin/users/${victim.user.id}/revoke-sessions`)),
    ]) {
      const res = await req;
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'unauthenticated' });
    }
    expect((await me(victim.cookie)).status).toBe(200);
  });

  it('a plain user with a stale password gets 403 forbidden on /admin, not reauthentication_required', async () => {
    const plain = await registerUser(t);
    const victim = await registerUser(t);
    const handle = await handleOf(victim.agent);
    goStale(t);
    for (const req of [json(plain.agent.delete(`/admin/sessions/${handle}`)), json(plain.agent.post(`/admin/users/${victim.user.id}/revoke-sessions`))]) {
      const res = await req;
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 403, code: 'forbidden' });
    }
    expect((await me(victim.cookie)).status).toBe(200);
  });
});
