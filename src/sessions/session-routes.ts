// /api/sessions: the signed-in user's own sessions (SPEC §4).
import { Router } from 'express';
import type { Db } from '../db.ts';
import type { Sessions } from './index.ts';
import { readHistory } from './session-history.ts';
import { SessionActions } from './session-actions.ts';
import { clearSessionCookie, requireSignedIn, signedIn } from './session-middleware.ts';

export interface SessionRouteDeps {
  db: Db;
  sessions: Sessions;
  isProduction: boolean;
  now: () => number;
}

export function createSessionRouter(deps: SessionRouteDeps): Router {
  const { db, isProduction } = deps;
  const actions = new SessionActions(deps);
  const router = Router();
  router.use(requireSignedIn);

  router.get('/', async function listSessions(req, res) {
    res.json({ sessions: await actions.list(req) });
  });

  router.get('/history', async function sessionHistory(req, res) {
    res.json({ events: await readHistory(db, signedIn(req).user.id) });
  });

  router.post('/revoke-others', async function revokeOthers(req, res) {
    res.json({ revoked: await actions.revokeOthers(req) });
  });

  router.delete('/:id', async function revokeSession(req, res) {
    if (await actions.revoke(req, String(req.params.id))) clearSessionCookie(res, isProduction);
    res.status(204).end();
  });

  return router;
}
