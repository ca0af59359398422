// Every password check (sign-in, re-authentication, and the current password of a password
// change) goes through here, behind the failed-login budgets of the account and the IP:
//   reserve an attempt   → refused: locked (a sign-in is answered exactly like a wrong password:
//                          same body, one dummy verification, plus Retry-After), or a proof of
//                          work is due (403 challenge_required with the challenge)
//   check the password   → an unknown email costs one verification too (a dummy hash)
//   settle the attempt   → success gives the point back; failure keeps it, is recorded, may lock
import type { Request } from 'express';
import type { Activity } from '../analytics/activity.ts';
import type { Db } from '../db.ts';
import { AppError } from '../http/errors.ts';
import { requestContext } from '../http/request-context.ts';
import { ipKeyGenerator, IPV6_SUBNET, type Attempt, type RateLimiting } from '../rate-limit/index.ts';
import { recordEvent } from '../sessions/session-history.ts';
import type { Passwords } from './passwords.ts';

export interface PasswordAttempt {
  /** The normalized email: the account budget's key, whether or not an account has it. */
  email: string;
  password: string;
  userId: string | null;
  /** null for an unknown email. */
  passwordHash: string | null;
  /** The ALTCHA payload, when the client sends one. */
  altcha: unknown;
}

/** `sign-in`: a refusal must not reveal a lock. `confirm`: a signed-in user re-entering their password. */
export type CheckMode = 'sign-in' | 'confirm';

export type CheckResult = { ok: true } | { ok: false; lockedForMs: number };

export const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class LoginProtection {
  constructor(
    private readonly limits: RateLimiting,
    private readonly passwords: Passwords,
    private readonly activity: Activity,
    private readonly db: Db,
  ) {}

  /** Checks the password; throws when the attempt is refused before the check. */
  async check(req: Request, attempt: PasswordAttempt, mode: CheckMode): Promise<CheckResult> {
    const admitted = await this.admit(req, attempt, mode);
    let ok: boolean;
    try {
      ok = attempt.passwordHash === null ? await this.passwords.burn(attempt.password) : await this.passwords.verify(attempt.passwordHash, attempt.password);
    } catch (err) {
      await admitted.settle('release');
      throw err;
    }
    if (ok) {
      await admitted.settle('success');
      return { ok: true };
    }
    const lockedForMs = await admitted.settle('failure');
    const context = requestContext(req);
    this.activity.loginFailed(attempt.userId, context.ip, attempt.email);
    await recordEvent(this.db, { type: 'login_failed', userId: attempt.userId, ...context });
    if (lockedForMs > 0) await this.rateLimited(req, attempt.userId, attempt.email);
    return { ok: false, lockedForMs };
  }

  /** Whether the next attempt for this email from this client must carry a solved challenge. */
  challengeRequired(req: Request, email: string): Promise<boolean> {
    return this.limits.budgets.challengeDue(email, ipKey(req));
  }

  private async admit(req: Request, attempt: PasswordAttempt, mode: CheckMode): Promise<Attempt> {
    const hasProof = attempt.altcha !== undefined && (await this.limits.challenges.verify(attempt.altcha));
    const admission = await this.limits.budgets.reserve(attempt.email, ipKey(req), hasProof);
    if ('admitted' in admission) return admission.admitted;
    if (admission.refused === 'challenge') {
      this.activity.challengeIssued();
      await this.recordRateLimited(req, attempt.userId);
      throw new AppError('challenge_required', undefined, { extra: { challenge: await this.limits.challenges.create() } });
    }
    const retry = { retryAfterSeconds: retryAfterSeconds(admission.retryAfterMs) };
    await this.rateLimited(req, attempt.userId, attempt.email);
    if (mode === 'confirm') throw new AppError('rate_limited', 'Too many wrong passwords; try again later.', retry);
    await this.passwords.burn(attempt.password);
    throw new AppError('invalid_credentials', undefined, retry);
  }

  /** `email`: the attempt's; Activity shows it only when there is an account (userId). */
  private async rateLimited(req: Request, userId: string | null, email: string): Promise<void> {
    this.activity.rateLimited(userId, requestContext(req).ip, email);
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
