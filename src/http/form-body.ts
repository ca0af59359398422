// Request bodies of HTML form posts (the pages, web/, and the admin dashboard's forms):
// urlencoded and flat, with a size and field limit.
import express from 'express';

const FORM_BODY_LIMIT = '20kb';
const MAX_FORM_FIELDS = 20;

/** `application/x-www-form-urlencoded`, flat (no nested objects from `a[b]=c`). */
export const formBody = express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT, parameterLimit: MAX_FORM_FIELDS });

/** Empty optional fields mean "not given" (a blank name field is no name, not an empty one). */
export function withoutBlank(fields: unknown, names: string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(fields as Record<string, unknown> | undefined) };
  for (const name of names) if (typeof copy[name] === 'string' && (copy[name] as string).trim() === '') delete copy[name];
  return copy;
}
