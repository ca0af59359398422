// Refuses state-changing requests that a browser says came from another site, before anything
// (the session read included) runs. The session cookie is SameSite=Lax, which keeps it off
// cross-site posts but not off *same-site* ones: a page on a sibling subdomain counts as the
// same site. Sec-Fetch-Site tells both apart; page scripts cannot set it, so where a browser
// sends it (every current one) it decides. Older browsers only send Origin, which must then
// name this host. (Go's net/http CrossOriginProtection works the same way.)
//
// Requests with neither header are let through: they do not come from a browser (curl, scripts,
// the smoke test), and such a client can only act with a cookie it already holds.
import type { NextFunction, Request, Response } from 'express';
import { AppError } from './errors.ts';

/** Methods that change nothing (no GET changes anything). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `same-origin`: this site's own page; `none`: the person did it (typed, bookmarked). */
const OWN_FETCH_SITES = new Set(['same-origin', 'none']);

/** `host[:port]` as the URL parser normalizes it (lower case, no default port); null when it is not one. */
function hostOf(url: string): string | null {
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}

export interface RequestOrigin {
  method: string;
  /** The Sec-Fetch-Site header, if sent. */
  fetchSite: string | undefined;
  /** The Origin header, if sent (`null` is a value: an opaque origin). */
  origin: string | undefined;
  /** This request's own `scheme://host[:port]`, as the client addressed it. */
  ownOrigin: string;
}

/** True when the request changes state and its browser says it came from elsewhere. */
export function isCrossSite({ method, fetchSite, origin, ownOrigin }: RequestOrigin): boolean {
  if (SAFE_METHODS.has(method)) return false;
  // Anything but the two own values (cross-site, same-site, or one we do not know) is refused.
  // Origin is not consulted then: under a no-referrer policy a browser sends `Origin: null`
  // even for this site's own forms.
  if (fetchSite !== undefined) return !OWN_FETCH_SITES.has(fetchSite);
  if (origin === undefined) return false;
  // `Origin: null` (sandboxed frames, some redirects) and garbage parse to no host: foreign.
  const from = hostOf(origin);
  return from === null || from !== hostOf(ownOrigin);
}

/**
 * req.host is the Host header with its port (X-Forwarded-Host behind a trusted proxy, as
 * `trust proxy` says); req.protocol likewise. Compared by host only: a TLS-terminating proxy
 * that is not trusted would make the scheme differ for the same site.
 */
export function refuseCrossSite(req: Request, _res: Response, next: NextFunction): void {
  // Decided before the request's origin is worked out: req.protocol asks `trust proxy` about the
  // peer, and most requests (every signed-in GET) are safe ones, which isCrossSite never refuses.
  if (SAFE_METHODS.has(req.method)) return next();
  const crossSite = isCrossSite({
    method: req.method,
    fetchSite: req.get('Sec-Fetch-Site'),
    origin: req.get('Origin'),
    ownOrigin: `${req.protocol}://${req.host ?? ''}`,
  });
  next(crossSite ? new AppError('cross_site_request') : undefined);
}
