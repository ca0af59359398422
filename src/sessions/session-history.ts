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
  /** Who ended the session, for `logout` and `revoked` (ip/userAgent are then the ended session's). */
  actor?: Actor | null;
}

/**
 * Who ended a session: a signed-in session (its user — the owner, or an admin — handle and
 * device), or a command (`npm run admin`: no user, no handle).
 */
export interface Actor extends EventContext {
  userId: string | null;
  handle: string | null;
}

const HISTORY_LIMIT = 50;

/** How a new-device sign-in is marked in the history (`flags`). */
export type EventFlag = 'new_device';
export const NEW_DEVICE_FLAG: EventFlag = 'new_device';

/** One INSERT … SELECT FROM unnest(…) however many events (revoking 10,000 sessions writes 10,000). */
export async function recordEvents(db: Db, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.$executeRaw`
    INSERT INTO "SessionEvent" (type, "userId", "sessionHandle", ip, "userAgent", "actorUserId", "actorHandle", "actorIp", "actorUserAgent")
    SELECT t::"SessionEventType", u::uuid, h, i, a, au::uuid, ah, ai, aa
    FROM unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => e.userId)}::text[], ${events.map((e) => e.sessionHandle ?? null)}::text[],
                ${events.map((e) => e.ip)}::text[], ${events.map((e) => e.userAgent)}::text[],
                ${events.map((e) => e.actor?.userId ?? null)}::text[], ${events.map((e) => e.actor?.handle ?? null)}::text[],
                ${events.map((e) => e.actor?.ip ?? null)}::text[], ${events.map((e) => e.actor?.userAgent ?? null)}::text[]) AS v(t, u, h, i, a, au, ah, ai, aa)`;
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
    // Only present when there is one, so unflagged events read as before.
    ...(row.newDevice ? { flags: [NEW_DEVICE_FLAG] } : {}),
    ...(byOf(row, userId) ?? {}),
  }));
}

/**
 * Who ended the session, as the history shows it: another of the user's own sessions (its
 * handle and device), `admin: true` (an admin's device is not shown to the user), or a
 * command; nothing for a session that ended itself (a sign-out) or by expiry.
 */
function byOf(row: { sessionHandle: string | null; actorUserId: string | null; actorHandle: string | null; actorIp: string | null; actorUserAgent: string | null }, userId: string) {
  if (row.actorUserId === userId) return row.actorHandle === row.sessionHandle ? null : { by: { sessionId: row.actorHandle, ip: row.actorIp, userAgent: row.actorUserAgent } };
  if (row.actorUserId !== null) return { by: { admin: true } };
  return row.actorUserAgent !== null ? { by: { command: row.actorUserAgent } } : null;
}

/**
 * One event per ended session — `logout` for the actor's own, `revoked` for the others — each
 * with the ended session's own device, and the actor that ended it.
 */
export function revocationEvents(actor: Actor, removed: RemovedRow[], ownHash: string | null): NewEvent[] {
  return removed.map((row) => ({ type: row.idHash === ownHash ? 'logout' : 'revoked', userId: row.userId, sessionHandle: row.handle, ip: row.ip, userAgent: row.userAgent, actor }));
}

/** The signed-in session a request runs in, as the actor of what it ends. */
export function actorOf(auth: { user: { id: string }; handle: string }, context: EventContext): Actor {
  return { userId: auth.user.id, handle: auth.handle, ...context };
}
