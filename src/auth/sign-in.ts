// Starting a signed-in session: always under a new session id (no fixation), stored before the
// response so the client never holds a cookie for a session that is not stored, and only while
// the credential the sign-in checked is still current (a password change, role change or
// "revoke all" that commits first wins: nothing is stored and this throws). Re-authentication
// continues a session under a new id the same way (continueUnderNewId).
import type { Request } from 'express';
import type { Activity } from '../analytics/activity.ts';
import { AppError, type ErrorCode } from '../http/errors.ts';
import { requestContext } from '../http/request-context.ts';
import type { SessionRevoker } from '../sessions/session-revoker.ts';
import {
  absoluteLifetimeMs,
  CredentialChangedError,
  hashSessionId,
  markNewSession,
  markRotatedSession,
  newHandle,
  type Lifetime,
  type SessionAuth,
  type SessionUser,
} from '../sessions/session-data.ts';
import { detachSession, renewSessionId, saveNewSession, useBrowserSessionCookie } from '../sessions/session-middleware.ts';

export interface SignInDeps {
  lifetime: Lifetime;
  activity: Activity;
  revoker: SessionRevoker;
  now: () => number;
}

export interface StartOptions {
  /** "Keep me signed in": a persistent cookie and SESSION_TTL; else a browser-session cookie and SESSION_SHORT_TTL. */
  remember: boolean;
}

/**
 * `credentialVersion` is the user's version as read before the password check; a credential
 * change that won the race is answered like a wrong password (401 invalid_credentials).
 */
export async function startSession(req: Request, user: SessionUser, credentialVersion: number, deps: SignInDeps, { remember }: StartOptions): Promise<SessionAuth> {
  const { lifetime, activity, revoker, now } = deps;
  const previous = req.session?.auth;
  // Signing in again over a signed-in session ends that one (it may be someone else's) — by
  // handle, so it ends even if another tab moved it to a new id meanwhile.
  if (previous) await revoker.revokeHandle(previous.handle, previous.user.id, [hashSessionId(req.sessionID)]);
  renewSessionId(req, user.id);
  const nowMs = now();
  const auth: SessionAuth = {
    user,
    handle: newHandle(),
    createdAt: nowMs,
    lastSeenAt: nowMs,
    absoluteExpiresAt: nowMs + absoluteLifetimeMs(lifetime, remember),
    ...requestContext(req),
    authenticatedAt: nowMs,
    remember,
  };
  req.session.auth = auth;
  if (!remember) useBrowserSessionCookie(req.session);
  markNewSession(req.session, credentialVersion);
  await save(req, 'invalid_credentials');
  activity.sessionCreated({ userId: user.id, handle: auth.handle, email: user.email }, auth.ip);
  return auth;
}

/**
 * The password was entered again (re-authentication, a password change): the same session
 * (handle, creation, lifetime, cookie kind) continues under a new secret id with a fresh
 * `authenticatedAt`, so a copy of the old cookie taken before is worth nothing. `passwordHash`
 * is the password just checked or set: throws 401 when the session ended, or the password
 * changed, before the move.
 */
export async function continueUnderNewId(req: Request, passwordHash: string, deps: Pick<SignInDeps, 'now'>): Promise<SessionAuth> {
  const { auth: current, cookie: _cookie, ...rest } = req.session;
  if (!current) throw new AppError('unauthenticated');
  const fromHash = hashSessionId(req.sessionID);
  const nowMs = deps.now();
  const auth: SessionAuth = { ...current, lastSeenAt: nowMs, authenticatedAt: nowMs };
  renewSessionId(req, auth.user.id);
  Object.assign(req.session, rest, { auth });
  // The new cookie ends with the session, not a whole SESSION_TTL from now.
  if (auth.remember) req.session.cookie.maxAge = Math.max(0, auth.absoluteExpiresAt - nowMs);
  else useBrowserSessionCookie(req.session);
  markRotatedSession(req.session, { fromHash, passwordHash });
  await save(req, 'unauthenticated');
  return auth;
}

async function save(req: Request, lost: ErrorCode): Promise<void> {
  try {
    await saveNewSession(req);
  } catch (err) {
    detachSession(req);
    throw err instanceof CredentialChangedError ? new AppError(lost) : err;
  }
}
