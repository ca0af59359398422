// Where the failed-login budgets are counted: Redis (shared by every instance, one atomic script
// per budget key; see budget-scripts.ts), or this process's memory while Redis is away. Both
// follow the same rules; JavaScript runs each memory step to completion, so the memory store is
// atomic per step as the scripts are.
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';
import { RESERVE_ACCOUNT, RESERVE_IP, RETURN_IP, SETTLE_ACCOUNT } from './budget-scripts.ts';

export interface BudgetPolicy {
  maxFailures: number;
  windowMs: number;
  lockBaseMs: number;
  lockMaxMs: number;
  /** Attempts (failed or in flight) after which a proof of work is required; 0 = never. */
  challengeAfterAccountFailures: number;
  challengeAfterIpFailures: number;
}

export interface AccountKeys {
  counts: string;
  lock: string;
  strikes: string;
}

export type AccountVerdict = 'admitted' | 'challenge' | 'exhausted' | { lockedForMs: number };
export type Outcome = 'success' | 'failure' | 'release';

export interface BudgetUse {
  /** Failures plus attempts in flight. */
  account: number;
  ip: number;
  lockedForMs: number;
}

export interface BudgetStore {
  reserveAccount(keys: AccountKeys, policy: BudgetPolicy, hasProof: boolean): Promise<AccountVerdict>;
  /** Returns the lock this settlement started, in ms, or 0. */
  settleAccount(keys: AccountKeys, outcome: Outcome, policy: BudgetPolicy): Promise<number>;
  /** False when the IP is past its threshold and the attempt has no proof of work. */
  reserveIp(key: string, policy: BudgetPolicy, hasProof: boolean): Promise<boolean>;
  returnIp(key: string): Promise<void>;
  use(keys: AccountKeys, ipKey: string): Promise<BudgetUse>;
}

/** Lock counts are forgotten after a day without a lock. */
export const STRIKES_TTL_MS = 24 * 3600_000;

export class RedisBudgetStore implements BudgetStore {
  constructor(private readonly client: RedisClient) {}

  async reserveAccount(keys: AccountKeys, policy: BudgetPolicy, hasProof: boolean): Promise<AccountVerdict> {
    const args = [String(policy.maxFailures), String(policy.challengeAfterAccountFailures), hasProof ? '1' : '0', String(policy.windowMs)];
    const [verdict, lockedForMs] = (await runScript(this.client, RESERVE_ACCOUNT, [keys.counts, keys.lock], args)) as [string, number];
    return verdict === 'locked' ? { lockedForMs } : (verdict as AccountVerdict);
  }

  async settleAccount(keys: AccountKeys, outcome: Outcome, policy: BudgetPolicy): Promise<number> {
    const args = [outcome, String(policy.maxFailures), String(policy.windowMs), String(policy.lockBaseMs), String(policy.lockMaxMs), String(STRIKES_TTL_MS)];
    return Number(await runScript(this.client, SETTLE_ACCOUNT, [keys.counts, keys.lock, keys.strikes], args));
  }

  async reserveIp(key: string, policy: BudgetPolicy, hasProof: boolean): Promise<boolean> {
    return (await runScript(this.client, RESERVE_IP, [key], [String(policy.challengeAfterIpFailures), hasProof ? '1' : '0', String(policy.windowMs)])) === 1;
  }

  async returnIp(key: string): Promise<void> {
    await runScript(this.client, RETURN_IP, [key], []);
  }

  async use(keys: AccountKeys, ipKey: string): Promise<BudgetUse> {
    const [[inFlight, failures], lockTtl, ip] = await Promise.all([this.client.hmGet(keys.counts, ['p', 'f']), this.client.pTTL(keys.lock), this.client.get(ipKey)]);
    return { account: Number(inFlight ?? 0) + Number(failures ?? 0), ip: Number(ip ?? 0), lockedForMs: Math.max(0, Number(lockTtl)) };
  }
}

interface Entry {
  inFlight: number;
  failures: number;
  expiresAt: number;
}

const SWEEP_EVERY_MS = 1_000;

/** The same rules on a Map, for one process while Redis is away. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly entries = new Map<string, Entry>();
  private sweptAt = 0;

  constructor(private readonly now: () => number) {}

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) return entry;
    if (entry) this.entries.delete(key);
    return undefined;
  }

  private create(key: string, ttlMs: number): Entry {
    this.sweep();
    const entry = { inFlight: 0, failures: 0, expiresAt: this.now() + ttlMs };
    this.entries.set(key, entry);
    return entry;
  }

  async reserveAccount(keys: AccountKeys, policy: BudgetPolicy, hasProof: boolean): Promise<AccountVerdict> {
    const lock = this.live(keys.lock);
    if (lock) return { lockedForMs: lock.expiresAt - this.now() };
    const counts = this.live(keys.counts);
    const used = counts ? counts.inFlight + counts.failures : 0;
    if (used >= policy.maxFailures) return 'exhausted';
    if (policy.challengeAfterAccountFailures > 0 && used >= policy.challengeAfterAccountFailures && !hasProof) return 'challenge';
    (counts ?? this.create(keys.counts, policy.windowMs)).inFlight++;
    return 'admitted';
  }

  async settleAccount(keys: AccountKeys, outcome: Outcome, policy: BudgetPolicy): Promise<number> {
    const existing = this.live(keys.counts);
    if (existing) existing.inFlight = Math.max(0, existing.inFlight - 1);
    if (outcome === 'release') return 0;
    if (outcome === 'success') {
      if (existing) existing.failures = 0;
      this.entries.delete(keys.lock);
      this.entries.delete(keys.strikes);
      return 0;
    }
    const counts = existing ?? this.create(keys.counts, policy.windowMs);
    if (++counts.failures < policy.maxFailures) return 0;
    const strikes = (this.live(keys.strikes)?.failures ?? 0) + 1;
    this.create(keys.strikes, STRIKES_TTL_MS).failures = strikes;
    const lockMs = Math.floor(Math.min(policy.lockBaseMs * 2 ** (strikes - 1), policy.lockMaxMs));
    this.create(keys.lock, lockMs);
    counts.failures = 0;
    return lockMs;
  }

  async reserveIp(key: string, policy: BudgetPolicy, hasProof: boolean): Promise<boolean> {
    const counter = this.live(key);
    const threshold = policy.challengeAfterIpFailures;
    if (threshold > 0 && (counter?.inFlight ?? 0) >= threshold && !hasProof) return false;
    (counter ?? this.create(key, policy.windowMs)).inFlight++;
    return true;
  }

  async returnIp(key: string): Promise<void> {
    const counter = this.live(key);
    if (counter) counter.inFlight = Math.max(0, counter.inFlight - 1);
  }

  async use(keys: AccountKeys, ipKey: string): Promise<BudgetUse> {
    const counts = this.live(keys.counts);
    const lock = this.live(keys.lock);
    return { account: counts ? counts.inFlight + counts.failures : 0, ip: this.live(ipKey)?.inFlight ?? 0, lockedForMs: lock ? lock.expiresAt - this.now() : 0 };
  }

  /** Keeps an outage-long attack from growing the map without bound. */
  private sweep(): void {
    const now = this.now();
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
