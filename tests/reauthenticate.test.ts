// Re-authentication (issue 14 part 1, README: Sensitive actions need a recent password): POST /api/auth/reauthenticate checks the
// password behind the account's failed-login budget and moves the session to a new secret id
// under the same public handle; the /reauthenticate page, and the gated page forms that send
// the browser there and back without replaying the action. Time moves only through the app's
// clock. (The gate itself: reauth-gate.test.ts.)
import request from 'supertest';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fileCleanups } from './helpers/cleanups.ts';
import { csrfTokenOf, getPage, signInWithForm, submitForm, type Agent } from './helpers/pages.ts';
import {
  agentCookie,
  expectReauthRequired,
  goStale,
  handleOf,
  hashOf,
  reauthenticate,
  REAUTH_APP_ENV,
  REAUTH_ENV,
  meOf,
  sessionState,
  solve,
  userOnTwoDevices,
} from './helpers/reauth.ts';
import { PASSWORD, rawSessionId, registerUser, sessionCookie, sessionKeyOf, type TestApp } from './helpers/test-app.ts';

const files = fileCleanups();
let t: TestApp;
beforeAll(async () => {
  t = await files.app(REAUTH_APP_ENV);
});
afterEach(() => vi.restoreAllMocks());
const me = (cookie: string) => meOf(t, cookie);

