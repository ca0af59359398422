// The admin session listing: filters and keyset paging over the indexed `Session` table.
import { z } from 'zod';
import { email } from '../auth/auth-schemas.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { describeDevice } from '../sessions/device.ts';
import { HANDLE_PATTERN } from '../sessions/session-data.ts';
import type { SessionView } from '../sessions/session-listing.ts';

export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

const querySchema = z.object({
  userId: z.uuid({ message: 'must be a user id (UUID)' }).optional(),
  email: email.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .pipe(z.number().min(1, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`).max(MAX_PAGE_SIZE, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`))
    .optional(),
  cursor: z.string().max(100).optional(),
});

export interface SessionQuery {
  userId?: string | undefined;
  email?: string | undefined;
  limit: number;
  after: { createdAt: Date; handle: string } | null;
}

/** A session as the admin listing shows it: the user's own view, plus whose it is. */
export interface AdminSessionView extends Omit<SessionView, 'current'> {
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
  return { userId, email: byEmail, limit: limit ?? DEFAULT_PAGE_SIZE, after };
}

export async function findSessions(db: Db, query: SessionQuery, now: Date): Promise<{ sessions: AdminSessionView[]; nextCursor: string | null }> {
  const rows = await db.session.findMany({
    where: {
      expiresAt: { gt: now },
      ...(query.userId ? { userId: query.userId } : {}),
      ...(query.email ? { user: { email: query.email } } : {}),
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
