// Background upkeep, on every instance (each step is idempotent): write queued `lastSeenAt`
// times and buffered counters, apply revocations still in the outbox, and delete rows of
// sessions that expired (Redis expires its own entries by TTL; their index entries and counters
// go through the outbox like any revocation), and forget kept revocations whose sessions would
// have expired anyway.
import type { Activity } from '../analytics/activity.ts';
import type { Logger } from '../logger.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { RevocationOutbox } from './revocation-outbox.ts';
import type { RevocationRecords } from './revocation-records.ts';
import type { SessionCache } from './session-cache.ts';
import { ROW_EXPIRY_LAG_MS } from './session-data.ts';
import type { SessionRevoker } from './session-revoker.ts';

const FLUSH_INTERVAL_MS = 5_000;
export const SWEEP_INTERVAL_MS = 60_000;
/** A row is only swept once it has been past expiry for longer than it may trail Redis. */
const SWEEP_GRACE_MS = ROW_EXPIRY_LAG_MS;

export interface MaintenanceDeps {
  lastSeen: LastSeenQueue;
  revocations: RevocationRecords;
  revoker: SessionRevoker;
  outbox: RevocationOutbox;
  cache: SessionCache;
  redis: RedisFallback;
  activity: Activity;
  now: () => number;
  logger: Logger;
}

export class SessionMaintenance {
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: MaintenanceDeps) {}

  start(): void {
    const every = (ms: number, job: () => Promise<unknown>) => {
      const timer = setInterval(() => void job(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(FLUSH_INTERVAL_MS, () => this.flush());
    every(SWEEP_INTERVAL_MS, () => this.sweepExpired());
    this.deps.outbox.start();
  }

  /** Writes queued `lastSeenAt` times (dropping Redis entries whose row has gone) and counters. */
  async flush(): Promise<void> {
    const [orphans] = await Promise.all([this.deps.lastSeen.flush(), this.deps.activity.counters.flush()]);
    await this.deps.revoker.dropOrphans(orphans);
  }

  /** Deletes rows that expired (counted as expired, once, by whichever instance deletes them). */
  async sweepExpired(graceMs = SWEEP_GRACE_MS): Promise<number> {
    const { cache, redis, revocations, revoker, activity, now, logger } = this.deps;
    try {
      const nowMs = now();
      const { removed, pending } = await revocations.revokeExpired(new Date(nowMs - graceMs));
      await revoker.apply(pending);
      await redis.run('expiry counters', () => cache.trimExpired(nowMs), () => 0);
      await revocations.purgeKept();
      activity.sessionsExpired(removed.map((row) => ({ userId: row.userId, handle: row.handle, email: row.email })));
      return removed.length;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'expired-session sweep failed; will retry');
      return 0;
    }
  }

  /** Stops the timers and writes what is still queued. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.deps.outbox.stop();
    await this.flush();
  }
}
