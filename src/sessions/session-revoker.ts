// Where sessions are revoked. Every path (logout, revoke one, revoke all, password and role
// changes, admin, expiry) ends here:
//   1. PostgreSQL: the rows are deleted and an outbox entry per session is written, in one
//      statement (revocation-records.ts) — from here on the revocation is durable;
//   2. Redis: one script call per user writes each tombstone, deletes the entry, unindexes and
//      uncounts it (session-entries.ts, remove()); the put script checks the tombstone, so
//      nothing in flight can write the session back;
//   3. the outbox entries are marked applied (kept while a stale Redis copy could matter). If
//      Redis could not be reached, or refused the write, in step 2 they stay pending, this
//      instance stops believing Redis until they are applied, and every instance applies them
//      within seconds (revocation-outbox.ts).
import type { Activity } from '../analytics/activity.ts';
import { isDependencyError } from '../dependency-errors.ts';
import type { Logger } from '../logger.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { RedisTrust } from './redis-trust.ts';
import type { BucketWrite } from './revocation-buckets.ts';
import type { CredentialChange, PendingRevocation, RevocationRecords } from './revocation-records.ts';
import type { SessionCache } from './session-cache.ts';
import type { IndexedEntry } from './session-entries.ts';
import type { SessionHooks } from './session-hooks.ts';
import { bucketOfUser } from './session-keys.ts';
import type { RemovedRow } from './session-records.ts';

export type EndReason = 'revoked' | 'expired';

export class SessionRevoker {
  constructor(
    private readonly cache: SessionCache,
    private readonly revocations: RevocationRecords,
    private readonly redis: RedisFallback,
    private readonly lastSeen: LastSeenQueue,
    private readonly trust: RedisTrust,
    private readonly activity: Activity,
    private readonly logger: Logger,
    private readonly hooks: SessionHooks = {},
  ) {}

  /**
   * Revokes the given sessions; returns the rows that existed (PostgreSQL is the truth).
   * `knownUserId` names their owner, so that a session whose row has already gone still loses
   * its Redis entry, index entry and count.
   */
  async revokeHashes(hashes: string[], knownUserId?: string, reason: EndReason = 'revoked'): Promise<RemovedRow[]> {
    const { removed, pending } = await this.revocations.revoke(hashes, knownUserId);
    await this.apply(pending);
    return this.ended(removed, hashes, reason);
  }

  /**
   * Revokes one session by its public handle (only among `userId`'s, when given); returns its
   * row, or null when there was none. `alsoHashes` (of `userId`) lose their Redis entries even
   * if their row went already (the caller's own id, in a sign-out racing another revocation).
   */
  async revokeHandle(handle: string, userId: string | null, alsoHashes: string[] = []): Promise<RemovedRow | null> {
    const { removed, pending } = await this.revocations.revokeHandle(handle, userId, alsoHashes);
    await this.apply(pending);
    return this.ended(removed, [...pending.map((entry) => entry.hash)], 'revoked')[0] ?? null;
  }

  /**
   * Re-authentication: PostgreSQL moves the session to its new id and revokes the old one in
   * one statement; then `writeNew` puts the new entry into Redis, and only then does the old
   * entry go (a request in between finds one of them, never neither). Returns what `writeNew`
   * answered, or null when the session had ended or the credential changed meanwhile: then
   * nothing was written.
   */
  async rotate<T>(change: Parameters<RevocationRecords['rotate']>[0], writeNew: () => Promise<T>): Promise<{ written: T } | null> {
    const pending = await this.revocations.rotate(change);
    if (!pending) return null;
    const written = await writeNew();
    await this.apply([pending]);
    this.lastSeen.forget(change.fromHash);
    return { written };
  }

  /**
   * Revokes every session of a user (but the one with handle `exceptHandle`) and moves their
   * credential version on (with `change` in the same transaction), so no sign-in that checked
   * the old credential can store a session afterwards. The Redis index is swept too, for
   * entries whose row was lost: read before the transaction, so a session signed in after it
   * (with the new credential) cannot be mistaken for one; the kept session's ids are not strays.
   */
  async revokeAllForUser(userId: string, exceptHandle: string | null, change: CredentialChange = {}): Promise<{ removed: RemovedRow[]; credentialVersion: number | null }> {
    const indexed = await this.redis.run('revoke', () => this.cache.indexedHashes(userId), () => []);
    const { removed, pending, credentialVersion, kept } = await this.revocations.revokeAllForUser(userId, exceptHandle, change);
    if (credentialVersion === null && change.ifUnchanged) return { removed, credentialVersion }; // lost the race: nothing changed
    await this.hooks.afterCredentialChange?.();
    const queued = new Set([...pending.map((entry) => entry.hash), ...kept]);
    const strays = indexed.filter((hash) => !queued.has(hash)).map((hash) => ({ hash, userId }));
    await this.apply(pending, strays);
    this.ended(removed, [...pending, ...strays].map((entry) => entry.hash), 'revoked');
    return { removed, credentialVersion };
  }

  /**
   * Puts revocations into Redis and marks their outbox entries applied; false when Redis could
   * not be reached or refused (the entries stay pending for whichever instance applies them
   * first, and this one reads sessions from PostgreSQL until then). Idempotent.
   */
  async apply(pending: PendingRevocation[], strays: IndexedEntry[] = []): Promise<boolean> {
    if (pending.length === 0 && strays.length === 0) return true;
    const entries = [...pending, ...strays];
    const writes = await this.redis.run<BucketWrite[] | null>('revoke', () => this.cache.remove(entries), () => null);
    if (!writes) {
      this.trust.withdraw('a revocation could not be written to Redis');
      this.logger.warn({ pending: pending.length }, 'revocation not yet in Redis: kept in the outbox, applied when Redis answers');
      return false;
    }
    try {
      for (const write of writes) {
        const ids = pending.filter((entry) => bucketOfUser(entry.userId) === write.bucket).map((entry) => entry.id);
        await this.revocations.applied(ids, write);
      }
    } catch (err) {
      // Redis has them; the entries are applied again later, which changes nothing.
      if (!isDependencyError(err)) throw err;
    }
    return true;
  }

  /** Redis entries of sessions whose row has gone without an outbox entry reaching Redis. */
  async dropOrphans(entries: IndexedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.redis.run('revoke', () => this.cache.remove(entries), () => undefined);
  }

  private ended(removed: RemovedRow[], hashes: string[], reason: EndReason): RemovedRow[] {
    for (const hash of hashes) this.lastSeen.forget(hash);
    const refs = removed.map((row) => ({ userId: row.userId, handle: row.handle, email: row.email }));
    if (reason === 'expired') this.activity.sessionsExpired(refs);
    else this.activity.sessionsRevoked(refs);
    return removed;
  }
}
