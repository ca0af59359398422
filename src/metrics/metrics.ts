// Prometheus metrics (prom-client). One registry per app, so tests can build several apps.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsProbes {
  redisUp: () => boolean;
  postgresUp: () => Promise<boolean>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly sessionCache = new Counter({ name: 'session_cache_lookups_total', help: 'Session lookups by result (hit: Redis, miss: PostgreSQL fallback)', labelNames: ['result'] as const, registers: [this.registry] });
  readonly sessionsCreated = new Counter({ name: 'sessions_created_total', help: 'Sessions created (sign-ins)', registers: [this.registry] });
  readonly sessionsRevoked = new Counter({ name: 'sessions_revoked_total', help: 'Sessions revoked', registers: [this.registry] });
  readonly sessionsExpired = new Counter({ name: 'sessions_expired_total', help: 'Sessions found expired', registers: [this.registry] });
  readonly newDeviceSignIns = new Counter({ name: 'new_device_sign_ins_total', help: 'Sign-ins from a device or network the account had not signed in from', registers: [this.registry] });
  readonly loginFailures = new Counter({ name: 'login_failures_total', help: 'Failed logins', registers: [this.registry] });
  readonly rateLimited = new Counter({ name: 'rate_limit_rejections_total', help: 'Requests rejected by a rate limit or account lock', registers: [this.registry] });

  constructor(probes: MetricsProbes) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'redis_up',
      help: '1 when the Redis connection is ready',
      registers: [this.registry],
      collect() {
        this.set(probes.redisUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'postgres_up',
      help: '1 when PostgreSQL answers',
      registers: [this.registry],
      async collect() {
        this.set((await probes.postgresUp()) ? 1 : 0);
      },
    });
  }
}
