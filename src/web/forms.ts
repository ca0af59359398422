// Form pages: turning a rejected submission (an AppError from the shared actions) into what
// the form shows next to its fields, and rendering the page. Their bodies are parsed by
// formBody (http/form-body.ts).
import type { Response } from 'express';
import { AppError, type ErrorCode } from '../http/errors.ts';

export interface FormErrors {
  /** One sentence for the alert above the form. */
  message: string;
  /** Per field, e.g. `{ email: 'Email must be a valid email address' }`. */
  fields: Record<string, string>;
  /** The status the re-rendered form is sent with (the error's), and its Retry-After if any. */
  status: number;
  retryAfterSeconds?: number | undefined;
}

export const NO_FORM_ERRORS: FormErrors = { message: '', fields: {}, status: 200 };

/**
 * The errors a form shows instead of an error page; anything else is rethrown (to the error
 * handler). `labels` names the fields for messages like "Password must be at least 8 characters".
 */
export function formErrors(err: unknown, shown: ErrorCode[], labels: Record<string, string>, messages: Partial<Record<ErrorCode, string>> = {}): FormErrors {
  if (!(err instanceof AppError) || !shown.includes(err.code)) throw err;
  const fields: Record<string, string> = {};
  for (const [field, detail] of Object.entries(err.details ?? {})) fields[field] = `${labels[field] ?? 'This field'} ${detail}`;
  const message = messages[err.code] ?? (err.code === 'validation_failed' ? 'Please correct the fields marked below.' : err.message);
  return { message, fields, status: err.status, retryAfterSeconds: err.retryAfterSeconds };
}

/** A typed value to put back into a form field (never a password). */
export function typedText(value: unknown, maxLength: number): string {
  return typeof value === 'string' ? value.slice(0, maxLength) : '';
}

/** Renders a page that must not be cached (it holds a CSRF token or personal data). */
export function renderPage(res: Response, view: string, data: Record<string, unknown>, status = 200): void {
  res.status(status).set('Cache-Control', 'no-store').render(view, data);
}

/** Re-renders a form with its errors, under the error's status (and Retry-After). */
export function renderForm(res: Response, view: string, data: Record<string, unknown> & { errors: FormErrors }): void {
  if (data.errors.retryAfterSeconds !== undefined) res.set('Retry-After', String(data.errors.retryAfterSeconds));
  renderPage(res, view, data, data.errors.status);
}
