// Settings (README: Settings): read from the environment once at start, validated, typed.
// A bad value is reported as one line per setting naming what is expected.
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { DEFAULT_DATABASE_URL } from './db-url.ts';
import { parseRedisSettings, type RedisSettings } from './redis-settings.ts';

export { maskUrl } from './masked-url.ts';

/** README Settings default outside production; src/local-services probes it. */
export const DEFAULT_REDIS_URL = 'redis://localhost:6379';

const DEV_SESSION_SECRET = 'dev-only-session-secret-do-not-use-in-production';
const MIN_PRODUCTION_SECRET_LENGTH = 32;

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  /** Address to listen on; undefined means every interface (what a container needs). */
  host: string | undefined;
  databaseUrl: string;
  redisUrl: string;
  redisPassword: string | undefined;
  redisDb: number;
  /** The deployment (one node, Sentinel, Cluster), credentials and TLS: redis-settings.ts. */
  redis: RedisSettings;
  /** Every Redis key the app writes starts with this (tests give each run its own). */
  redisKeyPrefix: string;
  /** First signs, all verify (express-session's array form). */
  sessionSecrets: string[];
  usingDevSecret: boolean;
  sessionTtlSeconds: number;
  /** A session signed in without "keep me signed in": never longer than sessionTtlSeconds. */
  sessionShortTtlSeconds: number;
  sessionIdleTimeoutSeconds: number;
  /** How recently the password must have been entered for a sensitive action (README: Sensitive actions need a recent password). */
  reauthMaxAgeSeconds: number;
  trustProxy: boolean | number | string[];
  rateLimitWindowMs: number;
  rateLimitMax: number;
  /** Per-account (per normalized email) failed-login budget; see rate-limit/login-budgets.ts. */
  accountMaxFailures: number;
  accountFailureWindowMs: number;
  accountLockBaseMs: number;
  accountLockMaxMs: number;
  /** Proof-of-work (ALTCHA) required after this many recent failures for an account / an IP. */
  challengeAfterAccountFailures: number;
  challengeAfterIpFailures: number;
  challengeCost: number;
  challengeMaxNumber: number;
  logLevel: string;
  /** When set, GET /metrics also accepts `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid settings:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `expected a whole number from ${min} to ${max}`).max(max, `expected a whole number from ${min} to ${max}`));

const urlWithProtocols = (protocols: string[], example: string) =>
  z.string().trim().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL like ${example}` },
  );

const DAY_SECONDS = 86_400;

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'expected development, production or test' }).default('development'),
  PORT: wholeNumber(0, 65_535).default(3000),
  HOST: z.string().trim().regex(/^[\w.:-]{1,253}$/, 'expected an IP address or host name, like 127.0.0.1 or ::').optional(),
  DATABASE_URL: urlWithProtocols(['postgresql:', 'postgres:'], 'postgresql://user:password@host:5432/dbname').default(DEFAULT_DATABASE_URL),
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:'], 'redis://host:6379 or rediss://host:6380').default(DEFAULT_REDIS_URL),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_USERNAME: z.string().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_NAME: z.string().regex(/^[\w.-]{1,64}$/, 'expected the primary\'s name in Sentinel, like mymaster').default('mymaster'),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  REDIS_TLS_CA_FILE: z.string().optional(),
  REDIS_TLS_CERT_FILE: z.string().optional(),
  REDIS_TLS_KEY_FILE: z.string().optional(),
  REDIS_DB: wholeNumber(0, 15).default(0),
  REDIS_KEY_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, 'expected 1-64 letters, digits or _ : . -').default('rsa:'),
  SESSION_SECRET: z.string().optional(),
  SESSION_TTL: wholeNumber(60, 365 * DAY_SECONDS).default(7 * DAY_SECONDS),
  SESSION_SHORT_TTL: wholeNumber(60, 365 * DAY_SECONDS).default(12 * 3600),
  SESSION_IDLE_TIMEOUT: wholeNumber(1, 365 * DAY_SECONDS).default(DAY_SECONDS),
  REAUTH_MAX_AGE_SECONDS: wholeNumber(1, 365 * DAY_SECONDS).default(900),
  TRUST_PROXY: z.string().default('false'),
  RATE_LIMIT_WINDOW_MS: wholeNumber(1000, DAY_SECONDS * 1000).default(60_000),
  RATE_LIMIT_MAX: wholeNumber(1, 1_000_000).default(100),
  ACCOUNT_MAX_FAILURES: wholeNumber(1, 1000).default(5),
  ACCOUNT_FAILURE_WINDOW_MS: wholeNumber(1000, DAY_SECONDS * 1000).default(15 * 60_000),
  ACCOUNT_LOCK_BASE_MS: wholeNumber(100, DAY_SECONDS * 1000).default(60_000),
  ACCOUNT_LOCK_MAX_MS: wholeNumber(100, 7 * DAY_SECONDS * 1000).default(60 * 60_000),
  CHALLENGE_AFTER_ACCOUNT_FAILURES: wholeNumber(0, 1000).default(3),
  CHALLENGE_AFTER_IP_FAILURES: wholeNumber(0, 1_000_000).default(10),
  CHALLENGE_COST: wholeNumber(1, 1_000_000).default(5000),
  CHALLENGE_MAX_NUMBER: wholeNumber(2, 10_000_000).default(10_000),
  METRICS_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'expected fatal, error, warn, info, debug, trace or silent' }).default('info'),
});

/** `false`/`true`, a hop count, or a comma-separated list of addresses, CIDRs and names like `loopback`. */
function parseTrustProxy(raw: string): boolean | number | string[] {
  const value = raw.trim().toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const list = value.split(',').map((part) => part.trim()).filter(Boolean);
  proxyAddr.compile(list); // throws TypeError naming the bad address
  return list;
}

