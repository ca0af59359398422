// The node-redis client. Requests must never hang on a dead Redis: commands fail at once
// while disconnected (no offline queue) and the client reconnects in the background.
import { createClient } from 'redis';
import { maskUrl, type Config } from './config.ts';
import type { Logger } from './logger.ts';

export type RedisClient = ReturnType<typeof buildClient>;

const MAX_RECONNECT_DELAY_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** How long the session path waits for a Redis answer before using PostgreSQL instead. */
export const REDIS_ANSWER_DEADLINE_MS = 2_000;

/** Redis took a command and sent no answer in time (a hung server, a black-holed network). */
export class RedisStalledError extends Error {
  override name = 'RedisStalledError';
}

/** Exponential backoff with jitter, capped: 50 ms, 100 ms, 200 ms … 5 s. */
export function reconnectDelayMs(retries: number): number {
  const base = Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function buildClient(config: Pick<Config, 'redisUrl' | 'redisPassword' | 'redisDb'>) {
  return createClient({
    url: config.redisUrl,
    // REDIS_PASSWORD overrides a password in the URL (SPEC §3).
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
    database: config.redisDb,
    disableOfflineQueue: true,
    // `timeout: 0` turns off node-redis's per-command timer (5 s by default). It only times the
    // wait to be written (the timer is dropped once the command is on the socket), so it never
    // caught a Redis that stops answering, yet cost an AbortSignal and a timer per command on the
    // hot path. answerWithin() below is the deadline that does.
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelayMs },
  });
}

export function createRedisClient(config: Pick<Config, 'redisUrl' | 'redisPassword' | 'redisDb'>, logger: Logger): RedisClient {
  const client = buildClient(config);
  let down = false;
  // Without an 'error' listener node-redis would crash the process on a dropped connection.
  client.on('error', (err: Error) => {
    if (!down) logger.error({ err: err.message, redis: maskUrl(config.redisUrl) }, 'redis connection error');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ redis: maskUrl(config.redisUrl) }, 'redis connection restored');
    down = false;
  });
  return client;
}

/** Connects, or rejects after `timeoutMs` with a message naming Redis and the masked URL. */
export async function connectRedis(client: RedisClient, redisUrl: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis is unreachable at ${maskUrl(redisUrl)} (gave up after ${timeoutMs / 1000} s)`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (err) {
    client.destroy();
    throw err instanceof Error && err.message.startsWith('Redis is unreachable') ? err : new Error(`Redis is unreachable at ${maskUrl(redisUrl)}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work` (a command of `client`), or a RedisStalledError once `ms` have passed, after which the
 * connection is replaced (see restartStalledConnection). node-redis has no deadline for a
 * command already sent: its `commandOptions.timeout` only covers the wait to be written. A plain
 * timer, cleared on the answer, costs the hot path far less than that option's AbortSignal did.
 */
export function answerWithin<T>(client: RedisClient, work: Promise<T>, ms = REDIS_ANSWER_DEADLINE_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      restartStalledConnection(client, ms);
      reject(new RedisStalledError(`Redis sent no answer within ${ms} ms`));
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

const restarting = new WeakSet<RedisClient>();

/**
 * A connection whose commands go unanswered is dropped and opened again, so it takes the same
 * path as a connection that broke: an 'error' (logged; requests use PostgreSQL while the client
 * is not ready), then 'ready', on which every instance moves `valid-since` forward
 * (sessions/index.ts). Commands still waiting on the old connection fail at once.
 */
export function restartStalledConnection(client: RedisClient, afterMs: number): void {
  if (restarting.has(client) || !client.isOpen) return;
  restarting.add(client);
  client.emit('error', new RedisStalledError(`Redis sent no answer within ${afterMs} ms: reconnecting`));
  client.destroy();
  client
    .connect()
    .catch(() => undefined) // the 'error' listener has logged it; the reconnect strategy goes on
    .finally(() => restarting.delete(client));
}
