// The access log: one JSON line per response, tagged with a request id that is also sent back
// as X-Request-Id, so a client's report can be matched to the server's lines.
//
// Written on pino directly rather than through pino-http: pino-http builds two child loggers
// per request and serializes (and redacts) the whole request when it starts, which was the
// largest single cost of an authenticated GET (≈ 15 % of its CPU in `npm run bench:profile`).
// Here a request costs one log call when it ends; a child logger is made only for a request
// that logs something else (see requestLog). The line still names the request by an allowlist
// of fields, never its headers: a header we did not think of (a token under a custom name)
// cannot reach the log.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';

declare global {
  namespace Express {
    interface Request {
      /** Set by the access log; also sent back as X-Request-Id. */
      id?: string;
    }
  }
}

/** An id from a proxy or client is kept only if it is a short token (UUIDs, trace ids). */
const SANE_REQUEST_ID = /^[\w.:=+/-]{1,128}$/;

/** Load-balancer probes would drown the log at `info`; they stay visible at `debug`. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function logLevelFor(req: Request, res: Response): 'error' | 'info' | 'debug' {
  if (res.statusCode >= 500) return 'error';
  // originalUrl: a router that answered has cut its mount path off req.url.
  return res.statusCode < 400 && PROBE_PATHS.has(req.originalUrl.split('?', 1)[0] ?? '') ? 'debug' : 'info';
}

/** What the access log records of a request: never its cookies, credentials or body. */
function requestFields(req: Request) {
  return { method: req.method, url: req.originalUrl, remoteAddress: req.ip, userAgent: req.headers['user-agent'] };
}

/** A logger whose lines carry this request's id (for lines other than the access log's). */
export function requestLog(req: Request, logger: Logger): Logger {
  return req.id ? logger.child({ reqId: req.id }) : logger;
}

/** Told of every response that was sent in full (the request metrics), from the same listener. */
export type OnAnswered = (req: Request, res: Response, elapsedMs: number) => void;

export function createRequestLogger(logger: Logger, onAnswered?: OnAnswered): RequestHandler {
  // The line holds only the allowlisted fields below, so the logger's redaction (a copy and a
  // walk of every object logged) has nothing to do for it: skip it.
  const lines = logger.child({}, { redact: [] });
  return function accessLog(req: Request, res: Response, next: NextFunction): void {
    const startedAt = performance.now();
    const id = requestIdFor(req.headers['x-request-id']);
    req.id = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    // 'close' follows 'finish' for every response, and also ends one whose client went away.
    // (An anonymous arrow: tsx keeps function names with a helper call per closure created.)
    res.on('close', () => {
      const elapsedMs = performance.now() - startedAt;
      if (onAnswered && res.writableFinished) onAnswered(req, res, elapsedMs);
      const level = logLevelFor(req, res);
      if (!lines.isLevelEnabled(level)) return;
      lines[level](
        {
          reqId: id,
          req: requestFields(req),
          res: { statusCode: res.statusCode, contentLength: res.getHeader('content-length') },
          responseTime: Math.round(elapsedMs),
        },
        res.writableFinished ? 'request completed' : 'request aborted',
      );
    });
    next();
  };
}
