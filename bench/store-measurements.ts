// Measurements made in this process through the product's own store code (createSessions):
// Redis bytes per session against plain connect-redis with the same data, PostgreSQL bytes
// per session row (the `Session` table with its TOAST and indexes), and the time to
// revoke every session of a user with many. Runs on the dedicated redis-server, each store in a
// logical database of its own (so each starts from an empty keyspace) and with the key prefix it
// ships with (`rsa:`, `sess:`), as deployed; PostgreSQL is a database of its own.
import { randomBytes } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { createClient } from 'redis';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb, type Db } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { connectRedis, createRedisClient } from '../src/redis.ts';
import type { Sessions } from '../src/sessions/index.ts';
import { markNewSession, newHandle } from '../src/sessions/session-data.ts';
// The product issues an id for its user (the user's bucket is in it); plain stores get random ones.
import { newSessionId as issueSessionId } from '../src/sessions/session-keys.ts';
import { usedMemoryBytes } from './redis-info.ts';
import type { MemoryResult } from './results.ts';

const PRODUCT_REDIS_DB = 1;
const PLAIN_REDIS_DB = 2;
const WRITE_CONCURRENCY = 16;
const REDIS_CONNECT_TIMEOUT_MS = 5_000;
/** Express-session ids are 24 random bytes, base64url. */
const SESSION_ID_BYTES = 24;

export interface StoreMeasurementInput {
  redisUrl: string;
  databaseUrl: string;
  /** A real signed-in session as the product stored it: every written session copies its shape. */
  template: SessionData;
  memorySessions: number;
  revokeSessions: number;
  log: (message: string) => void;
}

export interface StoreMeasurements {
  memory: MemoryResult;
  postgres: { sessions: number; bytesPerSession: number };
  revoke: { sessions: number; ms: number };
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight. */
export async function forEachConcurrently(count: number, concurrency: number, task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * The template's data for another user and handle; everything else (sizes included) alike.
 * Marked as new, as sign-in marks it, so the store inserts its row.
 */
export function sessionFor(template: SessionData, userId: string): SessionData {
  const auth = template.auth!;
  const session = { ...template, auth: { ...auth, user: { ...auth.user, id: userId }, handle: newHandle() } };
  markNewSession(session, 0); // bench users are created with credential version 0
  return session;
}

const newSessionId = () => randomBytes(SESSION_ID_BYTES).toString('base64url');

async function createUsers(db: Db, count: number, label: string): Promise<string[]> {
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    INSERT INTO "User" (id, email, "passwordHash", "updatedAt")
    SELECT gen_random_uuid(), ${label} || '-' || i || '@bench.example.test', 'not-a-hash', now()
    FROM generate_series(1, ${count}::int) AS i
    RETURNING id::text AS id`;
  return rows.map((row) => row.id);
}

async function memoryOf(read: () => Promise<string>): Promise<number> {
  return usedMemoryBytes(await read());
}

async function bytesPerSession(count: number, info: () => Promise<string>, write: (index: number) => Promise<unknown>): Promise<number> {
  const before = await memoryOf(info);
  await forEachConcurrently(count, WRITE_CONCURRENCY, write);
  return ((await memoryOf(info)) - before) / count;
}

/** Heap, TOAST and every index of the product's session table, in bytes. */
async function sessionTableBytes(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<Array<{ bytes: bigint }>>`SELECT pg_total_relation_size('"Session"') AS bytes`;
  return Number(row!.bytes);
}

async function measureMemory(input: StoreMeasurementInput, sessions: Sessions, db: Db, productInfo: () => Promise<string>): Promise<Omit<StoreMeasurements, 'revoke'>> {
  const { memorySessions: count, template } = input;
  // One session per user: every session pays for its own index key, the worst case.
  const userIds = await createUsers(db, count, 'memory');
  const data = userIds.map((id) => sessionFor(template, id));
  input.log(`writing ${count} sessions through the product's store`);
  const tableBefore = await sessionTableBytes(db);
  const productBytes = await bytesPerSession(count, productInfo, (i) => sessions.store.set(issueSessionId(data[i]!.auth!.user.id), data[i]!));
  const postgres = { sessions: count, bytesPerSession: ((await sessionTableBytes(db)) - tableBefore) / count };

  const plainClient = createClient({ url: input.redisUrl, database: PLAIN_REDIS_DB });
  await plainClient.connect();
  try {
    const plain = new RedisStore({ client: plainClient });
    input.log(`writing ${count} sessions through plain connect-redis`);
    const plainBytes = await bytesPerSession(count, () => plainClient.info('memory'), (i) => plain.set(newSessionId(), data[i]!));
    return { memory: { sessions: count, sessionsPerUser: 1, productBytesPerSession: productBytes, plainBytesPerSession: plainBytes }, postgres };
  } finally {
    await plainClient.close();
  }
}

async function measureRevoke(input: StoreMeasurementInput, sessions: Sessions, db: Db): Promise<{ sessions: number; ms: number }> {
  const count = input.revokeSessions;
  const [userId] = await createUsers(db, 1, 'revoke');
  input.log(`writing ${count} sessions of one user`);
  await forEachConcurrently(count, WRITE_CONCURRENCY, () => sessions.store.set(issueSessionId(userId!), sessionFor(input.template, userId!)));
  const started = performance.now();
  const { removed } = await sessions.revoker.revokeAllForUser(userId!, null);
  const ms = performance.now() - started;
  if (removed.length !== count) throw new Error(`revokeAllForUser removed ${removed.length} rows, expected ${count}`);
  if ((await sessions.cache.indexedHashes(userId!)).length !== 0) throw new Error('revokeAllForUser left index entries behind');
  return { sessions: count, ms };
}

export async function runStoreMeasurements(input: StoreMeasurementInput): Promise<StoreMeasurements> {
  const config = loadConfig({
    DATABASE_URL: input.databaseUrl,
    REDIS_URL: input.redisUrl,
    REDIS_DB: String(PRODUCT_REDIS_DB),
    SESSION_SECRET: 'bench-secret-that-is-long-enough-for-production',
    LOG_LEVEL: 'silent',
  });
  const logger = createLogger(config.logLevel);
  const redis = createRedisClient(config, logger);
  await connectRedis(redis, config.redis, REDIS_CONNECT_TIMEOUT_MS);
  const db = createDb(config.databaseUrl);
  // The store exactly as the product wires it (no timers started, no server).
  const built = createApp({ config, redis, db, logger });
  try {
    const { memory, postgres } = await measureMemory(input, built.sessions, db, () => redis.info('memory'));
    const revoke = await measureRevoke(input, built.sessions, db);
    return { memory, postgres, revoke };
  } finally {
    await built.close();
    await redis.close();
    await db.$disconnect();
  }
}
