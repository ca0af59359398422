// The sign-in pages: /, /login, /register and POST /logout. Forms post to the same actions as
// the JSON API (auth/auth-actions.ts), behind the same per-IP limiter and login protection.
import { Router, type RequestHandler } from 'express';
import { AuthActions, type AuthActionDeps } from '../auth/auth-actions.ts';
import { loginBody, MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from '../auth/auth-schemas.ts';
import { formBody, withoutBlank } from '../http/form-body.ts';
import type { RateLimiting } from '../rate-limit/index.ts';
import { clearSessionCookie, requireSignedIn } from '../sessions/session-middleware.ts';
import { formErrors, NO_FORM_ERRORS, renderForm, renderPage, typedText } from './forms.ts';
import { safeNextPath } from './safe-next.ts';

export interface AuthPageDeps extends AuthActionDeps {
  limits: RateLimiting;
  isProduction: boolean;
  /** From createCsrfProtection(), made once in app.ts. */
  verifyCsrf: RequestHandler;
}

const SIGNED_OUT_NOTICES: Record<string, string> = {
  device: 'You have been signed out.',
  everywhere: 'You have been signed out on every device.',
};

const LABELS = { email: 'Email', password: 'Password', name: 'Name' };

export function createAuthPages(deps: AuthPageDeps): Router {
  const { limits, loginProtection, isProduction, verifyCsrf } = deps;
  const { lifetime } = deps.sessions;
  const actions = new AuthActions(deps);
  const router = Router();

  router.get('/', function home(req, res) {
    res.redirect(303, req.session?.auth ? '/account' : '/login');
  });

  router.get('/login', function loginPage(req, res) {
    const next = safeNextPath(req.query.next);
    if (req.session?.auth) return res.redirect(303, next);
    const notice = SIGNED_OUT_NOTICES[String(req.query.signed_out)] ?? '';
    renderPage(res, 'login', { title: 'Sign in', email: '', next, notice, remember: false, lifetime, errors: NO_FORM_ERRORS, challenge: false });
  });

  router.post('/login', formBody, limits.ipLimiter, verifyCsrf, async function login(req, res) {
    const next = safeNextPath(req.body?.next);
    // A ticked checkbox is sent (with any value); an unticked one is not sent at all.
    const remember = typeof req.body?.remember === 'string';
    try {
      await actions.login(req, { ...req.body, remember });
      return res.redirect(303, next);
    } catch (err) {
      // invalid_credentials keeps the API's one sentence for a wrong password, an unknown email
      // and a locked account alike, so the page reveals nothing about which it was.
      const errors = formErrors(err, ['validation_failed', 'invalid_credentials', 'challenge_required'], LABELS, {
        challenge_required: 'Too many failed attempts. Confirm you are not a robot, then sign in again.',
      });
      const email = loginBody.shape.email.safeParse(req.body?.email);
      const challenge = email.success && (await loginProtection.challengeRequired(req, email.data));
      renderForm(res, 'login', { title: 'Sign in', email: typedText(req.body?.email, MAX_EMAIL_LENGTH), next, notice: '', remember, lifetime, errors, challenge });
    }
  });

  router.get('/register', function registerPage(req, res) {
    if (req.session?.auth) return res.redirect(303, '/account');
    renderPage(res, 'register', { title: 'Create an account', email: '', name: '', errors: NO_FORM_ERRORS });
  });

  router.post('/register', formBody, limits.ipLimiter, verifyCsrf, async function register(req, res) {
    try {
      await actions.register(req, withoutBlank(req.body, ['name']));
      return res.redirect(303, '/account');
    } catch (err) {
      const errors = formErrors(err, ['validation_failed', 'email_taken'], LABELS, {
        email_taken: 'An account could not be created with this email. If it is yours, sign in instead.',
      });
      renderForm(res, 'register', { title: 'Create an account', email: typedText(req.body?.email, MAX_EMAIL_LENGTH), name: typedText(req.body?.name, MAX_NAME_LENGTH), errors });
    }
  });

  router.post('/logout', formBody, requireSignedIn, verifyCsrf, async function logout(req, res) {
    await actions.logout(req);
    clearSessionCookie(res, isProduction);
    res.redirect(303, '/login?signed_out=device');
  });

  return router;
}
