// PostgreSQL may pick a statement to break a deadlock (40P01) or a serialization conflict
// (40001); the work it undid is safe to run again from the start, and the other side has
// committed by then. Prisma reports both as a driver "TransactionWriteConflict" (P2010 for a
// raw query, P2034 for an interactive transaction).
import { Prisma } from './db.ts';

const CONFLICT_STATES = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

export function isWriteConflict(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (err.code === 'P2034') return true;
  const cause = (err.meta as { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } } | undefined)?.driverAdapterError?.cause;
  return cause?.kind === 'TransactionWriteConflict' || (typeof cause?.originalCode === 'string' && CONFLICT_STATES.has(cause.originalCode));
}

/** Runs `work` again (up to 3 times in all) when PostgreSQL undid it to break a conflict. */
export async function retryOnDeadlock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= ATTEMPTS || !isWriteConflict(err)) throw err;
    }
  }
}
