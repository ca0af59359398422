// How long and how hard the benchmark runs: the full run, or BENCH_QUICK=1 for CI (informational),
// and in which mode the apps run: production (the default) or BENCH_MODE=development.

/**
 * production: every app as deployed behind a TLS-terminating proxy on the same host
 * (NODE_ENV=production, TRUST_PROXY=loopback, every request carries X-Forwarded-Proto: https,
 * so secure cookies are issued and accepted); the reference apps are set up the same way.
 * development: NODE_ENV=development, plain http, no proxy trusted.
 */
export type BenchMode = 'production' | 'development';

export interface BenchSettings {
  quick: boolean;
  mode: BenchMode;
  /** Alternating rounds per app for GET /api/auth/me; each app gets one window per round. */
  rounds: number;
  windowSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** Sessions written for the Redis bytes-per-session measurement (each store). */
  memorySessions: number;
  /** Sessions of one user revoked at once. */
  revokeSessions: number;
  loginSeconds: number;
  loginConnections: number;
  /** GET /api/auth/me at a fixed rate, alone and during a login storm, alternately. */
  stormRounds: number;
  stormWindowSeconds: number;
  /** The fixed rate of signed-in requests, as a share of the product's measured req/s. */
  stormMeShareOfCapacity: number;
  stormMeConnections: number;
  /** In-process argon2id verifications timed (same parameters and concurrency as the product). */
  argon2Verifications: number;
  /** Self-stop: the whole run is aborted past this. */
  deadlineSeconds: number;
}

const FULL: BenchSettings = {
  quick: false,
  mode: 'production',
  // Many short alternating windows: a burst of outside load then hits every app alike.
  rounds: 8,
  windowSeconds: 6,
  warmupSeconds: 3,
  connections: 32,
  memorySessions: 50_000,
  revokeSessions: 10_000,
  loginSeconds: 10,
  loginConnections: 8,
  stormRounds: 3,
  stormWindowSeconds: 10,
  stormMeShareOfCapacity: 0.25,
  stormMeConnections: 16,
  argon2Verifications: 100,
  deadlineSeconds: 30 * 60,
};

const QUICK: BenchSettings = {
  ...FULL,
  quick: true,
  rounds: 2,
  windowSeconds: 3,
  warmupSeconds: 1,
  memorySessions: 2_000,
  revokeSessions: 1_000,
  loginSeconds: 3,
  stormRounds: 1,
  stormWindowSeconds: 3,
  argon2Verifications: 20,
  // Only a guard against a hang: a busy machine must not turn slowness into a failure.
  deadlineSeconds: 8 * 60,
};

export function benchSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const quick = env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0';
  const mode = env.BENCH_MODE ?? 'production';
  if (mode !== 'production' && mode !== 'development') throw new Error(`BENCH_MODE: expected production or development, got "${mode}"`);
  return { ...(quick ? QUICK : FULL), mode };
}

/** What every app process of a mode gets in its environment (the product and the references alike). */
export function modeEnv(mode: BenchMode): Record<string, string> {
  return mode === 'production' ? { NODE_ENV: 'production', TRUST_PROXY: 'loopback' } : { NODE_ENV: 'development', TRUST_PROXY: 'false' };
}

/** What every request of a mode carries: the TLS proxy's word that the client used https. */
export function modeHeaders(mode: BenchMode): Record<string, string> {
  return mode === 'production' ? { 'x-forwarded-proto': 'https' } : {};
}
