// What every rendered page may use, whichever router renders it (pages, /admin, errors):
// who is signed in, and the CSRF token for its forms (`it.csrf()`), made only when a page
// actually has a form, so a 404 page never creates a session.
import type { NextFunction, Request, Response } from 'express';
import { csrfToken } from './csrf.ts';

export function pageLocals(req: Request, res: Response, next: NextFunction): void {
  res.locals.viewer = req.session?.auth?.user ?? null;
  res.locals.csrf = () => csrfToken(req);
  next();
}
