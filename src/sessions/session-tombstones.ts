// Tombstones (`gone:` keys, session-keys.ts): a session revoked, or known not to exist. The put
// script refuses a tombstoned session, so a write in flight never brings a revoked one back,
// and a restore asks here before it reads PostgreSQL. Revocation writes them in its own script
// (session-entries.ts remove()); this file reads them and marks ids that have no row.
import type { RedisClient } from '../redis.ts';
import type { SessionKeys, SessionLocator } from './session-keys.ts';

/** Covers in-flight requests and restores racing a revocation, and repeated lookups of dead ids. */
export const TOMBSTONE_TTL_SECONDS = 3600;

export class SessionTombstones {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: SessionKeys,
  ) {}

  async isGone(session: SessionLocator): Promise<boolean> {
    return (await this.client.exists(this.keys.tombstone(session))) === 1;
  }

  async markGone(session: SessionLocator): Promise<void> {
    await this.client.set(this.keys.tombstone(session), '1', { expiration: { type: 'EX', value: TOMBSTONE_TTL_SECONDS } });
  }
}
