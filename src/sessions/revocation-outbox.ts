// Revocations that reached PostgreSQL but not Redis (the revoking instance could not reach it,
// Redis refused the write, or the instance died first) are applied by every instance: a poll
// every 2 s, so a revocation is in Redis within 5 s of its answer wherever it was made (SPEC
// §4b). Applying is idempotent, so no instance needs to lead.
//
// Redis is trusted for sessions (redis-trust.ts) only after a catch-up with the server it is
// talking to, so an instance reads sessions from PostgreSQL while it may be behind:
//   - after its connection broke, or one of its revocation writes failed: every pending entry
//     is applied first;
//   - when the server is not the one that applied the kept entries (`<prefix>revocations:server`
//     holds that server's run_id; a restart from an older snapshot or a promoted replica holds
//     another, or none): every kept entry is pending again and applied first, so a session
//     revoked after the snapshot was taken is not brought back by it.
import { isDependencyError } from '../dependency-errors.ts';
import type { Logger } from '../logger.ts';
import type { SessionHooks } from './mirrored-store.ts';
import type { RedisClient } from '../redis.ts';
import type { RedisTrust } from './redis-trust.ts';
import type { RevocationRecords } from './revocation-records.ts';
import type { SessionRevoker } from './session-revoker.ts';

export const OUTBOX_POLL_MS = 2_000;
/** A catch-up that has not finished by then (PostgreSQL or Redis hanging) counts as failed. */
export const CATCH_UP_DEADLINE_MS = 5_000;
const BATCH = 500;

export interface OutboxDeps {
  client: RedisClient;
  revocations: RevocationRecords;
  revoker: SessionRevoker;
  trust: RedisTrust;
  /** The Redis key naming the server that has every kept revocation. */
  serverKey: string;
  logger: Logger;
  hooks?: SessionHooks | undefined;
}

function runIdOf(info: string): string {
  const match = /^run_id:(\w+)/m.exec(info);
  if (!match) throw new Error('INFO server has no run_id');
  return match[1]!;
}

function withinDeadline(work: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export class RevocationOutbox {
  /** The drain under way, and the trust epoch it began in: a later epoch does not share it. */
  private draining: { epoch: number; run: Promise<boolean> } | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: OutboxDeps) {
    const { client, trust } = deps;
    client.on('error', () => trust.withdraw('the Redis connection broke'));
    client.on('end', () => trust.withdraw('the Redis connection closed'));
    client.on('ready', () => void this.catchUp());
    if (client.isReady) void this.catchUp();
  }

  /** Whether Redis's session entries may be believed: connected, and caught up with the outbox. */
  get redisTrusted(): boolean {
    return this.deps.trust.isTrusted && this.deps.client.isReady;
  }

  /** Resolves once Redis is trusted (the tests wait for it). */
  whenTrusted(): Promise<void> {
    return this.deps.trust.whenTrusted();
  }

  start(): void {
    this.timer ??= setInterval(() => void this.catchUp(), OUTBOX_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Applies every pending entry; then, if nothing withdrew trust meanwhile, trusts Redis. */
  async catchUp(): Promise<boolean> {
    const { client, trust, hooks } = this.deps;
    // A second round when trust was withdrawn during the first (it found a new server, say).
    for (let round = 0; round < 2; round++) {
      if (!client.isReady) return false;
      const epoch = trust.current;
      if (!trust.isTrusted) await hooks?.beforeOutboxCatchUp?.();
      if (!(await this.drain(epoch))) return false;
      if (client.isReady && trust.trustSince(epoch)) return true;
    }
    return false;
  }

  private drain(epoch: number): Promise<boolean> {
    if (this.draining?.epoch !== epoch) {
      const run = withinDeadline(this.drainAll(), CATCH_UP_DEADLINE_MS).finally(() => {
        if (this.draining?.run === run) this.draining = null;
      });
      this.draining = { epoch, run };
    }
    return this.draining.run;
  }

  private async drainAll(): Promise<boolean> {
    const { client, revocations, revoker, trust, serverKey, logger } = this.deps;
    try {
      const [info, known] = await Promise.all([client.info('server'), client.get(serverKey)]);
      const server = runIdOf(info);
      if (known !== server) {
        trust.withdraw('the Redis server is not the one that applied the kept revocations');
        const replayed = await revocations.replayAll();
        logger.info({ replayed }, 'applying every kept revocation to this Redis server');
      }
      for (;;) {
        const batch = await revocations.pending(BATCH);
        await this.deps.hooks?.afterOutboxBatchRead?.();
        if (batch.length > 0 && !(await revoker.apply(batch))) return false;
        if (batch.length < BATCH) break;
      }
      // If the server changed since INFO, the new one holds another run_id: replayed again.
      if (known !== server) await client.set(serverKey, server);
      return true;
    } catch (err) {
      // Redis or PostgreSQL away (or a bug, logged louder): Redis stays untrusted, the poll retries.
      if (isDependencyError(err)) logger.warn({ err: (err as Error).message }, 'could not apply pending revocations; will retry');
      else logger.error({ err: (err as Error).message }, 'applying pending revocations failed; will retry');
      return false;
    }
  }
}
