// GET /metrics (SPEC §6): for an admin's session, or `Authorization: Bearer $METRICS_TOKEN`.
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { createRequireAdmin } from '../admin/require-admin.ts';
import type { Db } from '../db.ts';
import type { Metrics } from './metrics.ts';

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

/** Times every request by route pattern (never the raw path, which would explode label counts). */
export function createRequestTimer(metrics: Metrics) {
  return function requestTimer(req: Request, res: Response, next: NextFunction): void {
    const end = metrics.requestDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
