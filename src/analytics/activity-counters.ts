// The admin analytics' activity counters (sign-ins, revocations, cache hits, …; COUNTER_NAMES),
// in Redis so every instance contributes, each kept twice: per hour
// (`stats:{stats}:<name>:h:<yyyymmddhh>`, 48 h, for the 24 h series) and per minute
// (`stats:{stats}:<name>:m:<yyyymmddhhmm>`, 2 h, for exact "last hour" sums). Increments are
// buffered in memory and written every 5 s in one transaction (SessionMaintenance.flush()):
// counting adds no Redis command to any request, and never fails one.
import type { RedisClient } from '../redis.ts';
import type { RedisFallback } from '../redis-fallback.ts';

const COUNTER_NAMES = [
  'sessions_created',
  'sessions_revoked',
  'sessions_expired',
  'logins',
  'login_failed',
  'rate_limited',
  'challenge_issued',
  'cache_hits',
  'cache_misses',
  'new_device_sign_ins',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Kept a day longer than the 24 h the analytics show. */
const HOUR_BUCKET_TTL_SECONDS = 48 * 3600;
const MINUTE_BUCKET_TTL_SECONDS = 2 * 3600;
const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;

function hourBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

function minuteBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-T:]/g, '');
}

export class ActivityCounters {
  private pending = new Map<string, number>();
  /** Bucket keys of the current minute, so a per-request increment formats no dates. */
  private keysMinute = -1;
  private readonly keysOfMinute = new Map<CounterName, [string, string]>();

  private readonly client: RedisClient;

  constructor(
    private readonly redis: RedisFallback,
    private readonly prefix: string,
    private readonly now: () => number,
  ) {
    this.client = redis.client;
  }

  // One hash tag for every counter: a flush is one MULTI and a read one MGET, which Redis
  // Cluster allows only within one slot. (They are written once per flush, every 5 s.)
  key(name: CounterName, ms: number): string {
    return `${this.prefix}stats:{stats}:${name}:h:${hourBucket(ms)}`;
  }

  private minuteKey(name: CounterName, ms: number): string {
    return `${this.prefix}stats:{stats}:${name}:m:${minuteBucket(ms)}`;
  }

  increment(name: CounterName, by = 1): void {
    for (const key of this.currentKeys(name)) this.pending.set(key, (this.pending.get(key) ?? 0) + by);
  }

  private currentKeys(name: CounterName): [string, string] {
    const now = this.now();
    const minute = Math.floor(now / MINUTE_MS);
    if (minute !== this.keysMinute) {
      this.keysMinute = minute;
      this.keysOfMinute.clear();
    }
    let keys = this.keysOfMinute.get(name);
    if (!keys) {
      keys = [this.key(name, now), this.minuteKey(name, now)];
      this.keysOfMinute.set(name, keys);
    }
    return keys;
  }

  /** Writes buffered counts; while Redis is away (or slow) keeps them for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const multi = this.client.multi();
    for (const [key, by] of batch) multi.incrBy(key, by).expire(key, key.includes(':m:') ? MINUTE_BUCKET_TTL_SECONDS : HOUR_BUCKET_TTL_SECONDS);
    const keep = () => {
      for (const [key, by] of batch) this.pending.set(key, (this.pending.get(key) ?? 0) + by);
    };
    await this.redis.run<unknown>('counters', () => multi.exec(), keep);
  }

  /** Hour starts (ms) of the last `hours` hours, oldest first, the current hour last. */
  hours(hours: number): number[] {
    const current = this.now() - (this.now() % HOUR_MS);
    return Array.from({ length: hours }, (_, i) => current - (hours - 1 - i) * HOUR_MS);
  }

  /** Counts per hour for each name, aligned with hours(hours); one MGET for all. */
  async series<N extends CounterName>(names: readonly N[], hours: number): Promise<Record<N, number[]>> {
    const starts = this.hours(hours);
    const keys = names.flatMap((name) => starts.map((ms) => this.key(name, ms)));
    const values = await this.client.mGet(keys);
    const result = {} as Record<N, number[]>;
    names.forEach((name, n) => {
      result[name] = starts.map((_, i) => Number(values[n * hours + i] ?? 0));
    });
    return result;
  }

  /** Exact sums over the last 60 one-minute buckets. */
  async lastHour<N extends CounterName>(names: readonly N[]): Promise<Record<N, number>> {
    const now = this.now();
    const minutes = Array.from({ length: 60 }, (_, i) => now - i * MINUTE_MS);
    const values = await this.client.mGet(names.flatMap((name) => minutes.map((ms) => this.minuteKey(name, ms))));
    const result = {} as Record<N, number>;
    names.forEach((name, n) => {
      result[name] = values.slice(n * 60, n * 60 + 60).reduce<number>((sum, v) => sum + Number(v ?? 0), 0);
    });
    return result;
  }
}
