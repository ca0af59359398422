// The admin session listing: filters and keyset paging over the indexed `Session` table.
import { z } from 'zod';
import { email, MAX_EMAIL_LENGTH } from '../auth/auth-schemas.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { describeDevice } from '../sessions/device.ts';
import { HANDLE_PATTERN } from '../sessions/session-data.ts';
import type { SessionView } from '../sessions/session-listing.ts';

export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

// The start of an address: the local part's characters (as EMAIL_PATTERN in auth-schemas.ts
// allows them), then optionally the @ and the beginning of a domain.
const EMAIL_PREFIX_PATTERN = /^[\x21-\x3f\x41-\x7e]+(?:@[a-z0-9.-]*)?$/;
const emailFilter = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  // `abort`: the one message that says what is wrong, not the pattern's too.
  .min(1, { message: 'must not be empty', abort: true })
  .max(MAX_EMAIL_LENGTH, { message: `must be at most ${MAX_EMAIL_LENGTH} characters`, abort: true })
  .regex(EMAIL_PREFIX_PATTERN, 'must be an email address or its beginning');

const querySchema = z.object({
  userId: z.uuid({ message: 'must be a user id (UUID)' }).optional(),
  email: emailFilter.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .pipe(z.number().min(1, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`).max(MAX_PAGE_SIZE, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`))
    .optional(),
  cursor: z.string().max(100).optional(),
});

/**
 * A whole address matches that address only (the unique index); anything shorter matches every
 * address that starts with it (`bob` finds bob@… and bob.smith@…; the pattern index, see the
 * User model). Both lower-cased, as stored.
 */
export type EmailFilter = { match: 'exact' | 'prefix'; value: string };

export interface SessionQuery {
  userId?: string | undefined;
  email?: EmailFilter | undefined;
  limit: number;
  after: { createdAt: Date; handle: string } | null;
}

/** A session as the admin listing shows it: the user's own view (`current`: the admin's own), plus whose it is. */
export interface AdminSessionView extends SessionView {
  userId: string;
  email: string;
}

/** The cursor names the last session of a page by its creation time and public handle. */
export function encodeCursor(createdAt: Date, handle: string): string {
  return Buffer.from(`${createdAt.getTime()}.${handle}`).toString('base64url');
}

function decodeCursor(cursor: string): SessionQuery['after'] {
  const [ms, handle] = Buffer.from(cursor, 'base64url').toString().split('.');
  if (!ms || !/^\d{1,15}$/.test(ms) || !handle || !HANDLE_PATTERN.test(handle)) return null;
  return { createdAt: new Date(Number(ms)), handle };
}

export function parseSessionQuery(query: unknown): SessionQuery {
  const parsed = querySchema.safeParse(query ?? {});
  if (!parsed.success) {
    const details = Object.fromEntries(parsed.error.issues.map((issue) => [String(issue.path[0] ?? 'query'), issue.message]));
    throw new AppError('validation_failed', 'Some query parameters are not valid.', { details });
  }
  const { userId, email: byEmail, limit, cursor } = parsed.data;
  const after = cursor ? decodeCursor(cursor) : null;
  if (cursor && !after) throw new AppError('validation_failed', 'Some query parameters are not valid.', { details: { cursor: 'is not a cursor from this listing' } });
  return { userId, email: byEmail === undefined ? undefined : toEmailFilter(byEmail), limit: limit ?? DEFAULT_PAGE_SIZE, after };
}

function toEmailFilter(value: string): EmailFilter {
  return { match: email.safeParse(value).success ? 'exact' : 'prefix', value };
}

/** `%`, `_` and `\` are LIKE's own characters (and allowed in addresses): matched literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

function emailWhere(filter: EmailFilter) {
  // Prisma's startsWith is `LIKE $1` with `%` appended, and escapes nothing itself.
  return { user: { email: filter.match === 'exact' ? filter.value : { startsWith: escapeLike(filter.value) } } };
}

/** `currentHandle`: the asking admin's own session, marked `current`. */
export async function findSessions(db: Db, query: SessionQuery, now: Date, currentHandle: string | null): Promise<{ sessions: AdminSessionView[]; nextCursor: string | null }> {
  const rows = await db.session.findMany({
    where: {
      expiresAt: { gt: now },
      ...(query.userId ? { userId: query.userId } : {}),
      ...(query.email ? emailWhere(query.email) : {}),
      ...(query.after
        ? { OR: [{ createdAt: { lt: query.after.createdAt } }, { createdAt: query.after.createdAt, handle: { lt: query.after.handle } }] }
        : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { handle: 'desc' }],
    take: query.limit + 1,
    select: { handle: true, userId: true, createdAt: true, lastSeenAt: true, expiresAt: true, ip: true, userAgent: true, user: { select: { email: true } } },
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    sessions: page.map((row) => ({
      id: row.handle,
      current: row.handle === currentHandle,
      userId: row.userId,
      email: row.user.email,
      createdAt: row.createdAt.toISOString(),
      lastSeenAt: row.lastSeenAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      ip: row.ip,
      userAgent: row.userAgent,
      device: describeDevice(row.userAgent),
    })),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last.createdAt, last.handle) : null,
  };
}
