// The node-redis client as the product configures it (no connection needed).
import { singleNode } from '../src/redis-settings.ts';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { RedisStalledError } from '../src/dependency-errors.ts';
import { createRedisClient } from '../src/redis.ts';
import { answerWithin } from '../src/redis-fallback.ts';

const client = () => createRedisClient({ redis: singleNode('redis://127.0.0.1:1', undefined) }, createLogger('silent'));

describe('redis client', () => {
  it('has no per-command timer (it cost an AbortSignal per command and never caught a hung Redis)', () => {
    expect(client().options?.commandOptions?.timeout).toBe(0);
    expect(client().options?.disableOfflineQueue).toBe(true);
  });

  it('answerWithin passes an answer through, and gives up with RedisStalledError at the deadline', async () => {
    const c = client();
    await expect(answerWithin(c, Promise.resolve('ok'), 50)).resolves.toBe('ok');
    await expect(answerWithin(c, Promise.reject(new Error('boom')), 50)).rejects.toThrow('boom');
    await expect(answerWithin(c, new Promise(() => undefined), 50)).rejects.toBeInstanceOf(RedisStalledError);
  });
});
