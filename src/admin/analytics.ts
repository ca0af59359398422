// The numbers operators see: a summary whose cost does not grow with the number of sessions
// (active sessions and users from the expiry counters, no session is read; last-hour sums from
// the per-minute activity counters), and hourly series for the last 24 h from the per-hour ones
// (analytics/activity-counters.ts).
import type { Activity } from '../analytics/activity.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import type { RedisClient } from '../redis.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import type { SessionCache } from '../sessions/session-cache.ts';

export interface Summary {
  activeSessions: number;
  activeUsers: number;
  sessionsCreatedLastHour: number;
  sessionsRevokedLastHour: number;
  sessionsExpiredLastHour: number;
  loginsLastHour: number;
  loginFailuresLastHour: number;
  rateLimitedLastHour: number;
  challengesLastHour: number;
  /** Sign-ins from a device or network new to their account. */
  newDeviceSignInsLastHour: number;
  /** Share of session lookups answered by Redis in the last hour; null before any lookup. */
  cacheHitRatio: number | null;
  redisMemoryBytes: number;
}

const HOURS = 24;
const SERIES = ['logins', 'login_failed', 'sessions_created', 'sessions_revoked', 'sessions_expired', 'rate_limited', 'cache_hits', 'cache_misses', 'new_device_sign_ins'] as const;

export interface AnalyticsDeps {
  redis: RedisFallback;
  db: Db;
  cache: SessionCache;
  activity: Activity;
  now: () => number;
}

const ratio = (hits: number, misses: number) => (hits + misses === 0 ? null : hits / (hits + misses));

/** Summed over every primary (one on one node or Sentinel, each shard's on a cluster). */
export async function redisMemoryBytes(redis: RedisClient): Promise<number> {
  const infos = await redis.deployment.primariesInfo('memory');
  return infos.reduce((sum, info) => sum + Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0), 0);
}

const summaryUnavailable = (): never => {
  throw new AppError('service_unavailable', 'Redis is not answering: the summary is counted there.');
};

export async function readSummary({ redis, cache, activity, now }: AnalyticsDeps): Promise<Summary> {
  const reads = async () => {
    await activity.counters.flush(); // this instance's latest counts too
    return Promise.all([
      cache.activeCounts(now()),
      activity.counters.lastHour(['sessions_created', 'sessions_revoked', 'sessions_expired', 'logins', 'login_failed', 'rate_limited', 'challenge_issued', 'cache_hits', 'cache_misses', 'new_device_sign_ins']),
      redisMemoryBytes(redis.client),
    ]);
  };
  // A Redis that does not answer makes this a 503 after the deadline, not a hung page.
  const [active, last, memory] = await redis.run('admin summary', reads, summaryUnavailable);
  return {
    ...active,
    sessionsCreatedLastHour: last.sessions_created,
    sessionsRevokedLastHour: last.sessions_revoked,
    sessionsExpiredLastHour: last.sessions_expired,
    loginsLastHour: last.logins,
    loginFailuresLastHour: last.login_failed,
    rateLimitedLastHour: last.rate_limited,
    challengesLastHour: last.challenge_issued,
    newDeviceSignInsLastHour: last.new_device_sign_ins,
    cacheHitRatio: ratio(last.cache_hits, last.cache_misses),
    redisMemoryBytes: memory,
  };
}

/** Active sessions per device type: one grouped query on the indexed table (admin only). */
async function devices(db: Db, now: Date): Promise<Record<string, number>> {
  const rows = await db.session.groupBy({ by: ['deviceType'], where: { expiresAt: { gt: now } }, _count: { _all: true } });
  return Object.fromEntries(rows.map((row) => [row.deviceType, row._count._all]));
}

export async function readAnalytics(deps: AnalyticsDeps) {
  const [summary, series, byDevice] = await Promise.all([readSummary(deps), deps.activity.counters.series(SERIES, HOURS), devices(deps.db, new Date(deps.now()))]);
  return {
    gauges: {
      activeSessions: summary.activeSessions,
      activeUsers: summary.activeUsers,
      cacheHitRatio: summary.cacheHitRatio,
      redisMemoryBytes: summary.redisMemoryBytes,
      activeSessionsByDevice: byDevice,
    },
    hours: deps.activity.counters.hours(HOURS).map((ms) => new Date(ms).toISOString()),
    series: {
      logins: series.logins,
      loginFailures: series.login_failed,
      sessionsCreated: series.sessions_created,
      sessionsRevoked: series.sessions_revoked,
      sessionsExpired: series.sessions_expired,
      rateLimited: series.rate_limited,
      cacheHits: series.cache_hits,
      cacheMisses: series.cache_misses,
      newDeviceSignIns: series.new_device_sign_ins,
      cacheHitRatio: series.cache_hits.map((hits, i) => ratio(hits, series.cache_misses[i] ?? 0)),
    },
  };
}
