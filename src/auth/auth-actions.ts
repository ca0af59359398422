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
import type { SessionAuth, SessionUser } from '../sessions/session-data.ts';
import { deviceFamily } from '../sessions/device.ts';
import { recordSignIns } from '../sessions/new-device-sign-ins.ts';
import { actorOf, recordEvent, recordEvents, revocationEvents } from '../sessions/session-history.ts';
import { currentSessionHash, detachSession, signedIn } from '../sessions/session-middleware.ts';
import { changePasswordBody, loginBody, parseBody, reauthenticateBody, registerBody } from './auth-schemas.ts';
import { retryAfterSeconds, type LoginProtection } from './login-protection.ts';
import type { Passwords } from './passwords.ts';
import { continueUnderNewId, startSession, type SignInDeps } from './sign-in.ts';
import { createUser, findUserByEmail, findUserById, toSessionUser, type UserRow } from './users.ts';

export interface AuthActionDeps {
  db: Db;
  sessions: Sessions;
  loginProtection: LoginProtection;
  passwords: Passwords;
  activity: Activity;
  now: () => number;
}

export class AuthActions {
  private readonly db: Db;
  private readonly sessions: Sessions;
  private readonly loginProtection: LoginProtection;
  private readonly passwords: Passwords;
  private readonly activity: Activity;
  private readonly signIn: SignInDeps;

  constructor({ db, sessions, loginProtection, passwords, activity, now }: AuthActionDeps) {
    this.db = db;
    this.sessions = sessions;
    this.loginProtection = loginProtection;
    this.passwords = passwords;
    this.activity = activity;
    this.signIn = { lifetime: sessions.lifetime, activity, revoker: sessions.revoker, now };
  }

  /** Creates the account and signs it in under a new session id. */
  async register(req: Request, fields: unknown): Promise<SessionUser> {
    const body = parseBody(registerBody, fields);
    const { credentialVersion, ...user } = await createUser(this.db, { email: body.email, name: body.name, passwordHash: await this.passwords.hash(body.password) });
    const auth = await startSession(req, user, credentialVersion, this.signIn, { remember: true });
    await recordSignIns(this.db, [
      { type: 'registered', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) },
      { type: 'login', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) },
    ]);
    return user;
  }

  /**
   * Checks the password behind the failed-login budgets; on success signs in under a new session
   * id, provided the credential it checked is still current when the session is stored.
   */
  async login(req: Request, fields: unknown): Promise<SessionUser> {
    const body = parseBody(loginBody, fields);
    const row = await findUserByEmail(this.db, body.email);
    const attempt = { email: body.email, password: body.password, userId: row?.id ?? null, passwordHash: row?.passwordHash ?? null, altcha: body.altcha };
    const result = await this.loginProtection.check(req, attempt, 'sign-in');
    if (!row || !result.ok) throw new AppError('invalid_credentials', undefined, !result.ok && result.lockedForMs > 0 ? { retryAfterSeconds: retryAfterSeconds(result.lockedForMs) } : {});
    const user = toSessionUser(row);
    const auth = await startSession(req, user, row.credentialVersion, this.signIn, { remember: body.remember });
    this.activity.loginSucceeded();
    const { newDevice } = await recordSignIns(this.db, [{ type: 'login', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) }]);
    if (newDevice) this.activity.newDeviceSignIn({ userId: user.id, handle: auth.handle, email: user.email }, auth.ip, deviceFamily(auth.userAgent));
    return user;
  }

  /** Ends this session everywhere (Redis and PostgreSQL); the caller clears the cookie. */
  async logout(req: Request): Promise<void> {
    const auth = signedIn(req);
    // By handle: the session ends even if another tab moved it to a new id meanwhile (re-authentication).
    await this.sessions.revoker.revokeHandle(auth.handle, auth.user.id, [currentSessionHash(req)!]);
    detachSession(req);
    const context = requestContext(req);
    await recordEvent(this.db, { type: 'logout', userId: auth.user.id, sessionHandle: auth.handle, ...context, actor: actorOf(auth, context) });
  }

  /** Ends every session of the user, this one included; returns how many there were. */
  async logoutEverywhere(req: Request): Promise<number> {
    const auth = signedIn(req);
    const ownHash = currentSessionHash(req);
    const { removed } = await this.sessions.revoker.revokeAllForUser(auth.user.id, null);
    detachSession(req);
    await recordEvents(this.db, revocationEvents(actorOf(auth, requestContext(req)), removed, ownHash));
    return removed.length;
  }

  /**
   * The password again, in a signed-in session (README: Sensitive actions need a recent password): checked behind the account's
   * failed-login budget like a sign-in (a wrong one counts as a failed login), then the session
   * continues under a new secret id with a fresh `authenticatedAt`.
   */
  async reauthenticate(req: Request, fields: unknown): Promise<SessionAuth> {
    const auth = signedIn(req);
    const body = parseBody(reauthenticateBody, fields);
    const row = await findUserById(this.db, auth.user.id);
    if (!row) throw new AppError('unauthenticated');
    await this.confirmPassword(req, row, body.password, body.altcha, 'password');
    const next = await continueUnderNewId(req, row.passwordHash, this.signIn);
    await recordEvent(this.db, { type: 'reauthenticated', userId: row.id, sessionHandle: next.handle, ...requestContext(req) });
    return next;
  }

  /** A signed-in user's own password, re-entered: a wrong one is a 400 on `field`, and counts as a failed login. */
  private async confirmPassword(req: Request, row: UserRow, password: string, altcha: unknown, field: string): Promise<void> {
    const attempt = { email: row.email, password, userId: row.id, passwordHash: row.passwordHash, altcha };
    const result = await this.loginProtection.check(req, attempt, 'confirm');
    if (result.ok) return;
    throw new AppError('validation_failed', field === 'password' ? 'The password is incorrect.' : 'The current password is incorrect.', {
      details: { [field]: 'is incorrect' },
      ...(result.lockedForMs > 0 ? { retryAfterSeconds: retryAfterSeconds(result.lockedForMs) } : {}),
    });
  }

  /**
   * Checks the current password (it spends from the account's failed-login budget like a
   * sign-in), sets the new one, revokes every other session and moves this one to a new id
   * (same handle and lifetime), as re-authentication does.
   */
  async changePassword(req: Request, fields: unknown): Promise<{ user: SessionUser; revoked: number }> {
    const auth = signedIn(req);
    const body = parseBody(changePasswordBody, fields);
    const row = await findUserById(this.db, auth.user.id);
    if (!row) throw new AppError('unauthenticated');
    await this.confirmPassword(req, row, body.currentPassword, body.altcha, 'currentPassword');
    const passwordHash = await this.passwords.hash(body.newPassword);
    // Lost to a credential change (or this session's revocation) since the password was checked: nothing changes.
    const { removed, credentialVersion } = await this.sessions.revoker.revokeAllForUser(row.id, auth.handle, { passwordHash, ifUnchanged: { credentialVersion: row.credentialVersion, sessionHandle: auth.handle } });
    if (credentialVersion === null) throw new AppError('unauthenticated');
    // This session continues under a new id, so a stolen copy of the old cookie is dead too.
    const next = await continueUnderNewId(req, passwordHash, this.signIn);
    const context = requestContext(req);
    await recordEvents(this.db, [
      { type: 'password_changed', userId: row.id, sessionHandle: next.handle, ...context },
      ...revocationEvents(actorOf(auth, context), removed, null),
    ]);
    return { user: next.user, revoked: removed.length };
  }
}
