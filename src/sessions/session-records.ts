// The PostgreSQL side of sessions: the durable `Session` rows that Redis is rebuilt from.
import type { SessionData } from 'express-session';
import { Prisma, type Db } from '../db.ts';
import { describeDevice } from './device.ts';
import type { SessionAuth } from './session-data.ts';

export interface SessionRow {
  idHash: string;
  handle: string;
  userId: string;
  lastSeenAt: Date;
  expiresAt: Date;
  data: SessionData;
}

export interface RemovedRow {
  idHash: string;
  userId: string;
  handle: string;
}

export interface LastSeenUpdate {
  hash: string;
  lastSeenAt: number;
  expiresAt: number;
}

const asJson = (data: SessionData) => data as unknown as Prisma.InputJsonValue;

export class SessionRecords {
  constructor(private readonly db: Db) {}

  async upsert(hash: string, auth: SessionAuth, data: SessionData, expiresAtMs: number): Promise<void> {
    const fields = {
      lastSeenAt: new Date(auth.lastSeenAt),
      expiresAt: new Date(expiresAtMs),
      data: asJson(data),
    };
    await this.db.session.upsert({
      where: { idHash: hash },
      create: {
        idHash: hash,
        handle: auth.handle,
        userId: auth.user.id,
        createdAt: new Date(auth.createdAt),
        absoluteExpiresAt: new Date(auth.absoluteExpiresAt),
        ip: auth.ip,
        userAgent: auth.userAgent,
        deviceType: describeDevice(auth.userAgent).type.slice(0, 16),
        ...fields,
      },
      update: fields,
    });
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
    return row && { ...row, data: row.data as unknown as SessionData };
  }

  async findLiveForUser(userId: string, now: Date): Promise<SessionRow[]> {
    const rows = await this.db.session.findMany({ where: { userId, expiresAt: { gt: now } } });
    return rows.map((row) => ({ ...row, data: row.data as unknown as SessionData }));
  }

  async findByHandle(userId: string, handle: string): Promise<RemovedRow | null> {
    return this.db.session.findFirst({ where: { userId, handle }, select: { idHash: true, userId: true, handle: true } });
  }

  async deleteByHashes(hashes: string[]): Promise<RemovedRow[]> {
    if (hashes.length === 0) return [];
    return this.db.$queryRaw<RemovedRow[]>`
      DELETE FROM "Session" WHERE "idHash" = ANY(${hashes}::text[])
      RETURNING "idHash", "userId"::text AS "userId", "handle"`;
  }

  async deleteForUser(userId: string, exceptHash: string | null): Promise<RemovedRow[]> {
    return this.db.$queryRaw<RemovedRow[]>`
      DELETE FROM "Session" WHERE "userId" = ${userId}::uuid AND "idHash" <> ${exceptHash ?? ''}
      RETURNING "idHash", "userId"::text AS "userId", "handle"`;
  }

  /** Deletes rows past their expiry; returns them so their Redis index entries can go too. */
  async deleteExpired(now: Date): Promise<RemovedRow[]> {
    return this.db.$queryRaw<RemovedRow[]>`
      DELETE FROM "Session" WHERE "expiresAt" <= ${now}
      RETURNING "idHash", "userId"::text AS "userId", "handle"`;
  }

  /** One statement for a whole batch of write-behind `lastSeenAt` updates. */
  async applyLastSeen(updates: LastSeenUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const hashes = updates.map((u) => u.hash);
    const lastSeen = updates.map((u) => new Date(u.lastSeenAt).toISOString());
    const expires = updates.map((u) => new Date(u.expiresAt).toISOString());
    await this.db.$executeRaw`
      UPDATE "Session" AS s SET "lastSeenAt" = v.last_seen, "expiresAt" = v.expires
      FROM unnest(${hashes}::text[], ${lastSeen}::timestamptz[], ${expires}::timestamptz[]) AS v(id, last_seen, expires)
      WHERE s."idHash" = v.id AND s."lastSeenAt" < v.last_seen`;
  }
}
