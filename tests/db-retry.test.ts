// A deadlock PostgreSQL breaks is retried, not answered with a 500: two real transactions lock
// two rows in opposite orders, each held after its first lock until the other has its own.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../src/db.ts';
import { isWriteConflict, retryOnDeadlock } from '../src/db-retry.ts';

const table = `deadlock_probe_${randomBytes(4).toString('hex')}`;
let db: Db;

beforeAll(async () => {
  db = createDb(inject('databaseUrl'));
  await db.$executeRawUnsafe(`CREATE TABLE "${table}" (id int PRIMARY KEY, v int NOT NULL)`);
  await db.$executeRawUnsafe(`INSERT INTO "${table}" VALUES (1, 0), (2, 0)`);
});
afterAll(async () => {
  await db.$executeRawUnsafe(`DROP TABLE IF EXISTS "${table}"`);
  await db.$disconnect();
});

/** Two transactions that deadlock on their first run: each waits for the other's first lock. */
function crossedTransactions() {
  let arrived = 0;
  let release!: () => void;
  const bothLocked = new Promise<void>((resolve) => (release = resolve));
  const bump = (tx: Pick<Db, '$executeRawUnsafe'>, id: number) => tx.$executeRawUnsafe(`UPDATE "${table}" SET v = v + 1 WHERE id = ${id}`);
  return (first: number, second: number) => () =>
    db.$transaction(async (tx) => {
      await bump(tx, first);
      if (++arrived === 2) release();
      await bothLocked;
      await bump(tx, second);
    });
}

describe('retryOnDeadlock', () => {
  it('without it, PostgreSQL breaks the deadlock by failing one side with a write conflict', async () => {
    const tx = crossedTransactions();
    const results = await Promise.allSettled([tx(1, 2)(), tx(2, 1)()]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(isWriteConflict((failed[0] as PromiseRejectedResult).reason)).toBe(true);
  });

  it('with it, both sides commit: the undone one runs again after the other', async () => {
    const before = await db.$queryRawUnsafe<Array<{ v: number }>>(`SELECT v FROM "${table}" WHERE id = 1`);
    const tx = crossedTransactions();
    await Promise.all([retryOnDeadlock(tx(1, 2)), retryOnDeadlock(tx(2, 1))]);
    const after = await db.$queryRawUnsafe<Array<{ v: number }>>(`SELECT v FROM "${table}" WHERE id = 1`);
    expect(after[0]!.v - before[0]!.v).toBe(2);
  });

  it('does not retry other errors', async () => {
    let runs = 0;
    await expect(
      retryOnDeadlock(async () => {
        runs++;
        throw new Error('a bug');
      }),
    ).rejects.toThrow('a bug');
    expect(runs).toBe(1);
  });
});
