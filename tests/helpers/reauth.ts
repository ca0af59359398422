// Helpers for the recent-password gate (README: Sensitive actions need a recent password) and "keep me signed in" tests: making a
// session stale through the app's clock, re-entering the password, admins, what a cookie says,
// and the state of a user's sessions before and after a refused action.
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import request from 'supertest';
import { expect } from 'vitest';
import { setRole } from '../../src/admin/roles.ts';
import { hashSessionId } from '../../src/sessions/session-data.ts';
import type { Agent } from './pages.ts';
import { loginAgent, PASSWORD, rawSessionId, registerUser, sessionKeyOf, type TestApp } from './test-app.ts';

/** The limit the tests set explicitly (the default too). */
export const REAUTH_MAX_AGE_SECONDS = 900;
export const REAUTH_ENV = { REAUTH_MAX_AGE_SECONDS: String(REAUTH_MAX_AGE_SECONDS) };
/**
 * The app of the re-authentication tests. SESSION_TTL = SESSION_IDLE_TIMEOUT: a session's
 * expiresAt is its absolute expiry, whatever requests touch it, so "expiresAt unchanged" means
 * what it says.
 */
export const REAUTH_APP_ENV = { ...REAUTH_ENV, SESSION_TTL: '86400', SESSION_IDLE_TIMEOUT: '86400' };

export const meOf = (t: TestApp, cookie: string) => request(t.app).get('/api/auth/me').set('Cookie', cookie);
export const json = (req: request.Test) => req.set('Accept', 'application/json');

/** Moves the app's clock just past the limit: every session's password entry is now too old. */
export function goStale(t: TestApp): void {
  t.clock.advance((REAUTH_MAX_AGE_SECONDS + 1) * 1000);
}

/** The `sid` cookie an agent holds now, as a `sid=…` pair (it changes when the session's id does). */
export function agentCookie(agent: Agent): string {
  const cookie = agent.jar.getCookie('sid', { domain: '127.0.0.1', path: '/', secure: false, script: false });
  if (!cookie) throw new Error('the agent holds no session cookie');
  return `sid=${cookie.value}`;
}

/** The whole `sid=…; Path=/; …` Set-Cookie line of a response (throws when there is none). */
export function sessionSetCookie(res: request.Response): string {
  const line = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('sid='));
  if (!line) throw new Error('no session cookie in response');
  return line;
}

/** The Expires date of a Set-Cookie line, or null for a browser-session cookie. */
export function cookieExpires(line: string): Date | null {
  const match = /;\s*Expires=([^;]+)/i.exec(line);
  return match ? new Date(match[1]!) : null;
}

/** Whether a Set-Cookie line makes a browser-session cookie (neither Expires nor Max-Age). */
export function isBrowserSessionCookie(line: string): boolean {
  return !/;\s*Expires=/i.test(line) && !/;\s*Max-Age=/i.test(line);
}

export const hashOf = (cookie: string) => hashSessionId(rawSessionId(cookie));

/** POST /api/auth/reauthenticate through an agent (which then holds the new cookie). */
export function reauthenticate(agent: Agent, password: string = PASSWORD, altcha?: string) {
  return agent.post('/api/auth/reauthenticate').send({ password, ...(altcha ? { altcha } : {}) });
}

/** The public handle of an agent's session. */
export async function handleOf(agent: Agent): Promise<string> {
  const me = await agent.get('/api/auth/me');
  if (me.status !== 200) throw new Error(`GET /api/auth/me answered ${me.status}`);
  return me.body.session.id as string;
}

/** Registers a user, makes them an admin and signs them in again (the role change revoked their session). */
export async function signedInAdmin(t: TestApp) {
  const admin = await registerUser(t);
  await setRole(t.db, t.sessions.revoker, admin.email, 'admin');
  const again = await loginAgent(t, admin.email);
  return { ...admin, agent: again.agent, cookie: again.cookie };
}

/** A user signed in on two devices: `first` (the registration) and `second` (a login). */
export async function userOnTwoDevices(t: TestApp) {
  const first = await registerUser(t);
  const second = await loginAgent(t, first.email);
  return { ...first, second };
}

/**
 * What a refused action must leave alone: for each cookie, whether its Redis entry and its row
 * exist; the user's row count; and how many revocation events (`revoked`, `logout`) they have.
 */
export async function sessionState(t: TestApp, userId: string, cookies: string[]) {
  return {
    redisEntries: await Promise.all(cookies.map((cookie) => t.redis.exists(sessionKeyOf(t, cookie)))),
    rows: await Promise.all(cookies.map(async (cookie) => (await t.db.session.findUnique({ where: { idHash: hashOf(cookie) } })) !== null)),
    rowCount: await t.db.session.count({ where: { userId } }),
    revocationEvents: await t.db.sessionEvent.count({ where: { userId, type: { in: ['revoked', 'logout'] } } }),
  };
}

/** The state of sessions that are all alive, with `revocationEvents` as counted before. */
export const allAlive = (count: number, rowCount: number, revocationEvents: number) => ({
  redisEntries: Array(count).fill(1),
  rows: Array(count).fill(true),
  rowCount,
  revocationEvents,
});

/** The altcha payload for a challenge the server handed out. */
export async function solve(challenge: unknown): Promise<string> {
  const solution = await solveChallenge({ challenge: challenge as never, deriveKey });
  if (!solution) throw new Error('could not solve the challenge');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

/** Expects the JSON API's 403 `reauthentication_required` error (with a message). */
export function expectReauthRequired(res: request.Response): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 403, code: 'reauthentication_required' });
  expect(res.body.error.message).toEqual(expect.any(String));
}
