// Whether this instance may believe Redis's session entries. It may once it has applied every
// pending revocation with the Redis server it is talking to (revocation-outbox.ts), and stops
// the moment anything could make Redis miss one: the connection breaks, a revocation could not
// be written (Redis refusing writes: OOM, READONLY, BUSY), or the server changed. Until then
// sessions are read from PostgreSQL.
import type { Logger } from '../logger.ts';

export class RedisTrust {
  private trusted = false;
  /** Moves on every time trust is withdrawn: work that began before then does not earn it back. */
  private epoch = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly logger: Logger) {}

  get isTrusted(): boolean {
    return this.trusted;
  }

  /** Taken before catching up; `trustSince` succeeds only if nothing withdrew trust meanwhile. */
  get current(): number {
    return this.epoch;
  }

  withdraw(reason: string): void {
    this.epoch++;
    if (!this.trusted) return;
    this.trusted = false;
    this.logger.warn({ reason }, 'Redis session entries not trusted until pending revocations are applied');
  }

  /** Trusts Redis if trust was not withdrawn since `epoch`; returns whether it is trusted. */
  trustSince(epoch: number): boolean {
    if (epoch !== this.epoch) return false;
    if (!this.trusted) {
      this.trusted = true;
      this.logger.info('Redis session entries trusted again: pending revocations applied');
      for (const resolve of this.waiters.splice(0)) resolve();
    }
    return true;
  }

  whenTrusted(): Promise<void> {
    if (this.trusted) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
