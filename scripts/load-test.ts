// npm run load:test — a bounded load test on loopback: LOAD_CONNECTIONS clients (default 200)
// each cycling login → me ×5 → revoke-others → logout for LOAD_SECONDS (default 30) against a
// real server process with its own database and Redis prefix. Afterwards Redis and PostgreSQL
// must agree exactly (the consistency check) and no response may be a 5xx. Exit 0 only then.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/migrations.ts';
import { connectRedis, createRedisClient } from '../src/redis.ts';
import { checkConsistency } from '../src/sessions/consistency.ts';
import { SessionCache } from '../src/sessions/session-cache.ts';
import { startServerProcess } from './lib/server-process.ts';

const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 200);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
const ME_PER_CYCLE = 5;
const PASSWORD = 'load test password';
/** Between consistency checks while in-flight requests drain (the write-behind flushes every 5 s). */
const SETTLE_MS = 3_000;
const SETTLE_DEADLINE_MS = 60_000;

const run = randomBytes(3).toString('hex');
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/rsa_load_${run}`;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `rsa-load-${run}:`;

await ensureDatabase(databaseUrl);
await applyMigrations(databaseUrl, { quiet: true });
const server = await startServerProcess({
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  SESSION_SECRET: `load-test-secret-${run}-0123456789abcdef`,
  // Every client comes from 127.0.0.1: the per-IP limit, and the per-IP proof-of-work threshold
  // (which counts sign-ins in flight), would stop the test, not the product.
  RATE_LIMIT_MAX: '1000000',
  CHALLENGE_AFTER_IP_FAILURES: '0',
  LOG_LEVEL: 'warn',
});
const config = loadConfig({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' });
const redis = createRedisClient(config, createLogger('silent'));
await connectRedis(redis, config.redis, 5_000);
const db = createDb(databaseUrl);

const statuses = new Map<number, number>();
let exitCode = 1;
try {
  const emails = Array.from({ length: CONNECTIONS }, (_, i) => `load-${i}@load.test`);
  console.log(`registering ${CONNECTIONS} users …`);
  for (let i = 0; i < emails.length; i += 20) {
    await Promise.all(
      emails.slice(i, i + 20).map(async (email) => {
        const res = await fetch(`${server.url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
        if (res.status !== 201) throw new Error(`register ${email}: ${res.status}`);
      }),
    );
  }

  interface Client {
    email?: string;
    cookie?: string;
  }
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

  console.log(`${CONNECTIONS} clients for ${SECONDS} s: login → me ×${ME_PER_CYCLE} → revoke-others → logout`);
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req, context) => {
          const client = context as Client;
          // autocannon starts every cycle with a fresh context, so the accounts rotate over the
          // clients and two clients sometimes share one: a login racing the other client's
          // "sign out other devices" then loses (401, by design: SPEC §4b), and so do the
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
  });

  // autocannon stops sending at the deadline, but logins queued behind argon2 finish later: check
  // until the server has settled (a real inconsistency does not heal by itself).
  let report = await checkConsistency(redis, db, new SessionCache(redis, prefix));
  for (const deadline = Date.now() + SETTLE_DEADLINE_MS; report.problems.length > 0 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    report = await checkConsistency(redis, db, new SessionCache(redis, prefix));
  }
  const fiveHundreds = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);
  const byStatus = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
  console.log(`requests ${result.requests.total} (${Math.round(result.requests.average)} req/s), errors ${result.errors}, timeouts ${result.timeouts}`);
  console.log(`latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; by status ${JSON.stringify(byStatus)}`);
  console.log(`consistency: ${report.liveRows} live rows, ${report.indexedSessions} indexed sessions, ${report.problems.length} problem(s)`);
  for (const problem of report.problems) console.log(`  ✗ ${problem}`);
  const ok = fiveHundreds === 0 && result.errors === 0 && report.problems.length === 0 && (statuses.get(200) ?? 0) > 0;
  console.log(ok ? 'load test passed' : 'load test FAILED');
  exitCode = ok ? 0 : 1;
} finally {
  const code = await server.stop();
  if (code !== 0) {
    console.log(`server exited with ${code}`);
    exitCode = 1;
  }
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await redis.unlink(keys);
  await redis.close();
  await db.$disconnect();
  await dropDatabase(databaseUrl);
}
process.exit(exitCode);
