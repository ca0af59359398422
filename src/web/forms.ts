// Form posts: parsing, and turning a rejected submission (an AppError from the shared
// actions) into what the form shows next to its fields.
import express, { type Response } from 'express';
import { AppError, type ErrorCode } from '../http/errors.ts';

const FORM_BODY_LIMIT = '20kb';
const MAX_FORM_FIELDS = 20;

/** `application/x-www-form-urlencoded`, flat (no nested objects from `a[b]=c`). */
export const formBody = express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT, parameterLimit: MAX_FORM_FIELDS });

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

/** Empty optional fields mean "not given" (a blank name field is no name, not an empty one). */
export function withoutBlank(fields: unknown, names: string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(fields as Record<string, unknown> | undefined) };
  for (const name of names) if (typeof copy[name] === 'string' && (copy[name] as string).trim() === '') delete copy[name];
  return copy;
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
