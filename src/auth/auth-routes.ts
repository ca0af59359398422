// /api/auth: register, login, logout, logout-all, me, password (SPEC §4).
import { Router } from 'express';
import type { Db } from '../db.ts';
import type { Activity } from '../analytics/activity.ts';
import { AppError } from '../http/errors.ts';
import type { RateLimiting } from '../rate-limit/index.ts';
import { requestContext } from '../http/request-context.ts';
import type { Sessions } from '../sessions/index.ts';
import { expiresAt } from '../sessions/session-data.ts';
import { recordEvent, recordEvents, revocationEvents } from '../sessions/session-history.ts';
import { clearSessionCookie, currentSessionHash, destroySession, requireSignedIn, signedIn } from '../sessions/session-middleware.ts';
import { changePasswordBody, loginBody, parseBody, registerBody } from './auth-schemas.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.ts';
import type { LoginProtection } from './login-protection.ts';
import { startSession } from './sign-in.ts';
import { createUser, findUserByEmail, findUserById, setPasswordHash, toSessionUser } from './users.ts';

export interface AuthRouteDeps {
  db: Db;
  sessions: Sessions;
  limits: RateLimiting;
  loginProtection: LoginProtection;
  activity: Activity;
  isProduction: boolean;
  now: () => number;
}

export function createAuthRouter({ db, sessions, limits, loginProtection, activity, isProduction, now }: AuthRouteDeps): Router {
  const router = Router();
  const signIn = { lifetime: sessions.lifetime, activity, now };
  const { ipLimiter } = limits;

  router.get('/challenge', ipLimiter, async function challenge(_req, res) {
    res.set('Cache-Control', 'no-store').json(await limits.challenges.create());
  });

  router.post('/register', ipLimiter, async function register(req, res) {
    const body = parseBody(registerBody, req.body);
    const user = await createUser(db, { email: body.email, name: body.name, passwordHash: await hashPassword(body.password) });
    const auth = await startSession(req, user, signIn);
    await recordEvents(db, [
      { type: 'registered', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) },
      { type: 'login', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) },
    ]);
    res.status(201).json({ user });
  });

  router.post('/login', ipLimiter, async function login(req, res) {
    const body = parseBody(loginBody, req.body);
    const row = await findUserByEmail(db, body.email);
    const attempt = { email: body.email, password: body.password, userId: row?.id ?? null, altcha: body.altcha };
    await loginProtection.admit(req, attempt);
    const ok = row ? await verifyPassword(row.passwordHash, body.password) : await burnPasswordCheck(body.password);
    if (!row || !ok) return loginProtection.failed(req, attempt);
    await loginProtection.succeeded(attempt);
    activity.loginSucceeded();
    const user = toSessionUser(row);
    const auth = await startSession(req, user, signIn);
    await recordEvent(db, { type: 'login', userId: user.id, sessionHandle: auth.handle, ...requestContext(req) });
    res.json({ user });
  });

  router.get('/me', requireSignedIn, function me(req, res) {
    const auth = signedIn(req);
    res.json({
      user: auth.user,
      session: {
        id: auth.handle,
        createdAt: new Date(auth.createdAt).toISOString(),
        lastSeenAt: new Date(auth.lastSeenAt).toISOString(),
        expiresAt: new Date(expiresAt(auth, sessions.lifetime)).toISOString(),
      },
    });
  });

  router.post('/logout', requireSignedIn, async function logout(req, res) {
    const auth = signedIn(req);
    await destroySession(req);
    await recordEvent(db, { type: 'logout', userId: auth.user.id, sessionHandle: auth.handle, ...requestContext(req) });
    clearSessionCookie(res, isProduction);
    res.status(204).end();
  });

  router.post('/logout-all', requireSignedIn, async function logoutAll(req, res) {
    const auth = signedIn(req);
    const ownHash = currentSessionHash(req);
    const removed = await sessions.revoker.revokeAllForUser(auth.user.id, null);
    await destroySession(req);
    await recordEvents(db, revocationEvents(requestContext(req), removed, ownHash));
    clearSessionCookie(res, isProduction);
    res.json({ revoked: removed.length });
  });

  router.post('/password', ipLimiter, requireSignedIn, async function changePassword(req, res) {
    const auth = signedIn(req);
    const body = parseBody(changePasswordBody, req.body);
    const row = await findUserById(db, auth.user.id);
    if (!row) throw new AppError('unauthenticated');
    if (!(await verifyPassword(row.passwordHash, body.currentPassword))) {
      throw new AppError('validation_failed', 'The current password is incorrect.', { details: { currentPassword: 'is incorrect' } });
    }
    await setPasswordHash(db, row.id, await hashPassword(body.newPassword));
    const removed = await sessions.revoker.revokeAllForUser(row.id, currentSessionHash(req));
    // This session continues under a new id (and handle), so a stolen copy of the old cookie is dead too.
    const next = await startSession(req, toSessionUser(row), signIn);
    await recordEvents(db, [
      { type: 'password_changed', userId: row.id, sessionHandle: next.handle, ...requestContext(req) },
      ...revocationEvents(requestContext(req), removed, null),
    ]);
    res.json({ user: next.user, revoked: removed.length });
  });

  return router;
}
