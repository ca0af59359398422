// Builds the Express app from its dependencies. The middleware order, in one place:
//   access log (request id) → request timer
//   → /api: helmet's headers for JSON → cross-site refusal → express-session → JSON-only bodies
//     → auth and session routes → JSON 404
//   → helmet's headers for pages → health checks → static files → cross-site refusal
//   → express-session → cookies (the CSRF cookie) → page locals → /admin, pages, /metrics
//   → 404 → the one error handler (JSON, or an HTML page for browsers).
import express, { type Express } from 'express';
import { createAdminRouter } from './admin/admin-routes.ts';
import { endEventStreams } from './admin/event-stream.ts';
import { ActivityCounters } from './analytics/activity-counters.ts';
import { Activity } from './analytics/activity.ts';
import { LiveEvents } from './analytics/live-events.ts';
import { createAuthRouter } from './auth/auth-routes.ts';
import { LoginProtection } from './auth/login-protection.ts';
import { Passwords, type PasswordHasher } from './auth/passwords.ts';
import { RecentPassword } from './auth/recent-password.ts';
import type { Config } from './config.ts';
import type { Db } from './db.ts';
import { createHealthRouter } from './health/health-routes.ts';
import { refuseCrossSite } from './http/cross-site.ts';
import { createErrorHandler, notFound } from './http/error-handler.ts';
import { createRequestLogger } from './http/request-logger.ts';
import { inSequence } from './http/in-sequence.ts';
import { createJsonBody } from './http/json-body.ts';
import { API_SECURITY_HEADERS, createSecurityHeaders, PAGE_SECURITY_HEADERS } from './http/security-headers.ts';
import { rememberTrustAnswers } from './http/trust-proxy.ts';
import type { Logger } from './logger.ts';
import { Metrics } from './metrics/metrics.ts';
import { createMetricsHandlers, createRequestObserver } from './metrics/metrics-routes.ts';
import { createRateLimiting, type RateLimiting } from './rate-limit/index.ts';
import type { RedisClient } from './redis.ts';
import { RedisFallback } from './redis-fallback.ts';
import { createSessions, type Sessions } from './sessions/index.ts';
import type { SessionHooks } from './sessions/session-hooks.ts';
import { createSessionMiddleware } from './sessions/session-middleware.ts';
import { createSessionRouter } from './sessions/session-routes.ts';
import { configureViews, createCsrfProtection, createPageLocals, createPageRouter, createStaticRouter, renderErrorPage } from './web/index.ts';

export interface AppDeps {
  config: Config;
  redis: RedisClient;
  db: Db;
  logger: Logger;
  /** Injected so tests can move time without sleeping. */
  now?: () => number;
  /** Injected so tests can count password verifications (argon2id by default). */
  hasher?: PasswordHasher;
  /** Lets a test hold a session operation between two of its steps. */
  sessionHooks?: SessionHooks;
  isAccepting?: () => boolean;
}

export interface App {
  app: Express;
  sessions: Sessions;
  activity: Activity;
  limits: RateLimiting;
  /**
   * Ends the open admin event streams (GET /admin/events) with a last event telling the browser
   * to reconnect, and answers any opened later the same way: shutdown calls it first, since a
   * stream never finishes by itself and would hold the drain for its whole grace period.
   */
  endStreams: () => void;
  /** Stops background work and closes connections the app opened itself. */
  close: () => Promise<void>;
}

const JSON_BODY_LIMIT = '100kb';
const PROBE_TIMEOUT_MS = 1_000;

export function createApp(deps: AppDeps): App {
  const { config, redis, db, logger } = deps;
  const now = deps.now ?? Date.now;
  const metrics = new Metrics({
    redisUp: () => redis.isReady,
    postgresUp: () =>
      Promise.race([db.$queryRaw`SELECT 1`.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, PROBE_TIMEOUT_MS, false))]).catch(() => false),
  });
  const redisOrFallback = new RedisFallback(redis, logger);
  const activity = new Activity(new ActivityCounters(redisOrFallback, config.redisKeyPrefix, now), new LiveEvents(redis, config.redisKeyPrefix, logger), metrics, now);
  const sessions = createSessions(config, redisOrFallback, db, activity, logger, now, deps.sessionHooks);
  const limits = createRateLimiting(config, redisOrFallback, activity, now, logger);
  const passwords = new Passwords(deps.hasher);
  const loginProtection = new LoginProtection(limits, passwords, activity, db);
  const csrf = createCsrfProtection({ secrets: config.sessionSecrets, isProduction: config.isProduction });
  const recentPassword = new RecentPassword(config.reauthMaxAgeSeconds * 1000, now);
  const routeDeps = { db, redis: redisOrFallback, sessions, limits, loginProtection, passwords, activity, recentPassword, isProduction: config.isProduction, now, verifyCsrf: csrf.verifyCsrf };

  const app = express();
  app.set('trust proxy', config.trustProxy);
  rememberTrustAnswers(app, config.trustProxy);
  app.set('query parser', 'simple');
  // No ETags on API answers and pages: they are no-store (see security-headers.ts), so an
  // ETag would only cost a hash of every body. Static files keep theirs (serve-static's own).
  app.set('etag', false);
  // Not set at all, rather than set by Express and removed again by helmet on every response.
  app.disable('x-powered-by');
  configureViews(app, { cache: config.nodeEnv !== 'development' });
  // The access log also records each answered request's duration in the metrics: one listener
  // per request for both.
  app.use(createRequestLogger(logger, createRequestObserver(metrics)));
  const sessionMiddleware = createSessionMiddleware(sessions.store, { isProduction: config.isProduction, secrets: config.sessionSecrets, ttlSeconds: config.sessionTtlSeconds });

  // The JSON API comes first, so its requests (the hot path) skip the health, static and page
  // middleware; an unknown /api path ends here with a JSON 404.
  // Mounted on the app itself, not under an /api router: a router a request passes through
  // costs it a dispatch of its own (closures, URL trimming and re-parsing). The middlewares
  // every API request runs, in this order, are one router layer (in-sequence.ts).
  app.use('/api', inSequence(createSecurityHeaders(API_SECURITY_HEADERS), refuseCrossSite, sessionMiddleware, createJsonBody(JSON_BODY_LIMIT)));
  app.use('/api/auth', createAuthRouter(routeDeps));
  app.use('/api/sessions', createSessionRouter(routeDeps));
  app.use('/api', notFound);

  app.use(createSecurityHeaders(PAGE_SECURITY_HEADERS));
  app.use(createHealthRouter({ redis, db, redisTrusted: () => sessions.outbox.redisTrusted, isAccepting: deps.isAccepting ?? (() => true) }));
  app.use(createStaticRouter());
  app.use(refuseCrossSite);
  app.use(sessionMiddleware);
  app.use(csrf.readCookies);
  app.use(createPageLocals(csrf));
  app.use('/admin', createAdminRouter(routeDeps));
  app.use(createPageRouter(routeDeps));
  app.get('/metrics', ...createMetricsHandlers(metrics, db, config.metricsToken));

  app.use(notFound);
  app.use(createErrorHandler(logger, { renderPage: renderErrorPage }));
  return {
    app,
    sessions,
    activity,
    limits,
    endStreams: () => endEventStreams(activity.live),
    close: async () => {
      await sessions.maintenance.stop();
      await activity.live.close();
    },
  };
}
