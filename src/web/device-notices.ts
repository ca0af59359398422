// The new-device notices at the top of /account (the page lists them, see account-pages.ts):
// here, dismissing one. Signing that device out is the account page's own revoke form.
import { Router, type RequestHandler } from 'express';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { formBody } from '../http/form-body.ts';
import { dismissNewDeviceNotice } from '../sessions/new-device-sign-ins.ts';
import { requireSignedIn, signedIn } from '../sessions/session-middleware.ts';

export interface DeviceNoticeDeps {
  db: Db;
  /** From createCsrfProtection(), made once in app.ts. */
  verifyCsrf: RequestHandler;
  now: () => number;
}

/** A SessionEvent id: digits, few enough to always fit a bigint. */
const NOTICE_ID = /^\d{1,18}$/;

export function createDeviceNoticeRouter({ db, verifyCsrf, now }: DeviceNoticeDeps): Router {
  const router = Router();

  router.post('/account/notices/:id/dismiss', formBody, requireSignedIn, verifyCsrf, async function dismissNotice(req, res) {
    const id = String(req.params.id);
    // Another user's notice answers exactly like one that does not exist.
    if (!NOTICE_ID.test(id) || !(await dismissNewDeviceNotice(db, signedIn(req).user.id, BigInt(id), new Date(now())))) throw new AppError('not_found');
    res.redirect(303, '/account');
  });

  return router;
}
