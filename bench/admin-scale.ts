// Admin at scale (issue 4): the /admin/sessions summary with 1,000,000 sessions, and revoking
// 10,000 sessions of one user. Runs against a dedicated redis-server (started here, on a free
// port, nothing persisted) and its own PostgreSQL database, both removed at the end.
//   npx tsx bench/admin-scale.ts            1,000,000 sessions
//   BENCH_QUICK=1 npx tsx bench/admin-scale.ts   100,000 sessions
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import request from 'supertest';
import { freePort } from '../scripts/lib/server-process.ts';
import { BASE_DATABASE_URL, databaseUrl as benchDatabaseUrl } from './postgres.ts';
import { createApp } from '../src/app.ts';
import { readSummary } from '../src/admin/analytics.ts';
import { setRole } from '../src/admin/roles.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/migrations.ts';
import { connectRedis, createRedisClient } from '../src/redis.ts';
import { hashSessionId, newHandle, type SessionAuth } from '../src/sessions/session-data.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const SESSIONS = Number(process.env.BENCH_ADMIN_SESSIONS ?? (QUICK ? 100_000 : 1_000_000));
const SESSIONS_PER_USER = 5;
const REVOKE_COUNT = 10_000;
const SAMPLES = 30;
/** Bounded, so Redis answers every put promptly while the summary is sampled. */
const CONCURRENT_PUTS = 200;
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = spawn('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      probe.on('exit', (code) => resolve(code === 0));
    });
    if (ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('redis-server did not start');
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95), max: sorted.at(-1)! };
}

async function time<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

const redisPort = await freePort();
const redisServer = await startRedis(redisPort);
const databaseUrl = benchDatabaseUrl(BASE_DATABASE_URL, `rsa_bench_admin_${randomBytes(4).toString('hex')}`);
await ensureDatabase(databaseUrl);
await applyMigrations(databaseUrl);

const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '1000000' });
const logger = createLogger('silent');
const redis = createRedisClient(config, logger);
await connectRedis(redis, config.redis, 5_000);
const db = createDb(databaseUrl);
const built = createApp({ config, redis, db, logger });
const { cache, lifetime, store } = built.sessions;

/** Writes a session through the same Redis script a sign-in uses (the row is bulk-inserted). */
async function putSession(userId: string, nowMs: number): Promise<{ hash: string; handle: string }> {
  const hash = hashSessionId(randomBytes(24).toString('base64url'));
  // Last used at any time within the idle timeout, so the expiries (and the summary's
  // per-minute counters) spread over a whole idle window, as in a real deployment.
  // (An hour of margin: none may expire while the run lasts.)
  const lastSeenAt = nowMs - Math.floor(Math.random() * Math.max(0, lifetime.idleMs - 3_600_000));
  const auth: SessionAuth = {
    user: { id: userId, email: `${userId}@bench.test`, name: null, role: 'user' },
    handle: newHandle(),
    createdAt: lastSeenAt,
    lastSeenAt,
    absoluteExpiresAt: lastSeenAt + lifetime.ttlMs,
    ip: '127.0.0.1',
    userAgent: UA,
    authenticatedAt: lastSeenAt,
    remember: true,
  };
  const value = store.serializer.stringify({ cookie: { originalMaxAge: lifetime.ttlMs, expires: new Date(auth.absoluteExpiresAt), httpOnly: true, path: '/', sameSite: 'lax', secure: false } as never, auth });
  await cache.put(hash, value, 'write', { userId, expiresAtMs: Math.min(auth.absoluteExpiresAt, lastSeenAt + lifetime.idleMs), nowMs, indexTtlMs: lifetime.ttlMs });
  return { hash, handle: auth.handle };
}

async function populate(userIds: string[], perUser: number): Promise<Array<{ hash: string; handle: string; userId: string }>> {
  const out: Array<{ hash: string; handle: string; userId: string }> = [];
  const jobs = userIds.flatMap((userId) => Array.from({ length: perUser }, () => userId));
  for (let i = 0; i < jobs.length; i += CONCURRENT_PUTS) {
    const batch = jobs.slice(i, i + CONCURRENT_PUTS);
    const results = await Promise.all(batch.map((userId) => putSession(userId, Date.now())));
    results.forEach((r, j) => out.push({ ...r, userId: batch[j]! }));
  }
  return out;
}

/** Rows for the given sessions, in one INSERT … SELECT unnest per 50,000. */
async function insertRows(sessions: Array<{ hash: string; handle: string; userId: string }>) {
  for (let i = 0; i < sessions.length; i += 50_000) {
    const batch = sessions.slice(i, i + 50_000);
    await db.$executeRaw`
      INSERT INTO "Session" ("idHash", handle, "userId", "createdAt", "lastSeenAt", "expiresAt", "absoluteExpiresAt", ip, "userAgent", "deviceType", data)
      SELECT h, hd, u::uuid, now(), now(), now() + interval '1 day', now() + interval '7 days', '127.0.0.1', ${UA}, 'desktop', '{}'::jsonb
      FROM unnest(${batch.map((s) => s.hash)}::text[], ${batch.map((s) => s.handle)}::text[], ${batch.map((s) => s.userId)}::text[]) AS t(h, hd, u)`;
  }
}

