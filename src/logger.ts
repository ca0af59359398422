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

/** JSON lines to stdout, or to `destination` (tests read what is logged). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
