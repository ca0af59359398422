// The recent-password gate (README: Sensitive actions need a recent password). A session cookie stolen hours after sign-in must not be
// enough to sign the person out everywhere, revoke their devices, or (an admin's) revoke anyone:
// those actions need the password to have been entered in this very session within
// REAUTH_MAX_AGE_SECONDS — counted from the last time it was entered (`authenticatedAt`), not
// from the session's creation, so a week-old session regains it with one re-authentication.
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../http/errors.ts';
import { signedIn } from '../sessions/session-middleware.ts';

export class RecentPassword {
  constructor(
    readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether the signed-in session entered its password recently enough (exactly at the limit still is). */
  isRecent(req: Request): boolean {
    return this.now() - signedIn(req).authenticatedAt <= this.maxAgeMs;
  }

  /** Throws 403 `reauthentication_required` unless the password is recent; call behind requireSignedIn. */
  assert(req: Request): void {
    if (!this.isRecent(req)) throw new AppError('reauthentication_required');
  }

  /** The gate as middleware, for the JSON API and the admin routes. */
  readonly requireRecentPassword = (req: Request, _res: Response, next: NextFunction): void => {
    next(this.isRecent(req) ? undefined : new AppError('reauthentication_required'));
  };
}
