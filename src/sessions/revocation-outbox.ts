// Revocations that reached PostgreSQL but not Redis (the revoking instance could not reach it,
// or died before it could) are applied by every instance: a poll every 2 s, so a revocation is
// in Redis within 5 s of its answer wherever it was made (SPEC §4b). Applying is idempotent, so
// no instance needs to lead.
//
// An instance whose connection to Redis breaks does not trust Redis's session entries again
// until it has applied every pending entry: until then it reads sessions from PostgreSQL. That
// covers revocations it made itself while away, without making anyone else re-read anything.
import { isDependencyError } from '../dependency-errors.ts';
import type { Logger } from '../logger.ts';
import type { SessionHooks } from './mirrored-store.ts';
import type { RedisClient } from '../redis.ts';
import type { RevocationRecords } from './revocation-records.ts';
import type { SessionRevoker } from './session-revoker.ts';

export const OUTBOX_POLL_MS = 2_000;
const BATCH = 500;

export class RevocationOutbox {
  private trusted = false;
  /** Moves on every time the connection breaks: a catch-up that began before then does not count. */
  private connection = 0;
  private draining: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly client: RedisClient,
    private readonly revocations: RevocationRecords,
    private readonly revoker: SessionRevoker,
    private readonly logger: Logger,
    private readonly hooks: SessionHooks = {},
  ) {
    client.on('error', () => this.distrust());
    client.on('end', () => this.distrust());
    client.on('ready', () => void this.catchUp());
    if (client.isReady) void this.catchUp();
  }

  /** Whether Redis's session entries may be believed: connected, and caught up with the outbox. */
  get redisTrusted(): boolean {
    return this.trusted && this.client.isReady;
  }

  /** Resolves once Redis is trusted (the tests wait for it). */
  whenTrusted(): Promise<void> {
    if (this.redisTrusted) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  start(): void {
    this.timer ??= setInterval(() => void this.catchUp(), OUTBOX_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Applies every pending entry; then, if the connection held meanwhile, trusts Redis. */
  async catchUp(): Promise<boolean> {
    if (!this.client.isReady) return false;
    const connection = this.connection;
    if (!this.trusted) await this.hooks.beforeOutboxCatchUp?.();
    const done = await this.drain();
    if (done && connection === this.connection && this.client.isReady && !this.trusted) {
      this.trusted = true;
      this.logger.info('Redis session entries trusted again: pending revocations applied');
      for (const resolve of this.waiters.splice(0)) resolve();
    }
    return done;
  }

  /** One drain at a time per instance; concurrent callers share it. */
  private drain(): Promise<boolean> {
    this.draining ??= this.drainAll().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async drainAll(): Promise<boolean> {
    try {
      for (;;) {
        const batch = await this.revocations.pending(BATCH);
        if (batch.length === 0) return true;
        if (!(await this.revoker.apply(batch))) return false;
        if (batch.length < BATCH) return true;
      }
    } catch (err) {
      // PostgreSQL away (or a bug, logged louder): Redis stays untrusted here, and the poll retries.
      if (isDependencyError(err)) this.logger.warn({ err: (err as Error).message }, 'could not read pending revocations; will retry');
      else this.logger.error({ err: (err as Error).message }, 'applying pending revocations failed; will retry');
      return false;
    }
  }

  private distrust(): void {
    this.connection++;
    this.trusted = false;
  }
}
