// Request bodies of the auth routes, validated with zod. Limits come from README: Decisions.
import { z } from 'zod';
import { AppError } from '../http/errors.ts';

export const MAX_EMAIL_LENGTH = 254;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_NAME_LENGTH = 100;

// Emails are ASCII only: non-ASCII look-alikes (Cyrillic "а" for Latin "a") could otherwise
// register an address that reads the same as someone else's.
const EMAIL_PATTERN = /^[\x21-\x3f\x41-\x7e]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });

export const email = text()
  .trim()
  .toLowerCase()
  .max(MAX_EMAIL_LENGTH, `must be at most ${MAX_EMAIL_LENGTH} characters`)
  .regex(EMAIL_PATTERN, 'must be a valid email address');

export const password = text()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);

const name = text()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');

export const registerBody = z.object({ email, password, name: name.optional() });

// Login does not apply the password length rules: a wrong password of any length is just wrong
// (but the cap still applies, so nobody makes us hash a megabyte).
export const loginBody = z.object({
  email: text().trim().toLowerCase().max(MAX_EMAIL_LENGTH, `must be at most ${MAX_EMAIL_LENGTH} characters`),
  password: text().min(1, 'is required').max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`),
  /** A solved proof-of-work challenge, when the server asked for one. */
  altcha: z.string().max(10_000).optional(),
  /** "Keep me signed in"; the API's default is today's behaviour (the login form sends false when unticked). */
  remember: z.boolean({ error: 'must be true or false' }).default(true),
});

export const reauthenticateBody = z.object({
  password: text().min(1, 'is required').max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`),
  /** A solved proof-of-work challenge, when the server asked for one (it spends from the sign-in budget). */
  altcha: z.string().max(10_000).optional(),
});

export const changePasswordBody = z
  .object({
    currentPassword: text().min(1, 'is required').max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`),
    newPassword: password,
    /** A solved proof-of-work challenge, when the server asked for one (the current password spends from the sign-in budget). */
    altcha: z.string().max(10_000).optional(),
  })
  // Refused before the current password is checked: it spends nothing from the budget, and
  // says nothing about whether the current password was right.
  .refine((body) => body.newPassword !== body.currentPassword, { path: ['newPassword'], message: 'must differ from the current password' });

/** Parses a body or throws 400 `validation_failed` with one message per field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const details: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    details[field] ??= issue.message;
  }
  throw new AppError('validation_failed', 'Some fields are not valid.', { details });
}
