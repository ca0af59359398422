// Where to go after signing in: only a path on this site. `//evil.example` and `/\evil.example`
// are read by browsers as other hosts, so anything but a plain same-origin path is refused.
export const DEFAULT_AFTER_LOGIN = '/account';

const BASE = 'http://same-site.invalid';
// Control characters and backslashes: browsers strip or rewrite them before resolving.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f\\]/;
const MAX_NEXT_LENGTH = 2_000;

export function safeNextPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_NEXT_LENGTH) return DEFAULT_AFTER_LOGIN;
  if (!value.startsWith('/') || value.startsWith('//') || UNSAFE_CHARACTERS.test(value)) return DEFAULT_AFTER_LOGIN;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return DEFAULT_AFTER_LOGIN;
  }
  if (url.origin !== BASE) return DEFAULT_AFTER_LOGIN;
  const path = url.pathname + url.search + url.hash;
  // Never bounce back to the sign-in pages themselves.
  return AFTER_ITSELF.some((page) => path === page || path.startsWith(`${page}?`)) ? DEFAULT_AFTER_LOGIN : path;
}

const AFTER_ITSELF = ['/login', '/register', '/reauthenticate'];

/** `?next=` with `path` (made safe), `/` kept readable. */
function withNext(page: string, path: string): string {
  return `${page}?next=${encodeURIComponent(safeNextPath(path)).replace(/%2F/g, '/')}`;
}

/** The sign-in page, asked to come back to `path` afterwards (`/` stays readable in the query). */
export function loginUrl(path: string): string {
  return withNext('/login', path);
}

/** The password form, asked to come back to `path` afterwards (where the person clicks again). */
export function reauthenticateUrl(path: string): string {
  return withNext('/reauthenticate', path);
}
