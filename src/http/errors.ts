// One error type for the whole app. Code decides *what* went wrong by throwing an AppError
// with a code from ERRORS; the error handler alone decides how it looks on the wire.

export const ERRORS = {
  validation_failed: { status: 400, message: 'The request is not valid.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  invalid_parameter: { status: 400, message: 'A part of the URL is not valid: it has a broken % escape.' },
  bad_request: { status: 400, message: 'The request is not valid HTTP: check the request line and the header names and values.' },
  unauthenticated: { status: 401, message: 'You are not signed in.' },
  invalid_credentials: { status: 401, message: 'The email or password is incorrect.' },
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  reauthentication_required: { status: 403, message: 'Enter your password again to do this: POST it to /api/auth/reauthenticate, then retry.' },
  challenge_required: { status: 403, message: 'Solve the proof-of-work challenge and send its payload as `altcha`.' },
  csrf_failed: { status: 403, message: 'This form has expired or was not sent from this site. Reload the page and try again.' },
  cross_site_request: { status: 403, message: 'This request came from another site, so it was refused. Go to this site itself and try again there.' },
  not_found: { status: 404, message: 'Not found.' },
  request_timeout: { status: 408, message: 'The request took too long to arrive.' },
  email_taken: { status: 409, message: 'An account with this email already exists.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send the body as Content-Type: application/json.' },
  rate_limited: { status: 429, message: 'Too many requests; try again later.' },
  headers_too_large: { status: 431, message: 'The request headers are too large: send fewer or smaller headers (cookies count too).' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
  service_unavailable: { status: 503, message: 'A service this request needs is unavailable; try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  /** Per-field messages, for `validation_failed`. */
  details?: Record<string, string>;
  /** Sent as the Retry-After header. */
  retryAfterSeconds?: number;
  /** More fields for the error body (e.g. the challenge to solve). */
  extra?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly status: number;
  readonly details: Record<string, string> | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].message,
    options: AppErrorOptions = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERRORS[code].status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.extra = options.extra;
  }
}
