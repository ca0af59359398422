// An express-rate-limit store that counts in Redis (shared by every instance) and falls back
// to a per-process MemoryStore while Redis is away: limits stay on during an outage, neither
// blocking everyone (fail closed) nor letting everyone through (fail open).
import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import { OutageLog, withFallback } from './outage-log.ts';

export class FallbackStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly redisStore: RedisStore;
  private readonly memoryStore = new MemoryStore();
  private readonly outage: OutageLog;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
    logger: Logger,
  ) {
    this.prefix = prefix;
    this.redisStore = new RedisStore({ prefix, sendCommand: (...args: string[]) => client.sendCommand(args) as Promise<never> });
    this.outage = new OutageLog(logger, `rate limiter ${prefix}`);
  }

  init(options: Options): void {
    this.redisStore.init(options);
    this.memoryStore.init(options);
  }

  private run<T>(op: (store: Store) => T | Promise<T>): Promise<T> {
    return withFallback<Store, T>(this.client, this.redisStore, this.memoryStore, this.outage, op);
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.run((store) => store.get?.(key));
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.run((store) => store.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.run((store) => store.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.run((store) => store.resetKey(key));
  }

  shutdown(): void {
    this.memoryStore.shutdown();
  }
}
