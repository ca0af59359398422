import type { NextFunction, Request, Response } from 'express';
import { AppError } from './errors.ts';

/** JSON endpoints take JSON only (SPEC §4): a body of any other type gets 415, not a guess. */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  next(hasBody && !req.is('application/json') ? new AppError('unsupported_media_type') : undefined);
}
