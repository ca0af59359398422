// Granting and revoking the admin role (the `npm run admin` command). A privilege change
// revokes every session of the user: the next sign-in carries the new role.
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import type { Role } from '../sessions/session-data.ts';
import { recordEvents, revocationEvents } from '../sessions/session-history.ts';
import type { SessionRevoker } from '../sessions/session-revoker.ts';

export interface RoleChange {
  userId: string;
  email: string;
  role: Role;
  changed: boolean;
  revokedSessions: number;
}

export async function setRole(db: Db, revoker: SessionRevoker, email: string, role: Role): Promise<RoleChange> {
  const user = await db.user.findUnique({ where: { email }, select: { id: true, email: true, role: true } });
  if (!user) throw new AppError('not_found', `No user with the email ${email}.`);
  if (user.role === role) return { userId: user.id, email: user.email, role, changed: false, revokedSessions: 0 };
  // The role changes in the same transaction that ends every session and moves the credential
  // version on: a sign-in racing it cannot store a session that carries the old role.
  const { removed } = await revoker.revokeAllForUser(user.id, null, { role });
  const context = { ip: null, userAgent: 'admin command' };
  await recordEvents(db, [{ type: 'role_changed', userId: user.id, ...context }, ...revocationEvents({ userId: null, handle: null, ...context }, removed, null)]);
  return { userId: user.id, email: user.email, role, changed: true, revokedSessions: removed.length };
}
