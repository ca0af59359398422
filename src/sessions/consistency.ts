// Do Redis and PostgreSQL agree? Every live `Session` row has its Redis entry and its per-user
// index entry; every live indexed hash has its row; and, over a whole deployment, the expiry
// counters add up to the live rows and their users. Reads the indexes and the tables in batches
// (never the keyspace). Used by `npm run check:consistency` and the tests.
import type { Db } from '../db.ts';
import type { RedisClient } from '../redis.ts';
import type { SessionCache } from './session-cache.ts';
import { locateStored } from './session-keys.ts';
import { EXPIRY_COUNT_MS } from './session-scripts.ts';

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
    // One EXISTS per row (pipelined): rows of different buckets live in different cluster slots.
    const present = await Promise.all(rows.map((row) => redis.exists(cache.keys.session(locateStored(row.idHash, row.userId)))));
    rows.forEach((row, i) => {
      if (present[i] === 0) note(`row ${row.idHash} (user ${row.userId}) has no Redis entry`);
      const list = rowsByUser.get(row.userId) ?? [];
      list.push({ hash: row.idHash, expiresAt: row.expiresAt.getTime() });
      rowsByUser.set(row.userId, list);
    });
  }

  // 2. Per-user indexes ↔ rows, for every user (one with no live row may still hold entries).
  let indexedSessions = 0;
  const checkUser = async (userId: string) => {
    const rows = rowsByUser.get(userId) ?? [];
    const indexed = await redis.zRangeWithScores(cache.keys.userIndex(userId), 0, -1);
    const live = indexed.filter((e) => e.score > cutoff).map((e) => e.value);
    indexedSessions += live.length;
    const liveSet = new Set(live);
    for (const row of rows) if (!liveSet.has(row.hash)) note(`row ${row.hash} is missing from the index of user ${userId}`);
    const rowHashes = new Set(rows.map((r) => r.hash));
    const stray = live.filter((hash) => !rowHashes.has(hash));
    if (stray.length === 0) return;
    const values = await redis.mGet(stray.map((hash) => cache.keys.session(locateStored(hash, userId))));
    stray.forEach((hash, i) => note(`index of user ${userId} holds ${hash}, which has no live row${values[i] === null ? ' and no Redis entry' : ''}`));
  };
  if (options.userIds) {
    for (const userId of options.userIds) await checkUser(userId);
  } else {
    for (let afterUser: string | undefined; ; ) {
      const users = await db.user.findMany({ where: afterUser ? { id: { gt: afterUser } } : {}, orderBy: { id: 'asc' }, take: BATCH, select: { id: true } });
      if (users.length === 0) break;
      afterUser = users.at(-1)!.id;
      for (const { id } of users) await checkUser(id);
    }
    // 3. The counters (whole deployment only: they count every user's sessions).
    const minuteStart = new Date(Math.floor(cutoff / EXPIRY_COUNT_MS) * EXPIRY_COUNT_MS);
    const [counted, rowsFromMinute, usersFromMinute] = await Promise.all([
      cache.activeCounts(cutoff),
      db.session.count({ where: { expiresAt: { gte: minuteStart } } }),
      db.session.groupBy({ by: ['userId'], where: { expiresAt: { gte: minuteStart } } }).then((groups) => groups.length),
    ]);
    if (counted.activeSessions !== rowsFromMinute) note(`sessions:expiring counts ${counted.activeSessions} active sessions, PostgreSQL has ${rowsFromMinute}`);
    if (counted.activeUsers !== usersFromMinute) note(`users:expiring counts ${counted.activeUsers} active users, PostgreSQL has ${usersFromMinute}`);
  }
  if (indexedSessions !== liveRows) note(`${liveRows} live rows but ${indexedSessions} live entries in the per-user indexes`);
  return { liveRows, indexedSessions, users: rowsByUser.size, problems };
}
