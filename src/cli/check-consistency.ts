// npm run check:consistency — do Redis and PostgreSQL agree about every live session?
// Uses the app's settings (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, …). Exit 0 when they do.
import { loadConfig } from '../config.ts';
import { createDb } from '../db.ts';
import { loadEnvFile } from '../env-file.ts';
import { createLogger } from '../logger.ts';
import { connectRedis, createRedisClient } from '../redis.ts';
import { checkConsistency } from '../sessions/consistency.ts';
import { SessionCache } from '../sessions/session-cache.ts';

loadEnvFile();
const config = loadConfig();
const redis = createRedisClient(config, createLogger('warn'));
await connectRedis(redis, config.redis, 10_000);
const db = createDb(config.databaseUrl);
try {
  const report = await checkConsistency(redis, db, new SessionCache(redis, config.redisKeyPrefix));
  console.log(`live rows ${report.liveRows}, live indexed sessions ${report.indexedSessions}, users ${report.users}`);
  for (const problem of report.problems) console.log(`  ✗ ${problem}`);
  console.log(report.problems.length === 0 ? 'consistent' : `INCONSISTENT (${report.problems.length} problem(s))`);
  process.exitCode = report.problems.length === 0 ? 0 : 1;
} finally {
  await redis.close();
  await db.$disconnect();
}
