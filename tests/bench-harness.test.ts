// The benchmark harness's pure pieces (npm run bench): counting, ratios, targets and the report.
// No timing is asserted anywhere: these run on made-up numbers.
import { describe, expect, it } from 'vitest';
import { frameOwner, profileShares } from '../bench/cpu-profile.ts';
import { parseWrkOutput } from '../bench/load.ts';
import { addCounts, commandDelta, parseCommandCalls, parseInfo, usedCpuSeconds, usedMemoryBytes } from '../bench/redis-info.ts';
import { capacityTable, evaluateTargets, markdownTable, renderReport, summarizeApp } from '../bench/report.ts';
import { APP_KEYS, type AppKey, type AppResult, type BenchResults, type LoadSample } from '../bench/results.ts';
import { benchSettings } from '../bench/settings.ts';
import { median, perRequest, ratio } from '../bench/stats.ts';
import { forEachConcurrently } from '../bench/store-measurements.ts';

const COMMANDSTATS_BEFORE = [
  '# Commandstats',
  'cmdstat_get:calls=100,usec=250,usec_per_call=2.50,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=7,usec=700,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  'cmdstat_evalsha:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');
const COMMANDSTATS_AFTER = [
  '# Commandstats',
  'cmdstat_get:calls=1100,usec=2750,usec_per_call=2.50,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=9,usec=900,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  'cmdstat_evalsha:calls=5,usec=150,usec_per_call=30.00,rejected_calls=0,failed_calls=0',
  'cmdstat_expire:calls=1000,usec=1000,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

function sample(rps: number, extra: Partial<LoadSample> = {}): LoadSample {
  return { rps, p50Ms: 2, p99Ms: 8, requests: rps * 10, failures: 0, seconds: 10, cpuMicrosPerRequest: 1_000_000 / rps, ...extra };
}

function app(key: AppKey, rpsRounds: number[], extra: Partial<AppResult> = {}): AppResult {
  return { key, samples: rpsRounds.map((rps) => sample(rps)), pgTransactions: null, pgRequests: 0, redisCommands: null, redisRequests: 0, ...extra };
}

function results(overrides: Partial<BenchResults['other']> = {}): BenchResults {
  return {
    startedAt: '2026-11-28T12:00:00.000Z',
    durationSeconds: 300,
    settings: benchSettings({}),
    machine: { node: 'v20.20.2', cpus: 2, platform: 'linux-x64' },
    git: { commit: 'abc1234', dirty: false },
    apps: [
      app('product', [9000, 8000, 8500], { pgTransactions: 5, pgRequests: 100_000, redisCommands: { get: 30_000, evalsha: 30 }, redisRequests: 30_000 }),
      app('bare', [15_000, 15_500, 14_800]),
      app('memoryStore', [9000, 9100, 8900]),
      app('connectRedis', [9500, 9600, 9400], { redisCommands: { get: 26_000, expire: 26_000 }, redisRequests: 26_000 }),
      app('pgSimple', [2600, 2500, 2700], { pgTransactions: 200_000, pgRequests: 100_000 }),
      app('seed', [3500, 3600, 3400], { pgTransactions: 100_000, pgRequests: 100_000, redisCommands: { get: 10_000 }, redisRequests: 10_000 }),
    ],
    other: {
      memory: { sessions: 50_000, sessionsPerUser: 1, productBytesPerSession: 700, plainBytesPerSession: 600 },
      revoke: { sessions: 10_000, ms: 420 },
      logins: { perSecond: 40, connections: 8, failures: 0, cpuMicrosPerLogin: 40_000 },
      postgres: { sessions: 50_000, bytesPerSession: 1048.576 },
      argon2: { parameters: 'argon2id m=19456 KiB, t=2, p=1', maxConcurrent: 2, verifyPerSecond: 45 },
      storm: { meRatePerSecond: 2000, meConnections: 16, loginConnections: 8, aloneP99Ms: [4, 5, 6], stormP99Ms: [10, 40, 16], stormLoginsPerSecond: [30], failures: 0 },
      adminSummary: { command: 'npx tsx bench/admin-scale.ts', latest: null },
      ...overrides,
    },
  };
}

describe('stats', () => {
  it('median of odd and even counts, and NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('ratio and perRequest refuse missing or non-positive denominators', () => {
    expect(ratio(9, 10)).toBeCloseTo(0.9);
    expect(ratio(9, 0)).toBeNull();
    expect(ratio(undefined, 10)).toBeNull();
    expect(ratio(5, Number.NaN)).toBeNull();
    expect(perRequest(3, 1000)).toBeCloseTo(0.003);
    expect(perRequest(3, 0)).toBeNull();
  });

  it('forEachConcurrently runs every index once with at most the given number in flight', async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let peak = 0;
    await forEachConcurrently(25, 4, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(i);
      inFlight--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(peak).toBe(4);
  });
});

describe('Redis INFO counting', () => {
  it('reads calls per command and leaves the observer\'s own INFO calls out of a delta', () => {
    const before = parseCommandCalls(COMMANDSTATS_BEFORE);
    expect(before.get('get')).toBe(100);
    const delta = commandDelta(before, parseCommandCalls(COMMANDSTATS_AFTER));
    expect(Object.fromEntries(delta)).toEqual({ get: 1000, evalsha: 2, expire: 1000 });
  });

  it('adds counts across windows and reads used_memory', () => {
    const total = addCounts(new Map([['get', 5]]), new Map([['get', 2], ['expire', 1]]));
    expect(Object.fromEntries(total)).toEqual({ get: 7, expire: 1 });
    expect(usedMemoryBytes('# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n')).toBe(1_048_576);
    expect(() => usedMemoryBytes('# Memory\r\n')).toThrow(/used_memory/);
    expect(parseInfo('# Server\r\nredis_version:7.0.15\r\n').get('redis_version')).toBe('7.0.15');
  });
});

describe('report', () => {
  it('summarizes an app: medians over rounds, commands and transactions per request', () => {
    const product = summarizeApp(results().apps[0]!);
    expect(product.rpsMedian).toBe(8500);
    expect([product.rpsMin, product.rpsMax]).toEqual([8000, 9000]);
    expect(product.pgTransactionsPerRequest).toBeCloseTo(0.00005);
    expect(product.redisCommandsPerRequest).toBeCloseTo(1.001);
    expect(product.redisBreakdown[0]).toEqual(['get', 1]);
    expect(summarizeApp(results().apps[1]!).redisCommandsPerRequest).toBeNull();
  });

  it('evaluates every target (issues 8 and 16) from the medians, with the CPU-time ratio beside throughput', () => {
    const targets = evaluateTargets(results().apps.map(summarizeApp), results().other);
    const byName = (part: string) => targets.find((t) => t.name.includes(part))!;
    expect(targets).toHaveLength(8);
    expect(byName('MemoryStore')).toMatchObject({ status: 'fail', limit: '≥ 0.95×', shown: '0.94×', byCpu: '0.94×' }); // 8500 / 9000
    expect(byName('connect-redis')).toMatchObject({ status: 'fail', limit: '≥ 1×', shown: '0.89×' }); // 8500 / 9500
    expect(byName('seed design')).toMatchObject({ status: 'fail', shown: '2.43×', ceiling: '2.57×' }); // 8500 / 3500; 9000 / 3500
    expect(byName('connect-pg-simple')).toMatchObject({ status: 'pass', shown: '3.27×' }); // 8500 / 2600
    expect(byName('PostgreSQL transactions')).toMatchObject({ status: 'pass', shown: '0.0001' }); // 5 / 100,000
    expect(byName('Redis commands')).toMatchObject({ status: 'pass', shown: '1.001' });
    expect(byName('Redis bytes')).toMatchObject({ status: 'pass', shown: '1.17×' }); // 700 / 600
    expect(byName('login storm')).toMatchObject({ status: 'fail', shown: '3.20×' }); // median 16 / median 5
  });

  it('reports a target it could not measure as not measured, not as a pass', () => {
    const targets = evaluateTargets(results().apps.map(summarizeApp), results({ memory: null, storm: null }).other);
    expect(targets.filter((t) => t.status === 'not measured').map((t) => t.name)).toEqual([
      'Redis bytes per session vs plain connect-redis',
      'p99 of GET /api/auth/me during a login storm vs without',
    ]);
  });

  it('prints the table, the targets, and the admin summary only from the admin script\'s saved result', () => {
    const text = renderReport(results());
    expect(text).toMatch(/admin summary — not this run: `npx tsx bench\/admin-scale.ts` +\| +no saved result/);
    const saved = { file: 'bench/results/admin-scale-1.json', at: '2026-11-28T12:00:00.000Z', sessions: 1_000_000, medianMs: 12.34, p95Ms: 20 };
    expect(renderReport(results({ adminSummary: { command: 'npx tsx bench/admin-scale.ts', latest: saved } }))).toContain(
      'admin summary over 1,000,000 sessions, median (p95) — not this run',
    );
    expect(text).toContain('| product (redis-session-auth)');
    expect(text).toMatch(/\| express-session \+ MemoryStore +\| +9,000 \|/);
    expect(text).toMatch(/GET \/api\/auth\/me vs seed design .*\| FAIL/);
    expect(text).toContain('get 1.000, evalsha 0.001');
  });

  it('states capacity per vCPU from CPU time and memory per 100,000 sessions', () => {
    const r = results();
    r.apps[0]!.samples.forEach((s) => (s.redisCpuMicrosPerRequest = 25));
    const table = capacityTable(r.apps.map(summarizeApp), r.other);
    // product: 1,000,000 / 8500 µs per request (made-up rps → CPU), Redis 25 µs
    expect(table).toMatch(/GET \/api\/auth\/me per vCPU of the product process +\| +8,500 \|/);
    expect(table).toMatch(/per vCPU of Redis +\| +40,000 \|/);
    expect(table).toMatch(/logins\/s per vCPU .*\| +25\.0 \|/); // 1,000,000 / 40,000 µs
    expect(table).toMatch(/Redis memory per 100,000 sessions .*\| +66\.8 MiB \|/); // 700 B × 100,000
    expect(table).toMatch(/PostgreSQL per 100,000 sessions .*\| +100\.0 MiB \|/);
    expect(renderReport(r)).toContain('Production mode: every app runs with NODE_ENV=production');
  });

  it('reads wrk\'s summary line and redis-server CPU time', () => {
    const out = 'Running 3s test\nWRK_RESULT {"requests":3000,"durationUs":3000000,"connect":0,"read":1,"write":0,"status":2,"timeout":0,"p50Us":1500,"p99Us":9000}\n';
    expect(parseWrkOutput(out)).toMatchObject({ requests: 3000, status: 2, p99Us: 9000 });
    expect(() => parseWrkOutput('nothing')).toThrow(/no summary/);
    expect(usedCpuSeconds('# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\n')).toBeCloseTo(3.75);
  });

  it('pads markdown tables to column widths and right-aligns numbers', () => {
    expect(markdownTable(['name', 'n'], [['a', '1'], ['bbbb', '22']], [false, true])).toBe(
      ['| name |   n |', '| ---- | --: |', '| a    |   1 |', '| bbbb |  22 |'].join('\n'),
    );
  });
});

describe('settings and profiles', () => {
  it('BENCH_QUICK=1 runs fewer, shorter rounds and fewer sessions than the full run', () => {
    const full = benchSettings({});
    const quick = benchSettings({ BENCH_QUICK: '1' });
    expect(full.quick).toBe(false);
    expect(full.mode).toBe('production');
    expect(benchSettings({ BENCH_MODE: 'development' }).mode).toBe('development');
    expect(() => benchSettings({ BENCH_MODE: 'staging' })).toThrow(/BENCH_MODE/);
    expect(quick.quick).toBe(true);
    expect(benchSettings({ BENCH_QUICK: '0' }).quick).toBe(false);
    expect(quick.rounds * quick.windowSeconds).toBeLessThan(full.rounds * full.windowSeconds);
    expect(quick.memorySessions).toBeLessThan(full.memorySessions);
    expect(full.memorySessions).toBe(50_000);
    expect(full.revokeSessions).toBe(10_000);
  });

  it('attributes profile samples to packages, project files and Node modules, idle left out', () => {
    expect(frameOwner('file:///app/node_modules/express-session/index.js', 'session')).toBe('express-session');
    expect(frameOwner('file:///app/node_modules/@redis/client/dist/index.js', 'x')).toBe('@redis/client');
    expect(frameOwner('file:///app/src/sessions/mirrored-store.ts', 'get')).toBe('src/sessions/mirrored-store.ts');
    expect(frameOwner('node:_http_server', 'writeHead')).toBe('node:_http_server');
    expect(frameOwner('', '(garbage collector)')).toBe('(garbage collector)');
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const shares = profileShares({
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
        { id: 2, callFrame: frame('session', 'file:///app/node_modules/express-session/index.js'), children: [3] },
        { id: 3, callFrame: frame('hash', 'node:internal/crypto/hash') },
        { id: 4, callFrame: frame('(idle)', '') },
      ],
      samples: [3, 3, 2, 4, 4],
    });
    expect(shares.samples).toBe(3);
    expect(shares.onStack.get('express-session')).toBe(3);
    expect(shares.self.get('node:internal/crypto/hash')).toBe(2);
  });
});
