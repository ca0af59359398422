// How the one error handler answers a browser (http/error-handler.ts decides when): signed
// out → to the sign-in page and back; a sensitive action with a stale password → to the
// password form and back; anything else → an HTML page with the error's message
// and status (a 429 on a form, a failed CSRF check, a 404…).
import type { Request, Response } from 'express';
import type { AppError, ErrorCode } from '../http/errors.ts';
import { loginUrl, reauthenticateUrl } from './safe-next.ts';

const TITLES: Partial<Record<ErrorCode, string>> = {
  validation_failed: 'Not valid',
  invalid_parameter: 'Not a valid address',
  forbidden: 'Not allowed',
  csrf_failed: 'Form expired',
  cross_site_request: 'Request refused',
  not_found: 'Page not found',
  payload_too_large: 'Too large',
  rate_limited: 'Too many requests',
  internal_error: 'Something went wrong',
  service_unavailable: 'Temporarily unavailable',
};

/**
 * The page a request came from, to return to: itself for a GET; for a form post, the page the
 * form was on (the Referer, same-origin only; pages send it under Referrer-Policy same-origin),
 * else the page such forms live on. Only a page that can be fetched again is worth coming back to.
 */
function pageOf(req: Request): string {
  if (req.method === 'GET') return req.originalUrl;
  const fallback = req.originalUrl.startsWith('/admin/') ? '/admin/sessions' : '/account';
  const referer = req.get('referer');
  if (!referer) return fallback;
  try {
    const url = new URL(referer);
    return url.host === req.get('host') ? url.pathname + url.search : fallback;
  } catch {
    return fallback;
  }
}

export function renderErrorPage(req: Request, res: Response, error: AppError): void {
  if (error.code === 'unauthenticated') return res.redirect(303, loginUrl(pageOf(req)));
  // The action is never replayed: the person confirms the password, is back where they were, and clicks again.
  if (error.code === 'reauthentication_required') return res.redirect(303, reauthenticateUrl(pageOf(req)));
  const view = { title: TITLES[error.code] ?? 'Error', status: error.status, message: error.message, details: error.details ?? {} };
  res.set('Cache-Control', 'no-store').render('error', view, (err: Error | null, html?: string) => {
    // A broken template must not hide the original error behind another one.
    if (err) res.type('text/plain').send(error.message);
    else res.send(html);
  });
}
