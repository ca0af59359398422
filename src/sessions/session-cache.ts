// The Redis side of sessions: the entry read, guarded writes, the per-user index, the expiry
// counters and tombstones, over the keys of session-keys.ts and the scripts of
// session-scripts.ts. Callers reach it through RedisFallback (redis-fallback.ts), which gives
// every call its deadline and its fallback.
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';
import { allBuckets, bucketOfUser, SessionKeys, type SessionLocator } from './session-keys.ts';
import { ACTIVE_SCRIPT, BUCKET_STATE_SCRIPT, PUT_SCRIPT, REMOVE_SCRIPT, SET_GENERATION_SCRIPT, TRIM_SCRIPT } from './session-scripts.ts';

export { EXPIRY_COUNT_MS } from './session-scripts.ts';

export type PutMode = 'write' | 'touch' | 'restore';
export type PutResult = 'blocked' | 'created' | 'updated';

/** Covers in-flight requests and restores racing a revocation, and repeated lookups of dead ids. */
const TOMBSTONE_TTL_SECONDS = 3600;

/** Scripts take at most this many sessions at once, so no single call blocks Redis for long. */
const BATCH_SIZE = 500;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface IndexedEntry {
  hash: string;
  userId: string;
}

/** A bucket's revocation writes: the highest sequence number, and the generation it carries. */
export interface BucketWrite {
  bucket: number;
  seq: number;
  generation: string | null;
}

export interface BucketState extends BucketWrite {
  /** Whether the server holding the bucket is the one its generation was started on. */
  sameServer: boolean;
}

/** `<generation>:<run_id of the server it was started on>`. */
function parseMarker(marker: string | null): { generation: string | null; startedOn: string | null } {
  const colon = marker?.lastIndexOf(':') ?? -1;
  return colon < 0 ? { generation: null, startedOn: null } : { generation: marker!.slice(0, colon), startedOn: marker!.slice(colon + 1) };
}

export interface PutOptions {
  userId: string;
  expiresAtMs: number;
  nowMs: number;
  /** The index lives as long as the longest session a user can have. */
  indexTtlMs: number;
}

