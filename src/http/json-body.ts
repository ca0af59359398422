// Request bodies of the JSON API (SPEC §4): JSON only, parsed by body-parser (express.json).
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from './errors.ts';

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * A body of any other type gets 415, not a guess. A request without a body (every GET) skips
 * the parser altogether: that is most API traffic, and body-parser's checks cost it time.
 */
export function createJsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit, strict: true });
  return function jsonBody(req: Request, res: Response, next: NextFunction): void {
    if (!hasBody(req)) return next();
    if (!req.is('application/json')) return next(new AppError('unsupported_media_type'));
    parse(req, res, next);
  };
}
