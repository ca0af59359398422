// The apps under test: how each is started, what it needs, and how to get a signed-in cookie.
import { applyMigrations } from '../src/migrations.ts';
import { startApp, type AppProcess } from './children.ts';
import type { Cleanup } from './cleanup.ts';
import { cloneDatabase, createDatabases, databaseUrl, dropDatabases } from './postgres.ts';
import { startDedicatedRedis } from './redis-server.ts';
import type { AppKey } from './results.ts';
import { modeEnv, modeHeaders, type BenchMode } from './settings.ts';

export const BENCH_USER_AGENT = 'rsa-bench';

export interface AppPlan {
  entry: string;
  /** Suffix of its own database name, for apps that use PostgreSQL ('' = the base name). */
  database?: string;
  /** Whether it needs the product's schema (prisma migrate deploy). */
  migrated?: boolean;
  usesRedis: boolean;
  env: (where: { redisUrl: string; databaseUrl: string; prefix: string }) => Record<string, string>;
}

export const APP_PLANS: Record<AppKey, AppPlan> = {
  product: {
    entry: 'product.ts',
    database: '',
    migrated: true,
    usesRedis: true,
    env: ({ redisUrl, databaseUrl, prefix }) => ({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `${prefix}product:`,
      SESSION_SECRET: 'bench-secret-that-is-long-enough-for-production',
      // The access log is part of a request's cost: the product's default level, unless told
      // otherwise (its lines go to /dev/null).
      LOG_LEVEL: process.env.BENCH_PRODUCT_LOG_LEVEL ?? 'info',
      // The login storm comes from one address; the per-IP limit must not turn it into 429s.
      RATE_LIMIT_MAX: '1000000',
      // The login storm signs one account in from many connections at once, and attempts in
      // flight count toward the failed-login budgets: measure hashing, not the budget.
      ACCOUNT_MAX_FAILURES: '1000',
      CHALLENGE_AFTER_ACCOUNT_FAILURES: '0',
      CHALLENGE_AFTER_IP_FAILURES: '0',
    }),
  },
  bare: { entry: 'bare-express.ts', usesRedis: false, env: () => ({}) },
  memoryStore: { entry: 'memory-store.ts', usesRedis: false, env: () => ({}) },
  connectRedis: {
    entry: 'connect-redis.ts',
    usesRedis: true,
    env: ({ redisUrl, prefix }) => ({ BENCH_REDIS_URL: redisUrl, BENCH_KEY_PREFIX: `${prefix}connect-redis:` }),
  },
  pgSimple: { entry: 'pg-simple.ts', database: '_pgsimple', usesRedis: false, env: ({ databaseUrl }) => ({ BENCH_DATABASE_URL: databaseUrl }) },
  seed: {
    entry: 'seed-design.ts',
    database: '_seed',
    usesRedis: true,
    env: ({ redisUrl, databaseUrl, prefix }) => ({ BENCH_REDIS_URL: redisUrl, BENCH_DATABASE_URL: databaseUrl, BENCH_KEY_PREFIX: `${prefix}seed:` }),
  },
};

export interface Credentials {
  email: string;
  password: string;
}

/** `sid` in development, `__Host-sid` in production (the product's name, copied by the references). */
const SESSION_COOKIE = /^(__Host-)?sid=/;

function cookieFrom(res: Response): string {
  const line = res.headers.getSetCookie().find((c) => SESSION_COOKIE.test(c));
  if (!line) throw new Error(`no session cookie from ${res.url}`);
  return line.split(';')[0]!;
}

/**
 * A signed-in cookie: the product's through its real register API, the references' through
 * /login; sent with the mode's headers, as the load is (a secure cookie needs https).
 */
export async function signIn(key: AppKey, app: AppProcess, credentials: Credentials, mode: BenchMode): Promise<string> {
  const headers = { ...modeHeaders(mode), 'content-type': 'application/json', 'user-agent': BENCH_USER_AGENT };
  let cookie = '';
  if (key === 'product') {
    const res = await fetch(`${app.baseUrl}/api/auth/register`, { method: 'POST', headers, body: JSON.stringify({ ...credentials, name: 'Bench User' }) });
    if (res.status !== 201) throw new Error(`product: register answered ${res.status} ${await res.text()}`);
    cookie = cookieFrom(res);
  } else if (key !== 'bare') {
    const res = await fetch(`${app.baseUrl}/login`, { method: 'POST', headers });
    if (res.status !== 204) throw new Error(`${key}: sign-in answered ${res.status}`);
    cookie = cookieFrom(res);
  }
  const me = await fetch(`${app.baseUrl}/api/auth/me`, { headers: { ...modeHeaders(mode), cookie } });
  const body = (await me.json()) as { user?: { id?: string } };
  if (me.status !== 200 || !body.user?.id) throw new Error(`${key}: GET /api/auth/me answered ${me.status} after sign-in`);
  return cookie;
}

export interface Lineup {
  redisUrl: string;
  apps: Map<AppKey, AppProcess>;
  /** Database URL per app that has one. */
  databaseUrls: Map<AppKey, string>;
  /** URLs of the extra migrated databases asked for, in order. */
  extraDatabaseUrls: string[];
}

export interface LineupOptions {
  runId: string;
  baseDatabaseUrl: string;
  prefix: string;
  cleanup: Cleanup;
  log: (message: string) => void;
  mode: BenchMode;
  /** More databases with the product's schema, for measurements made in the bench process. */
  extraMigratedDatabases?: string[];
}

export const databaseNameFor = (runId: string, key: AppKey) => `rsa_bench_${runId}${APP_PLANS[key].database}`;

/** A redis-server of the run's own, a database per app that needs one, and the apps running. */
export async function startLineup(keys: readonly AppKey[], options: LineupOptions): Promise<Lineup> {
  const { runId, baseDatabaseUrl, prefix, cleanup, log } = options;
  const redis = await startDedicatedRedis();
  cleanup.add(redis.stop);
  log(`redis-server of this run at ${redis.url}`);

  const withDatabase = keys.filter((key) => APP_PLANS[key].database !== undefined);
  const databaseUrls = new Map(withDatabase.map((key) => [key, databaseUrl(baseDatabaseUrl, databaseNameFor(runId, key))]));
  const extraDatabaseUrls = (options.extraMigratedDatabases ?? []).map((name) => databaseUrl(baseDatabaseUrl, name));
  const migrated = [...withDatabase.filter((key) => APP_PLANS[key].migrated).map((key) => databaseUrls.get(key)!), ...extraDatabaseUrls];
  const plain = [...databaseUrls.values()].filter((url) => !migrated.includes(url));
  cleanup.add(() => dropDatabases([...plain, ...migrated]));
  await createDatabases([...plain, ...migrated.slice(0, 1)]);
  if (migrated.length > 0) {
    log(`migrating ${migrated.length} database(s)`);
    await applyMigrations(migrated[0]!);
    for (const url of migrated.slice(1)) await cloneDatabase(migrated[0]!, url);
  }

  log(`starting ${keys.join(', ')} (${options.mode} mode)`);
  const apps = new Map<AppKey, AppProcess>();
  await Promise.all(
    keys.map(async (key) => {
      const env = { ...modeEnv(options.mode), ...APP_PLANS[key].env({ redisUrl: redis.url, databaseUrl: databaseUrls.get(key) ?? '', prefix }) };
      const app = await startApp(key, APP_PLANS[key].entry, env);
      apps.set(key, app);
      cleanup.add(app.stop);
    }),
  );
  return { redisUrl: redis.url, apps, databaseUrls, extraDatabaseUrls };
}
