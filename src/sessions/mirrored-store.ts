// The express-session store: connect-redis's RedisStore, keyed by a SHA-256 of the session id
// and mirrored in PostgreSQL.
//
//   read   get():    one Redis MGET (the session and the revalidation epoch): the only command
//                    on a normal request. A miss asks PostgreSQL: a live row is put back into
//                    Redis with the user's other live sessions (Redis lost data). While Redis is
//                    unreachable, sessions are read from PostgreSQL instead.
//   write  set():    a new session's row first (the truth), then Redis (entry + indexes, one
//                    script call); a changed session: Redis, then its row (update only).
//          touch():  at most once per touch interval: Redis entry rewritten with the new
//                    `lastSeenAt` and TTL; the row follows through the write-behind queue.
//   revoke destroy(): see session-revoker.ts.
//
// After a Redis outage each instance moves `valid-since` forward: entries last verified before
// it are checked against their row once, so a revocation that reached PostgreSQL but not Redis
// during the outage still holds.
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import type { Activity } from '../analytics/activity.ts';
import { isDependencyError } from '../dependency-errors.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { PutMode, PutResult, SessionCache } from './session-cache.ts';
import { expiresAt, hashSessionId, isExpired, isNewSession, isTouchDue, type Lifetime, type SessionAuth } from './session-data.ts';
import type { SessionRecords } from './session-records.ts';
import type { SessionRevoker } from './session-revoker.ts';
import type { SessionSerializer } from './session-serializer.ts';

type Callback = (err?: unknown, data?: any) => void;

/** A session with no one signed in (a CSRF token before login) lives in Redis only, briefly. */
const ANONYMOUS_TTL_SECONDS = 3600;

export interface MirroredStoreDeps {
  client: RedisClient;
  cache: SessionCache;
  records: SessionRecords;
  revoker: SessionRevoker;
  lastSeen: LastSeenQueue;
  lifetime: Lifetime;
  now: () => number;
  logger: Logger;
  activity: Activity;
  serializer: SessionSerializer;
}

function settle<T>(work: Promise<T>, cb?: Callback): Promise<T | undefined> {
  if (!cb) return work;
  return work.then(
    (value) => {
      cb(null, value);
      return value;
    },
    (err: unknown) => {
      cb(err);
      return undefined;
    },
  );
}

export class MirroredSessionStore extends RedisStore {
  private readonly deps: MirroredStoreDeps;

  constructor(deps: MirroredStoreDeps) {
    super({
      client: deps.client,
      prefix: deps.cache.sessionPrefix,
      serializer: deps.serializer,
      ttl: (sess: SessionData) => (sess.auth ? Math.ceil((expiresAt(sess.auth, deps.lifetime) - deps.now()) / 1000) : ANONYMOUS_TTL_SECONDS),
    });
    this.deps = deps;
  }

  override get(sid: string, cb?: Callback): Promise<any> {
    return settle(this.readSession(hashSessionId(sid)), cb);
  }

  override set(sid: string, sess: SessionData, cb?: Callback): Promise<any> {
    return settle(this.writeSession(hashSessionId(sid), sess), cb);
  }

  override touch(sid: string, sess: SessionData, cb?: Callback): Promise<any> {
    return settle(this.refreshSession(sid, sess), cb);
  }

  override destroy(sid: string, cb?: Callback): Promise<any> {
    return settle(this.deps.revoker.revokeHashes([hashSessionId(sid)]).then(() => undefined), cb);
  }

  // Whole-keyspace operations (SCAN) are deliberately unsupported: use the per-user index.
  override clear(cb?: Callback): Promise<any> {
    return settle(Promise.reject(new Error('MirroredSessionStore.clear scans the keyspace; revoke per user instead')), cb);
  }
  override length(cb?: Callback): Promise<any> {
    return settle(Promise.reject(new Error('MirroredSessionStore.length scans the keyspace; not supported')), cb);
  }
  override ids(cb?: Callback): Promise<any> {
    return settle(Promise.reject(new Error('MirroredSessionStore.ids scans the keyspace; not supported')), cb);
  }
  override all(cb?: Callback): Promise<any> {
    return settle(Promise.reject(new Error('MirroredSessionStore.all scans the keyspace; not supported')), cb);
  }

