// Users in PostgreSQL: creating them and finding them by id or (normalized) email. Password and
// role changes go with revoking every session: sessions/revocation-records.ts.
import { Prisma, type Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import type { SessionUser } from '../sessions/session-data.ts';

const UNIQUE_VIOLATION = 'P2002';

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: 'user' | 'admin';
  passwordHash: string;
  credentialVersion: number;
}

export function toSessionUser(row: Pick<UserRow, 'id' | 'email' | 'name' | 'role'>): SessionUser {
  return { id: row.id, email: row.email, name: row.name, role: row.role };
}

export async function createUser(db: Db, input: { email: string; name?: string | undefined; passwordHash: string }): Promise<SessionUser & { credentialVersion: number }> {
  try {
    const row = await db.user.create({ data: { email: input.email, name: input.name ?? null, passwordHash: input.passwordHash } });
    return { ...toSessionUser(row), credentialVersion: row.credentialVersion };
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === UNIQUE_VIOLATION) throw new AppError('email_taken');
    throw err;
  }
}

export function findUserByEmail(db: Db, email: string) {
  return db.user.findUnique({ where: { email } });
}

export function findUserById(db: Db, id: string) {
  return db.user.findUnique({ where: { id } });
}
