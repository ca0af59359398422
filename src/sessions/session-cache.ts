// The Redis side of sessions beyond a plain GET (which RedisStore does): guarded writes,
// the per-user index and tombstones.
//
// Keys (all under the configured prefix):
//   sess:<hash>            the session, as connect-redis stores it; TTL = time to expiry
//   user:<userId>:sessions sorted set of that user's session hashes, score = expiry (ms)
//   gone:<hash>            tombstone: this session was revoked or is known not to exist
import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis.ts';

export type PutMode = 'write' | 'touch' | 'restore';
export type PutResult = 'blocked' | 'created' | 'updated';

/**
 * One round trip, atomic with respect to revocation (which sets the tombstone and deletes the
 * key in one MULTI): a write can never bring back a session revoked while it was in flight.
 * 'touch' only refreshes a session that still exists; 'restore' never overwrites a newer copy.
 */
const PUT_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local existed = redis.call('EXISTS', KEYS[1])
if ARGV[6] == 'touch' and existed == 0 then return 0 end
if ARGV[6] == 'restore' and existed == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return existed + 1
`;
const PUT_SCRIPT_SHA = createHash('sha1').update(PUT_SCRIPT).digest('hex');

/** Covers in-flight requests and restores racing a revocation, and repeated lookups of dead ids. */
const TOMBSTONE_TTL_SECONDS = 3600;

export interface IndexedEntry {
  hash: string;
  userId: string;
}

export interface PutOptions {
  userId: string;
  expiresAtMs: number;
  nowMs: number;
  /** The index lives as long as the longest session a user can have. */
  indexTtlMs: number;
}

export class SessionCache {
  readonly sessionPrefix: string;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {
    this.sessionPrefix = `${prefix}sess:`;
  }

  sessionKey(hash: string): string {
    return this.sessionPrefix + hash;
  }

  tombstoneKey(hash: string): string {
    return `${this.prefix}gone:${hash}`;
  }

  userIndexKey(userId: string): string {
    return `${this.prefix}user:${userId}:sessions`;
  }

  async put(hash: string, value: string, mode: PutMode, options: PutOptions): Promise<PutResult> {
    const ttlMs = options.expiresAtMs - options.nowMs;
    if (ttlMs <= 0) return 'blocked';
    const keys = [this.sessionKey(hash), this.tombstoneKey(hash), this.userIndexKey(options.userId)];
    const args = [value, String(ttlMs), String(options.expiresAtMs), hash, String(options.indexTtlMs), mode];
    let reply: unknown;
    try {
      reply = await this.client.evalSha(PUT_SCRIPT_SHA, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      reply = await this.client.eval(PUT_SCRIPT, { keys, arguments: args });
    }
    return reply === 0 ? 'blocked' : reply === 1 ? 'created' : 'updated';
  }

  async isGone(hash: string): Promise<boolean> {
    return (await this.client.exists(this.tombstoneKey(hash))) === 1;
  }

  async markGone(hash: string): Promise<void> {
    await this.client.set(this.tombstoneKey(hash), '1', { expiration: { type: 'EX', value: TOMBSTONE_TTL_SECONDS } });
  }

  /** Tombstones, deletes and unindexes in one transaction. */
  async remove(entries: IndexedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const multi = this.client.multi();
    for (const { hash, userId } of entries) {
      multi.set(this.tombstoneKey(hash), '1', { expiration: { type: 'EX', value: TOMBSTONE_TTL_SECONDS } });
      multi.unlink(this.sessionKey(hash));
      multi.zRem(this.userIndexKey(userId), hash);
    }
    await multi.exec();
  }

  /** Deletes without a tombstone: undoes a write whose database half failed. */
  async discard(hash: string, userId: string): Promise<void> {
    await this.client.multi().unlink(this.sessionKey(hash)).zRem(this.userIndexKey(userId), hash).exec();
  }

  async discardEntries(hashes: string[]): Promise<void> {
    await this.client.unlink(hashes.map((hash) => this.sessionKey(hash)));
  }

  /** The user's live sessions as stored (raw strings), pruning index entries that outlived them. */
  async listForUser(userId: string, nowMs: number): Promise<Array<{ hash: string; raw: string }>> {
    const indexKey = this.userIndexKey(userId);
    await this.client.zRemRangeByScore(indexKey, '-inf', nowMs);
    const hashes = await this.client.zRange(indexKey, 0, -1);
    if (hashes.length === 0) return [];
    const values = await this.client.mGet(hashes.map((hash) => this.sessionKey(hash)));
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
    return this.client.zRange(this.userIndexKey(userId), 0, -1);
  }
}
