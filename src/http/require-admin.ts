// The gate of admin-only routes: /admin, and /metrics when the request brings no token.
import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../db.ts';
import { AppError } from './errors.ts';

/**
 * 401 signed out, 403 for a plain user. The role is read from PostgreSQL on every admin
 * request (not from the session's copy), so a demoted admin loses access at once. Admin
 * requests are rare; user requests never pay for this.
 */
export function createRequireAdmin(db: Db) {
  return async function requireAdmin(req: Request, _res: Response, next: NextFunction): Promise<void> {
    const auth = req.session?.auth;
    if (!auth) return next(new AppError('unauthenticated'));
    const user = await db.user.findUnique({ where: { id: auth.user.id }, select: { role: true } });
    next(user?.role === 'admin' ? undefined : new AppError('forbidden'));
  };
}
