// Builds the Express app from its dependencies. The middleware order, in one place:
//   helmet → health checks → (for /api) JSON-only body parsing → express-session → routes
//   → 404 → the one error handler.
import express, { type Express } from 'express';
import helmet from 'helmet';
import { HourlyCounters } from './analytics/hourly-counters.ts';
import { createAuthRouter } from './auth/auth-routes.ts';
import { LoginProtection } from './auth/login-protection.ts';
import type { Config } from './config.ts';
import type { Db } from './db.ts';
import { createHealthRouter } from './health/health-routes.ts';
import { createErrorHandler, notFound } from './http/error-handler.ts';
import { requireJsonBody } from './http/require-json.ts';
import type { Logger } from './logger.ts';
import { createRateLimiting, type RateLimiting } from './rate-limit/index.ts';
import type { RedisClient } from './redis.ts';
import { createSessions, type Sessions } from './sessions/index.ts';
import { createSessionMiddleware } from './sessions/session-middleware.ts';
import { createSessionRouter } from './sessions/session-routes.ts';

export interface AppDeps {
  config: Config;
  redis: RedisClient;
  db: Db;
  logger: Logger;
  /** Injected so tests can move time without sleeping. */
  now?: () => number;
  isAccepting?: () => boolean;
}

export interface App {
  app: Express;
  sessions: Sessions;
  counters: HourlyCounters;
  limits: RateLimiting;
}

const JSON_BODY_LIMIT = '100kb';

export function createApp(deps: AppDeps): App {
  const { config, redis, db, logger } = deps;
  const now = deps.now ?? Date.now;
  const sessions = createSessions(config, redis, db, logger, now);
  const counters = new HourlyCounters(redis, config.redisKeyPrefix, now, logger);
  const limits = createRateLimiting(config, redis, counters, now, logger);
  const loginProtection = new LoginProtection(limits, counters, db);
  const routeDeps = { db, sessions, limits, loginProtection, isProduction: config.isProduction, now };

  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(createHealthRouter({ redis, db, isAccepting: deps.isAccepting ?? (() => true) }));

  const api = express.Router();
  api.use(requireJsonBody);
  api.use(express.json({ limit: JSON_BODY_LIMIT, strict: true }));
  api.use(createSessionMiddleware(sessions.store, { isProduction: config.isProduction, secrets: config.sessionSecrets, ttlSeconds: config.sessionTtlSeconds }));
  api.use('/auth', createAuthRouter(routeDeps));
  api.use('/sessions', createSessionRouter(routeDeps));
  app.use('/api', api);

  app.use(notFound);
  app.use(createErrorHandler(logger));
  return { app, sessions, counters, limits };
}
