// Builds the session component from its dependencies. Where a session is
//   read, written, restored:  mirrored-store.ts (the express-session store)
//   revoked:                  session-revoker.ts (+ revocation-records.ts, revocation-outbox.ts)
//   stored in Redis:          session-cache.ts, which names the file of each part (the entry
//                             and its writes: session-entries.ts);  in PostgreSQL: session-records.ts
import type { Activity } from '../analytics/activity.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import { LastSeenQueue } from './last-seen-queue.ts';
import { SessionMaintenance } from './maintenance.ts';
import { MirroredSessionStore } from './mirrored-store.ts';
import { RedisTrust } from './redis-trust.ts';
import { RevocationOutbox } from './revocation-outbox.ts';
import { RevocationRecords } from './revocation-records.ts';
import { SessionCache } from './session-cache.ts';
import { sessionCookieSettings } from './session-cookie.ts';
import { lifetimeFrom, type Lifetime } from './session-data.ts';
import type { SessionHooks } from './session-hooks.ts';
import { SessionRecords } from './session-records.ts';
import { SessionRevoker } from './session-revoker.ts';
import { createSessionSerializer } from './session-serializer.ts';

export interface Sessions {
  store: MirroredSessionStore;
  cache: SessionCache;
  records: SessionRecords;
  revocations: RevocationRecords;
  revoker: SessionRevoker;
  outbox: RevocationOutbox;
  lastSeen: LastSeenQueue;
  maintenance: SessionMaintenance;
  lifetime: Lifetime;
  redis: RedisFallback;
}

export function createSessions(config: Config, redis: RedisFallback, db: Db, activity: Activity, logger: Logger, now: () => number, hooks?: SessionHooks): Sessions {
  const lifetime = lifetimeFrom(config.sessionTtlSeconds, config.sessionIdleTimeoutSeconds, config.sessionShortTtlSeconds);
  const cache = new SessionCache(redis.client, config.redisKeyPrefix);
  const records = new SessionRecords(db);
  const revocations = new RevocationRecords(db, config.redisKeyPrefix);
  const lastSeen = new LastSeenQueue(records, logger);
  const trust = new RedisTrust(logger);
  const revoker = new SessionRevoker(cache, revocations, redis, lastSeen, trust, activity, logger, hooks);
  const outbox = new RevocationOutbox({ client: redis.client, revocations, revoker, trust, cache, logger, hooks });
  const serializer = createSessionSerializer(sessionCookieSettings(config.isProduction, config.sessionTtlSeconds));
  const store = new MirroredSessionStore({ redis, cache, records, revoker, outbox, lastSeen, lifetime, now, logger, activity, serializer, hooks });
  const maintenance = new SessionMaintenance({ lastSeen, revocations, revoker, outbox, cache, redis, activity, now, logger });
  return { store, cache, records, revocations, revoker, outbox, lastSeen, maintenance, lifetime, redis };
}
