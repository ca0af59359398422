// The limiters of the auth routes, built once from settings. See README "Rate limiting".
import type { RateLimitRequestHandler } from 'express-rate-limit';
import type { Activity } from '../analytics/activity.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import { Challenges } from './challenges.ts';
import { createIpLimiter } from './ip-limiter.ts';
import { LoginGuard } from './login-guard.ts';

export { ipKeyGenerator } from 'express-rate-limit';
export { IPV6_SUBNET } from './ip-limiter.ts';
export type { Challenges } from './challenges.ts';
export type { LoginGuard } from './login-guard.ts';

export interface RateLimiting {
  /** Shared by every auth route and form: one budget per client IP (or IPv6 /56). */
  ipLimiter: RateLimitRequestHandler;
  guard: LoginGuard;
  challenges: Challenges;
  challengeAfter: { accountFailures: number; ipFailures: number };
}

export function createRateLimiting(config: Config, redis: RedisClient, activity: Activity, now: () => number, logger: Logger): RateLimiting {
  return {
    ipLimiter: createIpLimiter({ redis, keyPrefix: config.redisKeyPrefix, windowMs: config.rateLimitWindowMs, max: config.rateLimitMax, logger, activity }),
    guard: new LoginGuard(
      redis,
      config.redisKeyPrefix,
      { maxFailures: config.accountMaxFailures, windowMs: config.accountFailureWindowMs, lockBaseMs: config.accountLockBaseMs, lockMaxMs: config.accountLockMaxMs },
      now,
      logger,
    ),
    challenges: new Challenges(redis, config.redisKeyPrefix, { secret: config.sessionSecrets[0]!, cost: config.challengeCost, maxNumber: config.challengeMaxNumber }),
    challengeAfter: { accountFailures: config.challengeAfterAccountFailures, ipFailures: config.challengeAfterIpFailures },
  };
}
