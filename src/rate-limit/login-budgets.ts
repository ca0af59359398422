// Failed-login budgets per account (normalized email, whether or not it has an account, so a
// lock reveals nothing) and per IP, reserved before a password is checked:
//   reserve()  takes one attempt from both budgets, atomically per budget key, or refuses it
//              (locked, exhausted by attempts in flight, or a proof of work is due);
//   settle()   a success gives the point back and forgets the account's failures and back-off;
//              a failure keeps it, and the failure that reaches ACCOUNT_MAX_FAILURES within
//              ACCOUNT_FAILURE_WINDOW_MS locks the account for ACCOUNT_LOCK_BASE_MS × 2^(locks
//              in the last day), capped at ACCOUNT_LOCK_MAX_MS.
// Counted in Redis (shared by every instance), in this process's memory while Redis is away,
// through the one fallback policy (redis-fallback.ts).
import { createHash } from 'node:crypto';
import type { RedisFallback } from '../redis-fallback.ts';
import { MemoryBudgetStore, RedisBudgetStore, type AccountKeys, type BudgetPolicy, type BudgetStore, type Outcome } from './budget-stores.ts';

export type { BudgetPolicy, Outcome } from './budget-stores.ts';

/** An admitted attempt: settle it exactly once, whatever happens to the password check. */
export interface Attempt {
  /** Returns the lock a failure started, in ms, or 0. */
  settle(outcome: Outcome): Promise<number>;
}

export type Admission = { admitted: Attempt } | { refused: 'challenge' } | { refused: 'locked'; retryAfterMs: number };

export class LoginBudgets {
  private readonly redisStore: BudgetStore;
  private readonly memoryStore: BudgetStore;

  constructor(
    private readonly redis: RedisFallback,
    private readonly prefix: string,
    readonly policy: BudgetPolicy,
    now: () => number,
  ) {
    this.redisStore = new RedisBudgetStore(redis.client);
    this.memoryStore = new MemoryBudgetStore(now);
  }

  private run<T>(op: (store: BudgetStore) => Promise<T>): Promise<T> {
    return this.redis.run('login budget', () => op(this.redisStore), () => op(this.memoryStore));
  }

  private accountKeys(email: string): AccountKeys {
    // Hashed: keys stay short and Redis holds no email addresses. The hash tag keeps an
    // account's three keys in one slot of a Redis Cluster, as its scripts need.
    const account = `${this.prefix}lg:{${createHash('sha256').update(email).digest('base64url')}}`;
    return { counts: `${account}:n`, lock: `${account}:lock`, strikes: `${account}:strikes` };
  }

  private ipKey(ip: string): string {
    return `${this.prefix}lg:ip:${ip}`;
  }

  private get countsIp(): boolean {
    return this.policy.challengeAfterIpFailures > 0;
  }

  /** `hasProof`: the attempt carries a solved, unused proof-of-work challenge. */
  async reserve(email: string, ip: string, hasProof: boolean): Promise<Admission> {
    const keys = this.accountKeys(email);
    const verdict = await this.run((store) => store.reserveAccount(keys, this.policy, hasProof));
    if (verdict === 'challenge') return { refused: 'challenge' };
    // All of the budget is in flight: those attempts will lock the account if they fail.
    if (verdict === 'exhausted') return { refused: 'locked', retryAfterMs: this.policy.lockBaseMs };
    if (verdict !== 'admitted') return { refused: 'locked', retryAfterMs: verdict.lockedForMs };
    const ipKey = this.ipKey(ip);
    if (this.countsIp && !(await this.run((store) => store.reserveIp(ipKey, this.policy, hasProof)))) {
      await this.run((store) => store.settleAccount(keys, 'release', this.policy));
      return { refused: 'challenge' };
    }
    return {
      admitted: {
        settle: async (outcome) => {
          if (this.countsIp && outcome !== 'failure') await this.run((store) => store.returnIp(ipKey));
          return this.run((store) => store.settleAccount(keys, outcome, this.policy));
        },
      },
    };
  }

  /** Whether the next attempt for this email from this IP must carry a solved challenge (for the form). */
  async challengeDue(email: string, ip: string): Promise<boolean> {
    const use = await this.run((store) => store.use(this.accountKeys(email), this.ipKey(ip)));
    const { challengeAfterAccountFailures: account, challengeAfterIpFailures: ipAfter } = this.policy;
    return (account > 0 && use.account >= account) || (ipAfter > 0 && use.ip >= ipAfter);
  }
}
