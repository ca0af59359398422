// The load test's traffic, shared by `npm run load:test` (one server) and `npm run lb:test`
// (three behind HAProxy): clients each cycling login → me ×5 → revoke-others → logout, every
// status counted; and the consistency check repeated until the servers have settled.
import autocannon from 'autocannon';
import type { Db } from '../../src/db.ts';
import type { RedisClient } from '../../src/redis.ts';
import { checkConsistency, type ConsistencyReport } from '../../src/sessions/consistency.ts';
import { SessionCache } from '../../src/sessions/session-cache.ts';

export const ME_PER_CYCLE = 5;
export const PASSWORD = 'load test password';
/** Between consistency checks while in-flight requests drain (the write-behind flushes every 5 s). */
const SETTLE_MS = 3_000;
const SETTLE_DEADLINE_MS = 60_000;

export const loadEmails = (count: number): string[] => Array.from({ length: count }, (_, i) => `load-${i}@load.test`);

/** Registers every account, 20 at a time; any answer but 201 throws. */
export async function registerUsers(url: string, emails: string[]): Promise<void> {
  for (let i = 0; i < emails.length; i += 20) {
    await Promise.all(
      emails.slice(i, i + 20).map(async (email) => {
        const res = await fetch(`${url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
        if (res.status !== 201) throw new Error(`register ${email}: ${res.status}`);
      }),
    );
  }
}

export interface LoginCyclesOptions {
  url: string;
  connections: number;
  seconds: number;
  emails: string[];
  /** Seconds before autocannon counts a request as timed out (and as an error). */
  timeoutSeconds?: number;
  /** At most this many requests per second over all clients (autocannon's overallRate; none by default). */
  overallRate?: number;
}

export interface LoginCycles {
  /** The running autocannon instance (its `reqError` events name each failed request). */
  instance: autocannon.Instance;
  /** Responses by status code, filled in as they arrive. */
  statuses: Map<number, number>;
  done: Promise<autocannon.Result>;
}

interface Client {
  email?: string;
  cookie?: string;
}

export function startLoginCycles({ url, connections, seconds, emails, timeoutSeconds = 30, overallRate }: LoginCyclesOptions): LoginCycles {
  const statuses = new Map<number, number>();
  let nextUser = 0;
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const withCookie = (req: autocannon.Request, context: object) => {
    const client = context as Client;
    return { ...req, headers: { ...req.headers, cookie: client.cookie ?? '' } };
  };
  const remember = (status: number, _body: string, context: object, headers: Record<string, unknown>) => {
    count(status);
    // Raw header names, as the server wrote them.
    const setCookie = Object.entries(headers).find(([name]) => name.toLowerCase() === 'set-cookie')?.[1];
    const line = Array.isArray(setCookie) ? String(setCookie[0]) : typeof setCookie === 'string' ? setCookie : '';
    if (line.startsWith('sid=s%3A')) (context as Client).cookie = line.split(';')[0];
  };
  const tally = (status: number) => count(status);

  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        timeout: timeoutSeconds,
        ...(overallRate ? { overallRate } : {}),
        requests: [
          {
            method: 'POST',
            path: '/api/auth/login',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req, context) => {
              const client = context as Client;
              // autocannon starts every cycle with a fresh context, so the accounts rotate over the
              // clients and two clients sometimes share one: a login racing the other client's
              // "sign out other devices" then loses (401, by design: README: How a session flows), and so do the
              // requests of that cycle.
              client.email ??= emails[nextUser++ % emails.length];
              return { ...req, body: JSON.stringify({ email: client.email, password: PASSWORD }) };
            },
            onResponse: remember as never,
          },
          ...Array.from({ length: ME_PER_CYCLE }, () => ({ method: 'GET' as const, path: '/api/auth/me', setupRequest: withCookie, onResponse: tally })),
          { method: 'POST', path: '/api/sessions/revoke-others', setupRequest: withCookie, onResponse: tally },
          { method: 'POST', path: '/api/auth/logout', setupRequest: withCookie, onResponse: tally },
        ],
      },
      (err: unknown, result: autocannon.Result) => (err ? reject(err) : resolve(result)),
    );
  });
  return { instance, statuses, done };
}

export const fiveHundredsIn = (statuses: Map<number, number>): number => [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);

/**
 * autocannon stops sending at the deadline, but logins queued behind argon2 finish later: check
 * until the servers have settled (a real inconsistency does not heal by itself).
 */
export async function settledConsistency(redis: RedisClient, db: Db, prefix: string): Promise<ConsistencyReport> {
  let report = await checkConsistency(redis, db, new SessionCache(redis, prefix));
  for (const deadline = Date.now() + SETTLE_DEADLINE_MS; report.problems.length > 0 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    report = await checkConsistency(redis, db, new SessionCache(redis, prefix));
  }
  return report;
}
