// /api/sessions: the signed-in user's own sessions (README: HTTP API).
import { Router } from 'express';
import type { Db } from '../db.ts';
import type { Sessions } from './index.ts';
import { readHistory } from './session-history.ts';
import { SessionActions } from './session-actions.ts';
import { clearSessionCookie, requireSignedIn, signedIn, type PasswordGate } from './session-middleware.ts';

export interface SessionRouteDeps {
  db: Db;
  sessions: Sessions;
  isProduction: boolean;
  now: () => number;
  /** The recent-password gate (auth/recent-password.ts): signing other devices out needs it. */
  recentPassword: PasswordGate;
}

export function createSessionRouter(deps: SessionRouteDeps): Router {
  const { db, isProduction, recentPassword } = deps;
  const actions = new SessionActions(deps);
  const router = Router();
  router.use(requireSignedIn);

  router.get('/', async function listSessions(req, res) {
    res.json({ sessions: await actions.list(req) });
  });

  router.get('/history', async function sessionHistory(req, res) {
    res.json({ events: await readHistory(db, signedIn(req).user.id) });
  });

  router.post('/revoke-others', recentPassword.requireRecentPassword, async function revokeOthers(req, res) {
    res.json({ revoked: await actions.revokeOthers(req) });
  });

  router.delete('/:id', async function revokeSession(req, res) {
    const handle = String(req.params.id);
    // Signing out this device is a sign-out, never gated; another device needs a recent password.
    if (handle !== signedIn(req).handle) recentPassword.assert(req);
    if (await actions.revoke(req, handle)) clearSessionCookie(res, isProduction);
    res.status(204).end();
  });

  return router;
}
