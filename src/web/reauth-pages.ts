// /reauthenticate: the password again, before a sensitive action (README: Sensitive actions need a recent password). The error page
// sends the person here with `next` = the page they were on; after the password they are back
// there and click again — the action they tried is never replayed from here.
import { Router, type RequestHandler } from 'express';
import { AuthActions, type AuthActionDeps } from '../auth/auth-actions.ts';
import { formBody } from '../http/form-body.ts';
import type { RateLimiting } from '../rate-limit/index.ts';
import { requireSignedIn, signedIn, type PasswordGate } from '../sessions/session-middleware.ts';
import { formErrors, NO_FORM_ERRORS, renderForm, renderPage, type FormErrors } from './forms.ts';
import { safeNextPath } from './safe-next.ts';

export interface ReauthPageDeps extends AuthActionDeps {
  limits: RateLimiting;
  verifyCsrf: RequestHandler;
  /** The page says how long a confirmation lasts. */
  recentPassword: PasswordGate;
}

const LABELS = { password: 'Password' };

export function createReauthPages(deps: ReauthPageDeps): Router {
  const { limits, loginProtection, verifyCsrf } = deps;
  const reauthMaxAgeMs = deps.recentPassword.maxAgeMs;
  const actions = new AuthActions(deps);
  const router = Router();

  function view(next: string, passwordEnteredAt: number, errors: FormErrors, challenge: boolean) {
    return { title: 'Confirm your password', next, passwordEnteredAt: new Date(passwordEnteredAt).toISOString(), maxAgeMs: reauthMaxAgeMs, errors, challenge };
  }

  router.get('/reauthenticate', requireSignedIn, function reauthenticatePage(req, res) {
    renderPage(res, 'reauthenticate', view(safeNextPath(req.query.next), signedIn(req).authenticatedAt, NO_FORM_ERRORS, false));
  });

  router.post('/reauthenticate', formBody, limits.ipLimiter, requireSignedIn, verifyCsrf, async function reauthenticate(req, res) {
    const next = safeNextPath(req.body?.next);
    try {
      await actions.reauthenticate(req, req.body);
      return res.redirect(303, next);
    } catch (err) {
      const errors = formErrors(err, ['validation_failed', 'challenge_required', 'rate_limited'], LABELS, {
        challenge_required: 'Too many wrong passwords. Confirm you are not a robot, then try again.',
      });
      const challenge = await loginProtection.challengeRequired(req, signedIn(req).user.email);
      renderForm(res, 'reauthenticate', view(next, signedIn(req).authenticatedAt, errors, challenge));
    }
  });

  return router;
}
