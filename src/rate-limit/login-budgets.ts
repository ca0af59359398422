// Failed-login budgets per account (normalized email, whether or not it has an account, so a
// lock reveals nothing) and per IP, reserved before a password is checked:
//   reserve()  takes one attempt from both budgets, atomically per budget, or refuses it
//              (locked, exhausted by attempts in flight, or a proof of work is due);
//   settle()   a success gives the point back and forgets the account's failures and back-off;
//              a failure keeps it, and the failure that reaches ACCOUNT_MAX_FAILURES within
//              ACCOUNT_FAILURE_WINDOW_MS locks the account for ACCOUNT_LOCK_BASE_MS × 2^(locks
//              in the last day), capped at ACCOUNT_LOCK_MAX_MS.
// Counted in Redis (shared by every instance), in this process's memory while Redis is away,
// through the one fallback policy (redis-fallback.ts). An attempt is settled in the store that
// admitted it, so its reservation there is the one removed; see settleIn().
import { createHash, randomUUID } from 'node:crypto';
import type { RedisFallback } from '../redis-fallback.ts';
import { MemoryBudgetStore, RedisBudgetStore, type AccountKeys, type BudgetPolicy, type BudgetStore, type IpKeys, type Outcome } from './budget-stores.ts';

export type { BudgetPolicy } from './budget-stores.ts';

/** An admitted attempt: settle it exactly once, whatever happens to the password check. */
export interface Attempt {
  /** Returns the lock a failure started, in ms, or 0. */
  settle(outcome: Outcome): Promise<number>;
}

export type Admission = { admitted: Attempt } | { refused: 'challenge' } | { refused: 'locked'; retryAfterMs: number };

interface Answer<T> {
  store: BudgetStore;
  value: T;
}

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

  /** `op` on Redis, or on memory while Redis is away; says which store answered. */
  private run<T>(op: (store: BudgetStore) => Promise<T>): Promise<Answer<T>> {
    const on = async (store: BudgetStore) => ({ store, value: await op(store) });
    return this.redis.run('login budget', () => on(this.redisStore), () => on(this.memoryStore));
  }

  /**
   * Settles in `admitting`, the store that holds the attempt's reservation. When that is Redis
   * and Redis cannot be reached, the settlement is made in memory instead: a failure still
   * counts (an attacker gains nothing from Redis being away) and the Redis reservation ends at
   * its deadline. An attempt memory admitted is settled there even if Redis is back: Redis has
   * no reservation of it, and memory's would hold a point until its deadline.
   */
  private settleIn<T>(admitting: BudgetStore, op: (store: BudgetStore) => Promise<T>): Promise<T> {
    if (admitting !== this.redisStore) return op(admitting);
    return this.redis.run('login budget', () => op(this.redisStore), () => op(this.memoryStore));
  }

  private accountKeys(email: string): AccountKeys {
    // Hashed: keys stay short and Redis holds no email addresses. The hash tag keeps an
    // account's keys in one slot of a Redis Cluster, as its scripts need.
    const account = `${this.prefix}lg:{${createHash('sha256').update(email).digest('base64url')}}`;
    return { failures: `${account}:f`, inFlight: `${account}:p`, lock: `${account}:lock`, strikes: `${account}:strikes` };
  }

  private ipKeys(ip: string): IpKeys {
    const counter = `${this.prefix}lg:ip:{${ip}}`;
    return { failures: counter, inFlight: `${counter}:p` };
  }

  private get countsIp(): boolean {
    return this.policy.challengeAfterIpFailures > 0;
  }

  /** The lock the attempts in flight start if they all fail: the next step of the back-off. */
  private nextLockMs(strikes: number): number {
    return Math.floor(Math.min(this.policy.lockBaseMs * 2 ** strikes, this.policy.lockMaxMs));
  }

  /** `hasProof`: the attempt carries a solved, unused proof-of-work challenge. */
  async reserve(email: string, ip: string, hasProof: boolean): Promise<Admission> {
    const keys = this.accountKeys(email);
    const id = randomUUID();
    const account = await this.run((store) => store.reserveAccount(keys, id, this.policy, hasProof));
    const verdict = account.value;
    if (verdict === 'challenge') return { refused: 'challenge' };
    if (verdict !== 'admitted') {
      return { refused: 'locked', retryAfterMs: 'lockedForMs' in verdict ? verdict.lockedForMs : this.nextLockMs(verdict.strikes) };
    }
    const ipKeys = this.ipKeys(ip);
    let ipStore: BudgetStore | null = null;
    if (this.countsIp) {
      const ipAnswer = await this.run((store) => store.reserveIp(ipKeys, id, this.policy, hasProof));
      if (!ipAnswer.value) {
        await this.settleIn(account.store, (store) => store.settleAccount(keys, id, 'release', this.policy));
        return { refused: 'challenge' };
      }
      ipStore = ipAnswer.store;
    }
    return {
      admitted: {
        settle: async (outcome) => {
          if (ipStore) await this.settleIn(ipStore, (store) => store.settleIp(ipKeys, id, outcome, this.policy));
          return this.settleIn(account.store, (store) => store.settleAccount(keys, id, outcome, this.policy));
        },
      },
    };
  }

  /** Whether the next attempt for this email from this IP must carry a solved challenge (for the form). */
  async challengeDue(email: string, ip: string): Promise<boolean> {
    const { value: use } = await this.run((store) => store.use(this.accountKeys(email), this.ipKeys(ip)));
    const { challengeAfterAccountFailures: account, challengeAfterIpFailures: ipAfter } = this.policy;
    return (account > 0 && use.account >= account) || (ipAfter > 0 && use.ip >= ipAfter);
  }
}
