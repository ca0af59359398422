// The Redis key schema of sessions, in one place. It is correct on Redis Cluster by
// construction: every user belongs to one of SESSION_BUCKETS buckets (from their id), the bucket
// is the hash tag of every key of their sessions, and it is the first two characters of their
// session ids (chosen at sign-in, when the id is new anyway), so the cookie alone locates the
// slot while the raw id is still stored nowhere. Each script touches one bucket's keys, all
// named in KEYS.
//
//   <p>sess:{bN}:<hash>           the session (session-serializer.ts); TTL = time to expiry
//   <p>gone:{bN}:<hash>           tombstone: revoked, or known not to exist (1 h)
//   <p>user:{bN}:<userId>:sessions sorted set of the user's session hashes, score = expiry (ms)
//   <p>sessions:expiring:{bN}     hash: expiry minute → sessions of the bucket expiring then
//   <p>users:expiring:{bN}        hash: minute of a user's latest expiry → users of the bucket
//   <p>revocations:generation:{bN} which generation of the kept revocations the bucket holds,
//   <p>revocations:seq:{bN}        and how many revocation writes it has had (revocation-outbox.ts)
// <hash> is the SHA-256 (base64url) of the whole session id; bN is the bucket in two hex digits.
import { createHash, randomBytes } from 'node:crypto';
import { hashSessionId } from './session-data.ts';

/** Enough to spread a cluster's slots over its primaries; few enough that summing them is cheap. */
export const SESSION_BUCKETS = 64;
const SESSION_ID = /^([0-9a-f]{2})[A-Za-z0-9_-]{32}$/;

/** Where a session lives: its hash (the key and row id) and its bucket (the key's hash tag). */
export interface SessionLocator {
  hash: string;
  bucket: number;
}

export function bucketOfUser(userId: string): number {
  return createHash('sha256').update(userId).digest()[0]! % SESSION_BUCKETS;
}

/** A new session id: the bucket of the user it is for, then 24 random bytes (base64url). */
export function newSessionId(userId: string | null): string {
  const bucket = userId === null ? randomBytes(1)[0]! % SESSION_BUCKETS : bucketOfUser(userId);
  return bucket.toString(16).padStart(2, '0') + randomBytes(24).toString('base64url');
}

/** The locator of a session id from a cookie, or null for an id this server never issued. */
export function locateSessionId(sid: string): SessionLocator | null {
  const match = SESSION_ID.exec(sid);
  const bucket = match ? parseInt(match[1]!, 16) : SESSION_BUCKETS;
  return bucket < SESSION_BUCKETS ? { hash: hashSessionId(sid), bucket } : null;
}

/** The locator of a stored session (a row, an outbox entry): its owner decides the bucket. */
export function locateStored(hash: string, userId: string): SessionLocator {
  return { hash, bucket: bucketOfUser(userId) };
}

export const allBuckets = (): number[] => Array.from({ length: SESSION_BUCKETS }, (_, bucket) => bucket);

export class SessionKeys {
  constructor(private readonly prefix: string) {}

  private tag(bucket: number): string {
    return `{b${bucket.toString(16).padStart(2, '0')}}`;
  }

  session({ hash, bucket }: SessionLocator): string {
    return `${this.prefix}sess:${this.tag(bucket)}:${hash}`;
  }

  tombstone({ hash, bucket }: SessionLocator): string {
    return `${this.prefix}gone:${this.tag(bucket)}:${hash}`;
  }

  userIndex(userId: string): string {
    return `${this.prefix}user:${this.tag(bucketOfUser(userId))}:${userId}:sessions`;
  }

  sessionCounts(bucket: number): string {
    return `${this.prefix}sessions:expiring:${this.tag(bucket)}`;
  }

  userCounts(bucket: number): string {
    return `${this.prefix}users:expiring:${this.tag(bucket)}`;
  }

  revocationGeneration(bucket: number): string {
    return `${this.prefix}revocations:generation:${this.tag(bucket)}`;
  }

  revocationSeq(bucket: number): string {
    return `${this.prefix}revocations:seq:${this.tag(bucket)}`;
  }
}
