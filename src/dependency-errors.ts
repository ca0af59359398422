// Redis or PostgreSQL being away (refused, reset, timed out, closed) as opposed to a bug.

const DEPENDENCY_ERROR_NAMES = new Set([
  'ClientClosedError',
  'DisconnectsClientError',
  'RedisStalledError',
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'ConnectionTimeoutError',
  'ReconnectStrategyError',
  'SocketTimeoutError',
  'TimeoutError',
  'PrismaClientInitializationError',
  'DriverAdapterError',
]);
const DEPENDENCY_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'P1001', 'P1002', 'P1008', 'P1017', '57P01', '57P03']);
const DEPENDENCY_MESSAGE = /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|client is (closed|offline)|Can't reach database|Socket closed|^OOM command not allowed/i;

/** Redis or PostgreSQL being away: a 503 the client may retry, or a fallback, never a 500. */
export function isDependencyError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (DEPENDENCY_ERROR_NAMES.has(e.name) || DEPENDENCY_ERROR_NAMES.has(e.constructor.name) || (typeof code === 'string' && DEPENDENCY_ERROR_CODES.has(code)) || DEPENDENCY_MESSAGE.test(e.message)) return true;
  }
  return false;
}
