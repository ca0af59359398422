// One load window with autocannon, reduced to the numbers the report uses.
import autocannon from 'autocannon';
import type { LoadSample } from './results.ts';

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Fixed total request rate; unset drives the server as hard as it goes. */
  overallRatePerSecond?: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadSample> {
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
  return {
    rps: ok / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: ok,
    // `errors` already includes timeouts.
    failures: result.non2xx + result.errors,
    seconds,
  };
}
