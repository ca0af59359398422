// The migration step of `npm start` and `npm run migrate`: create the database if missing and
// apply pending migrations. One line on success; Prisma's own report only when it fails.
import { maskUrl } from '../config.ts';
import { applyMigrations, ensureDatabase } from '../migrations.ts';

/**
 * Exits 1 with one line naming the database when it cannot migrate, unless `stopping()` says
 * the start is being stopped (its PostgreSQL going away is then why): then it waits for that.
 */
export async function migrateOrExit(databaseUrl: string, stopping: () => boolean = () => false): Promise<void> {
  const where = maskUrl(databaseUrl);
  try {
    const created = await ensureDatabase(databaseUrl);
    const applied = await applyMigrations(databaseUrl);
    const what = applied.length === 0 ? 'up to date' : `applied ${applied.length} migration(s): ${applied.join(', ')}`;
    console.log(`migrate: ${created ? 'created ' : ''}database ${where} ${what}`);
  } catch (err) {
    if (stopping()) await new Promise(() => undefined);
    console.error(`migrate: PostgreSQL at ${where}: ${(err as Error).message}`);
    process.exit(1);
  }
}
