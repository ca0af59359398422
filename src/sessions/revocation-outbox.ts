// Revocations that reached PostgreSQL but not Redis (the revoking instance could not reach it,
// Redis refused the write, or the instance died first) are applied by every instance: a poll
// every 2 s, so a revocation is in Redis within 5 s of its answer wherever it was made (README:
// How a session flows). Applying is idempotent, so no instance needs to lead.
//
// Redis is trusted for sessions (redis-trust.ts) only after a catch-up with the server it is
// talking to, so an instance reads sessions from PostgreSQL while it may be behind:
//   - after its connection broke, or one of its revocation writes failed: every pending entry
//     is applied first;
//   - when Redis may have lost revocations it had: each bucket counts its revocation writes
//     (the revocation script increments `revocations:seq` in the same atomic call) and holds a
//     generation (`revocations:generation`); PostgreSQL records, with each applied entry, the
//     number and generation Redis answered (revocation-records.ts). A bucket with a lower number
//     (an older snapshot, a restored backup, a replica promoted before it had the write) or
//     another generation (a primary written to after a failover moved the others on), or held
//     by another server than the one its generation was started on (a promoted replica, a
//     restart), starts a new generation: every kept entry is pending again and applied first,
//     and a write the old server acknowledged afterwards carries the old generation, so it stays
//     pending until it reaches the new one. Checked on every catch-up, so also every 2 s while
//     Redis is believed.
import { isDependencyError } from '../dependency-errors.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import type { RedisTrust } from './redis-trust.ts';
import type { RevocationRecords } from './revocation-records.ts';
import type { SessionCache } from './session-cache.ts';
import type { SessionHooks } from './session-hooks.ts';
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
  cache: SessionCache;
  logger: Logger;
  hooks?: SessionHooks | undefined;
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
    const { cache, revocations, revoker, trust, logger } = this.deps;
    try {
      // PostgreSQL first: a count it records was written to Redis before, so Redis read after it
      // can only show less if Redis lost writes (read the other way round, a revocation that
      // lands in between would look like a loss).
      const records = await revocations.buckets();
      const held = await cache.bucketStates();
      const record = new Map(records.map((row) => [row.bucket, row]));
      const lost = held.filter((state) => !state.sameServer || state.generation !== record.get(state.bucket)?.generation || state.seq < record.get(state.bucket)!.seq);
      if (lost.length > 0) {
        trust.withdraw('Redis does not hold every kept revocation (an older snapshot, a failover, a restored backup)');
        const generation = await revocations.startGeneration(records[0]!.generation);
        await cache.setGeneration(generation);
        logger.info({ buckets: lost.length }, 'applying every kept revocation to Redis again');
      }
      for (;;) {
        const batch = await revocations.pending(BATCH);
        await this.deps.hooks?.afterOutboxBatchRead?.();
        if (batch.length > 0 && !(await revoker.apply(batch))) return false;
        if (batch.length < BATCH) break;
      }
      return true;
    } catch (err) {
      // Redis or PostgreSQL away (or a bug, logged louder): Redis stays untrusted, the poll retries.
      if (isDependencyError(err)) logger.warn({ err: (err as Error).message }, 'could not apply pending revocations; will retry');
      else logger.error({ err: (err as Error).message }, 'applying pending revocations failed; will retry');
      return false;
    }
  }
}
