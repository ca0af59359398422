// "Redis, or fall back": the one policy for every Redis call a request or a background job makes
// (session reads and writes, revocations, listings, login budgets, rate limits, challenges,
// the admin summary).
//   - Redis not connected       → the fallback, at once (commands would fail anyway: no offline queue)
//   - no answer within 2 s      → the fallback, and the stalled connection is replaced
//   - Redis or the network away → the fallback (recognised by type or code: dependency-errors.ts)
//   - anything else (a bug)     → thrown, so it surfaces as a 500 instead of hiding behind a fallback
// An outage is logged once per caller when it starts and once when it ends.
import { isDependencyError, RedisStalledError } from './dependency-errors.ts';
import type { Logger } from './logger.ts';
import type { RedisClient } from './redis.ts';

/** How long a caller waits for a Redis answer before using its fallback. */
export const REDIS_ANSWER_DEADLINE_MS = 2_000;

export class RedisFallback {
  /** Callers whose last Redis call fell back: logged once at the start and once at the end. */
  private readonly failing = new Set<string>();

  constructor(
    readonly client: RedisClient,
    private readonly logger: Logger,
    private readonly deadlineMs = REDIS_ANSWER_DEADLINE_MS,
  ) {}

  /** `op`'s answer from Redis, or `fallback()`'s when Redis is away, stalled or unavailable. */
  async run<T>(what: string, op: () => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    if (!this.client.isReady) {
      this.down(what, 'not connected');
      return fallback();
    }
    try {
      const value = await answerWithin(this.client, op(), this.deadlineMs);
      if (this.failing.size > 0) this.up(what);
      return value;
    } catch (err) {
      if (!isDependencyError(err)) throw err;
      this.down(what, (err as Error).message);
      return fallback();
    }
  }

  private down(what: string, reason: string): void {
    if (this.failing.has(what)) return;
    this.failing.add(what);
    this.logger.warn({ err: reason, step: what }, 'Redis unavailable: using the fallback until it answers again');
  }

  private up(what: string): void {
    if (this.failing.delete(what)) this.logger.info({ step: what }, 'Redis answers again');
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
 * path as a connection that broke: an 'error' (logged; callers fall back while the client is not
 * ready), then 'ready', on which this instance applies pending revocations before it trusts
 * Redis's session entries again (sessions/revocation-outbox.ts). Commands still waiting on the
 * old connection fail at once.
 */
export function restartStalledConnection(client: RedisClient, afterMs: number): void {
  if (restarting.has(client) || !client.isOpen) return;
  restarting.add(client);
  client.emit('error', new RedisStalledError(`Redis sent no answer within ${afterMs} ms: reconnecting`));
  client.deployment
    .restart()
    .catch(() => undefined) // the 'error' listener has logged it; the reconnect strategy goes on
    .finally(() => restarting.delete(client));
}
