// The real product, built with createApp exactly as src/server.ts builds it (settings from the
// environment, maintenance timers running, access log at its level), minus the startup checks.
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/db.ts';
import { createLogger } from '../../src/logger.ts';
import { connectRedis, createRedisClient } from '../../src/redis.ts';
import { serve } from './serve.ts';

const REDIS_CONNECT_TIMEOUT_MS = 10_000;

const config = loadConfig(process.env);
const logger = createLogger(config.logLevel);
const redis = createRedisClient(config, logger);
await connectRedis(redis, config.redis, REDIS_CONNECT_TIMEOUT_MS);
const db = createDb(config.databaseUrl);
const built = createApp({ config, redis, db, logger });
built.sessions.maintenance.start();
serve(built.app, async () => {
  await built.close();
  await redis.close();
  await db.$disconnect();
});
