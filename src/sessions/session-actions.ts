// The signed-in user's own sessions: what the JSON API (session-routes.ts) and the account
// page (web/) both do to list them and sign devices out.
import type { Request } from 'express';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { requestContext } from '../http/request-context.ts';
import type { Sessions } from './index.ts';
import { HANDLE_PATTERN } from './session-data.ts';
import { actorOf, recordEvents, revocationEvents } from './session-history.ts';
import { listUserSessions, toSessionView, type SessionView } from './session-listing.ts';
import { currentSessionHash, detachSession, signedIn } from './session-middleware.ts';

export interface SessionActionDeps {
  db: Db;
  sessions: Sessions;
  now: () => number;
}

export class SessionActions {
  constructor(private readonly deps: SessionActionDeps) {}

  /** Every live session of the user, most recently seen first, this one marked `current`. */
  async list(req: Request): Promise<SessionView[]> {
    const { sessions, now } = this.deps;
    const current = currentSessionHash(req);
    const entries = await listUserSessions(sessions, signedIn(req).user.id, now());
    const views = entries.map((entry) => toSessionView(entry, current, sessions.lifetime));
    return views.sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
  }

  /** Signs out every other device; returns how many sessions ended. */
  async revokeOthers(req: Request): Promise<number> {
    const auth = signedIn(req);
    // Kept by handle: this session stays even if another tab re-authenticated it meanwhile.
    const { removed } = await this.deps.sessions.revoker.revokeAllForUser(auth.user.id, auth.handle);
    await recordEvents(this.deps.db, revocationEvents(actorOf(auth, requestContext(req)), removed, null));
    return removed.length;
  }

  /**
   * Signs out one of the user's sessions by its public handle; returns true when it was this
   * one (the caller clears the cookie). Another user's handle is answered like a missing one.
   */
  async revoke(req: Request, handle: string): Promise<boolean> {
    const { db, sessions } = this.deps;
    const auth = signedIn(req);
    const own = handle === auth.handle;
    const ownHash = currentSessionHash(req);
    // By handle in the revoking statement itself (a session re-authenticated meanwhile still ends).
    const removed = HANDLE_PATTERN.test(handle) ? await sessions.revoker.revokeHandle(handle, auth.user.id, own && ownHash ? [ownHash] : []) : null;
    if (!removed) throw new AppError('not_found', 'No such session.');
    await recordEvents(db, revocationEvents(actorOf(auth, requestContext(req)), [removed], own ? ownHash : null));
    if (!own) return false;
    detachSession(req);
    return true;
  }
}
