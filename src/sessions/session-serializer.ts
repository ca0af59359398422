// How a session is written into Redis: compact, because Redis memory is paid per session.
//
// A signed-in session is a JSON array in a fixed order instead of an object: the field names
// and the cookie's shared settings (max age, path, httpOnly, sameSite, secure — identical in
// every session, so they come from the settings on read) were ~230 of ~460 bytes, and dropping
// them moves an entry down two allocator size classes (see Performance in the README).
//   ["s3", cookieExpiresMs|null, [userId, email, name, role], handle, createdAt, lastSeenAt,
//    absoluteExpiresAt, ip, userAgent, authenticatedAt − createdAt, remember (1|0), {other fields}?]
// (`authenticatedAt` as an offset: 0 until the password is entered again, 12 bytes fewer than
// a timestamp.) A null cookie expiry is a browser-session cookie ("keep me signed in" unticked).
// Anything else (auth data with fields this layout does not know; anonymous sessions are
// never stored) is JSON as express-session has it, minus the shared cookie settings.
// Values in the older forms still parse: "s2" had neither `authenticatedAt` nor `remember`
// (withAuthDefaults fills them), "s1" also had a `verifiedAt` after `userAgent`.
import type { SessionData } from 'express-session';
import { withAuthDefaults, type SessionAuth } from './session-data.ts';
import type { SessionCookieSettings } from './session-cookie.ts';

export interface SessionSerializer {
  parse(raw: string): SessionData;
  stringify(sess: SessionData): string;
}

const LAYOUT = 's3';
const LAYOUT_WITHOUT_REAUTH = 's2';
const LAYOUT_WITH_VERIFIED_AT = 's1';
const AUTH_FIELDS = ['user', 'handle', 'createdAt', 'lastSeenAt', 'absoluteExpiresAt', 'ip', 'userAgent', 'authenticatedAt', 'remember'] as const;
const USER_FIELDS = ['id', 'email', 'name', 'role'] as const;

type Positional = [typeof LAYOUT, number | null, [string, string, string | null, string], string, number, number, number, string | null, string | null, number, 0 | 1, Record<string, unknown>?];

/** Only an auth object with exactly the known fields is written positionally: nothing is dropped. */
function hasKnownShape(auth: SessionAuth): boolean {
  return Object.keys(auth).length === AUTH_FIELDS.length && AUTH_FIELDS.every((key) => key in auth) && Object.keys(auth.user).length === USER_FIELDS.length && USER_FIELDS.every((key) => key in auth.user);
}

function expiryMs(expires: unknown): number | null {
  if (expires == null) return null;
  const ms = expires instanceof Date ? expires.getTime() : new Date(expires as string).getTime();
  return Number.isFinite(ms) ? ms : null;
}

function encode(sess: SessionData): string {
  const { cookie, auth, ...rest } = sess;
  const expires = expiryMs(cookie?.expires);
  if (auth && hasKnownShape(auth)) {
    const { user } = auth;
    const value: Positional = [LAYOUT, expires, [user.id, user.email, user.name, user.role], auth.handle, auth.createdAt, auth.lastSeenAt, auth.absoluteExpiresAt, auth.ip, auth.userAgent, auth.authenticatedAt - auth.createdAt, auth.remember ? 1 : 0];
    if (Object.keys(rest).length > 0) value.push(rest);
    return JSON.stringify(value);
  }
  return JSON.stringify({ ...sess, cookie: expires === null ? {} : { expires: new Date(expires) } });
}

/** The stored session as far as the store knows it (the cookie as stored: maybe only its expiry). */
export function decodeSession(raw: string): SessionData {
  const value = JSON.parse(raw) as unknown;
  if (!Array.isArray(value)) {
    const data = value as SessionData;
    return data.auth ? { ...data, auth: withAuthDefaults(data.auth) } : data;
  }
  const layout: unknown = value[0];
  if (layout === LAYOUT_WITH_VERIFIED_AT) value.splice(9, 1);
  // An older entry: its password was entered when it was created, and it was remembered.
  if (layout === LAYOUT_WITH_VERIFIED_AT || layout === LAYOUT_WITHOUT_REAUTH) value.splice(9, 0, 0, 1);
  else if (layout !== LAYOUT) throw new Error(`unknown session layout ${String(layout)}`);
  const [, expires, [id, email, name, role], handle, createdAt, lastSeenAt, absoluteExpiresAt, ip, userAgent, authenticatedAfter, remember, rest] = value as Positional;
  const auth: SessionAuth = { user: { id, email, name, role: role as SessionAuth['user']['role'] }, handle, createdAt, lastSeenAt, absoluteExpiresAt, ip, userAgent, authenticatedAt: createdAt + authenticatedAfter, remember: remember === 1 };
  return { ...rest, cookie: { expires: expires === null ? null : new Date(expires).toISOString() }, auth } as unknown as SessionData;
}

export function createSessionSerializer(cookie: SessionCookieSettings): SessionSerializer {
  const shared = { originalMaxAge: cookie.maxAge, httpOnly: cookie.httpOnly, path: cookie.path, sameSite: cookie.sameSite, secure: cookie.secure };
  return {
    stringify: encode,
    parse(raw) {
      const data = decodeSession(raw);
      // A stored attribute (a value written in express-session's full form) wins. A cookie
      // stored without an expiry is a browser-session cookie: without a max age too, or
      // express-session would give it one again the next time it sets the cookie.
      const stored = (data.cookie ?? {}) as { expires?: unknown };
      const maxAge = stored.expires == null ? { originalMaxAge: null } : {};
      data.cookie = { ...shared, expires: null, ...maxAge, ...(data.cookie as object | undefined) } as SessionData['cookie'];
      return data;
    },
  };
}
