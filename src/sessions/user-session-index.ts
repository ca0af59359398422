// The per-user index (`user:{bN}:<userId>:sessions`, session-keys.ts): a sorted set of the
// user's session hashes, scored by expiry. The put and remove scripts (session-entries.ts)
// maintain it; this file reads it, to list a user's sessions and to find the ones to revoke
// when every session of a user ends. It is never the truth: PostgreSQL is.
import type { RedisClient } from '../redis.ts';
import { bucketOfUser, type SessionKeys } from './session-keys.ts';

export class UserSessionIndex {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: SessionKeys,
  ) {}

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

  /** Every hash indexed for the user, live or not. */
  async indexedHashes(userId: string): Promise<string[]> {
    return this.client.zRange(this.keys.userIndex(userId), 0, -1);
  }
}
