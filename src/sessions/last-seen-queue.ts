// Write-behind for `lastSeenAt`: requests only note the time in memory; a timer writes the
// batch to PostgreSQL in one statement. The hot path never waits on the database, and updates
// that fail (database down) stay queued until a later flush succeeds. A session whose row has
// gone is reported, so its Redis entry can go too (maintenance.ts).
import type { Logger } from '../logger.ts';
import type { IndexedEntry } from './session-entries.ts';
import type { LastSeenUpdate, SessionRecords } from './session-records.ts';

export class LastSeenQueue {
  private pending = new Map<string, LastSeenUpdate>();
  private flushing: Promise<IndexedEntry[]> | null = null;

  constructor(
    private readonly records: SessionRecords,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  enqueue(update: LastSeenUpdate): void {
    this.pending.set(update.hash, update);
  }

  forget(hash: string): void {
    this.pending.delete(hash);
  }

  /** Writes what is queued; returns the sessions whose row has gone. Concurrent callers share one flush. */
  async flush(): Promise<IndexedEntry[]> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return [];
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.records
      .applyLastSeen(batch)
      .then((existing) => batch.filter((update) => !existing.has(update.hash)).map(({ hash, userId }) => ({ hash, userId })))
      .catch((err: unknown) => {
        // Keep the batch, but never overwrite a newer time queued meanwhile.
        for (const update of batch) if (!this.pending.has(update.hash)) this.pending.set(update.hash, update);
        this.logger.warn({ err: (err as Error).message, queued: this.pending.size }, 'lastSeenAt write-behind failed; will retry');
        return [];
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }
}
