// argon2id hashing with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane), behind a
// small interface so tests can count verifications (an unknown email must cost one, like a
// wrong password) with the real hasher underneath.
import { hash, verify, type Options } from '@node-rs/argon2';
import pLimit from 'p-limit';

/** `Algorithm.Argon2id`; the package's enum is `const` and does not exist at run time. */
const ARGON2ID = 2 as Options['algorithm'];

export const ARGON2_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed stored hash alike. */
  verify(passwordHash: string, password: string): Promise<boolean>;
}

/**
 * Hashes run on libuv's thread pool; bounding them keeps a login storm from taking every
 * thread (and ~19 MiB each) while signed-in requests wait.
 */
const MAX_CONCURRENT_HASHES = 2;
const limit = pLimit(MAX_CONCURRENT_HASHES);

export const argon2Hasher: PasswordHasher = {
  hash: (password) => limit(() => hash(password, ARGON2_OPTIONS)),
  async verify(passwordHash, password) {
    try {
      return await limit(() => verify(passwordHash, password));
    } catch {
      return false; // a malformed stored hash never signs anyone in
    }
  },
};

export class Passwords {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly hasher: PasswordHasher = argon2Hasher) {}

  hash(password: string): Promise<string> {
    return this.hasher.hash(password);
  }

  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.hasher.verify(passwordHash, password);
  }

  /**
   * One verification against a throwaway hash, so that an unknown email or a locked account
   * costs the same time as a wrong password and the response time reveals neither.
   */
  async burn(password: string): Promise<false> {
    this.dummyHash ??= this.hasher.hash('not-a-real-password-only-for-timing');
    await this.hasher.verify(await this.dummyHash, password);
    return false;
  }
}
