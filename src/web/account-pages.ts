// /account: the profile, this user's devices (sessions) with sign-out buttons, the password
// form and recent activity. Every button is a CSRF-protected form posting to the same actions
// as the JSON API.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AuthActions, type AuthActionDeps } from '../auth/auth-actions.ts';
import { findUserById } from '../auth/users.ts';
import { formBody } from '../http/form-body.ts';
import type { RateLimiting } from '../rate-limit/index.ts';
import { readNewDeviceNotices } from '../sessions/new-device-sign-ins.ts';
import { readHistory } from '../sessions/session-history.ts';
import { SessionActions } from '../sessions/session-actions.ts';
import { clearSessionCookie, requireSignedIn, signedIn, type PasswordGate } from '../sessions/session-middleware.ts';
import { renderForm, type FormErrors } from './forms.ts';
import { passwordFormErrors, passwordFormRedirect } from './password-form.ts';

export interface AccountPageDeps extends AuthActionDeps {
  limits: RateLimiting;
  isProduction: boolean;
  /** From createCsrfProtection(), made once in app.ts. */
  verifyCsrf: RequestHandler;
  /** Signing other devices out needs a recent password; when stale the error page sends the person to /reauthenticate. */
  recentPassword: PasswordGate;
}

/** Recent activity shows this many events (the history keeps more). */
const ACTIVITY_SHOWN = 20;

const NOTICES: Record<string, string> = {
  'device-signed-out': 'The device was signed out.',
  'others-signed-out': 'All other devices were signed out.',
  'password-changed': 'Your password was changed. Every other device was signed out.',
};

export function createAccountPages(deps: AccountPageDeps): Router {
  const { db, limits, isProduction, verifyCsrf } = deps;
  const { requireRecentPassword } = deps.recentPassword;
  const auth = new AuthActions(deps);
  const devices = new SessionActions(deps);
  const router = Router();

  async function renderAccount(req: Request, res: Response, passwordErrors: FormErrors): Promise<void> {
    const session = signedIn(req);
    const [user, sessions, history, newDevices] = await Promise.all([
      findUserById(db, session.user.id),
      devices.list(req),
      readHistory(db, session.user.id),
      readNewDeviceNotices(db, session.user.id, session.handle, new Date(deps.now())),
    ]);
    renderForm(res, 'account', {
      title: 'Your account',
      profile: { name: user?.name ?? session.user.name, email: user?.email ?? session.user.email, role: user?.role ?? session.user.role, createdAt: user?.createdAt ?? null },
      passwordEnteredAt: new Date(session.authenticatedAt).toISOString(),
      currentHandle: session.handle,
      sessions,
      history: history.slice(0, ACTIVITY_SHOWN),
      notice: NOTICES[String(req.query.notice)] ?? '',
      newDevices,
      errors: passwordErrors,
    });
  }

  router.get('/account', requireSignedIn, async function accountPage(req, res) {
    await renderAccount(req, res, passwordFormErrors(req.query.password));
  });

  router.post('/account/password', formBody, limits.ipLimiter, requireSignedIn, verifyCsrf, async function changePassword(req, res) {
    try {
      await auth.changePassword(req, req.body);
    } catch (err) {
      return res.redirect(303, passwordFormRedirect(err));
    }
    res.redirect(303, '/account?notice=password-changed');
  });

  router.post('/account/sessions/revoke-others', formBody, requireSignedIn, verifyCsrf, requireRecentPassword, async function revokeOthers(req, res) {
    await devices.revokeOthers(req);
    res.redirect(303, '/account?notice=others-signed-out');
  });

  router.post('/account/sessions/:id/revoke', formBody, requireSignedIn, verifyCsrf, async function revokeDevice(req, res) {
    const handle = String(req.params.id);
    // Signing out this device is a sign-out, never gated; another device needs a recent password.
    if (handle !== signedIn(req).handle) deps.recentPassword.assert(req);
    if (await devices.revoke(req, handle)) {
      clearSessionCookie(res, isProduction);
      return res.redirect(303, '/login?signed_out=device');
    }
    res.redirect(303, '/account?notice=device-signed-out');
  });

  router.post('/account/logout-everywhere', formBody, requireSignedIn, verifyCsrf, requireRecentPassword, async function logoutEverywhere(req, res) {
    await auth.logoutEverywhere(req);
    clearSessionCookie(res, isProduction);
    res.redirect(303, '/login?signed_out=everywhere');
  });

  return router;
}
