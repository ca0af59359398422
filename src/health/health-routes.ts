// Liveness and readiness (SPEC §6). Neither touches the session middleware.
import { Router } from 'express';
import type { Db } from '../db.ts';
import type { RedisClient } from '../redis.ts';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function check(name: string, probe: () => Promise<unknown>): Promise<{ name: string; ok: boolean; error?: string }> {
  try {
    await withTimeout(probe(), CHECK_TIMEOUT_MS);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, error: (err as Error).message };
  }
}

export interface HealthDeps {
  redis: RedisClient;
  db: Db;
  /** False once shutdown has begun, so load balancers stop sending traffic. */
  isAccepting: () => boolean;
}

export function createHealthRouter({ redis, db, isAccepting }: HealthDeps): Router {
  const router = Router();

  router.get('/healthz', function healthz(_req, res) {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async function readyz(_req, res) {
    if (!isAccepting()) {
      res.status(503).json({ error: { code: 'service_unavailable', message: 'The server is shutting down.' } });
      return;
    }
    const checks = await Promise.all([check('redis', () => redis.ping()), check('postgres', () => db.$queryRaw`SELECT 1`)]);
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    const status = Object.fromEntries(checks.map((c) => [c.name, c.ok ? 'ok' : 'unavailable']));
    if (failed.length === 0) {
      res.json({ status: 'ok', checks: status });
      return;
    }
    const names = failed.map((n) => (n === 'redis' ? 'Redis' : 'PostgreSQL')).join(' and ');
    res.status(503).json({ error: { code: 'service_unavailable', message: `${names} not answering.` }, checks: status });
  });

  return router;
}
