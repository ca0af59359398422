// Starting a signed-in session: always under a new session id (no fixation), saved before the
// response so the client never holds a cookie for a session that is not stored.
import type { Request } from 'express';
import type { Activity } from '../analytics/activity.ts';
import { markNewSession, newHandle, type Lifetime, type SessionAuth, type SessionUser } from '../sessions/session-data.ts';
import { regenerateSession, saveSession } from '../sessions/session-middleware.ts';
import { requestContext } from '../http/request-context.ts';

export interface SignInDeps {
  lifetime: Lifetime;
  activity: Activity;
  now: () => number;
}

export async function startSession(req: Request, user: SessionUser, { lifetime, activity, now }: SignInDeps): Promise<SessionAuth> {
  await regenerateSession(req);
  const nowMs = now();
  const auth: SessionAuth = {
    user,
    handle: newHandle(),
    createdAt: nowMs,
    lastSeenAt: nowMs,
    absoluteExpiresAt: nowMs + lifetime.ttlMs,
    verifiedAt: nowMs,
    ...requestContext(req),
  };
  req.session.auth = auth;
  markNewSession(req.session);
  await saveSession(req);
  activity.sessionCreated({ userId: user.id, handle: auth.handle }, auth.ip);
  return auth;
}
