// "Keep me signed in" (issue 14 part 2, README: HTTP API, Pages): the login form's checkbox (unchecked by
// default) and the API's `remember` (default true). Not remembered: a browser-session cookie
// (no Expires, no Max-Age) and an absolute lifetime of SESSION_SHORT_TTL, followed by the row,
// the Redis entry's TTL and the user's index; remembered: SESSION_TTL, as before.
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileCleanups } from './helpers/cleanups.ts';
import { getPage, submitForm } from './helpers/pages.ts';
import { agentCookie, cookieExpires, hashOf, isBrowserSessionCookie, reauthenticate, sessionSetCookie } from './helpers/reauth.ts';
import { PASSWORD, registerUser, sessionCookie, sessionKeyOf, uniqueEmail, type TestApp } from './helpers/test-app.ts';

const SESSION_TTL = 604_800;
const SESSION_SHORT_TTL = 43_200;
const SESSION_IDLE_TIMEOUT = 86_400;
const LIFETIMES = { SESSION_TTL: String(SESSION_TTL), SESSION_SHORT_TTL: String(SESSION_SHORT_TTL), SESSION_IDLE_TIMEOUT: String(SESSION_IDLE_TIMEOUT) };

const files = fileCleanups();
let t: TestApp;
beforeAll(async () => {
  t = await files.app(LIFETIMES);
});

const me = (app: TestApp, cookie: string) => request(app.app).get('/api/auth/me').set('Cookie', cookie);
const apiLogin = (app: TestApp, email: string, extra: Record<string, unknown>) => request(app.app).post('/api/auth/login').send({ email, password: PASSWORD, ...extra });

/** Registers a user and signs them out again, so their next sign-in is the one a test looks at. */
async function existingUser(app: TestApp) {
  const user = await registerUser(app);
  expect((await user.agent.post('/api/auth/logout')).status).toBe(204);
  return user;
}

/** The cookie keeps the attributes of README: Decisions whatever its lifetime. */
function expectSessionCookieAttributes(line: string): void {
  expect(line).toMatch(/;\s*HttpOnly/i);
  expect(line).toMatch(/;\s*SameSite=Lax/i);
  expect(line).toMatch(/;\s*Path=\//);
}

/** A cookie that expires about `seconds` from now (the app's clock has not moved in this app). */
function expectExpiresIn(line: string, seconds: number): void {
  const expires = cookieExpires(line);
  expect(expires, line).not.toBeNull();
  expect(Math.abs(expires!.getTime() - (t.clock.now() + seconds * 1000))).toBeLessThan(60_000);
}

/**
 * The session of `cookie` lives `lifetimeSeconds` from its creation: the row says so, its
 * expiresAt is min(absolute, lastSeen + idle), the index scores it at that expiresAt and the
 * Redis entry's TTL runs out then (measured against the app's clock, never later).
 */
async function expectLifetime(app: TestApp, cookie: string, userId: string, lifetimeSeconds: number, idleSeconds: number): Promise<void> {
  const readAt = app.clock.now();
  const row = await app.db.session.findUniqueOrThrow({ where: { idHash: hashOf(cookie) } });
  expect(row.absoluteExpiresAt.getTime() - row.createdAt.getTime()).toBe(lifetimeSeconds * 1000);
  expect(row.expiresAt.getTime()).toBe(Math.min(row.absoluteExpiresAt.getTime(), row.lastSeenAt.getTime() + idleSeconds * 1000));
  expect(await app.redis.zScore(app.sessions.cache.keys.userIndex(userId), hashOf(cookie))).toBe(row.expiresAt.getTime());
  const ttlMs = await app.redis.pTTL(sessionKeyOf(app, cookie));
  expect(ttlMs).toBeLessThanOrEqual(row.expiresAt.getTime() - row.createdAt.getTime());
  expect(ttlMs).toBeGreaterThan(row.expiresAt.getTime() - readAt - 10_000);
}

describe('the login form', () => {
  it('has a "Keep me signed in" checkbox, unchecked by default', async () => {
    const res = await getPage(request.agent(t.app), '/login');
    expect(res.status).toBe(200);
    const input = /<input[^>]*name="remember"[^>]*>/.exec(res.text)?.[0];
    expect(input, 'an input named remember').toBeDefined();
    expect(input).toContain('type="checkbox"');
    expect(input).not.toMatch(/\schecked\b/);
    expect(res.text).toContain('Keep me signed in');
    const id = /\sid="([^"]+)"/.exec(input!)?.[1];
    // Labelled: by a <label for> pointing at it, or by a <label> around it.
    if (id) expect(res.text).toMatch(new RegExp(`<label[^>]*for="${id}"[^>]*>[\\s\\S]*?Keep me signed in`));
    else expect(res.text).toMatch(/<label[^>]*>[\s\S]*?name="remember"[\s\S]*?Keep me signed in[\s\S]*?<\/label>/);
  });

  it('without the box ticked: a browser-session cookie and a SESSION_SHORT_TTL lifetime', async () => {
    const { email, user } = await existingUser(t);
    const agent = request.agent(t.app);
    const res = await submitForm(agent, '/login', '/login', { email, password: PASSWORD });
    expect(res.status).toBe(303);
    const line = sessionSetCookie(res);
    expect(isBrowserSessionCookie(line), line).toBe(true);
    expectSessionCookieAttributes(line);
    await expectLifetime(t, sessionCookie(res), user.id, SESSION_SHORT_TTL, SESSION_IDLE_TIMEOUT);
  });

  it('with the box ticked (remember=on): a cookie that expires after SESSION_TTL, and a SESSION_TTL lifetime', async () => {
    const { email, user } = await existingUser(t);
    const agent = request.agent(t.app);
    const res = await submitForm(agent, '/login', '/login', { email, password: PASSWORD, remember: 'on' });
    expect(res.status).toBe(303);
    const line = sessionSetCookie(res);
    expectExpiresIn(line, SESSION_TTL);
    expectSessionCookieAttributes(line);
    await expectLifetime(t, sessionCookie(res), user.id, SESSION_TTL, SESSION_IDLE_TIMEOUT);
  });
});

