// Revocations in PostgreSQL. Every delete of a session row writes its `RevocationOutbox` entry in
// the same statement, so a revocation PostgreSQL has is never lost on its way to Redis: the entry
// is pending until Redis has the tombstone (session-revoker.ts), whichever instance gets there.
// Applied entries are kept until the session would have expired anyway: a Redis server that
// comes back from an older snapshot, or a replica promoted before it had them, gets them all
// again (revocation-outbox.ts).
import { randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';
import { Prisma, type Db } from '../db.ts';
import { retryOnDeadlock } from '../db-retry.ts';
import type { BucketWrite } from './revocation-buckets.ts';
import { ROW_EXPIRY_LAG_MS, type Role } from './session-data.ts';
import { allBuckets } from './session-keys.ts';
import type { RemovedRow } from './session-records.ts';

/** A revocation PostgreSQL has and Redis may not have yet. */
export interface PendingRevocation {
  /** The outbox entry (a bigint, as text). */
  id: string;
  hash: string;
  userId: string;
}

/** What PostgreSQL knows one bucket of Redis holds (see RevocationBucket in schema.prisma). */
export interface BucketRecord {
  bucket: number;
  generation: string;
  seq: number;
}

export interface Revoked {
  /** The session rows that existed. */
  removed: RemovedRow[];
  /** Everything Redis must drop: those rows, and hashes the caller named for a known user. */
  pending: PendingRevocation[];
}

/** What changes on the user together with "every session ends". */
export interface CredentialChange {
  passwordHash?: string;
  role?: Role;
  /**
   * Only if nothing changed since the caller checked: the version it read, and the session the
   * request runs in (still stored, by its handle). A change that lost a race changes nothing
   * (version null).
   */
  ifUnchanged?: { credentialVersion: number; sessionHandle: string };
}

interface OutboxRow {
  id: string;
  idHash: string;
  userId: string;
  /** Null for a hash queued without a row (`alsoFor`). */
  handle: string | null;
  ip: string | null;
  userAgent: string | null;
  email: string | null;
}

/**
 * DELETE … RETURNING and the outbox INSERT as one statement. `alsoFor` queues hashes of a known
 * user whose row is already gone (a logout racing a revocation): their Redis entries, index
 * entries and counters must go too.
 */
function deleteWithOutbox(keyPrefix: string, where: Prisma.Sql, alsoFor: { hashes: string[]; userId: string } | null): Prisma.Sql {
  // A hash without a row was revoked before (its own entry is kept): this one need not be.
  const extra = alsoFor
    ? Prisma.sql`UNION ALL SELECT h, ${alsoFor.userId}::uuid, NULL FROM unnest(${alsoFor.hashes}::text[]) AS h WHERE h NOT IN (SELECT "idHash" FROM removed)`
    : Prisma.empty;
  return Prisma.sql`
    WITH removed AS (DELETE FROM "Session" WHERE ${where} RETURNING "idHash", "userId", handle, "expiresAt", ip, "userAgent", data #>> '{auth,user,email}' AS email),
    targets AS (SELECT "idHash", "userId", "expiresAt" FROM removed ${extra}),
    queued AS (
      INSERT INTO "RevocationOutbox" ("keyPrefix", "idHash", "userId", "keepUntil")
      SELECT ${keyPrefix}, "idHash", "userId", COALESCE("expiresAt" + make_interval(secs => ${ROW_EXPIRY_LAG_MS / 1000}), now()) FROM targets
      RETURNING id, "idHash", "userId")
    SELECT q.id::text AS id, q."idHash", q."userId"::text AS "userId", r.handle, r.ip, r."userAgent", r.email
    FROM queued q LEFT JOIN removed r ON r."idHash" = q."idHash" AND r."userId" = q."userId"`;
}

function split(rows: OutboxRow[]): Revoked {
  return {
    removed: rows.filter((row) => row.handle !== null).map((row) => ({ idHash: row.idHash, userId: row.userId, handle: row.handle!, ip: row.ip, userAgent: row.userAgent, email: row.email })),
    pending: rows.map((row) => ({ id: row.id, hash: row.idHash, userId: row.userId })),
  };
}

/**
 * Entries are kept per Redis key prefix (REDIS_KEY_PREFIX): a deployment applies only its own,
 * into its own keys, even when another one (a test run) shares the database.
 */
export class RevocationRecords {
  constructor(
    private readonly db: Db,
    private readonly keyPrefix: string,
  ) {}

  async revoke(hashes: string[], knownUserId?: string): Promise<Revoked> {
    if (hashes.length === 0) return { removed: [], pending: [] };
    const where = Prisma.sql`"idHash" = ANY(${hashes}::text[])`;
    return retryOnDeadlock(async () => split(await this.db.$queryRaw<OutboxRow[]>(deleteWithOutbox(this.keyPrefix, where, knownUserId ? { hashes, userId: knownUserId } : null))));
  }

  /**
   * One session, by its public handle (of `userId`'s sessions only, when given), and `alsoHashes`
   * of the same owner whose row may already be gone. By handle in the statement itself, not by
   * a hash read before: a session that moved to a new id meanwhile (re-authentication) is still
   * the one that ends.
   */
  async revokeHandle(handle: string, userId: string | null, alsoHashes: string[] = []): Promise<Revoked> {
    const where = userId === null ? Prisma.sql`handle = ${handle}` : Prisma.sql`handle = ${handle} AND "userId" = ${userId}::uuid`;
    const alsoFor = userId !== null && alsoHashes.length > 0 ? { hashes: alsoHashes, userId } : null;
    return retryOnDeadlock(async () => split(await this.db.$queryRaw<OutboxRow[]>(deleteWithOutbox(this.keyPrefix, where, alsoFor))));
  }

  /**
   * The session continues under a new id (re-authentication, a password change): its row moves
   * from `change.fromHash` to `toHash` (same handle, new data) and the old id is revoked, in one
   * statement — only while the row exists and the user's password is still the one just
   * checked (or just set). Returns the old id's pending revocation, or null when the session
   * had ended, or the password changed, meanwhile. (Not the credential version: "sign out other
   * devices" moves that on while this session rightly lives.)
   */
  async rotate(change: { fromHash: string; toHash: string; passwordHash: string; data: SessionData; lastSeenAt: number; expiresAt: number }): Promise<PendingRevocation | null> {
    const rows = await retryOnDeadlock(() => this.db.$queryRaw<PendingRevocation[]>`
      WITH moved AS (
        UPDATE "Session" s SET "idHash" = ${change.toHash}, data = ${JSON.stringify(change.data)}::jsonb,
               "lastSeenAt" = ${new Date(change.lastSeenAt)}, "expiresAt" = ${new Date(change.expiresAt)}
        FROM "User" u
        WHERE s."idHash" = ${change.fromHash} AND u.id = s."userId" AND u."passwordHash" = ${change.passwordHash}
        RETURNING s."userId", s."expiresAt"),
      queued AS (
        INSERT INTO "RevocationOutbox" ("keyPrefix", "idHash", "userId", "keepUntil")
        SELECT ${this.keyPrefix}, ${change.fromHash}, "userId", "expiresAt" + make_interval(secs => ${ROW_EXPIRY_LAG_MS / 1000}) FROM moved
        RETURNING id, "idHash", "userId")
      SELECT id::text AS id, "idHash" AS hash, "userId"::text AS "userId" FROM queued`);
    return rows[0] ?? null;
  }

  /**
   * Every session of the user but the one with handle `exceptHandle` ends, and the credential
   * version moves on, in one transaction: the version first (it takes the user row's lock, so a
   * sign-in inserting under the old version has committed before the delete looks), then the
   * delete with its outbox. By handle, so the session kept is kept whichever id it has (one
   * re-authenticating in another tab). Returns the new version (null for an unknown user) for a
   * session that continues, and the ids of the rows left (that session's).
   */
  async revokeAllForUser(userId: string, exceptHandle: string | null, change: CredentialChange = {}): Promise<Revoked & { credentialVersion: number | null; kept: string[] }> {
    return retryOnDeadlock(() => this.db.$transaction(async (tx) => {
      const bumped = await tx.$queryRaw<Array<{ credentialVersion: number }>>`
        UPDATE "User" SET "credentialVersion" = "credentialVersion" + 1, "updatedAt" = now()
          ${change.passwordHash === undefined ? Prisma.empty : Prisma.sql`, "passwordHash" = ${change.passwordHash}`}
          ${change.role === undefined ? Prisma.empty : Prisma.sql`, role = ${change.role}::"Role"`}
        WHERE id = ${userId}::uuid
          ${change.ifUnchanged === undefined ? Prisma.empty : Prisma.sql`AND "credentialVersion" = ${change.ifUnchanged.credentialVersion} AND EXISTS (SELECT 1 FROM "Session" WHERE handle = ${change.ifUnchanged.sessionHandle})`}
        RETURNING "credentialVersion"`;
      if (bumped.length === 0 && change.ifUnchanged) return { removed: [], pending: [], credentialVersion: null, kept: [] };
      const where = Prisma.sql`"userId" = ${userId}::uuid AND handle <> ${exceptHandle ?? ''}`;
      const revoked = split(await tx.$queryRaw<OutboxRow[]>(deleteWithOutbox(this.keyPrefix, where, null)));
      const kept = exceptHandle === null ? [] : await tx.$queryRaw<Array<{ idHash: string }>>`SELECT "idHash" FROM "Session" WHERE "userId" = ${userId}::uuid AND handle = ${exceptHandle}`;
      return { ...revoked, credentialVersion: bumped[0]?.credentialVersion ?? null, kept: kept.map((row) => row.idHash) };
    }));
  }

  /** Deletes rows past their expiry, queueing their Redis index entries and counters to go too. */
  async revokeExpired(cutoff: Date): Promise<Revoked> {
    return retryOnDeadlock(async () => split(await this.db.$queryRaw<OutboxRow[]>(deleteWithOutbox(this.keyPrefix, Prisma.sql`"expiresAt" <= ${cutoff}`, null))));
  }

  /** The oldest entries not yet applied to Redis. */
  async pending(limit: number): Promise<PendingRevocation[]> {
    return this.db.$queryRaw<PendingRevocation[]>`
      SELECT id::text AS id, "idHash" AS hash, "userId"::text AS "userId" FROM "RevocationOutbox"
      WHERE "keyPrefix" = ${this.keyPrefix} AND "appliedAt" IS NULL ORDER BY id LIMIT ${limit}`;
  }

  /**
   * Redis has these (entries of one bucket), written under `write.generation` as number
   * `write.seq`: they are marked applied and kept while a stale copy could matter (else
   * deleted), and the bucket's number moves up — but only if that generation is still the
   * current one. The bucket row's lock orders this against startGeneration(): either this
   * commits first and the new generation's replay makes the entries pending again, or it sees
   * the new generation and leaves them pending.
   */
  async applied(ids: string[], write: BucketWrite): Promise<void> {
    if (ids.length === 0) return;
    await this.db.$executeRaw`
      WITH current AS (
        UPDATE "RevocationBucket" SET seq = GREATEST(seq, ${write.seq})
        WHERE "keyPrefix" = ${this.keyPrefix} AND bucket = ${write.bucket} AND generation = ${write.generation ?? ''}
        RETURNING 1),
      done AS (DELETE FROM "RevocationOutbox" WHERE id = ANY(${ids}::bigint[]) AND "keepUntil" <= now() AND EXISTS (SELECT 1 FROM current))
      UPDATE "RevocationOutbox" SET "appliedAt" = now()
      WHERE id = ANY(${ids}::bigint[]) AND "keepUntil" > now() AND EXISTS (SELECT 1 FROM current)`;
  }

  /** What each bucket of Redis must hold (created, with a first generation, on first use). */
  async buckets(): Promise<BucketRecord[]> {
    const first = randomBytes(12).toString('base64url');
    await this.db.$executeRaw`
      INSERT INTO "RevocationBucket" ("keyPrefix", bucket, generation)
      SELECT ${this.keyPrefix}, b, ${first} FROM unnest(${allBuckets()}::int[]) AS b
      ON CONFLICT DO NOTHING`;
    return this.db.$queryRaw<BucketRecord[]>`
      SELECT bucket, generation, seq::float8 AS seq FROM "RevocationBucket" WHERE "keyPrefix" = ${this.keyPrefix} ORDER BY bucket`;
  }

  /**
   * Redis lost revocations: a new generation replaces `expected` (unless another instance got
   * there first) and, in the same transaction, every kept entry is pending again. Returns the
   * generation now current.
   */
  async startGeneration(expected: string): Promise<string> {
    const next = randomBytes(12).toString('base64url');
    return retryOnDeadlock(() =>
      this.db.$transaction(async (tx) => {
        const moved = await tx.$executeRaw`
          UPDATE "RevocationBucket" SET generation = ${next}, seq = 0 WHERE "keyPrefix" = ${this.keyPrefix} AND generation = ${expected}`;
        if (moved > 0) {
          await tx.$executeRaw`
            UPDATE "RevocationOutbox" SET "appliedAt" = NULL
            WHERE "keyPrefix" = ${this.keyPrefix} AND "appliedAt" IS NOT NULL AND "keepUntil" > now()`;
        }
        const [row] = await tx.$queryRaw<Array<{ generation: string }>>`
          SELECT generation FROM "RevocationBucket" WHERE "keyPrefix" = ${this.keyPrefix} AND bucket = 0`;
        return row!.generation;
      }),
    );
  }

  /** Applied entries whose sessions would have expired anyway. Returns how many went. */
  async purgeKept(): Promise<number> {
    return this.db.$executeRaw`
      DELETE FROM "RevocationOutbox" WHERE "keyPrefix" = ${this.keyPrefix} AND "appliedAt" IS NOT NULL AND "keepUntil" <= now()`;
  }
}
