// The real argon2id hasher, wrapped so a test can count verifications and hold them at a gate:
// requests whose password check has begun stay in flight until the test opens the gate, which
// makes "many attempts in flight at once" a fact of the test, not a matter of timing.
import { argon2Hasher, type PasswordHasher } from '../../src/auth/passwords.ts';

export interface CountingHasher extends PasswordHasher {
  /** Verifications against each stored hash. */
  verifications: (passwordHash?: string) => number;
  /**
   * From now on, verifications against a stored hash that `which` picks (all, by default) wait
   * at the gate — the first `limit` of them only, if given.
   */
  hold: (which?: (passwordHash: string) => boolean, limit?: number) => void;
  /** How many verifications are waiting at the gate. */
  waiting: () => number;
  /** Lets every held verification go on, and holds no more. */
  release: () => void;
}

export function countingHasher(inner: PasswordHasher = argon2Hasher): CountingHasher {
  const counts = new Map<string, number>();
  let held: { which: (passwordHash: string) => boolean; left: number } | null = null;
  let waiters: Array<() => void> = [];
  return {
    hash: (password) => inner.hash(password),
    async verify(passwordHash, password) {
      counts.set(passwordHash, (counts.get(passwordHash) ?? 0) + 1);
      if (held && held.left > 0 && held.which(passwordHash)) {
        held.left--;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return inner.verify(passwordHash, password);
    },
    verifications: (passwordHash) => (passwordHash === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(passwordHash) ?? 0)),
    hold: (which = () => true, limit = Number.POSITIVE_INFINITY) => {
      held = { which, left: limit };
    },
    waiting: () => waiters.length,
    release: () => {
      held = null;
      const go = waiters;
      waiters = [];
      for (const resolve of go) resolve();
    },
  };
}
