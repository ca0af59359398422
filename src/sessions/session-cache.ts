// The Redis side of sessions: the entry read, guarded writes, the per-user index, the expiry
// counters and tombstones. Callers reach it through RedisFallback (redis-fallback.ts), which
// gives every call its deadline and its fallback.
//
// Keys (all under the configured prefix):
//   sess:<hash>             the session (see session-serializer.ts); TTL = time to expiry
//   user:<userId>:sessions  sorted set of that user's session hashes, score = expiry (ms)
//   sessions:expiring       hash: expiry minute → how many sessions expire in it
//   users:expiring          hash: minute of a user's latest session expiry → how many users
//   gone:<hash>             tombstone: this session was revoked or is known not to exist
//
// Active sessions and users are the sums of the counters from the current minute on: one small
// hash each (at most one field per minute of the session lifetime, 10,080 for a week) instead
// of a sorted set with a member per session, which cost ~150 bytes per session each. The
// scripts below keep the counters in step with the per-user index, in the same atomic call.
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';

/** The counters' unit: sessions and users are counted per minute of expiry. */
export const EXPIRY_COUNT_MS = 60_000;

export type PutMode = 'write' | 'touch' | 'restore';
export type PutResult = 'blocked' | 'created' | 'updated';

/**
 * Moves one count between expiry minutes of a counter hash (KEYS given), dropping fields that
 * reach zero. `from`/`to` are expiry scores in ms, or false (ZSCORE/ZRANGE of nothing).
 */
const COUNTER_LUA = `
local function minute(score) return tostring(math.floor(tonumber(score) / ${EXPIRY_COUNT_MS})) end
local function move(key, from, to)
  if from and to and minute(from) == minute(to) then return end
  if from and redis.call('HINCRBY', key, minute(from), -1) <= 0 then redis.call('HDEL', key, minute(from)) end
  if to then redis.call('HINCRBY', key, minute(to), 1) end
end
local function latest(index)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  return top[2] or false
end
`;

/**
 * One round trip, atomic with respect to revocation (which sets the tombstone and deletes the
 * key in the same kind of script call): a write can never bring back a session revoked while
 * it was in flight. 'touch' only refreshes a session that still exists; 'restore' never
 * overwrites a newer copy.
 * KEYS: session, tombstone, user index, sessions:expiring, users:expiring.
 * ARGV: value, TTL ms, expiry ms, hash, index TTL ms, mode.
 */
const PUT_SCRIPT = `${COUNTER_LUA}
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local existed = redis.call('EXISTS', KEYS[1])
if ARGV[6] == 'touch' and existed == 0 then return 0 end
if ARGV[6] == 'restore' and existed == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local before = latest(KEYS[3])
local previous = redis.call('ZSCORE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
move(KEYS[4], previous, ARGV[3])
move(KEYS[5], before, latest(KEYS[3]))
return existed + 1
`;

/**
 * Revocation of one user's sessions (ARGV[3..]): tombstone, delete, unindex, uncount; then the
 * user moves to the minute of their latest remaining expiry (or out of the count).
 * KEYS: user index, sessions:expiring, users:expiring. ARGV: prefix, tombstone TTL, hashes…
 */
const REMOVE_SCRIPT = `${COUNTER_LUA}
local prefix, ttl = ARGV[1], ARGV[2]
local before = latest(KEYS[1])
for i = 3, #ARGV do
  local hash = ARGV[i]
  redis.call('SET', prefix .. 'gone:' .. hash, '1', 'EX', ttl)
  redis.call('UNLINK', prefix .. 'sess:' .. hash)
  local score = redis.call('ZSCORE', KEYS[1], hash)
  if score then
    redis.call('ZREM', KEYS[1], hash)
    move(KEYS[2], score, false)
  end
end
move(KEYS[3], before, latest(KEYS[1]))
return 1
`;

/** Sums of both counters from the current minute on. KEYS: sessions:expiring, users:expiring. ARGV: now ms. */
const ACTIVE_SCRIPT = `
local from = math.floor(tonumber(ARGV[1]) / ${EXPIRY_COUNT_MS})
local function sum(key)
  local total, all = 0, redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    if tonumber(all[i]) >= from then total = total + tonumber(all[i + 1]) end
  end
  return total
end
return { sum(KEYS[1]), sum(KEYS[2]) }
`;

/** Drops the counters' past minutes; returns how many sessions they held. KEYS/ARGV as above. */
const TRIM_SCRIPT = `
local from = math.floor(tonumber(ARGV[1]) / ${EXPIRY_COUNT_MS})
local dropped = 0
for k = 1, #KEYS do
  local all = redis.call('HGETALL', KEYS[k])
  for i = 1, #all, 2 do
    if tonumber(all[i]) < from then
      if k == 1 then dropped = dropped + tonumber(all[i + 1]) end
      redis.call('HDEL', KEYS[k], all[i])
    end
  end
end
return dropped
`;

/** Covers in-flight requests and restores racing a revocation, and repeated lookups of dead ids. */
const TOMBSTONE_TTL_SECONDS = 3600;

/** Commands take at most this many keys at once, so no single command blocks Redis for long. */
const BATCH_SIZE = 1000;

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
    this.sessionCountsKey = `${prefix}sessions:expiring`;
    this.userCountsKey = `${prefix}users:expiring`;
  }

  /** The hot path: one GET. */
  read(hash: string): Promise<string | null> {
    return this.client.get(this.sessionKey(hash));
  }

  private script(source: string, keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.client, source, keys, args);
  }

  sessionKey(hash: string): string {
    return this.sessionPrefix + hash;
  }

  readonly sessionCountsKey: string;
  readonly userCountsKey: string;

  tombstoneKey(hash: string): string {
    return `${this.prefix}gone:${hash}`;
  }

  userIndexKey(userId: string): string {
    return `${this.prefix}user:${userId}:sessions`;
  }

  async put(hash: string, value: string, mode: PutMode, options: PutOptions): Promise<PutResult> {
    const ttlMs = options.expiresAtMs - options.nowMs;
    if (ttlMs <= 0) return 'blocked';
    const keys = [this.sessionKey(hash), this.tombstoneKey(hash), this.userIndexKey(options.userId), this.sessionCountsKey, this.userCountsKey];
    const args = [value, String(ttlMs), String(options.expiresAtMs), hash, String(options.indexTtlMs), mode];
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
   * a cluster), then moves the user to the minute of their latest remaining expiry.
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
        await this.script(REMOVE_SCRIPT, [this.userIndexKey(userId), this.sessionCountsKey, this.userCountsKey], [this.prefix, String(TOMBSTONE_TTL_SECONDS), ...batch]);
      }
    }
  }

  /**
   * Sessions and users whose (latest) expiry is in this minute or later: exact to the minute,
   * at a cost bounded by the minutes in a session lifetime, however many sessions there are.
   */
  async activeCounts(nowMs: number): Promise<{ activeSessions: number; activeUsers: number }> {
    const [activeSessions, activeUsers] = (await this.script(ACTIVE_SCRIPT, [this.sessionCountsKey, this.userCountsKey], [String(nowMs)])) as [number, number];
    return { activeSessions, activeUsers };
  }

  /** Drops the counts of minutes that have passed (sessions that expired by TTL); returns how many sessions. */
  async trimExpired(nowMs: number): Promise<number> {
    return (await this.script(TRIM_SCRIPT, [this.sessionCountsKey, this.userCountsKey], [String(nowMs)])) as number;
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
