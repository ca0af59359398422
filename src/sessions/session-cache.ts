// The Redis side of sessions beyond a plain GET (which RedisStore does): guarded writes,
// the per-user index and tombstones.
//
// Keys (all under the configured prefix):
//   sess:<hash>            the session, as connect-redis stores it; TTL = time to expiry
//   user:<userId>:sessions sorted set of that user's session hashes, score = expiry (ms)
//   sessions:by-expiry     sorted set of every session hash, score = expiry (ms): active
//                          sessions are a ZCOUNT, expired ones a range (admin, sweeps)
//   users:by-expiry        sorted set of user ids, score = their latest session expiry:
//                          active users are a ZCOUNT
//   gone:<hash>            tombstone: this session was revoked or is known not to exist
//   valid-since            epoch (ms): entries verified before it are checked against their
//                          row once more (set after an outage, when revocations may have
//                          reached PostgreSQL but not Redis)
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
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[5], 'GT', ARGV[3], ARGV[7])
return existed + 1
`;

const BUMP_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

/**
 * Revocation of one user's sessions (ARGV[4..]): tombstone, delete, unindex; then the user's
 * score in users:by-expiry becomes their latest remaining expiry.
 * KEYS: user index, sessions:by-expiry, users:by-expiry. ARGV: prefix, tombstone TTL, user id, hashes…
 */
const REMOVE_SCRIPT = `
local prefix, ttl = ARGV[1], ARGV[2]
for i = 4, #ARGV do
  local hash = ARGV[i]
  redis.call('SET', prefix .. 'gone:' .. hash, '1', 'EX', ttl)
  redis.call('UNLINK', prefix .. 'sess:' .. hash)
  redis.call('ZREM', KEYS[1], hash)
  redis.call('ZREM', KEYS[2], hash)
end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #top == 0 then return redis.call('ZREM', KEYS[3], ARGV[3]) end
return redis.call('ZADD', KEYS[3], top[2], ARGV[3])
`;

/** Covers in-flight requests and restores racing a revocation, and repeated lookups of dead ids. */
const TOMBSTONE_TTL_SECONDS = 3600;

/** Commands take at most this many keys at once, so no single command blocks Redis for long. */
const BATCH_SIZE = 1000;

const SHA1 = new Map<string, string>();
const sha1 = (source: string) => {
  let digest = SHA1.get(source);
  if (!digest) SHA1.set(source, (digest = createHash('sha1').update(source).digest('hex')));
  return digest;
};

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

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
    this.sessionsByExpiryKey = `${prefix}sessions:by-expiry`;
    this.usersByExpiryKey = `${prefix}users:by-expiry`;
    this.validSinceKey = `${prefix}valid-since`;
  }

  /** Whether Redis can be asked at all right now (connected); requests fall back when not. */
  get available(): boolean {
    return this.client.isReady;
  }

  /** The hot path: the session and the revalidation epoch in one MGET. */
  async read(hash: string): Promise<{ raw: string | null; validSince: number }> {
    const [raw, validSince] = await this.client.mGet([this.sessionKey(hash), this.validSinceKey]);
    return { raw: raw ?? null, validSince: Number(validSince ?? 0) };
  }

  /**
   * Moves the revalidation epoch forward (never back). A plain EVAL, one command: issued first
   * on a fresh connection, it reaches Redis before any read this instance sends after it.
   */
  async bumpValidSince(ms: number): Promise<void> {
    await this.client.eval(BUMP_SCRIPT, { keys: [this.validSinceKey], arguments: [String(ms)] });
  }

  /** EVALSHA, loading the script on NOSCRIPT (first use, or after a Redis restart). */
  private async script(source: string, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalSha(sha1(source), { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.client.eval(source, { keys, arguments: args });
    }
  }

  sessionKey(hash: string): string {
    return this.sessionPrefix + hash;
  }

  readonly sessionsByExpiryKey: string;
  readonly usersByExpiryKey: string;
  readonly validSinceKey: string;

  tombstoneKey(hash: string): string {
    return `${this.prefix}gone:${hash}`;
  }

  userIndexKey(userId: string): string {
    return `${this.prefix}user:${userId}:sessions`;
  }

  async put(hash: string, value: string, mode: PutMode, options: PutOptions): Promise<PutResult> {
    const ttlMs = options.expiresAtMs - options.nowMs;
    if (ttlMs <= 0) return 'blocked';
    const keys = [this.sessionKey(hash), this.tombstoneKey(hash), this.userIndexKey(options.userId), this.sessionsByExpiryKey, this.usersByExpiryKey];
    const args = [value, String(ttlMs), String(options.expiresAtMs), hash, String(options.indexTtlMs), mode, options.userId];
    const reply = await this.script(PUT_SCRIPT, keys, args);
    return reply === 0 ? 'blocked' : reply === 1 ? 'created' : 'updated';
  }

  async isGone(hash: string): Promise<boolean> {
    return (await this.client.exists(this.tombstoneKey(hash))) === 1;
  }

  async markGone(hash: string): Promise<void> {
    await this.client.set(this.tombstoneKey(hash), '1', { expiration: { type: 'EX', value: TOMBSTONE_TTL_SECONDS } });
  }

  /**
   * Tombstones, deletes and unindexes: one script call per user, however many sessions (the
   * script builds the session keys from the prefix, so this store expects a single Redis, not
   * a cluster), then fixes the user's latest expiry in users:by-expiry.
   */
  async remove(entries: IndexedEntry[]): Promise<void> {
    const byUser = new Map<string, string[]>();
    for (const { hash, userId } of entries) {
      const list = byUser.get(userId);
      if (list) list.push(hash);
      else byUser.set(userId, [hash]);
    }
    for (const [userId, hashes] of byUser) {
      for (const batch of chunks(hashes, BATCH_SIZE)) {
        await this.script(REMOVE_SCRIPT, [this.userIndexKey(userId), this.sessionsByExpiryKey, this.usersByExpiryKey], [this.prefix, String(TOMBSTONE_TTL_SECONDS), userId, ...batch]);
      }
    }
  }

  /** Active sessions and users: two ZCOUNTs, O(log n) however many sessions there are. */
  async activeCounts(nowMs: number): Promise<{ activeSessions: number; activeUsers: number }> {
    const [activeSessions, activeUsers] = await Promise.all([this.client.zCount(this.sessionsByExpiryKey, `(${nowMs}`, '+inf'), this.client.zCount(this.usersByExpiryKey, `(${nowMs}`, '+inf')]);
    return { activeSessions, activeUsers };
  }

  /** Drops index entries of sessions that expired by TTL; returns how many went. */
  async trimExpired(nowMs: number): Promise<number> {
    const [sessions] = await Promise.all([this.client.zRemRangeByScore(this.sessionsByExpiryKey, '-inf', nowMs), this.client.zRemRangeByScore(this.usersByExpiryKey, '-inf', nowMs)]);
    return sessions;
  }

  /** Deletes without a tombstone: undoes a write whose database half failed. */
  async discard(hash: string, userId: string): Promise<void> {
    await this.remove([{ hash, userId }]);
    await this.client.unlink(this.tombstoneKey(hash));
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