describe('POST /api/auth/login remember', () => {
  it('false: a browser-session cookie; the row, the index and the Redis TTL follow SESSION_SHORT_TTL', async () => {
    const { email, user } = await existingUser(t);
    const res = await apiLogin(t, email, { remember: false });
    expect(res.status).toBe(200);
    const line = sessionSetCookie(res);
    expect(isBrowserSessionCookie(line), line).toBe(true);
    expectSessionCookieAttributes(line);
    await expectLifetime(t, sessionCookie(res), user.id, SESSION_SHORT_TTL, SESSION_IDLE_TIMEOUT);
  });

  it.each([
    ['true', true],
    ['left out', undefined],
  ])('%s: remembered, a cookie that expires after SESSION_TTL and a SESSION_TTL lifetime', async (_label, remember) => {
    const { email, user } = await existingUser(t);
    const res = await apiLogin(t, email, remember === undefined ? {} : { remember });
    expect(res.status).toBe(200);
    const line = sessionSetCookie(res);
    expectExpiresIn(line, SESSION_TTL);
    expectSessionCookieAttributes(line);
    await expectLifetime(t, sessionCookie(res), user.id, SESSION_TTL, SESSION_IDLE_TIMEOUT);
  });

  it.each(['yes', 'false', 1, null, {}])('a remember of %j is 400 validation_failed on remember, and signs nobody in', async (remember) => {
    const { email, user } = await existingUser(t);
    const res = await apiLogin(t, email, { remember });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(Object.keys(res.body.error.details)).toEqual(['remember']);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await t.db.session.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe('registration', () => {
  it('stays remembered: a cookie that expires after SESSION_TTL, and a SESSION_TTL lifetime', async () => {
    const res = await request(t.app).post('/api/auth/register').send({ email: uniqueEmail(), password: PASSWORD });
    expect(res.status).toBe(201);
    const line = sessionSetCookie(res);
    expectExpiresIn(line, SESSION_TTL);
    await expectLifetime(t, sessionCookie(res), res.body.user.id, SESSION_TTL, SESSION_IDLE_TIMEOUT);
  });
});

describe('when the cookie is set again', () => {
  it('a not-remembered session keeps a browser-session cookie after reauthenticating, and its lifetime', async () => {
    const { email, user } = await existingUser(t);
    const agent = request.agent(t.app);
    expect((await agent.post('/api/auth/login').send({ email, password: PASSWORD, remember: false })).status).toBe(200);
    const res = await reauthenticate(agent);
    expect(res.status).toBe(200);
    const line = sessionSetCookie(res);
    expect(isBrowserSessionCookie(line), line).toBe(true);
    await expectLifetime(t, sessionCookie(res), user.id, SESSION_SHORT_TTL, SESSION_IDLE_TIMEOUT);
  });

  it('a remembered session keeps a cookie with an expiry after reauthenticating, and its lifetime', async () => {
    const { email, user } = await existingUser(t);
    const agent = request.agent(t.app);
    expect((await agent.post('/api/auth/login').send({ email, password: PASSWORD, remember: true })).status).toBe(200);
    const res = await reauthenticate(agent);
    expect(res.status).toBe(200);
    const line = sessionSetCookie(res);
    expect(cookieExpires(line), line).not.toBeNull();
    await expectLifetime(t, sessionCookie(res), user.id, SESSION_TTL, SESSION_IDLE_TIMEOUT);
  });

  it('the password form of a not-remembered session (/reauthenticate) keeps a browser-session cookie', async () => {
    const { email } = await existingUser(t);
    const agent = request.agent(t.app);
    expect((await submitForm(agent, '/login', '/login', { email, password: PASSWORD })).status).toBe(303);
    const res = await submitForm(agent, '/reauthenticate?next=/account', '/reauthenticate', { password: PASSWORD, next: '/account' });
    expect(res.status).toBe(303);
    const line = sessionSetCookie(res);
    expect(isBrowserSessionCookie(line), line).toBe(true);
  });

  it('a not-remembered session stays not remembered through a password change', async () => {
    const { email } = await existingUser(t);
    const agent = request.agent(t.app);
    expect((await agent.post('/api/auth/login').send({ email, password: PASSWORD, remember: false })).status).toBe(200);
    const res = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(res.status).toBe(200);
    const line = sessionSetCookie(res);
    expect(isBrowserSessionCookie(line), line).toBe(true);
    const row = await t.db.session.findUniqueOrThrow({ where: { idHash: hashOf(agentCookie(agent)) } });
    expect(row.absoluteExpiresAt.getTime() - row.createdAt.getTime()).toBeLessThanOrEqual(SESSION_SHORT_TTL * 1000);
  });
});

describe('expiry of a not-remembered session', () => {
  it('is signed out after SESSION_SHORT_TTL however recently it was used; a remembered one signed in alongside is not', async () => {
    const own = await files.app(LIFETIMES);
    const { email, user } = await existingUser(own);
    const short = await apiLogin(own, email, { remember: false });
    const long = await apiLogin(own, email, { remember: true });
    const [shortCookie, longCookie] = [sessionCookie(short), sessionCookie(long)];

    // Used every 2 hours (well within the idle timeout) for 10 hours.
    for (let hours = 2; hours <= 10; hours += 2) {
      own.clock.advance(2 * 3_600_000);
      expect((await me(own, shortCookie)).status).toBe(200);
      expect((await me(own, longCookie)).status).toBe(200);
    }
    // Redis lets it go when its absolute lifetime ends, not an idle timeout later.
    expect(await own.redis.pTTL(sessionKeyOf(own, shortCookie))).toBeLessThanOrEqual(2 * 3_600_000);
    // Rewritten by those requests (lastSeenAt), the entry still holds a browser-session cookie
    // (no expiry) and the remembered one an expiry: nothing gave the first a max age on the way.
    const storedCookieExpiry = async (cookie: string) => JSON.parse((await own.redis.get(sessionKeyOf(own, cookie)))!)[1];
    expect(await storedCookieExpiry(shortCookie)).toBeNull();
    expect(await storedCookieExpiry(longCookie)).toEqual(expect.any(Number));

    own.clock.advance(2 * 3_600_000 + 1000); // 12 h and a second after sign-in
    expect((await me(own, shortCookie)).status).toBe(401);
    expect(await own.redis.exists(sessionKeyOf(own, shortCookie))).toBe(0);
    expect(await own.db.session.findUnique({ where: { idHash: hashOf(shortCookie) } })).toBeNull();
    expect((await me(own, longCookie)).status).toBe(200);
    expect(await own.db.session.count({ where: { userId: user.id } })).toBe(1);
  });

  it('never outlives SESSION_TTL: with SESSION_SHORT_TTL above it, a not-remembered session lives SESSION_TTL', async () => {
    const capped = await files.app({ SESSION_TTL: '3600', SESSION_SHORT_TTL: '43200', SESSION_IDLE_TIMEOUT: '86400' });
    const { email, user } = await existingUser(capped);
    const res = await apiLogin(capped, email, { remember: false });
    expect(res.status).toBe(200);
    expect(isBrowserSessionCookie(sessionSetCookie(res))).toBe(true);
    await expectLifetime(capped, sessionCookie(res), user.id, 3600, 86_400);
  });
});
