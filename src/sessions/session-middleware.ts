// express-session configured for this product (README: Decisions), plus the small request helpers
// routes and actions use to reach, replace and end the signed-in session.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session, { type Store } from 'express-session';
import { AppError } from '../http/errors.ts';
import { cookieAttributes, sessionCookieName, sessionCookieSettings } from './session-cookie.ts';
import { hashSessionId, type SessionAuth } from './session-data.ts';
import { newSessionId } from './session-keys.ts';

export interface SessionCookieOptions {
  isProduction: boolean;
  secrets: string[];
  ttlSeconds: number;
}

export function createSessionMiddleware(store: Store, options: SessionCookieOptions): RequestHandler {
  return session({
    name: sessionCookieName(options.isProduction),
    secret: options.secrets,
    store,
    resave: false,
    // Nothing is stored, and no cookie set, until someone signs in.
    saveUninitialized: false,
    rolling: false,
    cookie: sessionCookieSettings(options.isProduction, options.ttlSeconds),
    // A visitor's id is never stored; a signed-in one is issued for its user (renewSessionId).
    genid: (req) => newSessionId(signingIn.get(req) ?? null),
  });
}

export function requireSignedIn(req: Request, _res: Response, next: NextFunction): void {
  next(req.session?.auth ? undefined : new AppError('unauthenticated'));
}

/** The signed-in session; only call behind requireSignedIn. */
export function signedIn(req: Request): SessionAuth {
  const auth = req.session?.auth;
  if (!auth) throw new AppError('unauthenticated');
  return auth;
}

/** What routes need of the recent-password gate (README: Sensitive actions need a recent password; auth/recent-password.ts is the one). */
export interface PasswordGate {
  /** REAUTH_MAX_AGE_SECONDS, in ms. */
  readonly maxAgeMs: number;
  /** Middleware: 403 `reauthentication_required` unless the password was entered recently. */
  requireRecentPassword: RequestHandler;
  /** The same check, for a route that gates only some requests. */
  assert(req: Request): void;
}

export function currentSessionHash(req: Request): string | null {
  return req.session?.auth ? hashSessionId(req.sessionID) : null;
}

export function clearSessionCookie(res: Response, isProduction: boolean): void {
  res.clearCookie(sessionCookieName(isProduction), cookieAttributes(isProduction));
}

/** The user a request is signing in, while renewSessionId() has express-session make their id. */
const signingIn = new WeakMap<Request, string>();

/**
 * A new session id, issued for `userId` (its bucket is the id's first two characters,
 * session-keys.ts), with an empty session, without asking the store to destroy the old one
 * (express-session's regenerate() would: a PostgreSQL delete and a Redis call for a visitor who
 * had no stored session). Whoever replaces a signed-in session revokes it explicitly.
 */
export function renewSessionId(req: Request, userId: string): void {
  signingIn.set(req, userId);
  try {
    (req.sessionStore as Store & { generate: (req: Request) => void }).generate(req);
  } finally {
    signingIn.delete(req);
  }
}

/**
 * "Keep me signed in" unticked: a browser-session cookie (no Expires, no Max-Age), also when
 * express-session sets it again later (it resets the expiry from `originalMaxAge`).
 */
export function useBrowserSessionCookie(session: Request['session']): void {
  session.cookie.maxAge = null as unknown as number;
  session.cookie.originalMaxAge = null;
}

/**
 * Saves a session that renewSessionId() created, once. express-session only tracks saves of the
 * sessions it created or loaded itself, so it would save this one again at the end of the
 * request (a second insert of a row that exists); its own bookkeeping replaces `save` the same
 * way, with a non-enumerable property.
 */
export async function saveNewSession(req: Request): Promise<void> {
  const session = req.session;
  await new Promise<void>((resolve, reject) => session.save((err: unknown) => (err ? reject(err) : resolve())));
  Object.defineProperty(session, 'save', { configurable: true, enumerable: false, writable: true, value: (done?: (err?: unknown) => void) => done?.() });
}

/**
 * The request's session is over (revoked, or never stored): express-session neither saves it
 * nor sets its cookie at the end of the request. The caller clears the cookie if it had one.
 */
export function detachSession(req: Request): void {
  (req as { session?: unknown }).session = undefined;
}
