// The session entry (`sess:{bN}:<hash>`, session-keys.ts) and every write to it. Each write is
// one script call (session-scripts.ts) that also keeps the user's index and the expiry counters
// in step, and checks or sets the tombstone in the same atomic step:
//   read()    one GET: the hot path;
//   put()     'write' (a new or changed session), 'touch' (a refresh of one that still exists),
//             'restore' (a copy from PostgreSQL, never over a newer one); refused once tombstoned;
//   remove()  revocation: tombstone, delete, unindex, uncount, counted in the bucket's
//             revocation sequence (revocation-buckets.ts).
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';
import { parseMarker, type BucketWrite } from './revocation-buckets.ts';
import { bucketOfUser, type SessionKeys, type SessionLocator } from './session-keys.ts';
import { PUT_SCRIPT, REMOVE_SCRIPT } from './session-scripts.ts';
import { TOMBSTONE_TTL_SECONDS } from './session-tombstones.ts';

export type PutMode = 'write' | 'touch' | 'restore';
export type PutResult = 'blocked' | 'created' | 'updated';

export interface PutOptions {
  userId: string;
  expiresAtMs: number;
  nowMs: number;
  /** The index lives as long as the longest session a user can have. */
  indexTtlMs: number;
}

/** A session to remove: its hash and its owner (who decides its bucket and index). */
export interface IndexedEntry {
  hash: string;
  userId: string;
}

/** Scripts take at most this many sessions at once, so no single call blocks Redis for long. */
const BATCH_SIZE = 500;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function hashesByUser(entries: IndexedEntry[]): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  for (const { hash, userId } of entries) {
    const list = byUser.get(userId);
    if (list) list.push(hash);
    else byUser.set(userId, [hash]);
  }
  return byUser;
}

export class SessionEntries {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: SessionKeys,
  ) {}

  read(session: SessionLocator): Promise<string | null> {
    return this.client.get(this.keys.session(session));
  }

  /** The session's bucket is its owner's: `options.userId` decides it. */
  async put(hash: string, value: string, mode: PutMode, options: PutOptions): Promise<PutResult> {
    const ttlMs = options.expiresAtMs - options.nowMs;
    if (ttlMs <= 0) return 'blocked';
    const bucket = bucketOfUser(options.userId);
    const session = { hash, bucket };
    const keys = [this.keys.session(session), this.keys.tombstone(session), this.keys.userIndex(options.userId), this.keys.sessionCounts(bucket), this.keys.userCounts(bucket)];
    const args = [value, String(ttlMs), String(options.expiresAtMs), hash, String(options.indexTtlMs), mode, String(options.nowMs)];
    const reply = await runScript(this.client, PUT_SCRIPT, keys, args);
    return reply === 0 ? 'blocked' : reply === 1 ? 'created' : 'updated';
  }

  /**
   * One script call per user (per 500 sessions), then the user moves to the minute of their
   * latest remaining expiry. Returns, per bucket written, the highest revocation sequence
   * number and the generation it was written under.
   */
  async remove(entries: IndexedEntry[], nowMs = Date.now()): Promise<BucketWrite[]> {
    // Sent together (pipelined): a replay of many users' entries takes Redis's time, not a
    // round trip per user, inside the caller's one deadline.
    const calls = [...hashesByUser(entries)].flatMap(([userId, hashes]) => {
      const bucket = bucketOfUser(userId);
      return chunks(hashes, BATCH_SIZE).map(async (batch): Promise<BucketWrite> => {
        const sessionKeys = batch.flatMap((hash) => [this.keys.session({ hash, bucket }), this.keys.tombstone({ hash, bucket })]);
        const keys = [this.keys.userIndex(userId), this.keys.sessionCounts(bucket), this.keys.userCounts(bucket), this.keys.revocationGeneration(bucket), this.keys.revocationSeq(bucket), ...sessionKeys];
        const [seq, marker] = (await runScript(this.client, REMOVE_SCRIPT, keys, [String(TOMBSTONE_TTL_SECONDS), String(nowMs), ...batch])) as [number, string | null];
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
}