describe('POST /api/auth/reauthenticate', () => {
  it('with the right password: a new secret id, the same handle, createdAt and expiresAt; the old id is gone from Redis and PostgreSQL', async () => {
    const user = await userOnTwoDevices(t);
    const oldCookie = user.cookie;
    const before = (await user.agent.get('/api/auth/me')).body.session;
    const listedBefore = (await user.agent.get('/api/sessions')).body.sessions.map((s: { id: string }) => s.id).sort();
    const rowBefore = await t.db.session.findUniqueOrThrow({ where: { idHash: hashOf(oldCookie) } });
    goStale(t);

    const res = await reauthenticate(user.agent);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['authenticatedAt']);
    const newCookie = sessionCookie(res);
    expect(rawSessionId(newCookie)).not.toBe(rawSessionId(oldCookie));

    // The cookie held before stops working as soon as the response came; the new one works.
    expect((await me(oldCookie)).status).toBe(401);
    const after = (await me(newCookie)).body.session;
    expect(after.id).toBe(before.id);
    expect(after.createdAt).toBe(before.createdAt);
    expect(after.expiresAt).toBe(before.expiresAt);
    expect(after.authenticatedAt).toBe(res.body.authenticatedAt);
    const listed = (await user.agent.get('/api/sessions')).body.sessions;
    expect(listed.map((s: { id: string }) => s.id).sort()).toEqual(listedBefore);
    expect(listed.find((s: { current: boolean }) => s.current).id).toBe(before.id);

    // One Redis entry, one index entry, one row: all under the new id.
    expect(await t.redis.exists(sessionKeyOf(t, oldCookie))).toBe(0);
    expect(await t.redis.exists(sessionKeyOf(t, newCookie))).toBe(1);
    const index = t.sessions.cache.keys.userIndex(user.user.id);
    expect(await t.redis.zScore(index, hashOf(oldCookie))).toBeNull();
    expect(await t.db.session.findUnique({ where: { idHash: hashOf(oldCookie) } })).toBeNull();
    const row = await t.db.session.findUniqueOrThrow({ where: { idHash: hashOf(newCookie) } });
    expect(row).toMatchObject({ handle: before.id, userId: user.user.id, createdAt: rowBefore.createdAt, absoluteExpiresAt: rowBefore.absoluteExpiresAt });
    expect(await t.redis.zScore(index, hashOf(newCookie))).toBe(row.expiresAt.getTime());
    expect(await t.db.session.count({ where: { userId: user.user.id } })).toBe(2);
    // The other device is not touched.
    expect((await me(user.second.cookie)).status).toBe(200);

    const history = (await user.agent.get('/api/sessions/history')).body.events;
    expect(history[0]).toMatchObject({ type: 'reauthenticated', sessionId: before.id });
  });

  it('with a wrong password: 400 validation_failed on password; the session keeps its id and stays stale', async () => {
    const user = await userOnTwoDevices(t);
    const before = (await user.agent.get('/api/auth/me')).body.session;
    goStale(t);
    const res = await reauthenticate(user.agent, 'not my password');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', details: { password: 'is incorrect' } });
    expect((await me(user.cookie)).body.session).toMatchObject({ id: before.id, authenticatedAt: before.authenticatedAt });
    expectReauthRequired(await user.agent.post('/api/sessions/revoke-others'));
  });

  it('without a password: 400 validation_failed, password "is required"', async () => {
    const { agent, cookie } = await registerUser(t);
    const res = await agent.post('/api/auth/reauthenticate').send({});
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', details: { password: 'is required' } });
    expect((await me(cookie)).status).toBe(200);
  });

  it('signed out: 401 unauthenticated', async () => {
    const res = await request(t.app).post('/api/auth/reauthenticate').send({ password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('wrong passwords lock the account like failed logins: then the right one is refused here (429) and at sign-in (401)', async () => {
    const locking = await files.app({ ...REAUTH_ENV, ACCOUNT_MAX_FAILURES: '5', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' });
    const user = await registerUser(locking);
    goStale(locking);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await reauthenticate(user.agent, `wrong password ${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);

    const right = await reauthenticate(user.agent, PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('rate_limited');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    // Refused: still the old id, still stale.
    expect((await request(locking.app).get('/api/auth/me').set('Cookie', user.cookie)).status).toBe(200);
    expectReauthRequired(await user.agent.post('/api/sessions/revoke-others'));

    const login = await request(locking.app).post('/api/auth/login').send({ email: user.email, password: PASSWORD });
    expect(login.status).toBe(401);
    expect(login.body.error.code).toBe('invalid_credentials');
    expect(Number(login.headers['retry-after'])).toBeGreaterThan(0);
    expect(login.headers['set-cookie']).toBeUndefined();
  });

  it('asks for a proof of work after repeated failures (403 challenge_required) and accepts a solved altcha', async () => {
    const guarded = await files.app({ ...REAUTH_ENV, CHALLENGE_AFTER_ACCOUNT_FAILURES: '3', ACCOUNT_MAX_FAILURES: '50' });
    const user = await registerUser(guarded);
    goStale(guarded);
    for (let i = 0; i < 3; i++) expect((await reauthenticate(user.agent, 'wrong password')).status).toBe(400);

    const asked = await reauthenticate(user.agent, PASSWORD);
    expect(asked.status).toBe(403);
    expect(asked.body.error.code).toBe('challenge_required');
    expect(asked.body.error.challenge).toMatchObject({ parameters: { algorithm: 'PBKDF2/SHA-256' }, signature: expect.any(String) });
    expect(asked.headers['set-cookie']).toBeUndefined();
    expect((await request(guarded.app).get('/api/auth/me').set('Cookie', user.cookie)).status).toBe(200);

    const passed = await reauthenticate(user.agent, PASSWORD, await solve(asked.body.error.challenge));
    expect(passed.status).toBe(200);
    expect(rawSessionId(sessionCookie(passed))).not.toBe(rawSessionId(user.cookie));
    expect((await user.agent.post('/api/sessions/revoke-others')).status).toBe(200);
  });
});

describe('GET /reauthenticate', () => {
  it('renders the password form with next, a CSRF field and why it is asked', async () => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const res = await getPage(agent, '/reauthenticate?next=/account');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('<title>Confirm your password · redis-session-auth</title>');
    expect(res.text).toMatch(/<form method="post" action="\/reauthenticate"/);
    expect(res.text).toMatch(/<label for="password">Password<\/label>/);
    expect(res.text).toMatch(/<input[^>]*type="password"[^>]*name="password"|<input[^>]*name="password"[^>]*type="password"/);
    expect(res.text).toContain('<input type="hidden" name="next" value="/account">');
    expect(csrfTokenOf(res.text)).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{64}$/);
    // A short explanation before the form: why the password is asked again.
    const beforeForm = res.text.slice(res.text.indexOf('<h1>'), res.text.indexOf('<form method="post" action="/reauthenticate"'));
    const paragraphs = [...beforeForm.matchAll(/<p[^>]*>([\s\S]*?)<\/p>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
    expect(paragraphs.some((text) => /password/i.test(text) && text.length > 40), beforeForm).toBe(true);
  });

  it('sends a signed-out browser to the sign-in page', async () => {
    const res = await getPage(request(t.app), '/reauthenticate?next=/account');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=\//);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('POST /reauthenticate', () => {
  it.each([
    ['/account', '/account'],
    ['/admin/sessions', '/admin/sessions'],
    ['/account?tab=devices', '/account?tab=devices'],
    ['//evil.example', '/account'],
    ['https://evil.example/', '/account'],
    ['/\\evil.example', '/account'],
  ])('with the right password and next=%j goes to %j under a new session id', async (next, expected) => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const oldCookie = agentCookie(agent);
    goStale(t);
    const res = await submitForm(agent, `/reauthenticate?next=${encodeURIComponent(next)}`, '/reauthenticate', { password: PASSWORD, next });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(expected);
    expect(rawSessionId(sessionCookie(res))).not.toBe(rawSessionId(oldCookie));
    expect((await me(oldCookie)).status).toBe(401);
    expect((await me(agentCookie(agent))).status).toBe(200);
  });

  it('with a wrong password shows the form again with an error (400) and changes nothing', async () => {
    const { email, user } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const cookie = agentCookie(agent);
    goStale(t);
    const res = await submitForm(agent, '/reauthenticate?next=/account', '/reauthenticate', { password: 'not my password', next: '/account' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Confirm your password · redis-session-auth</title>');
    expect(res.text).toMatch(/incorrect/i);
    expect(res.text).toContain('<input type="hidden" name="next" value="/account">');
    expect(res.text).not.toContain('not my password');
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).filter((c) => c.startsWith('sid='))).toEqual([]);
    expect(agentCookie(agent)).toBe(cookie);
    const stillStale = await submitForm(agent, '/account', '/account/sessions/revoke-others', {});
    expect(stillStale.headers.location).toBe('/reauthenticate?next=/account');
    expect(await t.db.session.count({ where: { userId: user.id } })).toBe(2);
  });

  it('without a CSRF token answers 403 and changes nothing', async () => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const cookie = agentCookie(agent);
    goStale(t);
    await getPage(agent, '/reauthenticate?next=/account');
    const res = await agent.post('/reauthenticate').set('Accept', 'text/html').type('form').send({ password: PASSWORD, next: '/account' });
    expect(res.status).toBe(403);
    expect(agentCookie(agent)).toBe(cookie);
    expect((await me(cookie)).status).toBe(200);
    expect((await submitForm(agent, '/account', '/account/sessions/revoke-others', {})).headers.location).toBe('/reauthenticate?next=/account');
  });
});

/** A form on a page that signs other sessions out: gated like its API action. */
interface PageForm {
  actor: Agent;
  /** The user whose sessions the form ends, and the cookies to watch (the actor's first when they are theirs). */
  userId: string;
  watched: string[];
  /** Sessions other than the actor's that the form ends; whether it ends the actor's too. */
  others: string[];
  endsOwn: boolean;
  /** The page the form is on, and where it posts. */
  page: string;
  action: string;
  /** Where a stale post is sent (to come back from), and where a post with a recent password lands. */
  reauthenticate: string;
  done: string;
}

async function accountForm(t: TestApp, action: (otherHandle: string) => string, done: string, endsOwn = false): Promise<PageForm> {
  const user = await registerUser(t);
  const agent = await signInWithForm(t, user.email, PASSWORD);
  const other = await handleOf(user.agent);
  return {
    actor: agent,
    userId: user.user.id,
    watched: [agentCookie(agent), user.cookie],
    others: [user.cookie],
    endsOwn,
    page: '/account',
    action: action(other),
    reauthenticate: '/reauthenticate?next=/account',
    done,
  };
}

const FORMS: Array<[string, (t: TestApp) => Promise<PageForm>]> = [
  ['"Sign out all other devices" (POST /account/sessions/revoke-others)', (t) => accountForm(t, () => '/account/sessions/revoke-others', '/account?notice=others-signed-out')],
  ['"Sign out everywhere" (POST /account/logout-everywhere)', (t) => accountForm(t, () => '/account/logout-everywhere', '/login?signed_out=everywhere', true)],
  ['"Sign out" on another device (POST /account/sessions/:id/revoke)', (t) => accountForm(t, (other) => `/account/sessions/${other}/revoke`, '/account?notice=device-signed-out')],
  [
    'the dashboard\'s revoke button (POST /admin/sessions/:id/revoke)',
    async (t) => {
      const admin = await registerUser(t);
      await t.db.user.update({ where: { id: admin.user.id }, data: { role: 'admin' } });
      const agent = await signInWithForm(t, admin.email, PASSWORD);
      const victim = await registerUser(t);
      return {
        actor: agent,
        userId: victim.user.id,
        watched: [victim.cookie],
        others: [victim.cookie],
        endsOwn: false,
        page: '/admin/sessions',
        action: `/admin/sessions/${await handleOf(victim.agent)}/revoke`,
        reauthenticate: '/reauthenticate?next=/admin/sessions',
        done: '/admin/sessions',
      };
    },
  ],
];

describe.each(FORMS)('the page form %s', (_name, form) => {
  it('works with a fresh password', async () => {
    const f = await form(t);
    const own = agentCookie(f.actor);
    const res = await submitForm(f.actor, f.page, f.action, {});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(f.done);
    for (const cookie of f.others) expect((await me(cookie)).status).toBe(401);
    expect((await me(own)).status).toBe(f.endsOwn ? 401 : 200);
  });

  it('with a stale password sends the browser to the password form and back; the action runs only when clicked again', async () => {
    const f = await form(t);
    const before = await sessionState(t, f.userId, f.watched);
    goStale(t);
    const refused = await submitForm(f.actor, f.page, f.action, {});
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toBe(f.reauthenticate);
    expect(await sessionState(t, f.userId, f.watched)).toEqual(before);

    // The password form, then back where the person was: nothing was replayed.
    const next = new URL(f.reauthenticate, 'http://same-site.invalid').searchParams.get('next')!;
    const confirmed = await submitForm(f.actor, f.reauthenticate, '/reauthenticate', { password: PASSWORD, next });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.location).toBe(next);
    for (const cookie of f.others) expect((await me(cookie)).status).toBe(200);
    expect(await t.db.session.count({ where: { userId: f.userId } })).toBe(before.rowCount);

    const own = agentCookie(f.actor);
    const clickedAgain = await submitForm(f.actor, f.page, f.action, {});
    expect(clickedAgain.status).toBe(303);
    expect(clickedAgain.headers.location).toBe(f.done);
    for (const cookie of f.others) expect((await me(cookie)).status).toBe(401);
    expect((await me(own)).status).toBe(f.endsOwn ? 401 : 200);
  });
});

describe('page forms that are not gated', () => {
  it('"Sign out" on this device signs it out however old the password is', async () => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const cookie = agentCookie(agent);
    const own = await handleOf(agent);
    goStale(t);
    const res = await submitForm(agent, '/account', `/account/sessions/${own}/revoke`, {});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?signed_out=device');
    expect((await me(cookie)).status).toBe(401);
  });
});
