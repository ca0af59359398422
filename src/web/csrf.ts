// CSRF protection for the HTML forms: the synchroniser token pattern (csrf-sync). The token
// lives in the session, every form carries it in a hidden `_csrf` field, and a form post
// without the session's token is refused (403 csrf_failed) before anything runs.
//
// The token is made the first time a page renders a form: a signed-out visitor of /login gets
// a short-lived anonymous session (Redis only); signing in regenerates the session, so the
// token of the signed-in session is always a fresh one.
import type { NextFunction, Request, Response } from 'express';
import { csrfSync } from 'csrf-sync';
import { AppError } from '../http/errors.ts';

export const CSRF_FIELD = '_csrf';

const { generateToken, isRequestValid } = csrfSync({
  getTokenFromRequest: (req) => {
    const value: unknown = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
    return typeof value === 'string' ? value : undefined;
  },
});

/** The session's token (made and stored on first use); '' where there is no session. */
export function csrfToken(req: Request): string {
  return req.session ? generateToken(req) : '';
}

/** Put after the form body parser: refuses a post whose `_csrf` field is not the session's token. */
export function verifyCsrf(req: Request, _res: Response, next: NextFunction): void {
  next(req.session && isRequestValid(req) ? undefined : new AppError('csrf_failed'));
}
