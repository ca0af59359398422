// The express-session store: connect-redis's RedisStore, keyed by a SHA-256 of the session id
// and mirrored in PostgreSQL.
//
//   read   get():    Redis GET (the only command on a normal request); on a miss, the row in
//                    PostgreSQL is checked and, if live, put back into Redis with the user's
//                    other live sessions (Redis lost data; heal that user at once).
//   write  set():    Redis (entry + per-user index, one script call) and the row.
//          touch():  at most once per touch interval: Redis entry rewritten with the new
//                    `lastSeenAt` and TTL; the row follows through the write-behind queue.
//   revoke destroy(): see session-revoker.ts.
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import type { Activity } from '../analytics/activity.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { PutMode, PutResult, SessionCache } from './session-cache.ts';
import { expiresAt, hashSessionId, isExpired, isTouchDue, type Lifetime, type SessionAuth } from './session-data.ts';
import type { SessionRecords } from './session-records.ts';
import type { SessionRevoker } from './session-revoker.ts';

type Callback = (err?: unknown, data?: any) => void;

/** A session with no one signed in (nothing stores one yet) lives in Redis only, briefly. */
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
    return settle(this.refreshSession(hashSessionId(sid), sess), cb);
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

  private async readSession(hash: string): Promise<SessionData | null> {
    const sess = (await super.get(hash)) as SessionData | null;
    this.deps.activity.cacheLookup(sess !== null);
    if (!sess) return this.restoreSession(hash);
    if (sess.auth && isExpired(sess.auth, this.deps.lifetime, this.deps.now())) {
      await this.deps.revoker.revokeHashes([hash], sess.auth.user.id, 'expired');
      return null;
    }
    return sess;
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
      const data = withLastSeen(sibling.data, sibling.lastSeenAt);
      if (data.auth) await this.putAuthenticated(sibling.idHash, data, data.auth, 'restore');
    }
    this.deps.logger.info({ userId: row.userId, restored: siblings.length }, 'sessions restored into Redis from PostgreSQL');
    return withLastSeen(row.data, row.lastSeenAt);
  }

  private async writeSession(hash: string, sess: SessionData): Promise<void> {
    const auth = sess.auth;
    if (!auth) {
      await super.set(hash, sess);
      return;
    }
    const result = await this.putAuthenticated(hash, sess, auth, 'write');
    if (result === 'blocked') return; // revoked while this request ran: stay revoked
    const expiry = expiresAt(auth, this.deps.lifetime);
    try {
      if (result === 'created') await this.deps.records.upsert(hash, auth, sess, expiry);
      else if (!(await this.deps.records.update(hash, auth, sess, expiry))) {
        // The row is gone (revoked elsewhere): PostgreSQL is the truth, so drop the entry.
        await this.deps.revoker.revokeHashes([hash], auth.user.id);
      }
    } catch (err) {
      // Never leave a session in Redis that PostgreSQL does not know about.
      if (result === 'created') await this.deps.cache.discard(hash, auth.user.id).catch(() => undefined);
      throw err;
    }
  }

  private async refreshSession(hash: string, sess: SessionData): Promise<void> {
    const auth = sess.auth;
    if (!auth) {
      await super.touch(hash, sess);
      return;
    }
    const nowMs = this.deps.now();
    if (!isTouchDue(auth, this.deps.lifetime, nowMs)) return;
    auth.lastSeenAt = nowMs;
    const result = await this.putAuthenticated(hash, sess, auth, 'touch');
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

function withLastSeen(data: SessionData, lastSeenAt: Date): SessionData {
  if (!data.auth) return data;
  return { ...data, auth: { ...data.auth, lastSeenAt: Math.max(data.auth.lastSeenAt, lastSeenAt.getTime()) } };
}
