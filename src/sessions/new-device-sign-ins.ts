// New-device sign-ins: the sign-in events of the `SessionEvent` table, flagged when their
// device or network is new to the account, and the notices /account shows for them.
import type { Db } from '../db.ts';
import { deviceFamily, networkOf } from './device.ts';
import type { EventContext } from './session-history.ts';

// The account's known devices and networks are those of its earlier successful sign-ins: the
// `registered` and `login` events written by recordSignIns, the only writer of `deviceFamily`
// and `network`. A failed attempt records neither, so it never makes a device known (or an
// attacker could make theirs known before signing in); and the checks below need no `type`
// filter, so each is one probe of the (userId, deviceFamily) or (userId, network) index.

/** A successful sign-in (registration signs in too), recorded with its device family and network. */
export interface SignInEvent extends EventContext {
  type: 'registered' | 'login';
  userId: string;
  sessionHandle: string;
}

/**
 * Records the sign-in events with each one's device family and network, each flagged
 * `newDevice` when the account has sign-ins recorded before this call and its device family or
 * its network is not among them. An account with none is never flagged (nothing to compare
 * with: a new account, or one older than this feature), so registration's events never are.
 * Returns whether one was flagged.
 *
 * One statement decides and inserts: nothing runs between reading the history and writing to
 * it. Two sign-ins from one new device at the same moment do not see each other and are both
 * flagged, which errs on the side of telling.
 */
export async function recordSignIns(db: Db, events: SignInEvent[]): Promise<{ newDevice: boolean }> {
  if (events.length === 0) return { newDevice: false };
  const rows = await db.$queryRaw<Array<{ newDevice: boolean }>>`
    INSERT INTO "SessionEvent" (type, "userId", "sessionHandle", ip, "userAgent", "deviceFamily", network, "newDevice")
    SELECT t::"SessionEventType", u::uuid, h, i, a, f, n,
           EXISTS (SELECT 1 FROM "SessionEvent" k WHERE k."userId" = u::uuid AND k."deviceFamily" IS NOT NULL)
           AND (NOT EXISTS (SELECT 1 FROM "SessionEvent" k WHERE k."userId" = u::uuid AND k."deviceFamily" = f)
                -- no address, no network to call new: only the device is compared then
                OR (n IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "SessionEvent" k WHERE k."userId" = u::uuid AND k.network = n)))
    FROM unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => e.userId)}::text[], ${events.map((e) => e.sessionHandle)}::text[],
                ${events.map((e) => e.ip)}::text[], ${events.map((e) => e.userAgent)}::text[],
                ${events.map((e) => deviceFamily(e.userAgent))}::text[], ${events.map((e) => networkOf(e.ip))}::text[]) AS v(t, u, h, i, a, f, n)
    RETURNING "newDevice"`;
  return { newDevice: rows.some((row) => row.newDevice) };
}

/** A new-device sign-in the person has not dismissed, as the account page shows it. */
export interface NewDeviceNotice {
  /** The SessionEvent id (a bigint, as text). */
  id: string;
  at: string;
  /** "Firefox on Linux". */
  device: string;
  ip: string | null;
  /** The public handle of the session it started, while that session is still live. */
  liveSessionId: string | null;
}

/** Enough to notice a burst of strange sign-ins without the notices pushing the page away. */
const NOTICES_SHOWN = 5;
/** Older sign-ins are left to the activity list: the notice is for what just happened. */
const NOTICE_MAX_AGE_MS = 30 * 24 * 3600_000;

/**
 * Undismissed new-device sign-ins of the user in the last 30 days, newest first, except the one
 * of `currentHandle` (the new device is not warned about itself). `now` (the app's clock) decides
 * the 30 days and whether the session it started is still live.
 */
export async function readNewDeviceNotices(db: Db, userId: string, currentHandle: string, now: Date = new Date()): Promise<NewDeviceNotice[]> {
  const rows = await db.$queryRaw<Array<{ id: string; at: Date; device: string | null; ip: string | null; liveSessionId: string | null }>>`
    SELECT e.id::text AS id, e.at, e."deviceFamily" AS device, e.ip, s.handle AS "liveSessionId"
    FROM "SessionEvent" e
    LEFT JOIN "Session" s ON s.handle = e."sessionHandle" AND s."expiresAt" > ${now}
    WHERE e."userId" = ${userId}::uuid AND e."newDevice" AND e."dismissedAt" IS NULL
      AND e.at > ${new Date(now.getTime() - NOTICE_MAX_AGE_MS)}
      AND e."sessionHandle" IS DISTINCT FROM ${currentHandle}
    ORDER BY e.at DESC, e.id DESC
    LIMIT ${NOTICES_SHOWN}`;
  return rows.map((row) => ({ id: row.id, at: row.at.toISOString(), device: row.device ?? deviceFamily(null), ip: row.ip, liveSessionId: row.liveSessionId }));
}

/**
 * Hides a new-device notice of this user. Dismissal is per account, not per device: the event
 * row carries it, so one dismissal hides the notice on every device. False when the user has no
 * such notice (an unknown id, or another user's). Dismissing twice keeps the first time.
 */
export async function dismissNewDeviceNotice(db: Db, userId: string, eventId: bigint, now: Date = new Date()): Promise<boolean> {
  const changed = await db.$executeRaw`
    UPDATE "SessionEvent" SET "dismissedAt" = COALESCE("dismissedAt", ${now})
    WHERE id = ${eventId} AND "userId" = ${userId}::uuid AND "newDevice"`;
  return changed > 0;
}
