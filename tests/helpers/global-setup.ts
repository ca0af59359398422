// One PostgreSQL database and one Redis key prefix per test run; both removed at the end,
// and nothing else is touched.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createClient } from 'redis';
import { applyMigrations, dropDatabase, ensureDatabase } from '../../src/migrations.ts';

const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisKeyPrefix: string;
  }
}

export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/rsa_test_${runId}`;
  const databaseUrl = url.toString();
  const redisKeyPrefix = `rsa-test-${runId}:`;

  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', REDIS_URL);
  project.provide('redisKeyPrefix', redisKeyPrefix);

  return async function teardown() {
    await dropDatabase(databaseUrl);
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${redisKeyPrefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.unlink(keys);
    }
    await redis.close();
  };
}
