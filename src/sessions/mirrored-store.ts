// The express-session store: connect-redis's RedisStore (its serializer, prefix and TTL
// handling), keyed by a SHA-256 of the session id and mirrored in PostgreSQL. Every Redis call
// goes through RedisFallback: a 2 s deadline, then PostgreSQL.
//
//   read    get():     one Redis GET: the only command on a normal request. A miss asks
//                      PostgreSQL: a live row is put back into Redis with the user's other live
//                      sessions (Redis lost data). While Redis is unreachable — or not yet caught
//                      up with the revocation outbox — sessions are read from PostgreSQL instead.
//   write   set():     a new session's row first (the truth, inserted only while the credential
//                      its sign-in checked is current), then Redis (entry + index + counters, one
//                      script call); a changed session: Redis, then its row (update only); a
//                      session re-authenticated under a new id: session-revoker.ts rotate().
//           touch():   at most once per touch interval: the Redis entry is rewritten with the new
//                      `lastSeenAt` and TTL; the row follows through the write-behind queue.
//   revoke  destroy(): see session-revoker.ts.
//   restore            restoreSession() below.
// A visitor who is not signed in is never stored (README: How a session flows).
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import type { Activity } from '../analytics/activity.ts';
import type { Logger } from '../logger.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import type { LastSeenQueue } from './last-seen-queue.ts';
import type { RevocationOutbox } from './revocation-outbox.ts';
import type { SessionCache } from './session-cache.ts';
import { CredentialChangedError, expiresAt, hashSessionId, isExpired, isTouchDue, newSessionCredential, rotatedSession, type Lifetime, type SessionAuth } from './session-data.ts';
import type { PutMode, PutResult } from './session-entries.ts';
import type { SessionHooks } from './session-hooks.ts';
import { bucketOfUser, locateSessionId, type SessionLocator } from './session-keys.ts';
import type { SessionRecords, SessionRow } from './session-records.ts';
import type { SessionRevoker } from './session-revoker.ts';
import type { SessionSerializer } from './session-serializer.ts';

type Callback = (err?: unknown, data?: any) => void;

export interface MirroredStoreDeps {
  redis: RedisFallback;
  cache: SessionCache;
  records: SessionRecords;
  revoker: SessionRevoker;
  outbox: RevocationOutbox;
  lastSeen: LastSeenQueue;
  lifetime: Lifetime;
  now: () => number;
  logger: Logger;
  activity: Activity;
  serializer: SessionSerializer;
  hooks?: SessionHooks | undefined;
}