function parseSecrets(raw: string | undefined, isProduction: boolean, problems: string[]): { secrets: string[]; dev: boolean } {
  const secrets = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (secrets.length === 0) {
    if (isProduction) problems.push('SESSION_SECRET: required when NODE_ENV=production (at least 32 characters; a comma-separated list rotates secrets)');
    return { secrets: [DEV_SESSION_SECRET], dev: true };
  }
  if (isProduction && secrets.some((s) => s.length < MIN_PRODUCTION_SECRET_LENGTH)) {
    problems.push(`SESSION_SECRET: every secret must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when NODE_ENV=production`);
  }
  return { secrets, dev: false };
}

/** In production nothing is started or assumed: where PostgreSQL and Redis are must be said. */
function requireServiceUrls(given: Record<string, string>, problems: string[]): void {
  if (!given.DATABASE_URL) problems.push('DATABASE_URL: required when NODE_ENV=production (postgresql://user:password@host:5432/dbname)');
  if (!given.REDIS_URL && !given.REDIS_SENTINELS && !given.REDIS_CLUSTER_NODES) {
    problems.push('REDIS_URL: required when NODE_ENV=production (redis://host:6379 or rediss://host:6380), unless REDIS_SENTINELS or REDIS_CLUSTER_NODES is set');
  }
}

/** Empty strings count as unset, as they do in most .env tooling. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== ''));
}

type Settings = z.output<typeof schema>;

/**
 * Each setting on its own, so that every bad one is reported in the same run (README: Settings): a bad
 * value is a problem, and its default stands in for it while the checks that follow run.
 */
function parseEach(env: Record<string, string>, problems: string[]): Settings {
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const result = field.safeParse(env[name]);
    if (result.success) {
      values[name] = result.data;
      continue;
    }
    const raw = env[name];
    problems.push(`${name}: ${result.error.issues[0]?.message ?? 'not valid'}${raw === undefined ? '' : ` (got "${/URL|TOKEN|SECRET|PASSWORD/.test(name) ? '<hidden>' : raw}")`}`);
    const fallback = field.safeParse(undefined);
    values[name] = fallback.success ? fallback.data : undefined;
  }
  return values as Settings;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const given = withoutEmpty(env);
  const s = parseEach(given, problems);
  const isProduction = s.NODE_ENV === 'production';
  // Outside production the defaults stand (and npm start may start them: src/local-services).
  if (isProduction) requireServiceUrls(given, problems);
  const { secrets, dev } = parseSecrets(s.SESSION_SECRET, isProduction, problems);

  let trustProxy: Config['trustProxy'] = false;
  try {
    trustProxy = parseTrustProxy(s.TRUST_PROXY);
  } catch {
    problems.push(`TRUST_PROXY: expected false, true, a hop count, or a comma-separated list of IPs/CIDRs/loopback/linklocal/uniquelocal (got "${s.TRUST_PROXY}")`);
  }
  if (s.ACCOUNT_LOCK_MAX_MS < s.ACCOUNT_LOCK_BASE_MS) problems.push('ACCOUNT_LOCK_MAX_MS: must be at least ACCOUNT_LOCK_BASE_MS');
  const redis = parseRedisSettings(
    {
      url: s.REDIS_URL,
      username: s.REDIS_USERNAME,
      password: s.REDIS_PASSWORD,
      db: s.REDIS_DB,
      clusterNodes: s.REDIS_CLUSTER_NODES,
      sentinels: s.REDIS_SENTINELS,
      sentinelName: s.REDIS_SENTINEL_NAME,
      sentinelPassword: s.REDIS_SENTINEL_PASSWORD,
      caFile: s.REDIS_TLS_CA_FILE,
      certFile: s.REDIS_TLS_CERT_FILE,
      keyFile: s.REDIS_TLS_KEY_FILE,
    },
    problems,
  );
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: s.NODE_ENV,
    isProduction,
    port: s.PORT,
    host: s.HOST,
    databaseUrl: s.DATABASE_URL,
    redisUrl: s.REDIS_URL,
    redisPassword: s.REDIS_PASSWORD,
    redisDb: s.REDIS_DB,
    redis,
    redisKeyPrefix: s.REDIS_KEY_PREFIX,
    sessionSecrets: secrets,
    usingDevSecret: dev,
    sessionTtlSeconds: s.SESSION_TTL,
    // "Not remembered" is the shorter lifetime by definition: a SESSION_TTL set below it wins.
    sessionShortTtlSeconds: Math.min(s.SESSION_SHORT_TTL, s.SESSION_TTL),
    sessionIdleTimeoutSeconds: s.SESSION_IDLE_TIMEOUT,
    reauthMaxAgeSeconds: s.REAUTH_MAX_AGE_SECONDS,
    trustProxy,
    rateLimitWindowMs: s.RATE_LIMIT_WINDOW_MS,
    rateLimitMax: s.RATE_LIMIT_MAX,
    accountMaxFailures: s.ACCOUNT_MAX_FAILURES,
    accountFailureWindowMs: s.ACCOUNT_FAILURE_WINDOW_MS,
    accountLockBaseMs: s.ACCOUNT_LOCK_BASE_MS,
    accountLockMaxMs: s.ACCOUNT_LOCK_MAX_MS,
    challengeAfterAccountFailures: s.CHALLENGE_AFTER_ACCOUNT_FAILURES,
    challengeAfterIpFailures: s.CHALLENGE_AFTER_IP_FAILURES,
    challengeCost: s.CHALLENGE_COST,
    challengeMaxNumber: s.CHALLENGE_MAX_NUMBER,
    logLevel: s.LOG_LEVEL,
    metricsToken: s.METRICS_TOKEN,
  };
}

