// Failed-login tracking per account (normalized email, whether or not it has an account, so
// lockouts reveal nothing) and per IP, with progressive back-off for accounts:
//   every ACCOUNT_MAX_FAILURES failures within ACCOUNT_FAILURE_WINDOW_MS lock the account for
//   ACCOUNT_LOCK_BASE_MS × 2^(lockouts so far), capped at ACCOUNT_LOCK_MAX_MS. The lockout count
//   is forgotten after a day without lockouts, or at once by a successful login.
// Counted in Redis (shared by every instance), in memory while Redis is away.
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';
import { OutageLog, withFallback } from './outage-log.ts';

export interface GuardPolicy {
  maxFailures: number;
  windowMs: number;
  lockBaseMs: number;
  lockMaxMs: number;
}

export interface GuardState {
  /** 0 when the account is not locked. */
  lockedForMs: number;
  accountFailures: number;
  ipFailures: number;
}

interface Keys {
  failures: string;
  strikes: string;
  lock: string;
  ipFailures: string;
}

interface GuardBackend {
  state(keys: Keys): Promise<GuardState>;
  /** Returns the lock started by this failure in ms, or 0. */
  recordFailure(keys: Keys, policy: GuardPolicy): Promise<number>;
  reset(keys: Keys): Promise<void>;
}

const STRIKES_TTL_MS = 24 * 3600_000;

const RECORD_FAILURE_SCRIPT = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ip = redis.call('INCR', KEYS[4])
if ip == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[2]) end
if failures < tonumber(ARGV[1]) then return 0 end
local strikes = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local lockMs = math.min(tonumber(ARGV[3]) * 2 ^ (strikes - 1), tonumber(ARGV[4]))
redis.call('SET', KEYS[3], '1', 'PX', lockMs)
redis.call('DEL', KEYS[1])
return lockMs
`;

class RedisGuard implements GuardBackend {
  constructor(private readonly client: RedisClient) {}

  async state(keys: Keys): Promise<GuardState> {
    const [lockTtl, failures, ipFailures] = await Promise.all([this.client.pTTL(keys.lock), this.client.get(keys.failures), this.client.get(keys.ipFailures)]);
    return { lockedForMs: Math.max(0, Number(lockTtl)), accountFailures: Number(failures ?? 0), ipFailures: Number(ipFailures ?? 0) };
  }

  async recordFailure(keys: Keys, policy: GuardPolicy): Promise<number> {
    const reply = await this.client.eval(RECORD_FAILURE_SCRIPT, {
      keys: [keys.failures, keys.strikes, keys.lock, keys.ipFailures],
      arguments: [String(policy.maxFailures), String(policy.windowMs), String(policy.lockBaseMs), String(policy.lockMaxMs), String(STRIKES_TTL_MS)],
    });
    return Number(reply);
  }

  async reset(keys: Keys): Promise<void> {
    await this.client.del([keys.failures, keys.strikes, keys.lock]);
  }
}

/** The same rules on a Map, for one process while Redis is away. */
class MemoryGuard implements GuardBackend {
  private readonly entries = new Map<string, { value: number; expiresAt: number }>();

  constructor(private readonly now: () => number) {}

  private read(key: string): number {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.now()) return 0;
    return entry.value;
  }

  private incr(key: string, ttlMs: number): number {
    const value = this.read(key) + 1;
    const expiresAt = value === 1 ? this.now() + ttlMs : this.entries.get(key)!.expiresAt;
    this.entries.set(key, { value, expiresAt });
    return value;
  }

  async state(keys: Keys): Promise<GuardState> {
    const lock = this.entries.get(keys.lock);
    const lockedForMs = lock && lock.expiresAt > this.now() ? lock.expiresAt - this.now() : 0;
    return { lockedForMs, accountFailures: this.read(keys.failures), ipFailures: this.read(keys.ipFailures) };
  }

  async recordFailure(keys: Keys, policy: GuardPolicy): Promise<number> {
    this.sweep();
    const failures = this.incr(keys.failures, policy.windowMs);
    this.incr(keys.ipFailures, policy.windowMs);
    if (failures < policy.maxFailures) return 0;
    const strikes = this.read(keys.strikes) + 1;
    this.entries.set(keys.strikes, { value: strikes, expiresAt: this.now() + STRIKES_TTL_MS });
    const lockMs = Math.min(policy.lockBaseMs * 2 ** (strikes - 1), policy.lockMaxMs);
    this.entries.set(keys.lock, { value: 1, expiresAt: this.now() + lockMs });
    this.entries.delete(keys.failures);
    return lockMs;
  }

  async reset(keys: Keys): Promise<void> {
    for (const key of [keys.failures, keys.strikes, keys.lock]) this.entries.delete(key);
  }

  /** Keeps an outage-long attack from growing the map without bound. */
  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

export class LoginGuard {
  private readonly redisGuard: RedisGuard;
  private readonly memoryGuard: MemoryGuard;
  private readonly outage: OutageLog;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly policy: GuardPolicy,
    now: () => number,
    logger: Logger,
  ) {
    this.redisGuard = new RedisGuard(client);
    this.memoryGuard = new MemoryGuard(now);
    this.outage = new OutageLog(logger, 'login guard');
  }

  private keys(email: string, ipKey: string): Keys {
    // Hashed: keys stay short and Redis holds no email addresses.
    const account = `${this.prefix}lg:acct:${createHash('sha256').update(email).digest('base64url')}`;
    return { failures: `${account}:fail`, strikes: `${account}:strikes`, lock: `${account}:lock`, ipFailures: `${this.prefix}lg:ip:${ipKey}:fail` };
  }

  private run<T>(op: (backend: GuardBackend) => Promise<T>): Promise<T> {
    return withFallback<GuardBackend, T>(this.client, this.redisGuard, this.memoryGuard, this.outage, op);
  }

  state(email: string, ipKey: string): Promise<GuardState> {
    return this.run((backend) => backend.state(this.keys(email, ipKey)));
  }

  recordFailure(email: string, ipKey: string): Promise<number> {
    return this.run((backend) => backend.recordFailure(this.keys(email, ipKey), this.policy));
  }

  reset(email: string): Promise<void> {
    return this.run((backend) => backend.reset(this.keys(email, '-')));
  }
}
