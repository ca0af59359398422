// Where the failed-login budgets are counted: Redis (shared by every instance, one atomic script
// per budget; see budget-scripts.ts), or this process's memory while Redis is away. Both follow
// the same rules: failures in a fixed window from the first failure, attempts in flight as
// reservations with a deadline of their own. JavaScript runs each memory step to completion, so
// the memory store is atomic per step as the scripts are.
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';
import { BUDGET_USE, RESERVE_ACCOUNT, RESERVE_IP, SETTLE_ACCOUNT, SETTLE_IP } from './budget-scripts.ts';

export interface BudgetPolicy {
  maxFailures: number;
  windowMs: number;
  lockBaseMs: number;
  lockMaxMs: number;
  /** Attempts (failed or in flight) after which a proof of work is required; 0 = never. */
  challengeAfterAccountFailures: number;
  challengeAfterIpFailures: number;
  /** How long an unsettled attempt counts as in flight; RESERVATION_MS unless set (tests). */
  reservationMs?: number;
}

/**
 * An attempt in flight counts for this long at most. A password check takes well under a second;
 * an attempt whose settlement never reached the store that admitted it (Redis lost mid-check)
 * stops holding a point of the budget after this.
 */
export const RESERVATION_MS = 30_000;

/** Lock counts are forgotten after a day without a lock. */
export const STRIKES_TTL_MS = 24 * 3600_000;

export interface AccountKeys {
  failures: string;
  inFlight: string;
  lock: string;
  strikes: string;
}

export interface IpKeys {
  failures: string;
  inFlight: string;
}

/** `exhausted`: every remaining point is in flight; `strikes`: locks in the last day so far. */
export type AccountVerdict = 'admitted' | 'challenge' | { lockedForMs: number } | { exhausted: true; strikes: number };
export type Outcome = 'success' | 'failure' | 'release';

export interface BudgetUse {
  /** Failures plus attempts in flight. */
  account: number;
  ip: number;
  lockedForMs: number;
}

/** `id` names one attempt: its reservation in each budget, removed when it is settled. */
export interface BudgetStore {
  reserveAccount(keys: AccountKeys, id: string, policy: BudgetPolicy, hasProof: boolean): Promise<AccountVerdict>;
  /** Returns the lock this settlement started, in ms, or 0. */
  settleAccount(keys: AccountKeys, id: string, outcome: Outcome, policy: BudgetPolicy): Promise<number>;
  /** False when the IP is past its threshold and the attempt has no proof of work. */
  reserveIp(keys: IpKeys, id: string, policy: BudgetPolicy, hasProof: boolean): Promise<boolean>;
  settleIp(keys: IpKeys, id: string, outcome: Outcome, policy: BudgetPolicy): Promise<void>;
  use(keys: AccountKeys, ipKeys: IpKeys): Promise<BudgetUse>;
}

const reservationMs = (policy: BudgetPolicy) => policy.reservationMs ?? RESERVATION_MS;

export class RedisBudgetStore implements BudgetStore {
  constructor(private readonly client: RedisClient) {}

  async reserveAccount(keys: AccountKeys, id: string, policy: BudgetPolicy, hasProof: boolean): Promise<AccountVerdict> {
    const args = [String(policy.maxFailures), String(policy.challengeAfterAccountFailures), hasProof ? '1' : '0', id, String(reservationMs(policy))];
    const [verdict, value] = (await runScript(this.client, RESERVE_ACCOUNT, accountKeyList(keys), args)) as [string, number];
    if (verdict === 'locked') return { lockedForMs: value };
    if (verdict === 'exhausted') return { exhausted: true, strikes: value };
    return verdict as 'admitted' | 'challenge';
  }

  async settleAccount(keys: AccountKeys, id: string, outcome: Outcome, policy: BudgetPolicy): Promise<number> {
    const args = [outcome, id, String(policy.maxFailures), String(policy.windowMs), String(policy.lockBaseMs), String(policy.lockMaxMs), String(STRIKES_TTL_MS)];
    return Number(await runScript(this.client, SETTLE_ACCOUNT, accountKeyList(keys), args));
  }

  async reserveIp(keys: IpKeys, id: string, policy: BudgetPolicy, hasProof: boolean): Promise<boolean> {
    const args = [String(policy.challengeAfterIpFailures), hasProof ? '1' : '0', id, String(reservationMs(policy))];
    return (await runScript(this.client, RESERVE_IP, [keys.failures, keys.inFlight], args)) === 1;
  }

  async settleIp(keys: IpKeys, id: string, outcome: Outcome, policy: BudgetPolicy): Promise<void> {
    await runScript(this.client, SETTLE_IP, [keys.failures, keys.inFlight], [outcome, id, String(policy.windowMs)]);
  }

  async use(keys: AccountKeys, ipKeys: IpKeys): Promise<BudgetUse> {
    const [account, ip, lockTtl] = await Promise.all([
      runScript(this.client, BUDGET_USE, [keys.failures, keys.inFlight], []),
      runScript(this.client, BUDGET_USE, [ipKeys.failures, ipKeys.inFlight], []),
      this.client.pTTL(keys.lock),
    ]);
    return { account: Number(account), ip: Number(ip), lockedForMs: Math.max(0, Number(lockTtl)) };
  }
}