/** What a Redis step answers when Redis could not be asked or did not answer. */
const UNAVAILABLE = Symbol('Redis unavailable');
type Maybe<T> = T | typeof UNAVAILABLE;

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
      client: deps.redis.client,
      // Never used: every method that would build a key is overridden (keys: session-keys.ts).
      prefix: '',
      serializer: deps.serializer,
      ttl: (sess: SessionData) => (sess.auth ? Math.ceil((expiresAt(sess.auth, deps.lifetime) - deps.now()) / 1000) : 0),
    });
    this.deps = deps;
  }

  override get(sid: string, cb?: Callback): Promise<any> {
    const session = locateSessionId(sid);
    return settle(session ? this.readSession(session) : Promise.resolve(null), cb);
  }

  override set(sid: string, sess: SessionData, cb?: Callback): Promise<any> {
    return settle(this.writeSession(sid, sess), cb);
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

  /** A Redis step through the one fallback policy: its answer, or UNAVAILABLE. */
  private redis<T>(what: string, step: () => Promise<T>): Promise<Maybe<T>> {
    return this.deps.redis.run<Maybe<T>>(what, step, () => UNAVAILABLE);
  }

  private async readSession(session: SessionLocator): Promise<SessionData | null> {
    const { hash } = session;
    if (!this.deps.outbox.redisTrusted) return this.readFromDatabase(hash);
    const raw = await this.redis('session read', () => this.deps.cache.read(session));
    if (raw === UNAVAILABLE) return this.readFromDatabase(hash);
    this.deps.activity.cacheLookup(raw !== null);
    if (raw === null) return this.restoreSession(session);
    const sess = this.serializer.parse(raw) as SessionData;
    if (!sess.auth) return null; // an anonymous entry from an older build: nobody is signed in
    if (isExpired(sess.auth, this.deps.lifetime, this.deps.now())) {
      await this.deps.revoker.revokeHashes([hash], sess.auth.user.id, 'expired');
      return null;
    }
    return sess;
  }

  /** Degraded read while Redis is away: the row, as is (nothing is written back). */
  private async readFromDatabase(hash: string): Promise<SessionData | null> {
    this.deps.activity.cacheLookup(false);
    const row = await this.deps.records.findLive(hash, new Date(this.deps.now()));
    return row ? withLastSeen(row) : null;
  }

  /**
   * Redis has no entry: PostgreSQL decides whether the session still lives, and a live row goes
   * back into Redis with the user's other live sessions (Redis lost data: heal the user at once).
   * The put script refuses a tombstoned session, so a revocation that lands between the row read
   * and the write wins, and then this request is not signed in either.
   */
  private async restoreSession(session: SessionLocator): Promise<SessionData | null> {
    const { cache, records, now } = this.deps;
    const { hash } = session;
    const gone = await this.redis('restore', () => cache.isGone(session));
    if (gone === UNAVAILABLE) return this.readFromDatabase(hash);
    if (gone) return null;
    const row = await records.findLive(hash, new Date(now()));
    if (!row) {
      await this.redis('restore', () => cache.markGone(session));
      return null;
    }
    const siblings = await records.findLiveForUser(row.userId, new Date(now()));
    await this.deps.hooks?.beforeRestoreWrite?.();
    const own = await this.putRow(row);
    if (own === 'blocked') return null;
    if (own === UNAVAILABLE) return withLastSeen(row);
    let restored = 1;
    for (const sibling of siblings) {
      if (sibling.idHash !== hash && (await this.putRow(sibling)) !== UNAVAILABLE) restored++;
    }
    this.deps.logger.info({ userId: row.userId, restored }, 'sessions restored into Redis from PostgreSQL');
    return withLastSeen(row);
  }

  private async putRow(row: SessionRow): Promise<Maybe<PutResult>> {
    const data = withLastSeen(row);
    if (!data.auth) return 'blocked';
    const auth = data.auth;
    return this.redis('restore', () => this.putAuthenticated(row.idHash, data, auth, 'restore'));
  }

  private async writeSession(sid: string, sess: SessionData): Promise<void> {
    const auth = sess.auth;
    if (!auth) return; // nothing is stored for a visitor who is not signed in
    // Ids are issued for their user (sign-in.ts): one that is not could never be read back.
    if (locateSessionId(sid)?.bucket !== bucketOfUser(auth.user.id)) throw new Error("a session id that does not carry its user's bucket");
    const hash = hashSessionId(sid);
    const expiry = expiresAt(auth, this.deps.lifetime);
    const rotation = rotatedSession(sess);
    if (rotation) {
      const change = { ...rotation, toHash: hash, data: sess, lastSeenAt: auth.lastSeenAt, expiresAt: expiry };
      const moved = await this.deps.revoker.rotate(change, () => this.redis('session write', () => this.putAuthenticated(hash, sess, auth, 'write')));
      // Ended meanwhile: by a revocation before the move, or of the new id (by handle) after it.
      if (!moved || moved.written === 'blocked') throw new CredentialChangedError();
      return;
    }
    const credentialVersion = newSessionCredential(sess);
    if (credentialVersion !== undefined) {
      // The row first: a session exists once PostgreSQL has it. If Redis is away, the first
      // request after it returns restores the entry from this row.
      if (!(await this.deps.records.insertIfCurrent(hash, auth, sess, expiry, credentialVersion))) throw new CredentialChangedError();
      // Revoked (every session of the user) between the insert and here: the row is gone too.
      if ((await this.redis('session write', () => this.putAuthenticated(hash, sess, auth, 'write'))) === 'blocked') throw new CredentialChangedError();
      return;
    }
    const result = await this.redis('session write', () => this.putAuthenticated(hash, sess, auth, 'write'));
    if (result === 'blocked') return; // revoked while this request ran: stay revoked
    if (!(await this.deps.records.update(hash, auth, sess, expiry))) {
      // The row is gone (revoked elsewhere): PostgreSQL is the truth, so drop the entry.
      await this.deps.revoker.revokeHashes([hash], auth.user.id);
    }
  }

  /** Called after every request that did not change the session: usually nothing to do, so hash lazily. */
  private async refreshSession(sid: string, sess: SessionData): Promise<void> {
    const auth = sess.auth;
    if (!auth) return;
    const nowMs = this.deps.now();
    if (!isTouchDue(auth, this.deps.lifetime, nowMs)) return;
    const hash = hashSessionId(sid);
    auth.lastSeenAt = nowMs;
    const result = await this.redis('session touch', () => this.putAuthenticated(hash, sess, auth, 'touch'));
    if (result !== 'blocked') this.deps.lastSeen.enqueue({ hash, userId: auth.user.id, lastSeenAt: nowMs, expiresAt: expiresAt(auth, this.deps.lifetime) });
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

/** The row's data with its (write-behind) lastSeenAt. */
function withLastSeen(row: SessionRow): SessionData {
  const { data, lastSeenAt } = row;
  if (!data.auth) return data;
  return { ...data, auth: { ...data.auth, lastSeenAt: Math.max(data.auth.lastSeenAt, lastSeenAt.getTime()) } };
}
