// The limiters of the auth routes, built once from settings. See README "Rate limiting".
import type { RateLimitRequestHandler } from 'express-rate-limit';
import type { Activity } from '../analytics/activity.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { RedisFallback } from '../redis-fallback.ts';
import { Challenges } from './challenges.ts';
import { createIpLimiter } from './ip-limiter.ts';
import { LoginBudgets } from './login-budgets.ts';

export { ipKeyGenerator } from 'express-rate-limit';
export { IPV6_SUBNET } from './ip-limiter.ts';
export type { Challenges } from './challenges.ts';
export type { Attempt, LoginBudgets } from './login-budgets.ts';

export interface RateLimiting {
  /** Shared by every auth route and form: one budget per client IP (or IPv6 /56). */
  ipLimiter: RateLimitRequestHandler;
  budgets: LoginBudgets;
  challenges: Challenges;
}

export function createRateLimiting(config: Config, redis: RedisFallback, activity: Activity, now: () => number, logger: Logger): RateLimiting {
  return {
    ipLimiter: createIpLimiter({ redis, keyPrefix: config.redisKeyPrefix, windowMs: config.rateLimitWindowMs, max: config.rateLimitMax, logger, activity }),
    budgets: new LoginBudgets(
      redis,
      config.redisKeyPrefix,
      {
        maxFailures: config.accountMaxFailures,
        windowMs: config.accountFailureWindowMs,
        lockBaseMs: config.accountLockBaseMs,
        lockMaxMs: config.accountLockMaxMs,
        challengeAfterAccountFailures: config.challengeAfterAccountFailures,
        challengeAfterIpFailures: config.challengeAfterIpFailures,
      },
      now,
    ),
    challenges: new Challenges(redis, config.redisKeyPrefix, { secret: config.sessionSecrets[0]!, cost: config.challengeCost, maxNumber: config.challengeMaxNumber }),
  };
}
