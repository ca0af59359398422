// Counters per hour in Redis (`stats:<name>:<yyyymmddhh>`), so every instance contributes and
// the admin analytics can read the last 24 h. Counting never fails a request.
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';

export type CounterName = 'rate_limited' | 'challenge_issued' | 'login_failed';

/** Kept a day longer than the 24 h the analytics show. */
const BUCKET_TTL_SECONDS = 48 * 3600;

export function hourBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

export class HourlyCounters {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  key(name: CounterName, ms: number): string {
    return `${this.prefix}stats:${name}:${hourBucket(ms)}`;
  }

  /** Fire and forget: a lost count is better than a failed request. */
  increment(name: CounterName, by = 1): void {
    if (!this.client.isReady) return;
    const key = this.key(name, this.now());
    this.client
      .multi()
      .incrBy(key, by)
      .expire(key, BUCKET_TTL_SECONDS)
      .exec()
      .catch((err: unknown) => this.logger.debug({ err: (err as Error).message, counter: name }, 'counter not recorded'));
  }

  /** Counts for the last `hours` hours, oldest first (the current hour last). */
  async series(name: CounterName, hours: number): Promise<Array<{ hour: string; count: number }>> {
    const nowMs = this.now();
    const hourMs = 3600_000;
    const starts = Array.from({ length: hours }, (_, i) => nowMs - (hours - 1 - i) * hourMs);
    const values = await this.client.mGet(starts.map((ms) => this.key(name, ms)));
    return starts.map((ms, i) => ({ hour: new Date(ms - (ms % hourMs)).toISOString(), count: Number(values[i] ?? 0) }));
  }
}
