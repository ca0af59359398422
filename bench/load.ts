// One load window, reduced to the numbers the report uses. Closed-loop load (as many requests
// as the server answers) is wrk's: C, one thread, so it takes little of the CPU the server
// needs, where a generator written in Node (autocannon) would take about as much as the app
// and hide server-side cost. Only a fixed request rate, which wrk cannot do, is autocannon's.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { LoadSample } from './results.ts';

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Fixed total request rate (autocannon); unset drives the server as hard as it goes (wrk). */
  overallRatePerSecond?: number;
}

const WRK_THREADS = 1;
const WRK_TIMEOUT_SECONDS = 5;
const MARK = 'WRK_RESULT ';

/** Fails with the install line when wrk is not on the PATH (checked before anything starts). */
export function requireWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // `wrk --version` prints its usage and exits 1: only a missing binary is a failure.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('wrk is not installed: the benchmark drives its load with it (Debian: apt-get install -y wrk)');
    }
  }
}

const luaString = (value: string) => JSON.stringify(value); // a JSON string literal is a valid Lua one here

/** The request (method, body) and a `done` that prints the summary as one JSON line. */
function wrkScript(options: LoadOptions): string {
  return [
    `wrk.method = ${luaString(options.method ?? 'GET')}`,
    options.body === undefined ? '' : `wrk.body = ${luaString(options.body)}`,
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${MARK}{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n',`,
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
    '',
  ].join('\n');
}

interface WrkResult {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  /** Responses with a status of 400 or more (wrk's "Non-2xx or 3xx"). */
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  return JSON.parse(line.slice(MARK.length)) as WrkResult;
}

async function runWrk(options: LoadOptions): Promise<LoadSample> {
  const dir = await mkdtemp(join(tmpdir(), 'rsa-bench-wrk-'));
  try {
    const script = join(dir, 'request.lua');
    await writeFile(script, wrkScript(options));
    const headers = Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
    const args = ['-t', String(WRK_THREADS), '-c', String(options.connections), '-d', `${options.seconds}s`, '--timeout', `${WRK_TIMEOUT_SECONDS}s`, '-s', script, ...headers, options.url];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile('wrk', args, { timeout: (options.seconds + 30) * 1000 }, (err, out, stderr) => (err ? reject(new Error(`wrk failed: ${err.message}\n${stderr}`)) : resolve(out))),
    );
    const result = parseWrkOutput(stdout);
    const seconds = result.durationUs / 1e6;
    const ok = result.requests - result.status;
    return {
      rps: ok / seconds,
      p50Ms: result.p50Us / 1000,
      p99Ms: result.p99Us / 1000,
      requests: ok,
      failures: result.status + result.connect + result.read + result.write + result.timeout,
      seconds,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(options: LoadOptions): Promise<LoadSample> {
  const result = await autocannon({
    url: options.url,
    duration: options.seconds,
    connections: options.connections,
    method: options.method ?? 'GET',
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body ? { body: options.body } : {}),
    ...(options.overallRatePerSecond ? { overallRate: options.overallRatePerSecond } : {}),
  });
  const seconds = result.duration;
  const ok = result['2xx'];
  // `errors` already includes timeouts.
  return { rps: ok / seconds, p50Ms: result.latency.p50, p99Ms: result.latency.p99, requests: ok, failures: result.non2xx + result.errors, seconds };
}

export function runLoad(options: LoadOptions): Promise<LoadSample> {
  return options.overallRatePerSecond ? runAutocannon(options) : runWrk(options);
}
