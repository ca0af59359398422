// Redis or PostgreSQL being away (refused, reset, timed out, closed, not yet serving) as opposed
// to a bug. Recognised by error class and by code only, never by message wording: a renamed
// message must not turn an outage into a 500, nor a bug into a silent fallback.
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import { Prisma } from './db.ts';

/** Thrown by our own deadline (redis-fallback.ts): Redis took a command and sent no answer in time. */
export class RedisStalledError extends Error {
  override name = 'RedisStalledError';
}

const REDIS_CONNECTION_ERRORS = [
  RedisStalledError,
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
];

/**
 * Error replies that mean "this server cannot serve right now", by the code Redis puts first in
 * the reply (the protocol's error code): out of memory, loading its data, a replica or a
 * primary without quorum, a cluster slot moving or down.
 */
const REDIS_UNAVAILABLE_REPLIES = new Set(['OOM', 'LOADING', 'READONLY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'NOREPLICAS', 'BUSY']);

/** Node's socket error codes (Redis and PostgreSQL connections alike). */
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Prisma's codes for a database it cannot reach or use: P1001 unreachable, P1002 timed out,
 * P1008 operation timed out, P1017 connection closed, P2024 pool timeout, P2028 a transaction
 * that could not start in time (every connection busy), P2037 too many
 * connections, P2036 the driver (pg) failed outside PostgreSQL (pg's own connection errors,
 * such as "connection terminated" or a pool that could not connect in time, carry no code).
 */
const PRISMA_UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2036', 'P2037']);
/** The driver adapter's error kinds for the same (Prisma wraps raw queries' errors as P2010). */
const DRIVER_UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** PostgreSQL SQLSTATEs: admin shutdown, crash shutdown, cannot connect now, connection failures. */
const POSTGRES_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

function redisReplyCode(err: ErrorReply): string {
  const space = err.message.indexOf(' ');
  return space === -1 ? err.message : err.message.slice(0, space);
}

function driverKind(err: Prisma.PrismaClientKnownRequestError): string | undefined {
  const cause = (err.meta as { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } } | undefined)?.driverAdapterError?.cause;
  return typeof cause?.kind === 'string' ? cause.kind : undefined;
}

function isUnavailable(e: Error): boolean {
  if (REDIS_CONNECTION_ERRORS.some((type) => e instanceof type)) return true;
  if (e instanceof ErrorReply) return REDIS_UNAVAILABLE_REPLIES.has(redisReplyCode(e));
  if (e instanceof Prisma.PrismaClientInitializationError) return true;
  if (e instanceof Prisma.PrismaClientKnownRequestError) {
    const kind = driverKind(e);
    return PRISMA_UNAVAILABLE_CODES.has(e.code) || (kind !== undefined && DRIVER_UNAVAILABLE_KINDS.has(kind));
  }
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (SOCKET_ERROR_CODES.has(code) || POSTGRES_UNAVAILABLE_STATES.has(code));
}

/** Redis or PostgreSQL being away: a 503 the client may retry, or a fallback, never a 500. */
export function isDependencyError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isUnavailable(e)) return true;
  }
  return false;
}
