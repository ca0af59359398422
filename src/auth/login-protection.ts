// The brute-force policy of a login attempt, around the password check:
//   locked account  → answered exactly like a wrong password (same body, same time) + Retry-After
//   many failures   → a proof-of-work challenge must be solved first (403 challenge_required)
//   failure         → counted for the account and the IP; may start a lock
//   success         → the account's failures and back-off are forgotten
import type { Request } from 'express';
import type { Activity } from '../analytics/activity.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { requestContext } from '../http/request-context.ts';
import { ipKeyGenerator, IPV6_SUBNET, type RateLimiting } from '../rate-limit/index.ts';
import type { GuardState } from '../rate-limit/login-guard.ts';
import { recordEvent } from '../sessions/session-history.ts';
import { burnPasswordCheck } from './passwords.ts';

export interface LoginAttempt {
  email: string;
  password: string;
  userId: string | null;
  /** The ALTCHA payload, when the client sends one. */
  altcha: unknown;
}

const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class LoginProtection {
  constructor(
    private readonly limits: RateLimiting,
    private readonly activity: Activity,
    private readonly db: Db,
  ) {}

  /** Throws unless this attempt may have its password checked. */
  async admit(req: Request, attempt: LoginAttempt): Promise<void> {
    const state = await this.limits.guard.state(attempt.email, ipKey(req));
    if (state.lockedForMs > 0) {
      await burnPasswordCheck(attempt.password);
      await this.rateLimited(req, attempt.userId);
      throw new AppError('invalid_credentials', undefined, { retryAfterSeconds: retryAfterSeconds(state.lockedForMs) });
    }
    if (!this.isSuspicious(state) || (await this.limits.challenges.verify(attempt.altcha))) return;
    this.activity.challengeIssued();
    await this.recordRateLimited(req, attempt.userId);
    throw new AppError('challenge_required', undefined, { extra: { challenge: await this.limits.challenges.create() } });
  }

  /** Counts a wrong password; answers with Retry-After when this failure locks the account. */
  async failed(req: Request, attempt: LoginAttempt): Promise<never> {
    const context = requestContext(req);
    this.activity.loginFailed(attempt.userId, context.ip);
    await recordEvent(this.db, { type: 'login_failed', userId: attempt.userId, ...context });
    const lockMs = await this.limits.guard.recordFailure(attempt.email, ipKey(req));
    if (lockMs > 0) await this.rateLimited(req, attempt.userId);
    throw new AppError('invalid_credentials', undefined, lockMs > 0 ? { retryAfterSeconds: retryAfterSeconds(lockMs) } : {});
  }

  async succeeded(attempt: LoginAttempt): Promise<void> {
    await this.limits.guard.reset(attempt.email);
  }

  /** Whether the next attempt for this email from this client must carry a solved challenge. */
  async challengeRequired(req: Request, email: string): Promise<boolean> {
    return this.isSuspicious(await this.limits.guard.state(email, ipKey(req)));
  }

  private isSuspicious(state: GuardState): boolean {
    const { accountFailures, ipFailures } = this.limits.challengeAfter;
    return (accountFailures > 0 && state.accountFailures >= accountFailures) || (ipFailures > 0 && state.ipFailures >= ipFailures);
  }

  private async rateLimited(req: Request, userId: string | null): Promise<void> {
    this.activity.rateLimited(userId, requestContext(req).ip);
    await this.recordRateLimited(req, userId);
  }

  /** A `rate_limited` row in the account's history, where there is an account. */
  private async recordRateLimited(req: Request, userId: string | null): Promise<void> {
    if (userId) await recordEvent(this.db, { type: 'rate_limited', userId, ...requestContext(req) });
  }
}

function ipKey(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown', IPV6_SUBNET);
}
