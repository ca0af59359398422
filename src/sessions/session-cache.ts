// The Redis side of sessions, in one object: what the rest of the code calls, each method
// passed to the file that does it. Callers reach it through RedisFallback (redis-fallback.ts),
// which gives every call its deadline and its fallback.
//   the entry: read, write / touch / restore, remove (revoke)   session-entries.ts
//   tombstones: revoked or known-missing ids                    session-tombstones.ts
//   the per-user index: listing, the hashes to revoke            user-session-index.ts
//   the expiry counters: active sessions and users              expiry-counters.ts
//   each bucket's revocation generation and sequence number     revocation-buckets.ts
// The keys are those of session-keys.ts, the scripts those of session-scripts.ts.
import type { RedisClient } from '../redis.ts';
import { ExpiryCounters, type ActiveCounts } from './expiry-counters.ts';
import { RevocationBuckets, type BucketState, type BucketWrite } from './revocation-buckets.ts';
import { SessionEntries, type IndexedEntry, type PutMode, type PutOptions, type PutResult } from './session-entries.ts';
import { SessionKeys, type SessionLocator } from './session-keys.ts';
import { SessionTombstones } from './session-tombstones.ts';
import { UserSessionIndex } from './user-session-index.ts';

export class SessionCache {
  readonly keys: SessionKeys;
  private readonly entries: SessionEntries;
  private readonly tombstones: SessionTombstones;
  private readonly index: UserSessionIndex;
  private readonly counters: ExpiryCounters;
  private readonly buckets: RevocationBuckets;

  constructor(client: RedisClient, prefix: string) {
    this.keys = new SessionKeys(prefix);
    this.entries = new SessionEntries(client, this.keys);
    this.tombstones = new SessionTombstones(client, this.keys);
    this.index = new UserSessionIndex(client, this.keys);
    this.counters = new ExpiryCounters(client, this.keys);
    this.buckets = new RevocationBuckets(client, this.keys);
  }

  /** The hot path: one GET. */
  read(session: SessionLocator): Promise<string | null> {
    return this.entries.read(session);
  }

  /** Writes, touches or restores the entry, unless the session is tombstoned ('blocked'). */
  put(hash: string, value: string, mode: PutMode, options: PutOptions): Promise<PutResult> {
    return this.entries.put(hash, value, mode, options);
  }

  /** Revokes: tombstones, deletes, unindexes and uncounts the sessions. */
  remove(entries: IndexedEntry[], nowMs?: number): Promise<BucketWrite[]> {
    return this.entries.remove(entries, nowMs);
  }

  isGone(session: SessionLocator): Promise<boolean> {
    return this.tombstones.isGone(session);
  }

  markGone(session: SessionLocator): Promise<void> {
    return this.tombstones.markGone(session);
  }

  listForUser(userId: string, nowMs: number): Promise<Array<{ hash: string; raw: string }>> {
    return this.index.listForUser(userId, nowMs);
  }

  indexedHashes(userId: string): Promise<string[]> {
    return this.index.indexedHashes(userId);
  }

  activeCounts(nowMs: number): Promise<ActiveCounts> {
    return this.counters.activeCounts(nowMs);
  }

  trimExpired(nowMs: number): Promise<number> {
    return this.counters.trimExpired(nowMs);
  }

  bucketStates(): Promise<BucketState[]> {
    return this.buckets.states();
  }

  setGeneration(generation: string): Promise<void> {
    return this.buckets.setGeneration(generation);
  }
}
