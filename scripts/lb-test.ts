// npm run lb:test — three real server processes (one database and one Redis prefix of this
// run's own, shared by the three) behind a real HAProxy configured from deploy/haproxy.cfg, under
// the load test's traffic: clients cycling login → me ×5 → revoke-others → logout for
// LB_SECONDS (default 30). LB_STOP_AFTER seconds in (default 6) one instance gets SIGTERM; once
// it has exited it is started again on the same port (HAProxy's server line stays valid) and
// rejoins when its /readyz answers 200 twice. Exit 0 only when no client saw a 5xx or a failed
// request (connection error or timeout), the stopped instance exited 0, it served requests again
// after rejoining, every instance exited 0 at the end, and Redis and PostgreSQL agree (the
// consistency check).
//
// The load is paced: LB_RATE requests per second over all clients (default 100; autocannon then
// runs min(LB_CONNECTIONS, LB_RATE) clients, default 100, one request per second each at most).
// Unpaced (LB_RATE=0; with LB_CONNECTIONS=200 the closed loop of `npm run load:test`), three
// instances, HAProxy and the load generator saturate a 2-vCPU machine: the instances' event
// loops then lag by seconds, and what fails is the app under CPU starvation (its 2 s Redis
// deadline, its PostgreSQL pool), not the restart this test is about. LB_NODE_ARGS adds node
// options to the instances (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"); LB_LOG_DIR keeps every
// process's output there.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createDb, type Db } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/migrations.ts';
import { connectRedis, createRedisClient, type RedisClient } from '../src/redis.ts';
import { singleNode } from '../src/redis-settings.ts';
import { startServerOnPort, stopWithin, type Stopped } from './lib/app-instance.ts';
import { checkConfig, haproxyVersion, startHaproxy, testConfig, type HaproxyProcess, type RequestLog } from './lib/haproxy.ts';
import { apiRequestsServed, logSummary, printHaproxySummary, serverStats, sleep, startLagProbe, table, waitFor, type ServerStats } from './lib/lb-observe.ts';
import { fiveHundredsIn, loadEmails, ME_PER_CYCLE, registerUsers, settledConsistency, startLoginCycles } from './lib/login-load.ts';
import { runDatabaseUrl, runRedisUrl } from './lib/run-services.ts';
import { freePort, type ServerProcess } from './lib/server-process.ts';
import { TOOLS, toolOrSkip } from './lib/tool.ts';

const RATE = Number(process.env.LB_RATE ?? 100);
const CONNECTIONS = Math.min(Number(process.env.LB_CONNECTIONS ?? 100), RATE > 0 ? RATE : Infinity);
const SECONDS = Number(process.env.LB_SECONDS ?? 30);
const STOP_AFTER_S = Number(process.env.LB_STOP_AFTER ?? 6);
const INSTANCES = 3;
/** The instance that is stopped and started again (0-based). */
const VICTIM = 1;
/** The app gives in-flight requests 10 s, then closes; compose's stop_grace_period is 15 s. */
const STOP_DEADLINE_MS = 15_000;
const describeStop = (stopped: Stopped) => (stopped.killed ? `no exit within ${STOP_DEADLINE_MS / 1000} s of SIGTERM (killed)` : String(stopped.code));

// Without haproxy on PATH the run is skipped (exit 0) with one line saying what to install; under
// CI it fails instead (scripts/lib/tool.ts, as for the test files).
try {
  if (!toolOrSkip(import.meta.url, TOOLS.haproxy)) process.exit(0);
} catch (err) {
  console.error(`lb:test: ${(err as Error).message}`);
  process.exit(1);
}
const version = haproxyVersion();
if (!version) {
  console.error('lb:test: `haproxy -v` failed, so this haproxy cannot be used');
  process.exit(1);
}

const t0 = Date.now();
const seconds = (from = t0) => ((Date.now() - from) / 1000).toFixed(1);

const run = randomBytes(3).toString('hex');
const databaseUrl = runDatabaseUrl(`rsa_lb_${run}`);
const redisUrl = runRedisUrl();
const prefix = `rsa-lb-${run}:`;
const metricsToken = `lb-test-metrics-${run}-0123456789`;
const env: Record<string, string> = {
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  SESSION_SECRET: `lb-test-secret-${run}-0123456789abcdef`,
  // Every client comes from 127.0.0.1 (through HAProxy's X-Forwarded-For, trusted from loopback
  // as a deployment would trust its balancer): the per-IP limit, and the per-IP proof-of-work
  // threshold, would stop the test, not the product.
  TRUST_PROXY: 'loopback',
  RATE_LIMIT_MAX: '1000000',
  CHALLENGE_AFTER_IP_FAILURES: '0',
  METRICS_TOKEN: metricsToken,
  LOG_LEVEL: 'warn',
};

