// The account page's password form, post/redirect/get: a refused change redirects back to
// /account (a reload shows the page again instead of re-posting, and /account/password is never
// the address bar's page), carrying what to show as codes in the query — never text from the
// URL, so a link cannot make the page say something it would not.
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/auth-schemas.ts';
import { AppError } from '../http/errors.ts';
import { formErrors, NO_FORM_ERRORS, type FormErrors } from './forms.ts';

const FIELDS = ['currentPassword', 'newPassword'] as const;
const LABELS: Record<(typeof FIELDS)[number], string> = { currentPassword: 'Current password', newPassword: 'New password' };

/** Each message a field of the form can get (auth-schemas.ts, auth-actions.ts), by its code. */
const PROBLEMS: Record<string, string> = {
  missing: 'is required',
  short: `must be at least ${MIN_PASSWORD_LENGTH} characters`,
  long: `must be at most ${MAX_PASSWORD_LENGTH} characters`,
  incorrect: 'is incorrect',
  same: 'must differ from the current password',
};
const CODE_OF = new Map(Object.entries(PROBLEMS).map(([code, message]) => [message, code]));
CODE_OF.set('must be a string', 'missing');

const LOCKED = 'locked';
/** A field's code each, and `locked`; anything longer is not one of ours. */
const MAX_CODES = 8;
const LOCKED_MESSAGE = 'Too many wrong passwords. Wait a few minutes, then try again.';

/** Where a refused change goes: `/account?password=currentPassword.incorrect#password-heading`. Rethrows what the form does not show. */
export function passwordFormRedirect(err: unknown): string {
  const errors = formErrors(err, ['validation_failed'], LABELS);
  const details = (err as AppError).details ?? {};
  const codes = FIELDS.filter((field) => details[field] !== undefined).map((field) => `${field}.${CODE_OF.get(details[field]!) ?? 'missing'}`);
  if (errors.retryAfterSeconds !== undefined) codes.push(LOCKED);
  return `/account?password=${encodeURIComponent(codes.join(' '))}#password-heading`;
}

/** What the form shows for the codes in `?password=` (unknown codes are ignored). */
export function passwordFormErrors(query: unknown): FormErrors {
  if (typeof query !== 'string' || query === '') return NO_FORM_ERRORS;
  const fields: Record<string, string> = {};
  let locked = false;
  for (const code of query.split(' ').slice(0, MAX_CODES)) {
    if (code === LOCKED) locked = true;
    const [field, problem] = code.split('.');
    const message = problem === undefined ? undefined : PROBLEMS[problem];
    if (message && (FIELDS as readonly string[]).includes(field!)) fields[field!] = `${LABELS[field as (typeof FIELDS)[number]]} ${message}`;
  }
  if (Object.keys(fields).length === 0 && !locked) return NO_FORM_ERRORS;
  return { message: locked ? LOCKED_MESSAGE : 'Please correct the fields marked below.', fields, status: 200 };
}
