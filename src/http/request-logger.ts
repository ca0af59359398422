// The access log: one JSON line per response (pino-http), tagged with a request id that is
// also sent back as X-Request-Id, so a client's report can be matched to the server's lines.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An id from a proxy or client is kept only if it is a short token (UUIDs, trace ids). */
const SANE_REQUEST_ID = /^[\w.:=+/-]{1,128}$/;

/** Load-balancer probes would drown the log at `info`; they stay visible at `debug`. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function logLevelFor(req: IncomingMessage, res: ServerResponse, err?: Error): 'error' | 'info' | 'debug' {
  if (err || res.statusCode >= 500) return 'error';
  const path = (req.url ?? '').split('?', 1)[0] ?? '';
  return PROBE_PATHS.has(path) && res.statusCode < 400 ? 'debug' : 'info';
}

export function createRequestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId(req, res) {
      const id = requestIdFor(req.headers['x-request-id']);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    // Lines written through req.log carry only the id; the completion line has req and res.
    quietReqLogger: true,
    customLogLevel: logLevelFor,
  });
}
