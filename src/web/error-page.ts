// How the one error handler answers a browser (http/error-handler.ts decides when): signed
// out → to the sign-in page and back; anything else → an HTML page with the error's message
// and status (a 429 on a form, a failed CSRF check, a 404…).
import type { Request, Response } from 'express';
import type { AppError, ErrorCode } from '../http/errors.ts';
import { loginUrl } from './safe-next.ts';

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

export function renderErrorPage(req: Request, res: Response, error: AppError): void {
  if (error.code === 'unauthenticated') {
    // Only a page that can be fetched again is worth coming back to.
    return res.redirect(303, loginUrl(req.method === 'GET' ? req.originalUrl : '/account'));
  }
  const view = { title: TITLES[error.code] ?? 'Error', status: error.status, message: error.message, details: error.details ?? {} };
  res.set('Cache-Control', 'no-store').render('error', view, (err: Error | null, html?: string) => {
    // A broken template must not hide the original error behind another one.
    if (err) res.type('text/plain').send(error.message);
    else res.send(html);
  });
}
