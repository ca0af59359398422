// /admin (README: Admin): every session, revocation, analytics and live events, for role `admin`.
import { Router, type Request, type RequestHandler } from 'express';
import type { Activity } from '../analytics/activity.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { formBody, withoutBlank } from '../http/form-body.ts';
import { requestContext } from '../http/request-context.ts';
import { createRequireAdmin } from '../http/require-admin.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import type { Sessions } from '../sessions/index.ts';
import { HANDLE_PATTERN } from '../sessions/session-data.ts';
import { actorOf, recordEvents, revocationEvents } from '../sessions/session-history.ts';
import { listUserSessions, toSessionView } from '../sessions/session-listing.ts';
import { currentSessionHash, signedIn, type PasswordGate } from '../sessions/session-middleware.ts';
import { readAnalytics, readSummary } from './analytics.ts';
import { createEventStream } from './event-stream.ts';
import { findSessions, parseSessionQuery } from './session-query.ts';

export interface AdminRouteDeps {
  db: Db;
  redis: RedisFallback;
  sessions: Sessions;
  activity: Activity;
  now: () => number;
  /** The pages' CSRF check (createCsrfProtection in app.ts), for the dashboard's forms. */
  verifyCsrf: RequestHandler;
  /** Every state-changing admin route needs a recently entered password (README: Sensitive actions need a recent password). */
  recentPassword: PasswordGate;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createAdminRouter(deps: AdminRouteDeps): Router {
  const { db, sessions, activity, now, verifyCsrf } = deps;
  const { requireRecentPassword } = deps.recentPassword;
  const analyticsDeps = { redis: deps.redis, db, cache: sessions.cache, activity, now };
  const router = Router();
  router.use(createRequireAdmin(db));

  router.get('/sessions', async function adminSessions(req, res) {
    const html = req.accepts(['html', 'json']) === 'html';
    // The page's filter form sends every field; a blank one there means "any".
    const query = parseSessionQuery(html ? withoutBlank(req.query, ['email', 'userId']) : req.query);
    const nowMs = now();
    const [summary, page] = await Promise.all([readSummary(analyticsDeps), findSessions(db, query, new Date(nowMs), req.session.auth?.handle ?? null)]);
    if (html) {
      const analytics = await readAnalytics(analyticsDeps);
      const filters = { email: query.email?.value ?? '', userId: query.userId ?? '', limit: query.limit };
      res.render('admin/sessions', { summary, ...page, filters, analytics, now: nowMs });
      return;
    }
    res.json({ summary, ...page });
  });

  router.get('/users/:id/sessions', async function userSessions(req, res) {
    const userId = String(req.params.id);
    const user = UUID.test(userId) ? await db.user.findUnique({ where: { id: userId }, select: { id: true } }) : null;
    if (!user) throw new AppError('not_found', 'No such user.');
    const entries = await listUserSessions(sessions, user.id, now());
    res.json({ sessions: entries.map((entry) => toSessionView(entry, currentSessionHash(req), sessions.lifetime)) });
  });

  /** Revokes any user's session by its public handle (404 for an unknown one). */
  async function revokeByHandle(req: Request): Promise<void> {
    const handle = String(req.params.id);
    const removed = HANDLE_PATTERN.test(handle) ? await sessions.revoker.revokeHandle(handle, null) : null;
    if (!removed) throw new AppError('not_found', 'No such session.');
    await recordEvents(db, revocationEvents(actorOf(signedIn(req), requestContext(req)), [removed], null));
  }

  router.delete('/sessions/:id', requireRecentPassword, async function revokeSession(req, res) {
    await revokeByHandle(req);
    res.status(204).end();
  });

  // The dashboard's revoke buttons: an HTML form, so CSRF-checked, then back to the list.
  router.post('/sessions/:id/revoke', formBody, verifyCsrf, requireRecentPassword, async function revokeSessionForm(req, res) {
    await revokeByHandle(req);
    res.redirect(303, '/admin/sessions');
  });

  router.post('/users/:id/revoke-sessions', requireRecentPassword, async function revokeUserSessions(req, res) {
    const userId = String(req.params.id);
    const user = UUID.test(userId) ? await db.user.findUnique({ where: { id: userId }, select: { id: true } }) : null;
    if (!user) throw new AppError('not_found', 'No such user.');
    const { removed } = await sessions.revoker.revokeAllForUser(user.id, null);
    await recordEvents(db, revocationEvents(actorOf(signedIn(req), requestContext(req)), removed, null));
    res.json({ revoked: removed.length });
  });

  router.get('/analytics', async function analytics(_req, res) {
    res.json(await readAnalytics(analyticsDeps));
  });

  router.get('/events', createEventStream(activity.live));

  return router;
}
