// What lb:test reads while it runs: HAProxy's per-server counters, each instance's own request
// count and warnings, the lag of its event loop; and the tables it prints.
import { showStat, type RequestLog, type StatRow } from './haproxy.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServerStats {
  requests: number;
  fiveHundreds: number;
  connErrors: number;
  respErrors: number;
  retries: number;
  redispatches: number;
  status: string;
  downs: number;
}
export const num = (row: StatRow | undefined, field: string) => Number(row?.[field] || 0);
export async function serverStats(socketPath: string, proxies: { frontend: string; backend: string }): Promise<Map<string, ServerStats> & { frontend?: StatRow; backend?: StatRow }> {
  const rows = await showStat(socketPath);
  const byName = new Map<string, ServerStats>() as Map<string, ServerStats> & { frontend?: StatRow; backend?: StatRow };
  for (const row of rows) {
    if (row.pxname === proxies.frontend && row.svname === 'FRONTEND') byName.frontend = row;
    if (row.pxname !== proxies.backend) continue;
    if (row.svname === 'BACKEND') byName.backend = row;
    else
      byName.set(row.svname!, {
        requests: num(row, 'stot'),
        fiveHundreds: num(row, 'hrsp_5xx'),
        connErrors: num(row, 'econ'),
        respErrors: num(row, 'eresp'),
        retries: num(row, 'wretr'),
        redispatches: num(row, 'wredis'),
        status: row.status ?? '?',
        downs: num(row, 'chkdown'),
      });
  }
  return byName;
}

export async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition().catch(() => false)); ) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The instance's own count of API requests (its /metrics), since that process started. */
export async function apiRequestsServed(url: string, metricsToken: string): Promise<number> {
  const text = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } }).then((res) => (res.ok ? res.text() : ''));
  let total = 0;
  for (const match of text.matchAll(/^http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm)) if (/route="\/api\//.test(match[1]!)) total += Number(match[2]);
  return total;
}

/** The instance's log lines at warn or above (LOG_LEVEL=warn: all it kept), counted by message. */
export function logSummary(output: string): string {
  const counts = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 40) counts.set(String(entry.msg), (counts.get(String(entry.msg)) ?? 0) + 1);
    } catch {
      // not a log line
    }
  }
  return [...counts].map(([msg, n]) => `${n}× ${msg}`).join('; ') || 'none';
}

/**
 * Every 500 ms, how long each instance takes to answer /healthz (which checks nothing): the lag of
 * its event loop, which is what makes health checks time out and Redis answers look late.
 */
export function startLagProbe(targets: () => Array<string | undefined>) {
  const worst: number[] = [];
  const slow: number[] = [];
  let running = true;
  const probe = async (i: number) => {
    while (running) {
      const url = targets()[i];
      const started = Date.now();
      const ok = url ? await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(20_000) }).then((res) => res.ok, () => false) : false;
      if (ok) {
        const ms = Date.now() - started;
        worst[i] = Math.max(worst[i] ?? 0, ms);
        if (ms > 1_000) slow[i] = (slow[i] ?? 0) + 1;
      }
      await sleep(500);
    }
  };
  const probes = targets().map((_, i) => probe(i));
  return {
    stop: async () => {
      running = false;
      await Promise.all(probes);
      return { worst, slow };
    },
  };
}

export const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
};

/** HAProxy's own totals, and the load requests its log shows retried or not ended normally. */
export function printHaproxySummary(stats: Map<string, ServerStats> & { frontend?: StatRow; backend?: StatRow }, requestLogs: RequestLog[]): void {
  const backend = stats.backend;
  const frontend = stats.frontend;
  const loadLogs = requestLogs.filter((log) => log.uri.startsWith('/api/') && !log.uri.startsWith('/api/auth/register'));
  const retried = loadLogs.filter((log) => log.retries > 0);
  const unusual = loadLogs.filter((log) => log.termination !== '----' || log.status >= 500 || log.status < 0);
  console.log(
    `HAProxy: frontend ${num(frontend, 'req_tot')} requests, ${num(frontend, 'hrsp_5xx')} 5xx; backend ${num(backend, 'wretr')} retries, ${num(backend, 'wredis')} redispatches, ${num(backend, 'econ')} connection errors, ${num(backend, 'eresp')} response errors, ${num(backend, 'cli_abrt')} client aborts`,
  );
  console.log(`HAProxy log: ${loadLogs.length} load requests logged, ${retried.length} of them retried (${retried.filter((log) => log.redispatched).length} redispatched), ${unusual.length} not ended normally`);
  for (const log of retried.slice(0, 10)) console.log(`  retried: ${log.method} ${log.uri} → ${log.server} ${log.status} after ${log.retries} retr${log.retries === 1 ? 'y' : 'ies'}${log.redispatched ? ' (redispatched)' : ''}, ${log.ms} ms, ${log.termination}`);
  const unusualByKind = new Map<string, number>();
  for (const log of unusual) unusualByKind.set(`${log.termination} ${log.status}`, (unusualByKind.get(`${log.termination} ${log.status}`) ?? 0) + 1);
  for (const [kind, n] of unusualByKind) console.log(`  ended ${kind}: ${n}${kind.startsWith('C') ? ' (client aborts: autocannon closing its connections at the deadline)' : ''}`);
}
