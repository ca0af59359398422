// express-session configured for this product (SPEC §8), plus the small request helpers
// routes use to reach the signed-in session.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session, { type Store } from 'express-session';
import { AppError } from '../http/errors.ts';
import { hashSessionId, type SessionAuth } from './session-data.ts';

export interface SessionCookieOptions {
  isProduction: boolean;
  secrets: string[];
  ttlSeconds: number;
}

/** `__Host-` makes browsers insist on Secure, Path=/ and no Domain: no subdomain can plant it. */
export function sessionCookieName(isProduction: boolean): string {
  return isProduction ? '__Host-sid' : 'sid';
}

export function cookieAttributes(isProduction: boolean) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: isProduction, path: '/' };
}

export type SessionCookieSettings = ReturnType<typeof cookieAttributes> & { maxAge: number };

/** The session cookie's settings; every session carries them (see session-serializer.ts). */
export function sessionCookieSettings(isProduction: boolean, ttlSeconds: number): SessionCookieSettings {
  return { ...cookieAttributes(isProduction), maxAge: ttlSeconds * 1000 };
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

export function currentSessionHash(req: Request): string | null {
  return req.session?.auth ? hashSessionId(req.sessionID) : null;
}

export function clearSessionCookie(res: Response, isProduction: boolean): void {
  res.clearCookie(sessionCookieName(isProduction), cookieAttributes(isProduction));
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err: unknown) => (err ? reject(err) : resolve())));
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err: unknown) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err: unknown) => (err ? reject(err) : resolve())));
}
