import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const REDACT_PATHS = [
  'password',
  'currentPassword',
  'newPassword',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'sid',
  'sessionId',
];

/**
 * Lines are written to stdout in blocks of at least 4 KiB, and at least once a second: one
 * write per line (the access log writes one per request) cost more CPU than the line itself,
 * measured in `npm run bench`. pino writes what is pending when the process exits, so only a
 * SIGKILL can lose the last second of lines.
 */
const STDOUT_BLOCK_BYTES = 4096;
const STDOUT_FLUSH_MS = 1000;

/** JSON lines to stdout, or to `destination` (tests read what is logged). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return pino(options, destination ?? pino.destination({ dest: 1, minLength: STDOUT_BLOCK_BYTES, periodicFlush: STDOUT_FLUSH_MS }));
}
