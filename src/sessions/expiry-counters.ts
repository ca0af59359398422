// The expiry counters (`sessions:expiring:` and `users:expiring:`, session-keys.ts; their layout
// is described in session-scripts.ts): how many sessions, and users, expire in each minute.
// The put and remove scripts keep them up to date; this file reads them for the admin summary
// and the consistency check, and trims the minutes that have passed (SessionMaintenance).
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';
import { allBuckets, type SessionKeys } from './session-keys.ts';
import { ACTIVE_SCRIPT, TRIM_SCRIPT } from './session-scripts.ts';

export interface ActiveCounts {
  activeSessions: number;
  activeUsers: number;
}

export class ExpiryCounters {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: SessionKeys,
  ) {}

  /** One small script call per bucket, in parallel. */
  private eachBucket<T>(source: string, nowMs: number): Promise<T[]> {
    return Promise.all(allBuckets().map((bucket) => runScript(this.client, source, [this.keys.sessionCounts(bucket), this.keys.userCounts(bucket)], [String(nowMs)]) as Promise<T>));
  }

  /**
   * Sessions and users whose (latest) expiry is in this minute or later, summed over the
   * buckets: exact to the minute, at a cost that does not grow with the number of sessions.
   */
  async activeCounts(nowMs: number): Promise<ActiveCounts> {
    const perBucket = await this.eachBucket<[number, number]>(ACTIVE_SCRIPT, nowMs);
    return perBucket.reduce((sum, [sessions, users]) => ({ activeSessions: sum.activeSessions + sessions, activeUsers: sum.activeUsers + users }), { activeSessions: 0, activeUsers: 0 });
  }

  /** Drops the counts of minutes that have passed (sessions that expired by TTL); returns how many sessions. */
  async trimExpired(nowMs: number): Promise<number> {
    const dropped = await this.eachBucket<number>(TRIM_SCRIPT, nowMs);
    return dropped.reduce((sum, n) => sum + n, 0);
  }
}
