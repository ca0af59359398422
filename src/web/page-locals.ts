// What every rendered page may use, whichever router renders it (pages, /admin, errors):
// who is signed in, and the CSRF token for its forms (`it.csrf()`), made only when a page
// actually has a form, and once per page: every form on it carries the one token its cookie holds.
import type { NextFunction, Request, Response } from 'express';
import type { CsrfProtection } from './csrf.ts';

export function createPageLocals({ csrfToken }: Pick<CsrfProtection, 'csrfToken'>) {
  return function pageLocals(req: Request, res: Response, next: NextFunction): void {
    res.locals.viewer = req.session?.auth?.user ?? null;
    let token: string | undefined;
    res.locals.csrf = () => (token ??= csrfToken(req, res));
    next();
  };
}
