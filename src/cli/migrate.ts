// `npm run migrate`: validate every setting first (no migration runs on a bad configuration),
// then create the database if missing and apply pending migrations (migrate-step.ts).
import { loadConfigOrExit } from '../startup-config.ts';
import { migrateOrExit } from './migrate-step.ts';

const { databaseUrl } = loadConfigOrExit();
await migrateOrExit(databaseUrl);
