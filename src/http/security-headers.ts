// helmet's security headers, worked out once. helmet() computes them on every request through
// a chain of small middlewares; with options that have no per-request parts (no CSP nonces or
// directive functions, which we do not use) the result never changes, so it is recorded at
// start and replayed in one loop: same headers, a fraction of the work on the hot path.
//
// Every response also starts as `Cache-Control: no-store`: API answers and pages are per user
// (and pages carry CSRF tokens), so no browser or shared cache may keep them. A route that may
// be cached says so itself (static files set their own max-age, replacing this).
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

export function createSecurityHeaders(options: Readonly<HelmetOptions> = {}): RequestHandler {
  const set: Array<[string, OutgoingHttpHeader]> = [['Cache-Control', 'no-store']];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: OutgoingHttpHeader) => set.push([name, value]),
    removeHeader: (name: string) => removed.push(name),
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  // A directive computed per request would make helmet ask for more than the recorder offers.
  if (!finished) throw new Error('helmet options with per-request parts cannot be precomputed');
  return function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

/**
 * For pages: helmet's defaults but Referrer-Policy `same-origin` instead of `no-referrer`. No
 * Referer leaves the site either way; within it, a browser then sends a real Origin with a form
 * post instead of `null`, which http/cross-site.ts needs from browsers too old to send
 * Sec-Fetch-Site.
 */
export const PAGE_SECURITY_HEADERS: Readonly<HelmetOptions> = { referrerPolicy: { policy: 'same-origin' } };

/**
 * For the JSON API: a response that is never rendered as a document gets the strictest policy
 * (nothing may load, nothing may frame it) and none of the headers that only concern pages
 * (opener policy, referrer policy, DNS prefetch, XSS auditor, …): about 400 fewer bytes on
 * every API answer. Kept: nosniff, HSTS, frame denial, same-origin resource policy.
 */
export const API_SECURITY_HEADERS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xFrameOptions: { action: 'deny' },
};
