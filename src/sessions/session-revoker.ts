// Where sessions are revoked. Every path (logout, revoke one, revoke all, password change,
// admin, expiry) ends here, so each session loses its Redis entry, index entries and row
// together, and is counted and announced once.
import type { Activity } from '../analytics/activity.ts';
import { isDependencyError } from '../dependency-errors.ts';
import type { Logger } from '../logger.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { IndexedEntry, SessionCache } from './session-cache.ts';
import type { RemovedRow, SessionRecords } from './session-records.ts';

export type EndReason = 'revoked' | 'expired';

export class SessionRevoker {
  constructor(
    private readonly cache: SessionCache,
    private readonly records: SessionRecords,
    private readonly lastSeen: LastSeenQueue,
    private readonly activity: Activity,
    private readonly logger: Logger,
  ) {}

  /**
   * The Redis half of a revocation. If Redis is away the revocation still stands: the row is
   * gone, and when Redis returns every entry older than the outage is checked against its row
   * before it is trusted again (see `valid-since` in mirrored-store.ts).
   */
  private async fromRedis<T>(step: () => Promise<T>, fallback: T): Promise<T> {
    if (!this.cache.available) return fallback;
    try {
      return await this.cache.answered(step());
    } catch (err) {
      if (!isDependencyError(err)) throw err;
      this.logger.warn({ err: (err as Error).message }, 'revocation not applied to Redis (unavailable); entries will be revalidated when it returns');
      return fallback;
    }
  }

  /** Revokes the given sessions; returns the rows that existed (PostgreSQL is the truth). */
  async revokeHashes(hashes: string[], knownUserId?: string, reason: EndReason = 'revoked'): Promise<RemovedRow[]> {
    const removed = await this.records.deleteByHashes(hashes);
    const entries = new Map<string, IndexedEntry>();
    for (const hash of hashes) if (knownUserId) entries.set(hash, { hash, userId: knownUserId });
    for (const row of removed) entries.set(row.idHash, { hash: row.idHash, userId: row.userId });
    await this.fromRedis(() => this.cache.remove([...entries.values()]), undefined);
    // A hash nobody signed in with (regenerating an anonymous session on login) has nothing to
    // guard against coming back: drop its entry, leave no tombstone.
    const anonymous = hashes.filter((hash) => !entries.has(hash));
    if (anonymous.length > 0) await this.fromRedis(() => this.cache.discardEntries(anonymous), undefined);
    return this.ended(removed, hashes, reason);
  }

  /**
   * Revokes every session of a user (but `exceptHash`): the rows in PostgreSQL and whatever the
   * Redis index holds, so sessions missing from either side are caught too.
   */
  async revokeAllForUser(userId: string, exceptHash: string | null): Promise<RemovedRow[]> {
    const removed = await this.records.deleteForUser(userId, exceptHash);
    const hashes = new Set(removed.map((row) => row.idHash));
    for (const hash of await this.fromRedis(() => this.cache.indexedHashes(userId), [])) if (hash !== exceptHash) hashes.add(hash);
    await this.fromRedis(() => this.cache.remove([...hashes].map((hash) => ({ hash, userId }))), undefined);
    return this.ended(removed, [...hashes], 'revoked');
  }

  private ended(removed: RemovedRow[], hashes: string[], reason: EndReason): RemovedRow[] {
    for (const hash of hashes) this.lastSeen.forget(hash);
    const refs = removed.map((row) => ({ userId: row.userId, handle: row.handle }));
    if (reason === 'expired') this.activity.sessionsExpired(refs);
    else this.activity.sessionsRevoked(refs);
    return removed;
  }
}
