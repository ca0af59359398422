// A user's sessions as the API shows them: public handles only, read from the per-user index
// in Redis (O(that user's sessions)).
import type { SessionData } from 'express-session';
import type { RedisFallback } from '../redis-fallback.ts';
import { describeDevice, type Device } from './device.ts';
import type { SessionCache } from './session-cache.ts';
import type { SessionRecords } from './session-records.ts';
import { decodeSession } from './session-serializer.ts';
import { expiresAt, type Lifetime } from './session-data.ts';

export interface SessionView {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  device: Device;
}

export interface SessionEntry {
  hash: string;
  data: SessionData;
}

export interface ListingDeps {
  redis: RedisFallback;
  /** While Redis is not trusted (revocation-outbox.ts) its index may still list revoked sessions. */
  outbox: { readonly redisTrusted: boolean };
  cache: SessionCache;
  records: SessionRecords;
}

const FROM_ROWS = Symbol('from rows');

/** From the per-user index in Redis; from the rows while Redis is unreachable or not trusted. */
export async function listUserSessions({ redis, outbox, cache, records }: ListingDeps, userId: string, nowMs: number): Promise<SessionEntry[]> {
  const stored = outbox.redisTrusted
    ? await redis.run<Array<{ hash: string; raw: string }> | typeof FROM_ROWS>('session listing', () => cache.listForUser(userId, nowMs), () => FROM_ROWS)
    : FROM_ROWS;
  // An empty index for a user who is signed in (who asks) means Redis lost it: the rows decide.
  if (stored === FROM_ROWS || stored.length === 0) return (await records.findLiveForUser(userId, new Date(nowMs))).map((row) => ({ hash: row.idHash, data: row.data }));
  const entries: SessionEntry[] = [];
  for (const { hash, raw } of stored) {
    const data = decodeSession(raw);
    if (data.auth?.user.id === userId) entries.push({ hash, data });
  }
  return entries;
}

export function toSessionView(entry: SessionEntry, currentHash: string | null, lifetime: Lifetime): SessionView {
  const auth = entry.data.auth!;
  return {
    id: auth.handle,
    current: entry.hash === currentHash,
    createdAt: new Date(auth.createdAt).toISOString(),
    lastSeenAt: new Date(auth.lastSeenAt).toISOString(),
    expiresAt: new Date(expiresAt(auth, lifetime)).toISOString(),
    ip: auth.ip,
    userAgent: auth.userAgent,
    device: describeDevice(auth.userAgent),
  };
}