  /** Runs a Redis step; if Redis is away or does not answer, says so (undefined) instead of failing the request. */
  private async redis<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    if (!this.deps.cache.available) return undefined;
    try {
      return await this.deps.cache.answered(step());
    } catch (err) {
      if (!isDependencyError(err)) throw err;
      this.deps.logger.warn({ err: (err as Error).message, step: what }, 'Redis unavailable; continuing with PostgreSQL');
      return undefined;
    }
  }

  private async readSession(hash: string): Promise<SessionData | null> {
    const entry = await this.redis('read', () => this.deps.cache.read(hash));
    if (!entry) return this.readFromDatabase(hash);
    this.deps.activity.cacheLookup(entry.raw !== null);
    if (entry.raw === null) return this.restoreSession(hash);
    const sess = (await this.serializer.parse(entry.raw)) as SessionData;
    if (!sess.auth) return sess;
    if (isExpired(sess.auth, this.deps.lifetime, this.deps.now())) {
      await this.deps.revoker.revokeHashes([hash], sess.auth.user.id, 'expired');
      return null;
    }
    if ((sess.auth.verifiedAt ?? 0) < entry.validSince) return this.revalidate(hash, sess, sess.auth);
    return sess;
  }

  /** Degraded read while Redis is away: the row, as is (nothing is written back). */
  private async readFromDatabase(hash: string): Promise<SessionData | null> {
    this.deps.activity.cacheLookup(false);
    const row = await this.deps.records.findLive(hash, new Date(this.deps.now()));
    return row ? withLastSeen(row.data, row.lastSeenAt) : null;
  }

  /** Redis has no entry: PostgreSQL decides whether the session still lives. */
  private async restoreSession(hash: string): Promise<SessionData | null> {
    const { cache, records, now } = this.deps;
    if (await cache.isGone(hash)) return null;
    const row = await records.findLive(hash, new Date(now()));
    if (!row) {
      await cache.markGone(hash);
      return null;
    }
    const siblings = await records.findLiveForUser(row.userId, new Date(now()));
    for (const sibling of siblings) {
      const data = withLastSeen(sibling.data, sibling.lastSeenAt, now());
      if (data.auth) await this.putAuthenticated(sibling.idHash, data, data.auth, 'restore');
    }
    this.deps.logger.info({ userId: row.userId, restored: siblings.length }, 'sessions restored into Redis from PostgreSQL');
    return withLastSeen(row.data, row.lastSeenAt, now());
  }

  /** The entry predates the last outage: keep it only if its row still exists. */
  private async revalidate(hash: string, sess: SessionData, auth: SessionAuth): Promise<SessionData | null> {
    let row;
    try {
      row = await this.deps.records.findLive(hash, new Date(this.deps.now()));
    } catch (err) {
      if (!isDependencyError(err)) throw err;
      return sess; // PostgreSQL away too: trust Redis for now, check again on the next request
    }
    if (!row) {
      await this.deps.revoker.revokeHashes([hash], auth.user.id);
      return null;
    }
    auth.verifiedAt = this.deps.now();
    await this.redis('revalidate', () => this.putAuthenticated(hash, sess, auth, 'touch'));
    return sess;
  }

  private async writeSession(hash: string, sess: SessionData): Promise<void> {
    const auth = sess.auth;
    if (!auth) {
      // Nothing to lose but a CSRF token: without Redis it is simply not kept.
      await this.redis('anonymous write', () => super.set(hash, sess));
      return;
    }
    const expiry = expiresAt(auth, this.deps.lifetime);
    if (isNewSession(sess)) {
      // The row first: a session exists once PostgreSQL has it. If Redis is away, the first
      // request after it returns restores the entry from this row.
      await this.deps.records.upsert(hash, auth, sess, expiry);
      await this.redis('write', () => this.putAuthenticated(hash, sess, auth, 'write'));
      return;
    }
    const result = await this.redis('write', () => this.putAuthenticated(hash, sess, auth, 'write'));
    if (result === 'blocked') return; // revoked while this request ran: stay revoked
    if (!(await this.deps.records.update(hash, auth, sess, expiry))) {
      // The row is gone (revoked elsewhere): PostgreSQL is the truth, so drop the entry.
      await this.deps.revoker.revokeHashes([hash], auth.user.id);
    }
  }

  /** Called after every request that did not change the session: usually nothing to do, so hash lazily. */
  private async refreshSession(sid: string, sess: SessionData): Promise<void> {
    const auth = sess.auth;
    if (!auth) {
      await this.redis('anonymous touch', () => super.touch(hashSessionId(sid), sess));
      return;
    }
    const nowMs = this.deps.now();
    if (!isTouchDue(auth, this.deps.lifetime, nowMs)) return;
    const hash = hashSessionId(sid);
    auth.lastSeenAt = nowMs;
    const result = await this.redis('touch', () => this.putAuthenticated(hash, sess, auth, 'touch'));
    if (result !== 'blocked') this.deps.lastSeen.enqueue({ hash, lastSeenAt: nowMs, expiresAt: expiresAt(auth, this.deps.lifetime) });
  }

  private putAuthenticated(hash: string, sess: SessionData, auth: SessionAuth, mode: PutMode): Promise<PutResult> {
    const { cache, lifetime, now } = this.deps;
    return cache.put(hash, this.serializer.stringify(sess), mode, {
      userId: auth.user.id,
      expiresAtMs: expiresAt(auth, lifetime),
      nowMs: now(),
      indexTtlMs: lifetime.ttlMs,
    });
  }
}

/** The row's data with its (write-behind) lastSeenAt, and `verifiedAt` when it is written back. */
function withLastSeen(data: SessionData, lastSeenAt: Date, verifiedAt?: number): SessionData {
  if (!data.auth) return data;
  const auth = { ...data.auth, lastSeenAt: Math.max(data.auth.lastSeenAt, lastSeenAt.getTime()) };
  return { ...data, auth: verifiedAt === undefined ? auth : { ...auth, verifiedAt } };
}
