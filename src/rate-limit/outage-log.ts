import type { Logger } from '../logger.ts';
import { answerWithin, type RedisClient } from '../redis.ts';

/** Logs the start and the end of a Redis outage once each, however many calls notice it. */
export class OutageLog {
  private down = false;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  get isDown(): boolean {
    return this.down;
  }

  failed(err: unknown): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn({ err: (err as Error)?.message }, `${this.what}: Redis unavailable, using per-process memory until it returns`);
  }

  recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info(`${this.what}: Redis is back, using it again`);
  }
}

/**
 * Runs `op` on Redis when it is connected, else (or when it fails, or gives no answer within
 * the deadline: a hung Redis must not hang a login) on the in-memory fallback.
 */
export async function withFallback<B, T>(client: RedisClient, primary: B, fallback: B, outage: OutageLog, op: (backend: B) => T | Promise<T>): Promise<T> {
  if (client.isReady) {
    try {
      const result = await answerWithin(client, Promise.resolve(op(primary)));
      outage.recovered();
      return result;
    } catch (err) {
      outage.failed(err);
    }
  } else {
    outage.failed(new Error('not connected'));
  }
  return op(fallback);
}
