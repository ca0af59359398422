// `npm run bench`: the product against reference apps, side by side on this machine (issue 8).
// Progress goes to stderr, the report to stdout, the numbers to bench/results/<time>.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SessionData } from 'express-session';
import { createClient } from 'redis';
import { locateSessionId, SessionKeys } from '../src/sessions/session-keys.ts';
import { sessionCookieSettings } from '../src/sessions/session-cookie.ts';
import { createSessionSerializer } from '../src/sessions/session-serializer.ts';
import { Cleanup } from './cleanup.ts';
import { appCounters } from './children.ts';
import { APP_PLANS, databaseNameFor, signIn, startLineup, type Credentials, type Lineup } from './lineup.ts';
import { requireWrk, runLoad } from './load.ts';
import { measureArgon2, measureLogins, measureStorm } from './logins.ts';
import { BASE_DATABASE_URL, PG_STATS_SETTLE_MS, TransactionCounter } from './postgres.ts';
import { addCounts, commandDelta, parseCommandCalls, usedCpuSeconds } from './redis-info.ts';
import { renderReport } from './report.ts';
import { APP_KEYS, type AdminSummaryResult, type AppKey, type AppResult, type BenchResults } from './results.ts';
import { benchSettings, modeHeaders } from './settings.ts';
import { median, perRequest } from './stats.ts';
import { runStoreMeasurements } from './store-measurements.ts';

const settings = benchSettings();
const startedAt = new Date();
const runId = `${startedAt.getTime().toString(36)}_${randomBytes(3).toString('hex')}`;
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const PREFIX = `rsa-bench-${runId}:`;
const STORE_DATABASE = `rsa_bench_${runId}_store`;
const PAUSE_AFTER_WINDOW_MS = 200;
/** The product runs with the default SESSION_TTL (one week). */
const PRODUCT_SESSION_TTL_SECONDS = 7 * 24 * 3600;
const MIN_STORM_RATE_PER_SECOND = 50;

