// The node-redis client. Requests must never hang on a dead Redis: commands fail at once
// while disconnected (no offline queue) and the client reconnects in the background.
import { ErrorReply } from 'redis';
import type { Config } from './config.ts';
import type { RedisSettings } from './redis-settings.ts';
import type { Logger } from './logger.ts';
import { buildRedisClient, type RedisClient } from './redis-deployments.ts';

export type { RedisClient } from './redis-deployments.ts';

/** While Redis is not connected, the outage is logged at once and then again this often (README: Settings). */
export const OUTAGE_LOG_EVERY_MS = 30_000;

export interface RedisClientOptions {
  /** How often a continuing outage is logged again (tests shorten it). */
  outageLogEveryMs?: number;
}

export function createRedisClient(config: Pick<Config, 'redis'>, logger: Logger, { outageLogEveryMs = OUTAGE_LOG_EVERY_MS }: RedisClientOptions = {}): RedisClient {
  const client = buildRedisClient(config.redis);
  logConnectionState(client, config.redis.description, logger, outageLogEveryMs);
  return client;
}

/**
 * Without an 'error' listener node-redis would crash the process on a dropped connection. While
 * Redis is away every reconnect attempt ends in an error, a few seconds apart: the first is
 * logged at once, then one line every `everyMs` with the latest cause, until it connects (one
 * line) — visible in the log for as long as it lasts, without a line per attempt.
 */
function logConnectionState(client: RedisClient, redis: string, logger: Logger, everyMs: number): void {
  let connectedBefore = false;
  let down = false;
  let lastError = '';
  let repeat: NodeJS.Timeout | undefined;
  const report = () =>
    logger.error({ redis, err: lastError }, connectedBefore ? 'Redis connection lost: serving from PostgreSQL until it answers' : 'Redis is not connected: serving from PostgreSQL until it answers');
  const stopReporting = () => {
    clearInterval(repeat);
    repeat = undefined;
  };
  client.on('error', (err: Error) => {
    lastError = err.message;
    down = true;
    if (repeat) return;
    report();
    repeat = setInterval(() => {
      // Closed on purpose (a shutdown): no 'ready' will come to stop this.
      if (!client.isOpen) stopReporting();
      else report();
    }, everyMs);
    repeat.unref();
  });
  client.on('ready', () => {
    stopReporting();
    if (!connectedBefore) logger.info({ redis }, 'Redis connected');
    else if (down) logger.info({ redis }, 'Redis connection restored');
    connectedBefore = true;
    down = false;
  });
}

/** Redis answered but refused the credentials (WRONGPASS, NOAUTH, an ACL error): a setting to fix, not an outage. */
export class RedisCredentialsError extends Error {
  override name = 'RedisCredentialsError';
}

/** The reply codes (the first word of Redis's error reply) of a refused password or user. */
const CREDENTIALS_REFUSED_REPLIES = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM']);

/** Node's codes for a server certificate that does not chain to a trusted CA, or is not valid. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function errorCode(err: Error): string {
  const own = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof own === 'string' ? own : err.message;
}

function untrustedCertificate(err: Error): boolean {
  return UNTRUSTED_CERTIFICATE_CODES.has(errorCode(err));
}

/** The error itself, or the node error a Sentinel client wraps ("Master Client (…): …", cause). */
function replyOf(err: Error): ErrorReply | undefined {
  if (err instanceof ErrorReply) return err;
  return err.cause instanceof ErrorReply ? err.cause : undefined;
}

function refusedCredentials(err: Error): boolean {
  const reply = replyOf(err);
  return reply !== undefined && CREDENTIALS_REFUSED_REPLIES.has(reply.message.split(' ', 1)[0]!);
}

function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One attempt on a connection of its own that does not retry: the client's own first attempt
 * would be retried by its reconnect strategy, a refused password included, so it cannot say
 * "refused" apart from "not there yet". PING as well: an ACL user can be let in and then refused
 * every command (NOPERM).
 */
async function tryOnce(settings: RedisSettings, timeoutMs: number): Promise<Error | undefined> {
  const probe = buildRedisClient(settings, false);
  // A Cluster or Sentinel client reports a node's refusal as an event and then only says that no
  // node was available (or keeps trying): the events say why.
  const reported: Error[] = [];
  probe.on('error', (err: Error) => void reported.push(err));
  try {
    await within(timeoutMs, probe.connect().then(() => probe.ping()), 'no answer');
    return undefined;
  } catch (err) {
    return [...reported, err as Error].find((e) => refusedCredentials(e) || untrustedCertificate(e)) ?? (err as Error);
  } finally {
    try {
      probe.destroy();
    } catch {
      // a Sentinel client that never connected has nothing to destroy
    }
  }
}

export type RedisStart = { connected: true } | { connected: false; cause: string };

/**
 * Starts `client` connecting and says, within about `timeoutMs`, whether it is connected. When
 * Redis cannot be reached the client goes on trying in the background (its reconnect strategy)
 * and is used as soon as it connects; callers serve from PostgreSQL meanwhile. Throws
 * RedisCredentialsError, naming Redis and its masked URL, when Redis refuses the credentials.
 */
export async function startRedis(client: RedisClient, settings: RedisSettings, timeoutMs: number): Promise<RedisStart> {
  const failure = await tryOnce(settings, timeoutMs);
  if (failure && refusedCredentials(failure)) throw new RedisCredentialsError(`Redis at ${settings.description} refused the credentials: ${replyOf(failure)!.message}`);
  if (failure && untrustedCertificate(failure)) {
    throw new RedisCredentialsError(`Redis at ${settings.description}: its TLS certificate does not verify (${errorCode(failure)}); set REDIS_TLS_CA_FILE to the CA that signed it`);
  }
  // Settles once connected, however long that takes; rejects only if the client is closed
  // before it ever connected (a shutdown during an outage), which is nothing to report.
  const connecting = client.connect();
  connecting.catch(() => undefined);
  if (failure) return { connected: false, cause: failure.message };
  try {
    await within(timeoutMs, connecting, 'not connected');
    return { connected: true };
  } catch (err) {
    return { connected: false, cause: (err as Error).message };
  }
}

/** For tools that cannot work without Redis: connected, or an error naming Redis and the masked URL. */
export async function connectRedis(client: RedisClient, settings: RedisSettings, timeoutMs: number): Promise<void> {
  const start = await startRedis(client, settings, timeoutMs);
  if (start.connected) return;
  client.destroy();
  throw new Error(`Redis is unreachable at ${settings.description}: ${start.cause}`);
}
