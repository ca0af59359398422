// An express-rate-limit store that counts in Redis (shared by every instance) and falls back
// to a per-process MemoryStore while Redis is away: limits stay on during an outage, neither
// blocking everyone (fail closed) nor letting everyone through (fail open).
import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { RedisFallback } from '../redis-fallback.ts';

export class FallbackStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly redisStore: RedisStore;
  private readonly memoryStore = new MemoryStore();

  constructor(
    private readonly redis: RedisFallback,
    prefix: string,
  ) {
    this.prefix = prefix;
    // Routed by key, so its scripts run on the node that holds the key on a cluster too.
    this.redisStore = new RedisStore({ prefix, sendCommandCluster: (details) => redis.client.deployment.sendRouted(details) as Promise<never> });
  }

  /**
   * rate-limit-redis loads its scripts once, at init, and keeps a failed load for good: so load
   * them whenever the connection is (again) ready — at start only if Redis answers then.
   */
  init(options: Options): void {
    this.memoryStore.init(options);
    const load = () => void this.redisStore.init(options).catch(() => undefined); // a failed load falls back, then reloads on NOSCRIPT
    if (this.redis.client.isReady) load();
    this.redis.client.on('ready', load);
  }

  private run<T>(op: (store: Store) => T | Promise<T>): Promise<T> {
    return this.redis.run('rate limiter', async () => op(this.redisStore), async () => op(this.memoryStore));
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
