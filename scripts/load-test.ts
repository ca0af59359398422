// npm run load:test — a bounded load test on loopback: LOAD_CONNECTIONS clients (default 200)
// each cycling login → me ×5 → revoke-others → logout for LOAD_SECONDS (default 30) against a
// real server process with its own database and Redis prefix. Afterwards Redis and PostgreSQL
// must agree exactly (the consistency check) and no response may be a 5xx. Exit 0 only then.
import { singleNode } from '../src/redis-settings.ts';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/migrations.ts';
import { connectRedis, createRedisClient } from '../src/redis.ts';
import { fiveHundredsIn, loadEmails, ME_PER_CYCLE, registerUsers, settledConsistency, startLoginCycles } from './lib/login-load.ts';
import { runDatabaseUrl, runRedisUrl } from './lib/run-services.ts';
import { startServerProcess } from './lib/server-process.ts';

const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 200);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);

const run = randomBytes(3).toString('hex');
const databaseUrl = runDatabaseUrl(`rsa_load_${run}`);
const redisUrl = runRedisUrl();
const prefix = `rsa-load-${run}:`;

await ensureDatabase(databaseUrl);
await applyMigrations(databaseUrl);
const server = await startServerProcess({
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  SESSION_SECRET: `load-test-secret-${run}-0123456789abcdef`,
  // Every client comes from 127.0.0.1: the per-IP limit, and the per-IP proof-of-work threshold
  // (which counts sign-ins in flight), would stop the test, not the product.
  RATE_LIMIT_MAX: '1000000',
  CHALLENGE_AFTER_IP_FAILURES: '0',
  LOG_LEVEL: 'warn',
});
const config = loadConfig({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' });
const redis = createRedisClient(config, createLogger('silent'));
await connectRedis(redis, singleNode(redisUrl), 5_000);
const db = createDb(databaseUrl);

let exitCode = 1;
try {
  const emails = loadEmails(CONNECTIONS);
  console.log(`registering ${CONNECTIONS} users …`);
  await registerUsers(server.url, emails);

  console.log(`${CONNECTIONS} clients for ${SECONDS} s: login → me ×${ME_PER_CYCLE} → revoke-others → logout`);
  const { statuses, done } = startLoginCycles({ url: server.url, connections: CONNECTIONS, seconds: SECONDS, emails });
  const result = await done;

  const report = await settledConsistency(redis, db, prefix);
  const fiveHundreds = fiveHundredsIn(statuses);
  const byStatus = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
  console.log(`requests ${result.requests.total} (${Math.round(result.requests.average)} req/s), errors ${result.errors}, timeouts ${result.timeouts}`);
  console.log(`latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; by status ${JSON.stringify(byStatus)}`);
  console.log(`consistency: ${report.liveRows} live rows, ${report.indexedSessions} indexed sessions, ${report.problems.length} problem(s)`);
  for (const problem of report.problems) console.log(`  ✗ ${problem}`);
  const ok = fiveHundreds === 0 && result.errors === 0 && report.problems.length === 0 && (statuses.get(200) ?? 0) > 0;
  console.log(ok ? 'load test passed' : 'load test FAILED');
  exitCode = ok ? 0 : 1;
} finally {
  const code = await server.stop();
  if (code !== 0) {
    console.log(`server exited with ${code}`);
    exitCode = 1;
  }
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await redis.unlink(keys);
  await redis.close();
  await db.$disconnect();
  await dropDatabase(databaseUrl);
}
process.exit(exitCode);
