// Where sessions are revoked. Every path (logout, revoke one, revoke all, password change,
// expiry) ends here, so each revoked session loses its Redis entry, index entry and row together.
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { IndexedEntry, SessionCache } from './session-cache.ts';
import type { RemovedRow, SessionRecords } from './session-records.ts';

export class SessionRevoker {
  constructor(
    private readonly cache: SessionCache,
    private readonly records: SessionRecords,
    private readonly lastSeen: LastSeenQueue,
  ) {}

  /** Revokes the given sessions; returns the rows that existed (PostgreSQL is the truth). */
  async revokeHashes(hashes: string[], knownUserId?: string): Promise<RemovedRow[]> {
    const removed = await this.records.deleteByHashes(hashes);
    const entries = new Map<string, IndexedEntry>();
    for (const hash of hashes) if (knownUserId) entries.set(hash, { hash, userId: knownUserId });
    for (const row of removed) entries.set(row.idHash, { hash: row.idHash, userId: row.userId });
    await this.cache.remove([...entries.values()]);
    // A hash nobody signed in with (regenerating an anonymous session on login) has nothing to
    // guard against coming back: drop its entry, leave no tombstone.
    const anonymous = hashes.filter((hash) => !entries.has(hash));
    if (anonymous.length > 0) await this.cache.discardEntries(anonymous);
    for (const hash of hashes) this.lastSeen.forget(hash);
    return removed;
  }

  /**
   * Revokes every session of a user (but `exceptHash`): the rows in PostgreSQL and whatever the
   * Redis index holds, so sessions missing from either side are caught too.
   */
  async revokeAllForUser(userId: string, exceptHash: string | null): Promise<RemovedRow[]> {
    const removed = await this.records.deleteForUser(userId, exceptHash);
    const hashes = new Set(removed.map((row) => row.idHash));
    for (const hash of await this.cache.indexedHashes(userId)) if (hash !== exceptHash) hashes.add(hash);
    await this.cache.remove([...hashes].map((hash) => ({ hash, userId })));
    for (const hash of hashes) this.lastSeen.forget(hash);
    return removed;
  }
}
