// GET /metrics (README: Health, readiness and shutdown): for an admin's session, or `Authorization: Bearer $METRICS_TOKEN`.
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../db.ts';
import { createRequireAdmin } from '../http/require-admin.ts';
import type { Metrics } from './metrics.ts';
import { RouteLabels } from './route-labels.ts';

function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createMetricsHandlers(metrics: Metrics, db: Db, token: string | undefined) {
  const requireAdmin = createRequireAdmin(db);
  return [
    function metricsAccess(req: Request, res: Response, next: NextFunction) {
      if (bearerMatches(req.get('authorization'), token)) return next();
      return requireAdmin(req, res, next);
    },
    async function metricsText(_req: Request, res: Response) {
      res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  ];
}

/** The path of a request target, origin-form (`/a?b`) or absolute-form (`http://host/a?b`, which the router routes too). */
function pathnameOf(url: string): string {
  const query = url.indexOf('?');
  const target = query === -1 ? url : url.slice(0, query);
  const scheme = target[0] === '/' ? -1 : target.indexOf('://');
  if (scheme === -1) return target; // also `*` (OPTIONS *), which no route matches
  const path = target.indexOf('/', scheme + 3);
  return path === -1 ? '/' : target.slice(path);
}

/**
 * Records every answered request's duration by its route's full template (never the raw path,
 * which would explode label counts; see route-labels.ts). Called by the access log when a
 * response has been sent (request-logger.ts: one listener per request does both). The route
 * table is read at the first request, when createApp has registered every route.
 */
export function createRequestObserver(metrics: Metrics) {
  let labels: RouteLabels | undefined;
  return function observeRequest(req: Request, res: Response, elapsedMs: number): void {
    labels ??= new RouteLabels(req.app);
    metrics.requestDuration.observe({ method: req.method, route: labels.of(req.method, pathnameOf(req.originalUrl)), status: String(res.statusCode) }, elapsedMs / 1000);
  };
}
