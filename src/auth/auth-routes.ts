// /api/auth: register, login, reauthenticate, logout, logout-all, me, password (README: HTTP API).
import { Router } from 'express';
import type { RateLimiting } from '../rate-limit/index.ts';
import { expiresAt } from '../sessions/session-data.ts';
import { clearSessionCookie, requireSignedIn, signedIn } from '../sessions/session-middleware.ts';
import { AuthActions, type AuthActionDeps } from './auth-actions.ts';
import type { RecentPassword } from './recent-password.ts';

export interface AuthRouteDeps extends AuthActionDeps {
  limits: RateLimiting;
  isProduction: boolean;
  recentPassword: RecentPassword;
}

export function createAuthRouter(deps: AuthRouteDeps): Router {
  const { sessions, limits, isProduction, recentPassword } = deps;
  const actions = new AuthActions(deps);
  const router = Router();
  const { ipLimiter } = limits;

  router.get('/challenge', ipLimiter, async function challenge(_req, res) {
    res.set('Cache-Control', 'no-store').json(await limits.challenges.create());
  });

  router.post('/register', ipLimiter, async function register(req, res) {
    res.status(201).json({ user: await actions.register(req, req.body) });
  });

  router.post('/login', ipLimiter, async function login(req, res) {
    res.json({ user: await actions.login(req, req.body) });
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
        authenticatedAt: new Date(auth.authenticatedAt).toISOString(),
      },
    });
  });

  router.post('/reauthenticate', ipLimiter, requireSignedIn, async function reauthenticate(req, res) {
    const auth = await actions.reauthenticate(req, req.body);
    res.json({ authenticatedAt: new Date(auth.authenticatedAt).toISOString() });
  });

  router.post('/logout', requireSignedIn, async function logout(req, res) {
    await actions.logout(req);
    clearSessionCookie(res, isProduction);
    res.status(204).end();
  });

  router.post('/logout-all', requireSignedIn, recentPassword.requireRecentPassword, async function logoutAll(req, res) {
    const revoked = await actions.logoutEverywhere(req);
    clearSessionCookie(res, isProduction);
    res.json({ revoked });
  });

  router.post('/password', ipLimiter, requireSignedIn, async function changePassword(req, res) {
    res.json(await actions.changePassword(req, req.body));
  });

  return router;
}
