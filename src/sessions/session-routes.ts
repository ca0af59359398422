// /api/sessions: the signed-in user's own sessions (SPEC §4).
import { Router } from 'express';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import type { Sessions } from './index.ts';
import { HANDLE_PATTERN } from './session-data.ts';
import { readHistory, recordEvents, revocationEvents } from './session-history.ts';
import { requestContext } from '../http/request-context.ts';
import { listUserSessions, toSessionView } from './session-listing.ts';
import { clearSessionCookie, currentSessionHash, destroySession, requireSignedIn, signedIn } from './session-middleware.ts';

export interface SessionRouteDeps {
  db: Db;
  sessions: Sessions;
  isProduction: boolean;
  now: () => number;
}

export function createSessionRouter({ db, sessions, isProduction, now }: SessionRouteDeps): Router {
  const router = Router();
  router.use(requireSignedIn);

  router.get('/', async function listSessions(req, res) {
    const auth = signedIn(req);
    const current = currentSessionHash(req);
    const entries = await listUserSessions(sessions.cache, sessions.records, auth.user.id, now());
    const views = entries.map((entry) => toSessionView(entry, current, sessions.lifetime));
    views.sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
    res.json({ sessions: views });
  });

  router.get('/history', async function sessionHistory(req, res) {
    res.json({ events: await readHistory(db, signedIn(req).user.id) });
  });

  router.post('/revoke-others', async function revokeOthers(req, res) {
    const auth = signedIn(req);
    const removed = await sessions.revoker.revokeAllForUser(auth.user.id, currentSessionHash(req));
    await recordEvents(db, revocationEvents(requestContext(req), removed, null));
    res.json({ revoked: removed.length });
  });

  router.delete('/:id', async function revokeSession(req, res) {
    const auth = signedIn(req);
    const handle = String(req.params.id);
    // Another user's handle answers exactly like a handle that does not exist.
    const row = HANDLE_PATTERN.test(handle) ? await sessions.records.findByHandle(auth.user.id, handle) : null;
    if (!row) throw new AppError('not_found', 'No such session.');
    const ownHash = currentSessionHash(req);
    const removed = await sessions.revoker.revokeHashes([row.idHash], auth.user.id);
    await recordEvents(db, revocationEvents(requestContext(req), removed, ownHash));
    if (row.idHash === ownHash) {
      await destroySession(req);
      clearSessionCookie(res, isProduction);
    }
    res.status(204).end();
  });

  return router;
}
