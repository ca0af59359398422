// `npm run bench:profile -- [app] [seconds]`: one app (default: the product) under the same
// signed-in GET /api/auth/me load as `npm run bench`, with V8's CPU profiler running only
// during the load; prints what the busy time went to and keeps the .cpuprofile (open it in
// Chrome DevTools or speedscope for the flame graph).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { appCounters, requestProfile } from './children.ts';
import { Cleanup } from './cleanup.ts';
import { profileShares, sharesReport, type CpuProfile } from './cpu-profile.ts';
import { signIn, startLineup } from './lineup.ts';
import { BASE_DATABASE_URL } from './postgres.ts';
import { requireWrk, runLoad } from './load.ts';
import { formatInteger } from './report.ts';
import { APP_KEYS, type AppKey } from './results.ts';
import { benchSettings, modeHeaders } from './settings.ts';

const DEFAULT_SECONDS = 15;
const WARMUP_SECONDS = 3;
const PROFILES_DIR = fileURLToPath(new URL('./results/profiles/', import.meta.url));
const log = (message: string) => console.error(`bench:profile: ${message}`);

async function main(cleanup: Cleanup, key: AppKey, seconds: number): Promise<void> {
  requireWrk();
  const settings = benchSettings();
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const lineup = await startLineup([key], {
    runId,
    baseDatabaseUrl: BASE_DATABASE_URL,
    prefix: `rsa-bench-${runId}:`,
    cleanup,
    log,
    mode: settings.mode,
  });
  const app = lineup.apps.get(key)!;
  const cookie = await signIn(key, app, { email: `bench-${runId}@example.test`, password: 'correct horse battery staple' }, settings.mode);
  const load = (duration: number) => runLoad({ url: `${app.baseUrl}/api/auth/me`, headers: { ...modeHeaders(settings.mode), cookie }, seconds: duration, connections: settings.connections });
  await load(WARMUP_SECONDS);
  await mkdir(PROFILES_DIR, { recursive: true });
  const file = `${PROFILES_DIR}${key}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
  await requestProfile(app, { type: 'profile', action: 'start' });
  const before = await appCounters(app);
  const sample = await load(seconds);
  const after = await appCounters(app);
  const cpuPerRequest = (after.cpuMicros - before.cpuMicros) / (after.requests - before.requests);
  await requestProfile(app, { type: 'profile', action: 'stop', file });
  console.log(`${key} (${settings.mode} mode, wrk): ${formatInteger(sample.rps)} req/s, ${formatInteger(cpuPerRequest)} µs CPU/req (profiler included), p99 ${sample.p99Ms} ms, ${sample.failures} failed, profiled for ${seconds} s\n`);
  console.log(sharesReport(profileShares(JSON.parse(await readFile(file, 'utf8')) as CpuProfile)));
  log(`profile written to ${file}`);
}

const [appArg = 'product', secondsArg] = process.argv.slice(2);
if (!(APP_KEYS as readonly string[]).includes(appArg)) {
  console.error(`usage: npm run bench:profile -- [${APP_KEYS.join('|')}] [seconds]`);
  process.exit(2);
}
const seconds = secondsArg ? Number(secondsArg) : DEFAULT_SECONDS;
if (!(seconds > 0 && seconds <= 600)) {
  console.error(`seconds: expected 1 to 600, got ${secondsArg}`);
  process.exit(2);
}
const cleanup = new Cleanup(log);
await cleanup.runMain(() => main(cleanup, appArg as AppKey, seconds), seconds + 120);
