// One PostgreSQL database and one Redis key prefix per test run; both removed at the end,
// and nothing else is touched. The servers: TEST_DATABASE_URL / TEST_REDIS_URL when set, else
// the defaults when they answer, else the same embedded PostgreSQL and redis-server `npm start`
// would start (src/local-services, data under .data/test), stopped when the run ends.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createClient } from 'redis';
import { startLocalPostgres } from '../../src/local-services/local-postgres.ts';
import { startLocalRedis } from '../../src/local-services/local-redis.ts';
import { answers } from '../../src/local-services/network.ts';
import type { ChildService } from '../../src/local-services/child-service.ts';
import { applyMigrations, dropDatabase, ensureDatabase } from '../../src/migrations.ts';
import { LOCAL_POSTGRES_URL, LOCAL_REDIS_URL, withDatabase } from '../../scripts/lib/run-services.ts';

const LOCAL_DATA_DIR = '.data/test';

/** The configured URL, the default when it answers, or a server started for this run. */
async function serverUrl(configured: string | undefined, fallback: string, startLocal: () => Promise<ChildService>, started: ChildService[]): Promise<string> {
  if (configured) return configured;
  const { hostname, port } = new URL(fallback);
  if (await answers(hostname, Number(port))) return fallback;
  const service = await startLocal();
  started.push(service);
  console.log(`tests: nothing answers at ${hostname}:${port}: started ${service.name} at ${service.url} (data in ${LOCAL_DATA_DIR})`);
  return service.url;
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisKeyPrefix: string;
  }
}

export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const started: ChildService[] = [];
  const baseDatabaseUrl = await serverUrl(process.env.TEST_DATABASE_URL, LOCAL_POSTGRES_URL, () => startLocalPostgres(LOCAL_DATA_DIR), started);
  const redisUrl = await serverUrl(process.env.TEST_REDIS_URL, LOCAL_REDIS_URL, () => startLocalRedis(LOCAL_DATA_DIR), started);
  const databaseUrl = withDatabase(baseDatabaseUrl, `rsa_test_${runId}`);
  const redisKeyPrefix = `rsa-test-${runId}:`;

  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  project.provide('redisKeyPrefix', redisKeyPrefix);

  return async function teardown() {
    try {
      await dropDatabase(databaseUrl);
      const redis = createClient({ url: redisUrl });
      await redis.connect();
      for await (const keys of redis.scanIterator({ MATCH: `${redisKeyPrefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await redis.unlink(keys);
      }
      await redis.close();
    } finally {
      await Promise.all(started.map((service) => service.stop()));
    }
  };
}
