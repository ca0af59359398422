// Request bodies of the JSON API (README: HTTP API): JSON only, parsed by body-parser (express.json),
// and always a JSON object no deeper than MAX_JSON_DEPTH.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from './errors.ts';

/**
 * Unknown fields are ignored, not refused, so nesting inside them is bounded here: JSON.parse
 * takes any depth, but JSON.stringify and other recursive code overflow the stack on it
 * (at about 10,000 levels). The API's bodies are flat objects: one level.
 */
export const MAX_JSON_DEPTH = 32;

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Whether a parsed value nests objects or arrays deeper than maxDepth (the value itself is level 1); level by level, no recursion. */
export function nestsDeeperThan(value: object, maxDepth: number): boolean {
  let level: object[] = [value];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > maxDepth) return true;
    const next: object[] = [];
    for (const node of level) {
      for (const child of Object.values(node)) if (typeof child === 'object' && child !== null) next.push(child);
    }
    level = next;
  }
  return false;
}

/** Why a parsed body is refused, or undefined. Valid JSON of the wrong shape is `validation_failed`, like a wrong field. */
function shapeError(body: unknown): AppError | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return new AppError('validation_failed', 'The request body must be a JSON object.');
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) return new AppError('validation_failed', `The request body is nested too deeply: at most ${MAX_JSON_DEPTH} levels of objects and arrays.`);
  return undefined;
}

/**
 * A body of any other type gets 415, not a guess. A request without a body (every GET) skips
 * the parser altogether: that is most API traffic, and body-parser's checks cost it time.
 * body-parser's strict mode is off: it would call `"hi"` or `42` a syntax error (invalid_json,
 * indistinguishable from a broken body but by its text); shapeError answers every non-object alike.
 */
export function createJsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit, strict: false });
  return function jsonBody(req: Request, res: Response, next: NextFunction): void {
    if (!hasBody(req)) return next();
    if (!req.is('application/json')) return next(new AppError('unsupported_media_type'));
    parse(req, res, (err?: unknown) => next(err ?? shapeError(req.body)));
  };
}
