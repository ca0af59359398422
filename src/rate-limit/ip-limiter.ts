// The per-IP limit on the auth routes (README: Settings: RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS).
import { rateLimit, type RateLimitRequestHandler } from 'express-rate-limit';
import type { Activity } from '../analytics/activity.ts';
import { AppError } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import { FallbackStore } from './fallback-store.ts';

/** IPv6 clients get a /56 each (a typical residential allocation), not one count per address. */
export const IPV6_SUBNET = 56;

export interface IpLimiterOptions {
  redis: RedisFallback;
  keyPrefix: string;
  windowMs: number;
  max: number;
  logger: Logger;
  activity: Activity;
}

export function createIpLimiter({ redis, keyPrefix, windowMs, max, logger, activity }: IpLimiterOptions): RateLimitRequestHandler {
  return rateLimit({
    windowMs,
    limit: max,
    ipv6Subnet: IPV6_SUBNET,
    // `RateLimit` / `RateLimit-Policy` (IETF draft 8) and the older X-RateLimit-* trio.
    standardHeaders: 'draft-8',
    legacyHeaders: true,
    store: new FallbackStore(redis, `${keyPrefix}rl:ip:`),
    // express-rate-limit's checks for deployment mistakes (trust proxy and the like) stay on
    // and go to our log.
    logger: { error: (err, msg) => logger.error({ err: (err as Error)?.message ?? err }, msg ?? 'rate limiter'), warn: (err, msg) => logger.warn({ err: (err as Error)?.message ?? err }, msg ?? 'rate limiter') },
    handler: function rateLimited(req, _res, next) {
      activity.rateLimited(null, req.ip ?? null);
      next(new AppError('rate_limited'));
    },
  });
}