const accountKeyList = (keys: AccountKeys) => [keys.failures, keys.inFlight, keys.lock, keys.strikes];

interface Counter {
  value: number;
  expiresAt: number;
}

const SWEEP_EVERY_MS = 1_000;

/** The same rules on Maps, for one process while Redis is away. */
export class MemoryBudgetStore implements BudgetStore {
  /** Failures, locks and strikes. */
  private readonly counters = new Map<string, Counter>();
  /** Per in-flight key: attempt id → deadline. */
  private readonly reservations = new Map<string, Map<string, number>>();
  private sweptAt = 0;

  constructor(private readonly now: () => number) {}

  private counter(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expiresAt > this.now()) return counter;
    if (counter) this.counters.delete(key);
    return undefined;
  }

  private count(key: string): number {
    return this.counter(key)?.value ?? 0;
  }

  /** Adds one to the counter; a new counter lives for `ttlMs` from now (a fixed window). */
  private increment(key: string, ttlMs: number): number {
    const counter = this.counter(key);
    if (counter) return ++counter.value;
    this.sweep();
    this.counters.set(key, { value: 1, expiresAt: this.now() + ttlMs });
    return 1;
  }

  /** The unexpired reservations of `key` (the expired ones are dropped, as ZREMRANGEBYSCORE does). */
  private inFlight(key: string): Map<string, number> | undefined {
    const set = this.reservations.get(key);
    if (!set) return undefined;
    const now = this.now();
    for (const [id, deadline] of set) if (deadline <= now) set.delete(id);
    if (set.size === 0) this.reservations.delete(key);
    return set.size > 0 ? set : undefined;
  }

  private used(failuresKey: string, inFlightKey: string): number {
    return (this.inFlight(inFlightKey)?.size ?? 0) + this.count(failuresKey);
  }

  private reserve(key: string, id: string, policy: BudgetPolicy): void {
    let set = this.inFlight(key);
    if (!set) {
      this.sweep();
      this.reservations.set(key, (set = new Map()));
    }
    set.set(id, this.now() + reservationMs(policy));
  }

  private unreserve(key: string, id: string): void {
    const set = this.reservations.get(key);
    if (set?.delete(id) && set.size === 0) this.reservations.delete(key);
  }

  async reserveAccount(keys: AccountKeys, id: string, policy: BudgetPolicy, hasProof: boolean): Promise<AccountVerdict> {
    const lock = this.counter(keys.lock);
    if (lock) return { lockedForMs: lock.expiresAt - this.now() };
    const used = this.used(keys.failures, keys.inFlight);
    if (used >= policy.maxFailures) return { exhausted: true, strikes: this.count(keys.strikes) };
    if (policy.challengeAfterAccountFailures > 0 && used >= policy.challengeAfterAccountFailures && !hasProof) return 'challenge';
    this.reserve(keys.inFlight, id, policy);
    return 'admitted';
  }

  async settleAccount(keys: AccountKeys, id: string, outcome: Outcome, policy: BudgetPolicy): Promise<number> {
    this.unreserve(keys.inFlight, id);
    if (outcome === 'release') return 0;
    if (outcome === 'success') {
      for (const key of [keys.failures, keys.lock, keys.strikes]) this.counters.delete(key);
      return 0;
    }
    if (this.increment(keys.failures, policy.windowMs) < policy.maxFailures) return 0;
    const strikes = this.count(keys.strikes) + 1;
    this.counters.set(keys.strikes, { value: strikes, expiresAt: this.now() + STRIKES_TTL_MS });
    const lockMs = Math.floor(Math.min(policy.lockBaseMs * 2 ** (strikes - 1), policy.lockMaxMs));
    this.counters.set(keys.lock, { value: 1, expiresAt: this.now() + lockMs });
    this.counters.delete(keys.failures);
    return lockMs;
  }

  async reserveIp(keys: IpKeys, id: string, policy: BudgetPolicy, hasProof: boolean): Promise<boolean> {
    const threshold = policy.challengeAfterIpFailures;
    if (threshold > 0 && this.used(keys.failures, keys.inFlight) >= threshold && !hasProof) return false;
    this.reserve(keys.inFlight, id, policy);
    return true;
  }

  async settleIp(keys: IpKeys, id: string, outcome: Outcome, policy: BudgetPolicy): Promise<void> {
    this.unreserve(keys.inFlight, id);
    if (outcome === 'failure') this.increment(keys.failures, policy.windowMs);
  }

  async use(keys: AccountKeys, ipKeys: IpKeys): Promise<BudgetUse> {
    const lock = this.counter(keys.lock);
    return { account: this.used(keys.failures, keys.inFlight), ip: this.used(ipKeys.failures, ipKeys.inFlight), lockedForMs: lock ? lock.expiresAt - this.now() : 0 };
  }

  /** Keeps an outage-long attack from growing the maps without bound. */
  private sweep(): void {
    const now = this.now();
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
    for (const key of this.reservations.keys()) this.inFlight(key);
  }
}
