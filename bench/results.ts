// The shape of one benchmark run: what run.ts measures, report.ts prints and bench/results/ keeps.
import type { BenchSettings } from './settings.ts';

export const APP_KEYS = ['product', 'bare', 'memoryStore', 'connectRedis', 'pgSimple', 'seed'] as const;
export type AppKey = (typeof APP_KEYS)[number];

export const APP_LABELS: Record<AppKey, string> = {
  product: 'product (redis-session-auth)',
  bare: 'bare Express 5, no session',
  memoryStore: 'express-session + MemoryStore',
  connectRedis: 'express-session + connect-redis',
  pgSimple: 'express-session + connect-pg-simple',
  seed: 'seed design: Redis GET + PG UPDATE',
};

/** One load window against one app. */
export interface LoadSample {
  /** Successful (2xx) responses per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** 2xx responses. */
  requests: number;
  /** Non-2xx responses, connection errors and timeouts. */
  failures: number;
  seconds: number;
  /** CPU time of the app process per request it handled (µs), when measured. */
  cpuMicrosPerRequest?: number;
  /** CPU time of the run's redis-server per request the app handled (µs), for apps that use it. */
  redisCpuMicrosPerRequest?: number;
}

export interface AppResult {
  key: AppKey;
  samples: LoadSample[];
  /** PostgreSQL transactions in the app's own database over the alternating phase, or null without one. */
  pgTransactions: number | null;
  /** Requests the app handled over the same span (warm-up included). */
  pgRequests: number;
  /** Redis calls per command over the measured windows (dedicated redis-server), or null without Redis. */
  redisCommands: Record<string, number> | null;
  /** Requests the app handled over the windows the Redis calls were counted in. */
  redisRequests: number;
}

export interface MemoryResult {
  sessions: number;
  sessionsPerUser: number;
  productBytesPerSession: number;
  plainBytesPerSession: number;
}

export interface StormResult {
  meRatePerSecond: number;
  meConnections: number;
  loginConnections: number;
  aloneP99Ms: number[];
  stormP99Ms: number[];
  stormLoginsPerSecond: number[];
  failures: number;
}

export interface AdminSummaryResult {
  command: string;
  latest: { file: string; at: string; sessions: number; medianMs: number; p95Ms: number } | null;
}

export interface OtherResults {
  memory: MemoryResult | null;
  revoke: { sessions: number; ms: number } | null;
  /** `cpuMicrosPerLogin`: the product process's CPU time per login answered (argon2id's threads included). */
  logins: { perSecond: number; connections: number; failures: number; cpuMicrosPerLogin?: number } | null;
  /** PostgreSQL: the `Session` table's size (heap, TOAST and indexes) grown per stored session. */
  postgres?: { sessions: number; bytesPerSession: number } | null;
  argon2: { parameters: string; maxConcurrent: number; verifyPerSecond: number } | null;
  storm: StormResult | null;
  /**
   * Measured by the admin issue's own script (bench/admin-scale.ts), not by this run: its newest
   * saved result, if any.
   */
  adminSummary: AdminSummaryResult;
}

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  settings: BenchSettings;
  machine: { node: string; cpus: number; platform: string };
  git: { commit: string | null; dirty: boolean | null };
  apps: AppResult[];
  other: OtherResults;
}