// Everything this run starts or creates, so that it is undone also on failure or Ctrl-C.
const instances: Array<ServerProcess | undefined> = [];
/** Every process this run started, for a last SIGKILL if the script itself dies. */
const children: ServerProcess['child'][] = [];
let haproxy: HaproxyProcess | undefined;
let redis: RedisClient | undefined;
let db: Db | undefined;
let databaseCreated = false;
const dir = mkdtempSync(join(tmpdir(), 'rsa-lb-'));
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

let cleaning: Promise<Stopped[]> | undefined;
/** Stops HAProxy and every instance by PID, removes this run's keys and database; how the instances ended. */
function cleanUp(): Promise<Stopped[]> {
  cleaning ??= (async () => {
    await haproxy?.stop();
    const codes = await Promise.all(instances.filter((instance) => instance !== undefined).map((instance) => stopWithin(instance, STOP_DEADLINE_MS)));
    if (redis) {
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await redis.unlink(keys);
      await redis.close();
    }
    await db?.$disconnect();
    if (databaseCreated) await dropDatabase(databaseUrl);
    return codes;
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: stopping HAProxy and the instances`);
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS + 10_000).unref(); // the exit handler kills what is left
    void cleanUp().finally(() => process.exit(1));
  });
}

/** The deploy config's frontend and backend names (set once the config is generated). */
const proxies = { frontend: '', backend: '' };

let exitCode = 1;
try {
  await ensureDatabase(databaseUrl);
  databaseCreated = true;
  await applyMigrations(databaseUrl);

  const ports: number[] = [];
  while (ports.length < INSTANCES + 1) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const lbPort = ports.pop()!;
  const names = ports.map((_, i) => `app${i + 1}`);
  console.log(`HAProxy ${version}; starting ${INSTANCES} instances on ports ${ports.join(', ')} …`);
  await Promise.all(
    ports.map(async (port, i) => {
      const instance = await startServerOnPort(env, port);
      instances[i] = instance;
      children.push(instance.child);
    }),
  );

  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  const generated = testConfig({ deployConfig: readFileSync('deploy/haproxy.cfg', 'utf8'), port: lbPort, socketPath, servers: names.map((name, i) => ({ name, port: ports[i]! })) });
  Object.assign(proxies, { frontend: generated.frontend, backend: generated.backend });
  writeFileSync(configPath, generated.text);
  checkConfig(configPath);
  const requestLogs: RequestLog[] = [];
  let loadStart = 0;
  const events: string[] = [];
  haproxy = startHaproxy(
    configPath,
    (log) => requestLogs.push(log),
    (line) => {
      if (/ is (UP|DOWN)|ALERT|WARNING/.test(line) && !line.startsWith('[')) events.push(`${loadStart ? `t+${seconds(loadStart)} s` : 'setup'}: ${line.replace(/^\[[A-Z]+\]\s+\(\d+\)\s*:\s*/, '')}`);
    },
  );
  children.push(haproxy.child);
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  await waitFor('HAProxy has every server UP', 20_000, async () => {
    const stats = await serverStats(socketPath, proxies);
    return names.every((name) => stats.get(name)?.status === 'UP');
  });

  const config = loadConfig({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' });
  redis = createRedisClient(config, createLogger('silent'));
  await connectRedis(redis, singleNode(redisUrl), 5_000);
  db = createDb(databaseUrl);

  const emails = loadEmails(CONNECTIONS);
  console.log(`ready after ${seconds()} s; registering ${CONNECTIONS} users through HAProxy …`);
  await registerUsers(lbUrl, emails);

  const s0 = await serverStats(socketPath, proxies);
  const pace = RATE > 0 ? `at most ${RATE} requests/s` : 'unpaced';
  console.log(`${CONNECTIONS} clients for ${SECONDS} s (${pace}) through HAProxy (port ${lbPort}): login → me ×${ME_PER_CYCLE} → revoke-others → logout; ${names[VICTIM]} gets SIGTERM at t+${STOP_AFTER_S} s`);
  loadStart = Date.now();
  const lag = startLagProbe(() => instances.map((instance) => (instance && instance.child.exitCode === null ? instance.url : undefined)));
  const load = startLoginCycles({ url: lbUrl, connections: CONNECTIONS, seconds: SECONDS, emails, ...(RATE > 0 ? { overallRate: RATE } : {}) });
  const clientErrors: string[] = [];
  load.instance.on('reqError', (err: Error) => clientErrors.push(`t+${seconds(loadStart)} s: ${err.message}`));
  let loadOver = false;
  const loadDone = load.done.finally(() => (loadOver = true));

  // The restart, while the load runs.
  await sleep(STOP_AFTER_S * 1000);
  const s1 = await serverStats(socketPath, proxies);
  const victim = instances[VICTIM]!;
  const stoppedAt = Date.now();
  console.log(`t+${seconds(loadStart)} s: SIGTERM to ${names[VICTIM]} (pid ${victim.child.pid})`);
  const victimStop = await stopWithin(victim, STOP_DEADLINE_MS);
  console.log(`t+${seconds(loadStart)} s: ${names[VICTIM]} exit code ${describeStop(victimStop)} after ${(victimStop.ms / 1000).toFixed(1)} s; starting it again on port ${ports[VICTIM]}`);
  const restarted = await startServerOnPort(env, ports[VICTIM]!);
  instances[VICTIM] = restarted;
  children.push(restarted.child);
  await waitFor('the restarted instance answers /readyz 200', 20_000, async () => (await fetch(`${restarted.url}/readyz`)).status === 200);
  const readyAt = Date.now();
  await waitFor('HAProxy has the restarted server UP', 20_000, async () => (await serverStats(socketPath, proxies)).get(names[VICTIM]!)?.status === 'UP');
  const s2 = await serverStats(socketPath, proxies);
  const rejoinedDuringLoad = !loadOver;
  console.log(`t+${seconds(loadStart)} s: ${names[VICTIM]} (pid ${restarted.child.pid}) ready after ${seconds(stoppedAt)} s, UP in HAProxy ${seconds(readyAt)} s after its /readyz said 200`);

  const result = await loadDone;
  const lags = await lag.stop();
  const s3 = await serverStats(socketPath, proxies);
  const served = await Promise.all(instances.map((instance) => apiRequestsServed(instance!.url, metricsToken).catch(() => -1)));
  console.log(`load over after ${seconds(loadStart)} s; waiting for Redis and PostgreSQL to agree …`);
  const report = await settledConsistency(redis, db, prefix);
  const s4 = await serverStats(socketPath, proxies);

  // Per instance: HAProxy's counters in each phase, and the process's own count.
  const delta = (to: Map<string, ServerStats>, from: Map<string, ServerStats>, name: string) => (to.get(name)?.requests ?? 0) - (from.get(name)?.requests ?? 0);
  console.log('');
  console.log('requests per instance: HAProxy `show stat` per phase (registration excluded); errors, retried (wretr: another attempt) and');
  console.log('redispatched (wredis: moved away from this server) as HAProxy counts them; /metrics: API requests the current process served;');
  console.log('/healthz: the slowest answer to a probe every 500 ms (event-loop delay)');
  const rows = [['instance', 'port', `before SIGTERM`, 'SIGTERM→UP', 'after rejoin', 'total', '5xx', 'conn errors', 'resp errors', 'retried', 'redispatched', 'went DOWN', '/metrics', 'worst /healthz ms', '/healthz > 1 s']];
  for (const [i, name] of names.entries()) {
    const end = s4.get(name)!;
    const start = s0.get(name)!;
    rows.push([
      name + (i === VICTIM ? ' (restarted)' : ''),
      String(ports[i]),
      String(delta(s1, s0, name)),
      String(delta(s2, s1, name)),
      String(delta(s4, s2, name)),
      String(delta(s4, s0, name)),
      String(end.fiveHundreds - start.fiveHundreds),
      String(end.connErrors - start.connErrors),
      String(end.respErrors - start.respErrors),
      String(end.retries - start.retries),
      String(end.redispatches - start.redispatches),
      String(end.downs - start.downs),
      String(served[i]),
      String(lags.worst[i] ?? '-'),
      String(lags.slow[i] ?? 0),
    ]);
  }
  table(rows);
  printHaproxySummary(s4, requestLogs);
  for (const event of events) console.log(`  ${event}`);
  if (process.env.LB_LOG_DIR) {
    // For a closer look: each process's output (the tail the helpers keep) and HAProxy's events.
    mkdirSync(process.env.LB_LOG_DIR, { recursive: true });
    writeFileSync(join(process.env.LB_LOG_DIR, `${names[VICTIM]}-before-restart.log`), victim.output());
    for (const [i, instance] of instances.entries()) writeFileSync(join(process.env.LB_LOG_DIR, `${names[i]}.log`), instance!.output());
    writeFileSync(join(process.env.LB_LOG_DIR, 'haproxy.cfg'), readFileSync(configPath, 'utf8'));
    writeFileSync(join(process.env.LB_LOG_DIR, 'haproxy-events.log'), `${haproxy.events().join('\n')}\n`);
    writeFileSync(join(process.env.LB_LOG_DIR, 'haproxy-requests.log'), requestLogs.map((log) => JSON.stringify(log)).join('\n'));
  }
  console.log(`${names[VICTIM]} before the restart logged: ${logSummary(victim.output())}`);
  for (const [i, instance] of instances.entries()) console.log(`${names[i]}${i === VICTIM ? ' (after the restart)' : ''} logged: ${logSummary(instance!.output())}`);

  const byStatus = Object.fromEntries([...load.statuses].sort(([a], [b]) => a - b));
  console.log(`clients: requests ${result.requests.total} (${Math.round(result.requests.average)} req/s), errors ${result.errors}, timeouts ${result.timeouts}; latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; by status ${JSON.stringify(byStatus)}`);
  for (const error of clientErrors.slice(0, 10)) console.log(`  ✗ ${error}`);
  console.log(`consistency: ${report.liveRows} live rows, ${report.indexedSessions} indexed sessions, ${report.problems.length} problem(s)`);
  for (const problem of report.problems) console.log(`  ✗ ${problem}`);

  // The instances stop with the test; their exit codes belong to the verdict.
  const finalCodes = await cleanUp();
  const fiveHundreds = fiveHundredsIn(load.statuses);
  const failed = result.errors + result.timeouts;
  const afterRejoin = delta(s4, s2, names[VICTIM]!);
  const checks: Array<[string, string, string, boolean]> = [
    ['5xx responses seen by clients', String(fiveHundreds), '0', fiveHundreds === 0],
    ['failed requests (errors + timeouts)', `${result.errors} + ${result.timeouts}`, '0', failed === 0],
    ['successful (200) responses', String(load.statuses.get(200) ?? 0), '> 0', (load.statuses.get(200) ?? 0) > 0],
    [`${names[VICTIM]} exit code on SIGTERM`, describeStop(victimStop), '0', !victimStop.killed && victimStop.code === 0],
    [`${names[VICTIM]} rejoined while the load ran`, rejoinedDuringLoad ? 'yes' : 'no', 'yes', rejoinedDuringLoad],
    [`${names[VICTIM]} requests after rejoin`, String(afterRejoin), '> 0', afterRejoin > 0],
    ['every instance served requests', names.map((name) => String(delta(s4, s0, name))).join(' / '), '> 0 each', names.every((name) => delta(s4, s0, name) > 0)],
    ['consistency problems', String(report.problems.length), '0', report.problems.length === 0],
    ['exit codes at the end (SIGTERM)', finalCodes.map(describeStop).join(', '), '0 each', finalCodes.every((stopped) => !stopped.killed && stopped.code === 0)],
  ];
  console.log('');
  table([['check', 'measured', 'required', 'result'], ...checks.map(([name, value, required, ok]) => [name, value, required, ok ? 'ok' : 'FAILED'])]);
  const ok = checks.every(([, , , passed]) => passed);
  console.log(ok ? `lb test passed (${seconds()} s)` : `lb test FAILED (${seconds()} s)`);
  exitCode = ok ? 0 : 1;
} catch (err) {
  console.error(err);
  for (const [i, instance] of instances.entries()) if (instance) console.error(`--- app${i + 1} output (tail) ---\n${instance.output().slice(-4_000)}`);
  for (const event of haproxy?.events().slice(-30) ?? []) console.error(`haproxy: ${event}`);
} finally {
  await cleanUp().catch((err) => console.error('clean-up failed:', err));
}
process.exit(exitCode);