export class SessionCache {
  readonly keys: SessionKeys;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
  ) {
    this.keys = new SessionKeys(prefix);
  }

  /** The hot path: one GET. */
  read(session: SessionLocator): Promise<string | null> {
    return this.client.get(this.keys.session(session));
  }

  private script(source: string, keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.client, source, keys, args);
  }

  sessionKey(session: SessionLocator): string {
    return this.keys.session(session);
  }

  tombstoneKey(session: SessionLocator): string {
    return this.keys.tombstone(session);
  }

  userIndexKey(userId: string): string {
    return this.keys.userIndex(userId);
  }

  /** The session's bucket is its owner's: `options.userId` decides it. */
  async put(hash: string, value: string, mode: PutMode, options: PutOptions): Promise<PutResult> {
    const ttlMs = options.expiresAtMs - options.nowMs;
    if (ttlMs <= 0) return 'blocked';
    const bucket = bucketOfUser(options.userId);
    const session = { hash, bucket };
    const keys = [this.keys.session(session), this.keys.tombstone(session), this.keys.userIndex(options.userId), this.keys.sessionCounts(bucket), this.keys.userCounts(bucket)];
    const args = [value, String(ttlMs), String(options.expiresAtMs), hash, String(options.indexTtlMs), mode, String(options.nowMs)];
    const reply = await this.script(PUT_SCRIPT, keys, args);
    return reply === 0 ? 'blocked' : reply === 1 ? 'created' : 'updated';
  }

  async isGone(session: SessionLocator): Promise<boolean> {
    return (await this.client.exists(this.keys.tombstone(session))) === 1;
  }

  async markGone(session: SessionLocator): Promise<void> {
    await this.client.set(this.keys.tombstone(session), '1', { expiration: { type: 'EX', value: TOMBSTONE_TTL_SECONDS } });
  }

  /**
   * Tombstones, deletes and unindexes: one script call per user (per 500 sessions), then moves
   * the user to the minute of their latest remaining expiry. Returns, per bucket written, the
   * highest revocation sequence number and the generation it was written under.
   */
  async remove(entries: IndexedEntry[], nowMs = Date.now()): Promise<BucketWrite[]> {
    const byUser = new Map<string, string[]>();
    for (const { hash, userId } of entries) {
      const list = byUser.get(userId);
      if (list) list.push(hash);
      else byUser.set(userId, [hash]);
    }
    // Sent together (pipelined): a replay of many users' entries takes Redis's time, not a
    // round trip per user, inside the caller's one deadline.
    const calls = [...byUser].flatMap(([userId, hashes]) => {
      const bucket = bucketOfUser(userId);
      return chunks(hashes, BATCH_SIZE).map(async (batch): Promise<BucketWrite> => {
        const sessionKeys = batch.flatMap((hash) => [this.keys.session({ hash, bucket }), this.keys.tombstone({ hash, bucket })]);
        const keys = [this.keys.userIndex(userId), this.keys.sessionCounts(bucket), this.keys.userCounts(bucket), this.keys.revocationGeneration(bucket), this.keys.revocationSeq(bucket), ...sessionKeys];
        const [seq, marker] = (await this.script(REMOVE_SCRIPT, keys, [String(TOMBSTONE_TTL_SECONDS), String(nowMs), ...batch])) as [number, string | null];
        return { bucket, seq, generation: parseMarker(marker).generation };
      });
    });
    const writes = new Map<number, BucketWrite>();
    for (const write of await Promise.all(calls)) {
      const seen = writes.get(write.bucket);
      // The highest number of each bucket is the one to record (with the generation it carries).
      if (!seen || write.seq > seen.seq) writes.set(write.bucket, write);
    }
    return [...writes.values()];
  }

  /** Each bucket's revocation generation and sequence number, and whether its server started that generation. */
  async bucketStates(): Promise<BucketState[]> {
    return Promise.all(
      allBuckets().map(async (bucket) => {
        const [marker, seq, server] = (await this.script(BUCKET_STATE_SCRIPT, [this.keys.revocationGeneration(bucket), this.keys.revocationSeq(bucket)], [])) as [string | null, number, string];
        const { generation, startedOn } = parseMarker(marker);
        return { bucket, generation, seq, sameServer: startedOn === server };
      }),
    );
  }

  /** Starts a generation in every bucket (after which the kept revocations are applied again). */
  async setGeneration(generation: string): Promise<void> {
    await Promise.all(allBuckets().map((bucket) => this.script(SET_GENERATION_SCRIPT, [this.keys.revocationGeneration(bucket)], [generation])));
  }

  /**
   * Sessions and users whose (latest) expiry is in this minute or later, summed over the
   * buckets (one small script call each, in parallel): exact to the minute, at a cost that does
   * not grow with the number of sessions.
   */
  async activeCounts(nowMs: number): Promise<{ activeSessions: number; activeUsers: number }> {
    const perBucket = await Promise.all(
      allBuckets().map((bucket) => this.script(ACTIVE_SCRIPT, [this.keys.sessionCounts(bucket), this.keys.userCounts(bucket)], [String(nowMs)]) as Promise<[number, number]>),
    );
    return perBucket.reduce((sum, [sessions, users]) => ({ activeSessions: sum.activeSessions + sessions, activeUsers: sum.activeUsers + users }), { activeSessions: 0, activeUsers: 0 });
  }

  /** Drops the counts of minutes that have passed (sessions that expired by TTL); returns how many sessions. */
  async trimExpired(nowMs: number): Promise<number> {
    const dropped = await Promise.all(allBuckets().map((bucket) => this.script(TRIM_SCRIPT, [this.keys.sessionCounts(bucket), this.keys.userCounts(bucket)], [String(nowMs)]) as Promise<number>));
    return dropped.reduce((sum, n) => sum + n, 0);
  }

  /** The user's live sessions as stored (raw strings), pruning index entries that outlived them. */
  async listForUser(userId: string, nowMs: number): Promise<Array<{ hash: string; raw: string }>> {
    const indexKey = this.keys.userIndex(userId);
    const bucket = bucketOfUser(userId);
    await this.client.zRemRangeByScore(indexKey, '-inf', nowMs);
    const hashes = await this.client.zRange(indexKey, 0, -1);
    if (hashes.length === 0) return [];
    const values = await this.client.mGet(hashes.map((hash) => this.keys.session({ hash, bucket })));
    const live: Array<{ hash: string; raw: string }> = [];
    const stale: string[] = [];
    hashes.forEach((hash, i) => {
      const raw = values[i];
      if (typeof raw === 'string') live.push({ hash, raw });
      else stale.push(hash);
    });
    if (stale.length > 0) await this.client.zRem(indexKey, stale);
    return live;
  }

  async indexedHashes(userId: string): Promise<string[]> {
    return this.client.zRange(this.keys.userIndex(userId), 0, -1);
  }
}