async function createUsers(count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (let i = 0; i < ids.length; i += 50_000) {
    const batch = ids.slice(i, i + 50_000);
    await db.$executeRaw`
      INSERT INTO "User" (id, email, "passwordHash", "updatedAt")
      SELECT u::uuid, u || '@bench.test', 'x', now() FROM unnest(${batch}::text[]) AS t(u)`;
  }
  return ids;
}

const results: Record<string, unknown> = { sessions: SESSIONS, quick: QUICK, at: new Date().toISOString() };
try {
  console.log(`populating ${SESSIONS.toLocaleString('en')} sessions (${SESSIONS / SESSIONS_PER_USER} users) …`);
  const [populateMs] = await time(async () => {
    const users = await createUsers(SESSIONS / SESSIONS_PER_USER);
    await insertRows(await populate(users, SESSIONS_PER_USER));
  });
  await db.$executeRawUnsafe('ANALYZE "Session"');
  results.populateSeconds = Math.round(populateMs / 100) / 10;

  // An admin, signed in through the API like any operator.
  const agent = request.agent(built.app);
  await agent.post('/api/auth/register').send({ email: 'admin@bench.test', password: 'bench password' });
  await setRole(db, built.sessions.revoker, 'admin@bench.test', 'admin');
  await agent.post('/api/auth/login').send({ email: 'admin@bench.test', password: 'bench password' });

  const summaryMs: number[] = [];
  const pageMs: number[] = [];
  let summary;
  for (let i = 0; i < SAMPLES; i++) {
    const [ms, value] = await time(() => readSummary({ redis: built.sessions.redis, db, cache, activity: built.activity, now: Date.now }));
    summaryMs.push(ms);
    summary = value;
    const [pageTime, res] = await time(() => agent.get('/admin/sessions').set('Accept', 'application/json'));
    if (res.status !== 200) throw new Error(`GET /admin/sessions: ${res.status}`);
    pageMs.push(pageTime);
  }
  // The counters must have counted every session written (plus the admin's own) exactly once.
  const users = SESSIONS / SESSIONS_PER_USER + 1;
  if (summary!.activeSessions !== SESSIONS + 1 || summary!.activeUsers !== users) {
    throw new Error(`summary counts ${summary!.activeSessions} sessions / ${summary!.activeUsers} users, expected ${SESSIONS + 1} / ${users}`);
  }
  results.summary = { ...stats(summaryMs), activeSessions: summary!.activeSessions, activeUsers: summary!.activeUsers };
  results.adminSessionsPage = stats(pageMs);

  // One user with 10,000 sessions, revoked by the admin endpoint (Redis + rows + events).
  const [victim] = await createUsers(1);
  await insertRows(await populate([victim!], REVOKE_COUNT));
  const [revokeMs, res] = await time(() => agent.post(`/admin/users/${victim}/revoke-sessions`));
  results.revoke = { sessions: REVOKE_COUNT, ms: Math.round(revokeMs), answered: res.body };
  results.redisUsedMemoryBytes = summary!.redisMemoryBytes;

  const fmt = (n: number) => n.toFixed(1).padStart(8);
  const s = results.summary as ReturnType<typeof stats> & { activeSessions: number };
  const p = results.adminSessionsPage as ReturnType<typeof stats>;
  console.log(`\nadmin at scale (${SESSIONS.toLocaleString('en')} sessions; populated in ${results.populateSeconds} s)`);
  console.log('| measurement                                  |   median |      p95 |      max | target   |');
  console.log('| -------------------------------------------- | -------- | -------- | -------- | -------- |');
  console.log(`| summary (activeSessions ${String(s.activeSessions).padEnd(8)} …) ms       | ${fmt(s.median)} | ${fmt(s.p95)} | ${fmt(s.max)} | < 50 ms  |`);
  console.log(`| GET /admin/sessions JSON (summary + page) ms | ${fmt(p.median)} | ${fmt(p.p95)} | ${fmt(p.max)} |          |`);
  console.log(`| revoke ${REVOKE_COUNT.toLocaleString('en')} sessions of one user (HTTP) ms | ${fmt(revokeMs)} |          |          | < 1000 ms |`);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/admin-scale-${Date.now()}.json`;
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`\nwritten to ${file}`);
} finally {
  await built.close();
  await redis.close().catch(() => undefined);
  await db.$disconnect();
  await dropDatabase(databaseUrl);
  redisServer.kill('SIGTERM');
}
