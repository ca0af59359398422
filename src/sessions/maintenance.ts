// Background upkeep, on every instance (each step is idempotent): write queued `lastSeenAt`
// times, and delete rows of sessions that expired (Redis expires its own entries by TTL).
import type { Logger } from '../logger.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { SessionCache } from './session-cache.ts';
import type { SessionRecords } from './session-records.ts';

const FLUSH_INTERVAL_MS = 5_000;
const SWEEP_INTERVAL_MS = 5 * 60_000;

export class SessionMaintenance {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly lastSeen: LastSeenQueue,
    private readonly records: SessionRecords,
    private readonly cache: SessionCache,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = (ms: number, job: () => Promise<unknown>) => {
      const timer = setInterval(() => void job(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(FLUSH_INTERVAL_MS, () => this.lastSeen.flush());
    every(SWEEP_INTERVAL_MS, () => this.sweepExpired());
  }

  async sweepExpired(): Promise<number> {
    try {
      const removed = await this.records.deleteExpired(new Date(this.now()));
      await this.cache.remove(removed.map((row) => ({ hash: row.idHash, userId: row.userId })));
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
    await this.lastSeen.flush();
  }
}
