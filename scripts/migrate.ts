// `npm run migrate` (and the first half of `npm start`): validate every setting first (no
// migration runs on a bad configuration), then create the database if missing and apply
// pending migrations.
import { maskUrl } from '../src/config.ts';
import { applyMigrations, ensureDatabase } from '../src/migrations.ts';
import { loadConfigOrExit } from '../src/startup-config.ts';

const { databaseUrl } = loadConfigOrExit();
try {
  if (await ensureDatabase(databaseUrl)) console.log(`created database at ${maskUrl(databaseUrl)}`);
  await applyMigrations(databaseUrl);
} catch (err) {
  console.error(`migrate: PostgreSQL at ${maskUrl(databaseUrl)}: ${(err as Error).message}`);
  process.exit(1);
}
