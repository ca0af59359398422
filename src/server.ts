// Starts and stops the service: settings, clients, listen, graceful shutdown.
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { maskUrl } from './config.ts';
import type { RedisSettings } from './redis-settings.ts';
import { createDb } from './db.ts';
import { loadConfigOrExit } from './startup-config.ts';
import { installClientErrorHandler } from './http/client-errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { createRedisClient, RedisCredentialsError, startRedis, type RedisClient } from './redis.ts';

/** How long the start waits to learn whether Redis is there and takes the credentials. */
const REDIS_START_TIMEOUT_MS = 10_000;
const SHUTDOWN_GRACE_MS = 10_000;
/** After the drain, how long anything still open may keep the process from ending. */
const EXIT_FALLBACK_MS = 1_000;
/** Closing Redis and PostgreSQL after the requests have drained. */
const CLOSE_DEADLINE_MS = 5_000;
/** How often, while draining, keep-alive connections that have gone idle are closed. */
const IDLE_SWEEP_MS = 100;

/** Prisma's message spans lines and opens with the call that failed; the cause is what is left. */
function oneLine(message: string): string {
  return message
    .replace(/^\s*Invalid `[^`]*` invocation:/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A Redis that cannot be reached does not stop the start (README: Settings): restarting instances during a
 * Redis outage must keep them in service. They serve from PostgreSQL, the client keeps trying
 * and is used once it connects. A Redis that refuses the credentials is a setting to fix: stop.
 */
async function startRedisOrExit(redis: RedisClient, settings: RedisSettings, logger: Logger): Promise<void> {
  try {
    const start = await startRedis(redis, settings, REDIS_START_TIMEOUT_MS);
    if (!start.connected) {
      logger.warn({ redis: settings.description, err: start.cause }, 'starting without Redis: signed-in requests are served from PostgreSQL until it answers');
    }
  } catch (err) {
    if (!(err instanceof RedisCredentialsError)) throw err;
    console.error(`startup: ${err.message}`);
    process.exit(1);
  }
}

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
if (config.usingDevSecret) logger.warn('SESSION_SECRET is not set: using the development-only secret');

// PostgreSQL first: it is the truth, and the start stops without it (migrations need it too).
const db = createDb(config.databaseUrl);
try {
  await db.$queryRaw`SELECT 1`;
} catch (err) {
  console.error(`startup: cannot use PostgreSQL at ${maskUrl(config.databaseUrl)}: ${oneLine((err as Error).message)}`);
  process.exit(1);
}

const redis = createRedisClient(config, logger);
await startRedisOrExit(redis, config.redis, logger);

let accepting = true;
const built = createApp({ config, redis, db, logger, isAccepting: () => accepting });
built.sessions.maintenance.start();

// No HOST: every interface (a container's port mapping needs that); HOST=127.0.0.1 for local runs.
const server = built.app.listen({ port: config.port, host: config.host }, (err?: Error) => {
  if (err) {
    console.error(`startup: cannot listen on ${config.host ?? '*'}:${config.port}: ${err.message}`);
    process.exit(1);
  }
  const { address, port } = server.address() as AddressInfo;
  logger.info({ address, port }, 'listening');
});
installClientErrorHandler(server, logger);

async function shutdown(signal: string): Promise<void> {
  if (!accepting) return;
  accepting = false;
  // An open admin event stream never finishes by itself: end them now, or the drain below
  // waits the whole grace period for them.
  built.endStreams();
  // close() stops accepting (before the line below, so the line means it) and ends idle
  // keep-alive connections once; a connection whose request finishes later would otherwise stay
  // open until the client's keep-alive timeout, hence the sweep.
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  const forced = setTimeout(() => {
    logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'in-flight requests still running: closing their connections');
    server.closeAllConnections();
  }, SHUTDOWN_GRACE_MS);
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  await drained;
  clearTimeout(forced);
  clearInterval(sweep);
  // Closing the stores has its own deadline: a PostgreSQL connection left inside a transaction
  // (seen after a pool timeout) can keep $disconnect() waiting for ever, and the process with it.
  const closed = (async () => {
    await built.close();
    await redis.close().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
  })();
  let closeTimer: NodeJS.Timeout | undefined;
  const closeDeadline = new Promise<'late'>((resolve) => (closeTimer = setTimeout(resolve, CLOSE_DEADLINE_MS, 'late')));
  if ((await Promise.race([closed.then(() => 'closed' as const), closeDeadline])) === 'late') {
    logger.warn({ deadlineMs: CLOSE_DEADLINE_MS }, 'Redis or PostgreSQL did not close in time: exiting without waiting');
    process.exitCode = 0;
    setTimeout(() => process.exit(0), EXIT_FALLBACK_MS).unref();
    return;
  }
  clearTimeout(closeTimer);
  logger.info('stopped');
  // pino writes stdout asynchronously, and process.exit() now could reorder or drop the last
  // lines: let the process end by itself once they are out, or exit anyway after a moment.
  process.exitCode = 0;
  setTimeout(() => process.exit(0), EXIT_FALLBACK_MS).unref();
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
