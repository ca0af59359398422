// argon2id hashing with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane).
import { hash, verify, type Options } from '@node-rs/argon2';
import pLimit from 'p-limit';

/** `Algorithm.Argon2id`; the package's enum is `const` and does not exist at run time. */
const ARGON2ID = 2 as Options['algorithm'];

export const ARGON2_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Hashes run on libuv's thread pool; bounding them keeps a login storm from taking every
 * thread (and ~19 MiB each) while signed-in requests wait.
 */
const MAX_CONCURRENT_HASHES = 2;
const limit = pLimit(MAX_CONCURRENT_HASHES);

export function hashPassword(password: string): Promise<string> {
  return limit(() => hash(password, ARGON2_OPTIONS));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await limit(() => verify(passwordHash, password));
  } catch {
    return false; // a malformed stored hash never signs anyone in
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a throwaway hash so that an unknown email costs the same time as a wrong
 * password, and response time does not reveal which emails have accounts.
 */
export async function burnPasswordCheck(password: string): Promise<false> {
  dummyHash ??= hashPassword('not-a-real-password-only-for-timing');
  await verifyPassword(await dummyHash, password);
  return false;
}
