// Signing up, in and out, and changing the password: what the JSON API (auth-routes.ts) and
// the pages (web/) both do. Each action takes the request, whose session it changes, and the
// submitted fields as they arrived: validation happens here, so both front doors accept and
// refuse exactly the same things and throw the same AppErrors.
import type { Request } from 'express';
import type { Activity } from '../analytics/activity.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { requestContext } from '../http/request-context.ts';
import type { Sessions } from '../sessions/index.ts';
import type { SessionUser } from '../sessions/session-data.ts';
import { recordEvent, recordEvents, revocationEvents } from '../sessions/session-history.ts';
import { currentSessionHash, destroySession, signedIn } from '../sessions/session-middleware.ts';
import { changePasswordBody, loginBody, parseBody, registerBody } from './auth-schemas.ts';
import type { LoginProtection } from './login-protection.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.ts';
import { startSession, type SignInDeps } from './sign-in.ts';
import { createUser, findUserByEmail, findUserById, setPasswordHash, toSessionUser } from './users.ts';

export interface AuthActionDeps {
  db: Db;
  sessions: Sessions;
  loginProtection: LoginProtection;
  activity: Activity;
  now: () => number;
}

export class AuthActions {
  private readonly db: Db;
  private readonly sessions: Sessions;
  private readonly loginProtection: LoginProtection;
  private readonly activity: Activity;
  private readonly signIn: SignInDeps;

  constructor({ db, sessions, loginProtection, activity, now }: AuthActionDeps) {
    this.db = db;
    this.sessions = sessions;
    this.loginProtection = loginProtection;
    this.activity = activity;
    this.signIn = { lifetime: sessions.lifetime, activity, now };
  }

  /** Creates the account and signs it in under a new session id. */
  async register(req: Request, fields: unknown): Promise<SessionUser> {
    const body = parseBody(registerBody, fields);
    const user = await createUser(this.db, { email: body.email, name: body.name, passwordHash: await hashPassword(body.password) });
    const auth = await startSession(req, user, this.signIn);
    await recordEvents(this.db, [
      { type: 'registered', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) },
      { type: 'login', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) },
    ]);
    return user;
  }

  /** Checks the password behind the brute-force policy; on success signs in under a new session id. */
  async login(req: Request, fields: unknown): Promise<SessionUser> {
    const body = parseBody(loginBody, fields);
    const row = await findUserByEmail(this.db, body.email);
    const attempt = { email: body.email, password: body.password, userId: row?.id ?? null, altcha: body.altcha };
    await this.loginProtection.admit(req, attempt);
    const ok = row ? await verifyPassword(row.passwordHash, body.password) : await burnPasswordCheck(body.password);
    if (!row || !ok) return this.loginProtection.failed(req, attempt);
    await this.loginProtection.succeeded(attempt);
    this.activity.loginSucceeded();
    const user = toSessionUser(row);
    const auth = await startSession(req, user, this.signIn);
    await recordEvent(this.db, { type: 'login', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) });
    return user;
  }

  /** Ends this session everywhere (Redis and PostgreSQL); the caller clears the cookie. */
  async logout(req: Request): Promise<void> {
    const auth = signedIn(req);
    await destroySession(req);
    await recordEvent(this.db, { type: 'logout', userId: auth.user.id, sessionHandle: auth.handle, ...requestContext(req) });
  }

  /** Ends every session of the user, this one included; returns how many there were. */
  async logoutEverywhere(req: Request): Promise<number> {
    const auth = signedIn(req);
    const ownHash = currentSessionHash(req);
    const removed = await this.sessions.revoker.revokeAllForUser(auth.user.id, null);
    await destroySession(req);
    await recordEvents(this.db, revocationEvents(requestContext(req), removed, ownHash));
    return removed.length;
  }

  /** Sets the new password, revokes every other session and moves this one to a new id. */
  async changePassword(req: Request, fields: unknown): Promise<{ user: SessionUser; revoked: number }> {
    const auth = signedIn(req);
    const body = parseBody(changePasswordBody, fields);
    const row = await findUserById(this.db, auth.user.id);
    if (!row) throw new AppError('unauthenticated');
    if (!(await verifyPassword(row.passwordHash, body.currentPassword))) {
      throw new AppError('validation_failed', 'The current password is incorrect.', { details: { currentPassword: 'is incorrect' } });
    }
    await setPasswordHash(this.db, row.id, await hashPassword(body.newPassword));
    const removed = await this.sessions.revoker.revokeAllForUser(row.id, currentSessionHash(req));
    // This session continues under a new id (and handle), so a stolen copy of the old cookie is dead too.
    const next = await startSession(req, toSessionUser(row), this.signIn);
    await recordEvents(this.db, [
      { type: 'password_changed', userId: row.id, sessionHandle: next.handle, ...requestContext(req) },
      ...revocationEvents(requestContext(req), removed, null),
    ]);
    return { user: next.user, revoked: removed.length };
  }
}