const clockStart = performance.now();
const elapsed = () => ((performance.now() - clockStart) / 1000).toFixed(0).padStart(4);
const log = (message: string) => console.error(`bench ${elapsed()} s: ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gitInfo(): BenchResults['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/**
 * The admin summary over 1,000,000 sessions is the admin issue's measurement, made by its own
 * script (minutes of populating): shown from its newest saved result, never re-measured here.
 */
async function latestAdminSummary(): Promise<AdminSummaryResult> {
  const command = 'npx tsx bench/admin-scale.ts';
  const files = (await readdir(RESULTS_DIR).catch(() => [] as string[])).filter((name) => /^admin-scale-\d+\.json$/.test(name)).sort();
  const newest = files.at(-1);
  if (!newest) return { command, latest: null };
  const saved = JSON.parse(await readFile(`${RESULTS_DIR}${newest}`, 'utf8')) as { at: string; sessions: number; summary?: { median: number; p95: number } };
  if (!saved.summary) return { command, latest: null };
  return { command, latest: { file: `bench/results/${newest}`, at: saved.at, sessions: saved.sessions, medianMs: saved.summary.median, p95Ms: saved.summary.p95 } };
}

/** The product's stored session for a cookie, as the template for the memory measurement. */
async function storedSession(redisUrl: string, cookie: string): Promise<SessionData> {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  const rawId = value.slice(2, value.lastIndexOf('.'));
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    const session = locateSessionId(rawId);
    if (!session) throw new Error('the product issued a session id it cannot locate');
    const raw = await client.get(new SessionKeys(`${PREFIX}product:`).session(session));
    if (!raw) throw new Error('the product stored no session for the bench user');
    // As express-session holds it (full cookie), so plain connect-redis stores the same data.
    return createSessionSerializer(sessionCookieSettings(settings.mode === 'production', PRODUCT_SESSION_TTL_SECONDS)).parse(raw);
  } finally {
    await client.close();
  }
}

/**
 * The alternating throughput phase: every app in turn, several rounds. Redis calls are counted
 * per window (exact: nothing else uses this redis-server); PostgreSQL transactions over the whole
 * phase, once the server has published them.
 */
async function throughputPhase(lineup: Lineup, cookies: Map<AppKey, string>, cleanup: Cleanup): Promise<Map<AppKey, AppResult>> {
  const observer = createClient({ url: lineup.redisUrl });
  await observer.connect();
  cleanup.add(() => observer.close());
  const counter = await TransactionCounter.connect(BASE_DATABASE_URL);
  cleanup.add(() => counter.close());
  const pgKeys = [...lineup.databaseUrls.keys()];
  const pgNames = pgKeys.map((key) => databaseNameFor(runId, key));
  const pgBefore = await counter.read(pgNames);

  const results = new Map<AppKey, AppResult>(
    APP_KEYS.map((key) => [
      key,
      { key, samples: [], pgTransactions: lineup.databaseUrls.has(key) ? 0 : null, pgRequests: 0, redisCommands: APP_PLANS[key].usesRedis ? {} : null, redisRequests: 0 },
    ]),
  );
  const window = async (key: AppKey, seconds: number, measured: boolean) => {
    const result = results.get(key)!;
    const app = lineup.apps.get(key)!;
    const before = parseCommandCalls(await observer.info('commandstats'));
    const redisCpuBefore = usedCpuSeconds(await observer.info('cpu'));
    const countersBefore = await appCounters(app);
    const headers = { ...modeHeaders(settings.mode), cookie: cookies.get(key)! };
    const sample = await runLoad({ url: `${app.baseUrl}/api/auth/me`, headers, seconds, connections: settings.connections });
    await sleep(PAUSE_AFTER_WINDOW_MS); // requests still in flight when wrk stopped
    const countersAfter = await appCounters(app);
    const redisCpu = usedCpuSeconds(await observer.info('cpu')) - redisCpuBefore;
    const delta = commandDelta(before, parseCommandCalls(await observer.info('commandstats')));
    const handled = countersAfter.requests - countersBefore.requests;
    sample.cpuMicrosPerRequest = perRequest(countersAfter.cpuMicros - countersBefore.cpuMicros, handled) ?? Number.NaN;
    if (APP_PLANS[key].usesRedis) sample.redisCpuMicrosPerRequest = perRequest(redisCpu * 1e6, handled) ?? Number.NaN;
    result.pgRequests += handled;
    if (!measured) return;
    result.samples.push(sample);
    if (result.redisCommands) {
      result.redisCommands = Object.fromEntries(addCounts(new Map(Object.entries(result.redisCommands)), delta));
      result.redisRequests += handled;
    }
  };

  log(`warm-up: ${settings.warmupSeconds} s per app`);
  for (const key of APP_KEYS) await window(key, settings.warmupSeconds, false);
  for (let round = 0; round < settings.rounds; round++) {
    log(`round ${round + 1}/${settings.rounds}`);
    // Rotate the order so no app always runs first (or right after the same neighbour).
    const order = APP_KEYS.map((_, i) => APP_KEYS[(i + round) % APP_KEYS.length]!);
    for (const key of order) await window(key, settings.windowSeconds, true);
  }
  const loadEndedAt = Date.now();

  log('waiting for PostgreSQL to publish the transaction counts');
  await sleep(loadEndedAt + PG_STATS_SETTLE_MS - Date.now());
  const pgAfter = await counter.read(pgNames);
  pgKeys.forEach((key, i) => (results.get(key)!.pgTransactions = (pgAfter.get(pgNames[i]!) ?? 0) - (pgBefore.get(pgNames[i]!) ?? 0)));
  return results;
}

async function main(cleanup: Cleanup): Promise<void> {
  requireWrk();
  log(`${settings.quick ? 'QUICK' : 'full'} run ${runId}, ${settings.mode} mode`);
  const lineup = await startLineup(APP_KEYS, { runId, baseDatabaseUrl: BASE_DATABASE_URL, prefix: PREFIX, cleanup, log, mode: settings.mode, extraMigratedDatabases: [STORE_DATABASE] });
  const credentials: Credentials = { email: `bench-${runId}@example.test`, password: 'correct horse battery staple' };
  const cookies = new Map<AppKey, string>();
  for (const key of APP_KEYS) cookies.set(key, await signIn(key, lineup.apps.get(key)!, credentials, settings.mode));
  const signedInAt = Date.now();
  log('signed in everywhere');

  // Done in this process, in a database of its own; it also gives PostgreSQL time to publish
  // the sign-ins' transactions before the throughput phase starts counting.
  const store = await runStoreMeasurements({
    redisUrl: lineup.redisUrl,
    databaseUrl: lineup.extraDatabaseUrls[0]!,
    template: await storedSession(lineup.redisUrl, cookies.get('product')!),
    memorySessions: settings.memorySessions,
    revokeSessions: settings.revokeSessions,
    log,
  });
  log('argon2id verifications in-process');
  const argon2 = await measureArgon2(settings.argon2Verifications);
  await sleep(signedInAt + PG_STATS_SETTLE_MS - Date.now());

  const results = await throughputPhase(lineup, cookies, cleanup);

  const product = lineup.apps.get('product')!;
  log('logins/s');
  const logins = await measureLogins(product, credentials, settings);
  const capacity = median(results.get('product')!.samples.map((sample) => sample.rps));
  const meRatePerSecond = Math.max(MIN_STORM_RATE_PER_SECOND, Math.round(capacity * settings.stormMeShareOfCapacity));
  const storm = await measureStorm({ baseUrl: product.baseUrl, cookie: cookies.get('product')!, credentials, meRatePerSecond }, settings, log);

  const report: BenchResults = {
    startedAt: startedAt.toISOString(),
    durationSeconds: (performance.now() - clockStart) / 1000,
    settings,
    machine: { node: process.version, cpus: cpus().length, platform: `${process.platform}-${process.arch}` },
    git: gitInfo(),
    apps: APP_KEYS.map((key) => results.get(key)!),
    other: { ...store, logins, argon2, storm, adminSummary: await latestAdminSummary() },
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${report.startedAt.replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(renderReport(report));
  log(`results written to ${file}`);
}

const cleanup = new Cleanup(log);
await cleanup.runMain(() => main(cleanup), settings.deadlineSeconds);
