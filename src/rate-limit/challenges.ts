// Self-hosted proof-of-work challenges (ALTCHA), asked for after repeated failed logins.
// Challenges are signed with a key derived from SESSION_SECRET, expire after 10 minutes and
// are accepted once: the id of every accepted challenge is kept in Redis until it expires.
import { createHmac } from 'node:crypto';
import { createChallenge, randomInt, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { CappedMap } from 'altcha-lib/frameworks/express';
import { verify } from 'altcha-lib/frameworks/shared';
import type { RedisFallback } from '../redis-fallback.ts';

const ALGORITHM = 'PBKDF2/SHA-256';
const CHALLENGE_TTL_MS = 10 * 60_000;
/** Only while Redis is away: remembers this many used challenges in this process. */
const FALLBACK_USED_CAPACITY = 10_000;

export interface ChallengeOptions {
  secret: string;
  /** PBKDF2 iterations per attempt. */
  cost: number;
  /** The solution counter is drawn from [maxNumber / 2, maxNumber]: the expected work. */
  maxNumber: number;
}

export class Challenges {
  private readonly signatureSecret: string;
  private readonly keySignatureSecret: string;
  private readonly fallbackUsed = new CappedMap<string, boolean>({ maxSize: FALLBACK_USED_CAPACITY });

  constructor(
    private readonly redis: RedisFallback,
    private readonly prefix: string,
    private readonly options: ChallengeOptions,
  ) {
    this.signatureSecret = createHmac('sha256', options.secret).update('altcha-signature').digest('hex');
    this.keySignatureSecret = createHmac('sha256', options.secret).update('altcha-key-signature').digest('hex');
  }

  create(): Promise<Challenge> {
    return createChallenge({
      algorithm: ALGORITHM,
      cost: this.options.cost,
      counter: randomInt(Math.floor(this.options.maxNumber / 2), this.options.maxNumber),
      deriveKey,
      hmacSignatureSecret: this.signatureSecret,
      hmacKeySignatureSecret: this.keySignatureSecret,
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS),
    });
  }

  /** True for a valid, unexpired payload (base64 JSON, as the widget sends it) seen for the first time. */
  async verify(payload: unknown): Promise<boolean> {
    if (typeof payload !== 'string' || payload.length === 0 || payload.length > 10_000) return false;
    const result = await verify(payload, deriveKey, this.signatureSecret, this.keySignatureSecret, {
      get: () => undefined,
      set: () => undefined,
      setIfAbsent: (id: string) => this.markUsed(id),
    });
    return result.error === null;
  }

  private markUsed(id: string): Promise<boolean> {
    const key = `${this.prefix}altcha:used:${id}`;
    return this.redis.run(
      'challenge replay check',
      async () => (await this.redis.client.set(key, '1', { condition: 'NX', expiration: { type: 'PX', value: CHALLENGE_TTL_MS } })) === 'OK',
      () => this.markUsedInMemory(id),
    );
  }

  private markUsedInMemory(id: string): boolean {
    if (this.fallbackUsed.get(id)) return false;
    this.fallbackUsed.set(id, true);
    return true;
  }
}
