// The `SessionEvent` table: what happened to a user's sessions, for "recent activity".
import type { Db } from '../db.ts';
import type { SessionEventType } from '../generated/prisma/enums.ts';
import type { RemovedRow } from './session-records.ts';

export type { SessionEventType };

export interface EventContext {
  ip: string | null;
  userAgent: string | null;
}

export interface NewEvent extends EventContext {
  type: SessionEventType;
  userId: string | null;
  sessionHandle?: string | null;
}

const HISTORY_LIMIT = 50;

/** One INSERT … SELECT FROM unnest(…) however many events (revoking 10,000 sessions writes 10,000). */
export async function recordEvents(db: Db, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.$executeRaw`
    INSERT INTO "SessionEvent" (type, "userId", "sessionHandle", ip, "userAgent")
    SELECT t::"SessionEventType", u::uuid, h, i, a
    FROM unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => e.userId)}::text[], ${events.map((e) => e.sessionHandle ?? null)}::text[],
                ${events.map((e) => e.ip)}::text[], ${events.map((e) => e.userAgent)}::text[]) AS v(t, u, h, i, a)`;
}

export async function recordEvent(db: Db, event: NewEvent): Promise<void> {
  await recordEvents(db, [event]);
}

export async function readHistory(db: Db, userId: string) {
  const rows = await db.sessionEvent.findMany({ where: { userId }, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: HISTORY_LIMIT });
  return rows.map((row) => ({
    type: row.type,
    at: row.at.toISOString(),
    ip: row.ip,
    userAgent: row.userAgent,
    ...(row.sessionHandle ? { sessionId: row.sessionHandle } : {}),
  }));
}

/** One event per revoked session: `logout` for the caller's own, `revoked` for the others. */
export function revocationEvents(context: EventContext, removed: RemovedRow[], ownHash: string | null): NewEvent[] {
  return removed.map((row) => ({ type: row.idHash === ownHash ? 'logout' : 'revoked', userId: row.userId, sessionHandle: row.handle, ...context }));
}
