// Builds the session component from its dependencies. Start reading at mirrored-store.ts
// (read/write) and session-revoker.ts (revoke).
import type { Activity } from '../analytics/activity.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import { LastSeenQueue } from './last-seen-queue.ts';
import { SessionMaintenance } from './maintenance.ts';
import { MirroredSessionStore } from './mirrored-store.ts';
import { SessionCache } from './session-cache.ts';
import { lifetimeFrom, type Lifetime } from './session-data.ts';
import { SessionRecords } from './session-records.ts';
import { SessionRevoker } from './session-revoker.ts';
import { sessionCookieSettings } from './session-middleware.ts';
import { createSessionSerializer } from './session-serializer.ts';

export interface Sessions {
  store: MirroredSessionStore;
  cache: SessionCache;
  records: SessionRecords;
  revoker: SessionRevoker;
  lastSeen: LastSeenQueue;
  maintenance: SessionMaintenance;
  lifetime: Lifetime;
}

export function createSessions(config: Config, redis: RedisClient, db: Db, activity: Activity, logger: Logger, now: () => number): Sessions {
  const lifetime = lifetimeFrom(config.sessionTtlSeconds, config.sessionIdleTimeoutSeconds);
  const cache = new SessionCache(redis, config.redisKeyPrefix);
  const records = new SessionRecords(db);
  const lastSeen = new LastSeenQueue(records, logger);
  const revoker = new SessionRevoker(cache, records, lastSeen, activity, logger);
  const serializer = createSessionSerializer(sessionCookieSettings(config.isProduction, config.sessionTtlSeconds));
  const store = new MirroredSessionStore({ client: redis, cache, records, revoker, lastSeen, lifetime, now, logger, activity, serializer });
  const maintenance = new SessionMaintenance(lastSeen, records, cache, activity, now, logger);
  revalidateAfterOutages(redis, cache, now, logger);
  return { store, cache, records, revoker, lastSeen, maintenance, lifetime };
}

/**
 * While this instance could not reach Redis, revocations (its own or, after a failover,
 * anyone's) may have reached PostgreSQL only. When the connection is back, move `valid-since`
 * forward so every older entry is checked against its row before it is trusted again.
 */
function revalidateAfterOutages(redis: RedisClient, cache: SessionCache, now: () => number, logger: Logger): void {
  let lost = false;
  redis.on('error', () => {
    lost = true;
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    cache.bumpValidSince(now()).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not move valid-since forward'));
  });
}
