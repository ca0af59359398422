// `npm run bench:ratio -- [apps…] [rounds]`: only the alternating GET /api/auth/me phase of
// `npm run bench`, for a few apps (default: product, memoryStore, connectRedis) — a quick check
// of a hot-path change; the ratios printed are to the product, same run, same machine.
import { randomBytes } from 'node:crypto';
import { appCounters } from './children.ts';
import { Cleanup } from './cleanup.ts';
import { signIn, startLineup } from './lineup.ts';
import { BASE_DATABASE_URL } from './postgres.ts';
import { requireWrk, runLoad } from './load.ts';
import { APP_KEYS, type AppKey } from './results.ts';
import { benchSettings, modeHeaders } from './settings.ts';
import { median } from './stats.ts';

const log = (message: string) => console.error(`bench:ratio: ${message}`);
const args = process.argv.slice(2);
const keys = args.filter((arg): arg is AppKey => (APP_KEYS as readonly string[]).includes(arg));
const rounds = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 4);
const apps: AppKey[] = keys.length > 0 ? keys : ['product', 'memoryStore', 'connectRedis'];
const settings = benchSettings();

async function main(cleanup: Cleanup): Promise<void> {
  requireWrk();
  log(`${settings.mode} mode, ${rounds} rounds of ${settings.windowSeconds} s, wrk with ${settings.connections} connections`);
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const lineup = await startLineup(apps, {
    runId,
    baseDatabaseUrl: BASE_DATABASE_URL,
    prefix: `rsa-bench-${runId}:`,
    cleanup,
    log,
    mode: settings.mode,
  });
  const credentials = { email: `bench-${runId}@example.test`, password: 'correct horse battery staple' };
  const cookies = new Map<AppKey, string>();
  for (const key of apps) cookies.set(key, await signIn(key, lineup.apps.get(key)!, credentials, settings.mode));
  const rps = new Map<AppKey, number[]>(apps.map((key) => [key, []]));
  const cpu = new Map<AppKey, number[]>(apps.map((key) => [key, []]));
  const window = async (key: AppKey, seconds: number) => {
    const app = lineup.apps.get(key)!;
    const before = await appCounters(app);
    const sample = await runLoad({ url: `${app.baseUrl}/api/auth/me`, headers: { ...modeHeaders(settings.mode), cookie: cookies.get(key)! }, seconds, connections: settings.connections });
    const after = await appCounters(app);
    rps.get(key)!.push(sample.rps);
    cpu.get(key)!.push((after.cpuMicros - before.cpuMicros) / Math.max(1, after.requests - before.requests));
  };
  for (const key of apps) await window(key, settings.warmupSeconds);
  for (const list of [...rps.values(), ...cpu.values()]) list.length = 0;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < apps.length; i++) await window(apps[(i + round) % apps.length]!, settings.windowSeconds);
  }
  const productRps = median(rps.get(apps[0]!)!);
  for (const key of apps) {
    const value = median(rps.get(key)!);
    console.log(`${key.padEnd(14)} ${value.toFixed(0).padStart(6)} req/s  ${median(cpu.get(key)!).toFixed(0).padStart(5)} µs CPU/req  ${apps[0]}/this ${(productRps / value).toFixed(2)}`);
  }
}

const cleanup = new Cleanup(log);
await cleanup.runMain(() => main(cleanup), 600);
