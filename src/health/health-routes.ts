// Liveness and readiness (README: Health, readiness and shutdown). Neither touches the session middleware.
import { Router } from 'express';
import { checkDependencies, readinessAnswer, type ReadinessDeps } from './readiness.ts';

export interface HealthDeps extends ReadinessDeps {
  /** False once shutdown has begun, so load balancers stop sending traffic. */
  isAccepting: () => boolean;
}

export function createHealthRouter({ redis, db, redisTrusted, isAccepting }: HealthDeps): Router {
  const router = Router();

  router.get('/healthz', function healthz(_req, res) {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async function readyz(_req, res) {
    if (!isAccepting()) {
      res.status(503).json({ error: { code: 'service_unavailable', message: 'The server is shutting down.' } });
      return;
    }
    const answer = readinessAnswer(await checkDependencies({ redis, db, redisTrusted }));
    res.status(answer.httpStatus).json(answer.body);
  });

  return router;
}
