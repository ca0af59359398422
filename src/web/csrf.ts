// CSRF protection for the HTML forms: a signed double-submit cookie (csrf-csrf). A page with a
// form puts a token in a cookie and in the form's hidden `_csrf` field; a form post is refused
// (403 csrf_failed) before anything runs unless both carry the same token and its HMAC checks.
//
// Nothing is stored on the server, so a signed-out visitor of /login or /register leaves no
// session behind. A signed-in visitor's token is bound to the session id (part of the HMAC):
// a token minted before signing in, or in another session, is refused afterwards; whenever the
// session id changes (signing in, a password change), the next page mints a new token by itself.
// An anonymous token is bound to nothing; what keeps an attacker from planting their own
// cookie+token pair (login CSRF) is that only this origin can set the cookie (`__Host-` in
// production: not a subdomain, not over plain HTTP) and that cross-site posts are refused
// outright (http/cross-site.ts).
import { createHmac } from 'node:crypto';
import cookieParser from 'cookie-parser';
import { doubleCsrf } from 'csrf-csrf';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../http/errors.ts';

export const CSRF_FIELD = '_csrf';

export interface CsrfOptions {
  /** The app's session secrets, newest first: the first signs new tokens, every one is accepted (rotation). */
  secrets: readonly string[];
  /** Production: `__Host-csrf`, Secure. Otherwise `csrf`, so it also works over plain HTTP. */
  isProduction: boolean;
}

export interface CsrfProtection {
  /** Parses the Cookie header into req.cookies (csrf-csrf reads it there); mount before the two below run. */
  readCookies: RequestHandler;
  /** Put after the form body parser: refuses a post without a valid token (403 csrf_failed). */
  verifyCsrf: RequestHandler;
  /** The token for this response's forms; (re)sets the cookie. Reuses the cookie's token while it is valid. */
  csrfToken: (req: Request, res: Response) => string;
}

function csrfCookieName(isProduction: boolean): string {
  return isProduction ? '__Host-csrf' : 'csrf';
}

/** A key of its own, so nothing signed for another purpose (session cookies, challenges) passes as a CSRF token. */
function csrfSecret(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('csrf').digest('hex');
}

/** A signed-in form is bound to its session; a signed-out one to nothing (nothing is stored for it). */
function sessionIdentifier(req: Request): string {
  return req.session?.auth ? req.sessionID : '';
}

function tokenFromForm(req: Request): string | undefined {
  const value: unknown = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  return typeof value === 'string' ? value : undefined;
}

export function createCsrfProtection(options: CsrfOptions): CsrfProtection {
  if (options.secrets.length === 0) throw new Error('createCsrfProtection needs at least one secret (SESSION_SECRET).');
  const secrets = options.secrets.map(csrfSecret);
  const { generateCsrfToken, validateRequest } = doubleCsrf({
    getSecret: () => secrets,
    getSessionIdentifier: sessionIdentifier,
    cookieName: csrfCookieName(options.isProduction),
    // Strict: no cross-site request ever needs it. No max-age: it ends with the browser session.
    cookieOptions: { httpOnly: true, sameSite: 'strict', secure: options.isProduction, path: '/' },
    getCsrfTokenFromRequest: tokenFromForm,
  });

  return {
    readCookies: cookieParser(),
    verifyCsrf: function verifyCsrf(req: Request, _res: Response, next: NextFunction): void {
      next(validateRequest(req) ? undefined : new AppError('csrf_failed'));
    },
    // A cookie token that no longer validates (minted signed out, or for a session id that has
    // since changed) is replaced with a fresh one rather than refused: validateOnReuse off.
    csrfToken: (req, res) => generateCsrfToken(req, res, { validateOnReuse: false }),
  };
}
