// Background upkeep, on every instance (each step is idempotent): write queued `lastSeenAt`
// times and buffered counters, and delete rows of sessions that expired (Redis expires its
// own entries by TTL; their index entries are trimmed here).
import type { Activity } from '../analytics/activity.ts';
import type { Logger } from '../logger.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { SessionCache } from './session-cache.ts';
import type { SessionRecords } from './session-records.ts';

const FLUSH_INTERVAL_MS = 5_000;
const SWEEP_INTERVAL_MS = 60_000;
/**
 * A row's `expiresAt` trails Redis by up to a touch interval plus a flush (write-behind), so a
 * row is only swept once it has been past expiry for longer than that.
 */
const SWEEP_GRACE_MS = 65_000;

export class SessionMaintenance {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly lastSeen: LastSeenQueue,
    private readonly records: SessionRecords,
    private readonly cache: SessionCache,
    private readonly activity: Activity,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = (ms: number, job: () => Promise<unknown>) => {
      const timer = setInterval(() => void job(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(FLUSH_INTERVAL_MS, () => this.flush());
    every(SWEEP_INTERVAL_MS, () => this.sweepExpired());
  }

  async flush(): Promise<void> {
    await Promise.all([this.lastSeen.flush(), this.activity.counters.flush()]);
  }

  /** Deletes rows that expired (counted as expired, once, by whichever instance deletes them). */
  async sweepExpired(graceMs = SWEEP_GRACE_MS): Promise<number> {
    try {
      const nowMs = this.now();
      await this.cache.trimExpired(nowMs);
      const removed = await this.records.deleteExpired(new Date(nowMs - graceMs));
      await this.cache.remove(removed.map((row) => ({ hash: row.idHash, userId: row.userId })));
      this.activity.sessionsExpired(removed.map((row) => ({ userId: row.userId, handle: row.handle })));
      return removed.length;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'expired-session sweep failed; will retry');
      return 0;
    }
  }

  /** Stops the timers and writes what is still queued. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.flush();
  }
}
