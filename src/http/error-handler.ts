// The one place errors become responses: `{"error":{"code","message"}}`, or an HTML page for
// browsers (renderPage), never a stack trace.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.ts';
import { isDependencyError } from '../dependency-errors.ts';
import { AppError } from './errors.ts';
import { requestLog } from './request-logger.ts';

/** body-parser's error types, mapped to ours. */
const BODY_PARSER_ERRORS: Record<string, AppError> = {
  'entity.too.large': new AppError('payload_too_large'),
  'entity.parse.failed': new AppError('invalid_json'),
  'encoding.unsupported': new AppError('unsupported_media_type', 'Unsupported content encoding.'),
  'charset.unsupported': new AppError('unsupported_media_type', 'Send JSON as UTF-8.'),
  'request.size.invalid': new AppError('validation_failed', 'The request size does not match Content-Length.'),
  'request.aborted': new AppError('validation_failed', 'The request was aborted.'),
};

const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/**
 * Express's router could not decode a route parameter (`/api/sessions/%ZZ`): it rethrows
 * decodeURIComponent's URIError with status 400 set on it. Known by type and status, not text.
 */
function isBadParameter(err: unknown): boolean {
  return err instanceof URIError && (err as URIError & { status?: unknown }).status === 400;
}

function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  const type = (err as { type?: unknown })?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return BODY_PARSER_ERRORS[type];
  if (isBadParameter(err)) return new AppError('invalid_parameter');
  if (isDependencyError(err)) return new AppError('service_unavailable');
  return null;
}

/** The JSON API answers in JSON whatever the client accepts (README: HTTP API: never HTML). */
const API_PATH = /^\/api(\/|$)/;

/**
 * A page for browsers: outside /api, when HTML is asked for over JSON (browsers send
 * `Accept: text/html,…`); a client with no preference (any type, or no Accept) gets JSON.
 */
export function wantsPage(req: Request): boolean {
  // The whole path: inside a router (the API's own 404), req.path is only the rest of it.
  return !API_PATH.test(req.baseUrl + req.path) && req.accepts(['json', 'html']) === 'html';
}

/** No route matched: a person in a browser is told so plainly; a program, what it asked for. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new AppError('not_found', wantsPage(req) ? 'This page does not exist.' : `There is no ${req.method} ${req.baseUrl}${req.path}.`));
}

export interface ErrorHandlerOptions {
  /** Answers a browser (see wantsPage) with an HTML page instead of the JSON error body. */
  renderPage?: (req: Request, res: Response, error: AppError) => void;
}

export function createErrorHandler(logger: Logger, { renderPage }: ErrorHandlerOptions = {}) {
  return function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
    if (res.headersSent) return next(err);
    const known = toAppError(err);
    const error = known ?? new AppError('internal_error');
    const log = requestLog(req, logger);
    if (!known) {
      // The stack stays out of the default log level: it can carry request data.
      const { name, message, stack } = err instanceof Error ? err : { name: typeof err, message: String(err), stack: undefined };
      log.error({ err: { name, message }, method: req.method, path: req.path }, 'unhandled error');
      log.debug({ stack }, 'unhandled error stack');
    }
    else if (error.code === 'service_unavailable') log.warn({ err: (err as Error).message, path: req.path }, 'dependency unavailable');
    const retryAfter = error.retryAfterSeconds ?? (error.status === 503 ? DEPENDENCY_RETRY_AFTER_SECONDS : undefined);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    res.status(error.status);
    if (renderPage && wantsPage(req)) return renderPage(req, res, error);
    res.json({ error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}), ...error.extra } });
  };
}
