// `npm run migrate` (and the first half of `npm start`): create the database if missing,
// then apply pending migrations.
import { maskUrl } from '../src/config.ts';
import { DEFAULT_DATABASE_URL } from '../src/db-url.ts';
import { loadEnvFile } from '../src/env-file.ts';
import { applyMigrations, ensureDatabase } from '../src/migrations.ts';

loadEnvFile();
const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
try {
  if (await ensureDatabase(databaseUrl)) console.log(`created database at ${maskUrl(databaseUrl)}`);
  await applyMigrations(databaseUrl);
} catch (err) {
  console.error(`migrate: PostgreSQL at ${maskUrl(databaseUrl)}: ${(err as Error).message}`);
  process.exit(1);
}
