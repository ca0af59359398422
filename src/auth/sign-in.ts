// Starting a signed-in session: always under a new session id (no fixation), stored before the
// response so the client never holds a cookie for a session that is not stored, and only while
// the credential the sign-in checked is still current (a password change, role change or
// "revoke all" that commits first wins: nothing is stored and this throws).
import type { Request } from 'express';
import type { Activity } from '../analytics/activity.ts';
import { AppError, type ErrorCode } from '../http/errors.ts';
import { requestContext } from '../http/request-context.ts';
import type { SessionRevoker } from '../sessions/session-revoker.ts';
import { CredentialChangedError, hashSessionId, markNewSession, newHandle, type Lifetime, type SessionAuth, type SessionUser } from '../sessions/session-data.ts';
import { detachSession, renewSessionId, saveNewSession } from '../sessions/session-middleware.ts';

export interface SignInDeps {
  lifetime: Lifetime;
  activity: Activity;
  revoker: SessionRevoker;
  now: () => number;
}

/**
 * `credentialVersion` is the user's version as read before the password check; `lost` is the
 * error to answer with when a credential change won the race.
 */
export async function startSession(req: Request, user: SessionUser, credentialVersion: number, deps: SignInDeps, lost: ErrorCode = 'invalid_credentials'): Promise<SessionAuth> {
  const { lifetime, activity, revoker, now } = deps;
  const previous = req.session?.auth;
  // Signing in again over a signed-in session ends that one (it may be someone else's).
  if (previous) await revoker.revokeHashes([hashSessionId(req.sessionID)], previous.user.id);
  renewSessionId(req, user.id);
  const nowMs = now();
  const auth: SessionAuth = {
    user,
    handle: newHandle(),
    createdAt: nowMs,
    lastSeenAt: nowMs,
    absoluteExpiresAt: nowMs + lifetime.ttlMs,
    ...requestContext(req),
  };
  req.session.auth = auth;
  markNewSession(req.session, credentialVersion);
  try {
    await saveNewSession(req);
  } catch (err) {
    detachSession(req);
    throw err instanceof CredentialChangedError ? new AppError(lost) : err;
  }
  activity.sessionCreated({ userId: user.id, handle: auth.handle }, auth.ip);
  return auth;
}
