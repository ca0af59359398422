// What a signed-in session carries, and the pure rules of its lifetime.
import { createHash, randomBytes } from 'node:crypto';

export type Role = 'user' | 'admin';

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  role: Role;
}

/** Kept inside the express-session data as `req.session.auth`; times are epoch milliseconds. */
export interface SessionAuth {
  user: SessionUser;
  /** Public handle shown in listings; the secret session id never leaves the cookie. */
  handle: string;
  createdAt: number;
  lastSeenAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** When the password was last entered in this session (sign-in, re-authentication, password change). */
  authenticatedAt: number;
  /** "Keep me signed in": a persistent cookie and the full SESSION_TTL; else a browser-session cookie and SESSION_SHORT_TTL. */
  remember: boolean;
}

/**
 * Sessions stored before `authenticatedAt` and `remember` existed: their password was entered
 * when they were created (every later entry of it made a new session), and they were remembered.
 */
export function withAuthDefaults(auth: SessionAuth): SessionAuth {
  if (typeof auth.authenticatedAt === 'number' && typeof auth.remember === 'boolean') return auth;
  return { ...auth, authenticatedAt: typeof auth.authenticatedAt === 'number' ? auth.authenticatedAt : auth.createdAt, remember: auth.remember ?? true };
}

declare module 'express-session' {
  interface SessionData {
    auth?: SessionAuth;
  }
}

/**
 * Marks a session object as just created (sign-in) with the credential version its password
 * check saw, so the store inserts its row only while that version is still current. A symbol:
 * JSON (Redis, the row, express-session's change detection) never sees it.
 */
const NEW_SESSION = Symbol('new session');

export function markNewSession(session: object, credentialVersion: number): void {
  (session as Record<symbol, number>)[NEW_SESSION] = credentialVersion;
}

/** The credential version of a session just created, or undefined for one that exists already. */
export function newSessionCredential(session: object): number | undefined {
  return (session as Record<symbol, number | undefined>)[NEW_SESSION];
}

/**
 * Marks a session object as the continuation of the stored session `fromHash` under a new id
 * (re-authentication, a password change): the store moves its row to the new id and revokes
 * the old one, but only while the user's password is still `passwordHash`.
 */
const ROTATED_SESSION = Symbol('rotated session');

export interface Rotation {
  fromHash: string;
  /** The password just checked (or just set). */
  passwordHash: string;
}

export function markRotatedSession(session: object, rotation: Rotation): void {
  (session as Record<symbol, Rotation>)[ROTATED_SESSION] = rotation;
}

export function rotatedSession(session: object): Rotation | undefined {
  return (session as Record<symbol, Rotation | undefined>)[ROTATED_SESSION];
}

/** A sign-in lost the race against a credential change: its session was not stored. */
export class CredentialChangedError extends Error {
  override name = 'CredentialChangedError';
  constructor() {
    super('the credential changed while signing in');
  }
}

export interface Lifetime {
  ttlMs: number;
  /** The absolute lifetime of a session that is not remembered (≤ ttlMs). */
  shortTtlMs: number;
  idleMs: number;
  /** How stale `lastSeenAt` may get before a request writes it again (Redis and PostgreSQL). */
  touchIntervalMs: number;
}

const MAX_TOUCH_INTERVAL_MS = 60_000;
const MIN_TOUCH_INTERVAL_MS = 1_000;

/**
 * How far a row's `expiresAt` may trail its Redis entry's: `lastSeenAt` reaches the row through
 * the write-behind queue, up to a touch interval (≤ 60 s) plus a flush (5 s) late.
 */
export const ROW_EXPIRY_LAG_MS = 65_000;

/**
 * Writing `lastSeenAt` on every request would cost a Redis write per request and a database
 * write per request; once a minute is precise enough for a day-long idle timeout. Short idle
 * timeouts (tests, strict deployments) get a tenth of the timeout so expiry stays accurate.
 */
export function lifetimeFrom(ttlSeconds: number, idleSeconds: number, shortTtlSeconds = ttlSeconds): Lifetime {
  const idleMs = idleSeconds * 1000;
  const touchIntervalMs = Math.max(MIN_TOUCH_INTERVAL_MS, Math.min(MAX_TOUCH_INTERVAL_MS, Math.floor(idleMs / 10)));
  return { ttlMs: ttlSeconds * 1000, shortTtlMs: Math.min(shortTtlSeconds, ttlSeconds) * 1000, idleMs, touchIntervalMs };
}

/** The absolute lifetime of a session signed in now, remembered or not. */
export function absoluteLifetimeMs(lifetime: Lifetime, remember: boolean): number {
  return remember ? lifetime.ttlMs : lifetime.shortTtlMs;
}

export function expiresAt(auth: SessionAuth, lifetime: Lifetime): number {
  return Math.min(auth.absoluteExpiresAt, auth.lastSeenAt + lifetime.idleMs);
}

export function isExpired(auth: SessionAuth, lifetime: Lifetime, nowMs: number): boolean {
  return expiresAt(auth, lifetime) <= nowMs;
}

export function isTouchDue(auth: SessionAuth, lifetime: Lifetime, nowMs: number): boolean {
  return nowMs - auth.lastSeenAt >= lifetime.touchIntervalMs;
}

/** The store key and table key: the raw id from the cookie is never stored. */
export function hashSessionId(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url');
}

const HANDLE_BYTES = 16;
export const HANDLE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function newHandle(): string {
  return randomBytes(HANDLE_BYTES).toString('base64url');
}
