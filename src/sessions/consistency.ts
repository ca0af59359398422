// Do Redis and PostgreSQL agree? Every live `Session` row has its Redis entry, its per-user
// index entry and its entry in sessions:by-expiry; every live indexed hash has its row; each
// user's score in users:by-expiry is their latest session expiry. Reads the indexes and the
// table in batches (never the keyspace). Used by `npm run check:consistency` and the tests.
import type { Db } from '../db.ts';
import type { RedisClient } from '../redis.ts';
import type { SessionCache } from './session-cache.ts';

const BATCH = 2_000;
/** Sessions expiring this close to the snapshot may vanish mid-check; they are left out. */
const EXPIRY_MARGIN_MS = 5_000;

export interface ConsistencyReport {
  liveRows: number;
  indexedSessions: number;
  users: number;
  problems: string[];
}

/** `userIds` limits the row side to those users (tests sharing one database use it). */
export async function checkConsistency(redis: RedisClient, db: Db, cache: SessionCache, options: { userIds?: string[]; nowMs?: number } = {}): Promise<ConsistencyReport> {
  const nowMs = options.nowMs ?? Date.now();
  const problems: string[] = [];
  const cutoff = nowMs + EXPIRY_MARGIN_MS;
  const note = (problem: string) => {
    if (problems.length < 50) problems.push(problem);
    else if (problems.length === 50) problems.push('… more problems not listed');
  };

  // 1. Rows → Redis.
  const rowsByUser = new Map<string, Array<{ hash: string; expiresAt: number }>>();
  let liveRows = 0;
  let after: string | undefined;
  for (;;) {
    const rows = await db.session.findMany({
      where: { expiresAt: { gt: new Date(cutoff) }, ...(options.userIds ? { userId: { in: options.userIds } } : {}), ...(after ? { idHash: { gt: after } } : {}) },
      orderBy: { idHash: 'asc' },
      take: BATCH,
      select: { idHash: true, userId: true, expiresAt: true },
    });
    if (rows.length === 0) break;
    after = rows.at(-1)!.idHash;
    liveRows += rows.length;
    const values = await redis.mGet(rows.map((row) => cache.sessionKey(row.idHash)));
    const scores = await Promise.all(rows.map((row) => redis.zScore(cache.sessionsByExpiryKey, row.idHash)));
    rows.forEach((row, i) => {
      if (values[i] === null) note(`row ${row.idHash} (user ${row.userId}) has no Redis entry`);
      if (scores[i] === null) note(`row ${row.idHash} is missing from sessions:by-expiry`);
      const list = rowsByUser.get(row.userId) ?? [];
      list.push({ hash: row.idHash, expiresAt: row.expiresAt.getTime() });
      rowsByUser.set(row.userId, list);
    });
  }

  // 2. Per-user indexes and users:by-expiry ↔ rows.
  for (const [userId, rows] of rowsByUser) {
    const indexed = await redis.zRangeWithScores(cache.userIndexKey(userId), 0, -1);
    const live = new Map(indexed.filter((e) => e.score > cutoff).map((e) => [e.value, e.score]));
    for (const row of rows) if (!live.has(row.hash)) note(`row ${row.hash} is missing from the index of user ${userId}`);
    const rowHashes = new Set(rows.map((r) => r.hash));
    for (const hash of live.keys()) if (!rowHashes.has(hash)) note(`index of user ${userId} holds ${hash}, which has no live row`);
    const latest = Math.max(...indexed.map((e) => e.score));
    const score = await redis.zScore(cache.usersByExpiryKey, userId);
    if (score === null || score < latest) note(`users:by-expiry has ${score} for user ${userId}, whose latest session expires at ${latest}`);
  }

  // 3. sessions:by-expiry → entries and rows.
  let indexedSessions = 0;
  for (let start = 0; ; start += BATCH) {
    const members = await redis.zRangeWithScores(cache.sessionsByExpiryKey, start, start + BATCH - 1);
    if (members.length === 0) break;
    const live = members.filter((m) => m.score > cutoff).map((m) => m.value);
    indexedSessions += live.length;
    if (live.length === 0) continue;
    const [values, rows] = await Promise.all([
      redis.mGet(live.map((hash) => cache.sessionKey(hash))),
      db.session.findMany({ where: { idHash: { in: live } }, select: { idHash: true } }),
    ]);
    const withRow = new Set(rows.map((r) => r.idHash));
    live.forEach((hash, i) => {
      if (values[i] === null) note(`sessions:by-expiry holds ${hash}, which has no Redis entry`);
      if (!withRow.has(hash)) note(`sessions:by-expiry holds ${hash}, which has no row`);
    });
  }
  if (indexedSessions !== liveRows) note(`${liveRows} live rows but ${indexedSessions} live entries in sessions:by-expiry`);
  return { liveRows, indexedSessions, users: rowsByUser.size, problems };
}
