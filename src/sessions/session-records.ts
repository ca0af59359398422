// The PostgreSQL side of sessions: the durable `Session` rows that Redis is rebuilt from.
import type { SessionData } from 'express-session';
import type { Prisma, Db } from '../db.ts';
import { describeDevice } from './device.ts';
import { withAuthDefaults, type SessionAuth } from './session-data.ts';

export interface SessionRow {
  idHash: string;
  handle: string;
  userId: string;
  lastSeenAt: Date;
  expiresAt: Date;
  data: SessionData;
}

/** A session as revocations name it (history, counters, live events): the row that went. */
export interface RemovedRow {
  idHash: string;
  userId: string;
  handle: string;
  /** The device it was signed in from, for the history ("Chrome on Windows was signed out"). */
  ip: string | null;
  userAgent: string | null;
  /** The owner's email as the session had it (the admin's live events name accounts by it). */
  email: string | null;
}

export interface LastSeenUpdate {
  hash: string;
  userId: string;
  lastSeenAt: number;
  expiresAt: number;
}

const asJson = (data: SessionData) => data as unknown as Prisma.InputJsonValue;

/** A row's `data` as a session (rows written by older builds get today's auth fields). */
function asSessionData(json: Prisma.JsonValue): SessionData {
  const data = json as unknown as SessionData;
  return data.auth ? { ...data, auth: withAuthDefaults(data.auth) } : data;
}

export class SessionRecords {
  constructor(private readonly db: Db) {}

  /**
   * Inserts a new session's row only while the user's credential is still the one the sign-in
   * checked: the version is compared in the same statement, under a share lock on the user row,
   * so a password change, role change or "revoke all" either commits first (and this inserts
   * nothing) or waits for this insert and then deletes the row. Returns false when it lost.
   */
  async insertIfCurrent(hash: string, auth: SessionAuth, data: SessionData, expiresAtMs: number, credentialVersion: number): Promise<boolean> {
    const inserted = await this.db.$executeRaw`
      INSERT INTO "Session" ("idHash", handle, "userId", "createdAt", "lastSeenAt", "expiresAt", "absoluteExpiresAt", ip, "userAgent", "deviceType", data)
      SELECT ${hash}, ${auth.handle}, u.id, ${new Date(auth.createdAt)}, ${new Date(auth.lastSeenAt)}, ${new Date(expiresAtMs)}, ${new Date(auth.absoluteExpiresAt)},
             ${auth.ip}, ${auth.userAgent}, ${describeDevice(auth.userAgent).type.slice(0, 16)}, ${JSON.stringify(data)}::jsonb
      FROM "User" u WHERE u.id = ${auth.user.id}::uuid AND u."credentialVersion" = ${credentialVersion}
      FOR SHARE`;
    return inserted === 1;
  }

  /** Updates an existing row only: a revoked session's row must not come back. */
  async update(hash: string, auth: SessionAuth, data: SessionData, expiresAtMs: number): Promise<boolean> {
    const { count } = await this.db.session.updateMany({
      where: { idHash: hash },
      data: { lastSeenAt: new Date(auth.lastSeenAt), expiresAt: new Date(expiresAtMs), data: asJson(data) },
    });
    return count === 1;
  }

  async findLive(hash: string, now: Date): Promise<SessionRow | null> {
    const row = await this.db.session.findFirst({ where: { idHash: hash, expiresAt: { gt: now } } });
    return row && { ...row, data: asSessionData(row.data) };
  }

  async findLiveForUser(userId: string, now: Date): Promise<SessionRow[]> {
    const rows = await this.db.session.findMany({ where: { userId, expiresAt: { gt: now } } });
    return rows.map((row) => ({ ...row, data: asSessionData(row.data) }));
  }

  /**
   * One statement for a whole batch of write-behind `lastSeenAt` updates; returns the hashes
   * whose row exists (a row that has gone was revoked: its Redis entry must go too).
   */
  async applyLastSeen(updates: LastSeenUpdate[]): Promise<Set<string>> {
    if (updates.length === 0) return new Set();
    const hashes = updates.map((u) => u.hash);
    const lastSeen = updates.map((u) => new Date(u.lastSeenAt).toISOString());
    const expires = updates.map((u) => new Date(u.expiresAt).toISOString());
    const rows = await this.db.$queryRaw<Array<{ idHash: string }>>`
      UPDATE "Session" AS s
      SET "lastSeenAt" = GREATEST(s."lastSeenAt", v.last_seen), "expiresAt" = CASE WHEN v.last_seen > s."lastSeenAt" THEN v.expires ELSE s."expiresAt" END
      FROM unnest(${hashes}::text[], ${lastSeen}::timestamptz[], ${expires}::timestamptz[]) AS v(id, last_seen, expires)
      WHERE s."idHash" = v.id
      RETURNING s."idHash"`;
    return new Set(rows.map((row) => row.idHash));
  }
}
