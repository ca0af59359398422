// Database preparation shared by `npm start`, `npm run migrate` and the test setup:
// create the database named in the URL when it is missing, then apply pending migrations.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import pg from 'pg';

const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';
const UNDEFINED_TABLE = '42P01';
const MIGRATIONS_DIR = 'prisma/migrations';

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  return name;
}

/** Creates the database if it does not exist; returns true when it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: databaseUrl });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) throw err;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const maintenanceUrl = new URL(databaseUrl);
  maintenanceUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenanceUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(databaseName(databaseUrl))}`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === DUPLICATE_DATABASE) return false; // another process won the race
    throw err;
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const maintenanceUrl = new URL(databaseUrl);
  maintenanceUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenanceUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName(databaseUrl))} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The names of the migrations recorded as applied; none when the table is not there yet. */
async function appliedMigrations(databaseUrl: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return new Set(rows.map((row) => row.name));
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) return new Set();
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The migrations committed in the repository (prisma.config.ts: `prisma/migrations`, from the working directory). */
async function committedMigrations(): Promise<string[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

/**
 * `prisma migrate deploy`: applies committed migrations, never generates new ones. Returns the
 * names of the migrations it applied, oldest first. The CLI's own report (and its warning that
 * the schema's `url` is unused beside a driver adapter: the `url` stays, see prisma.config.ts)
 * is kept out of the start's output and shown only in the error when the CLI fails.
 */
export async function applyMigrations(databaseUrl: string, options: { cliPath?: string } = {}): Promise<string[]> {
  const before = await appliedMigrations(databaseUrl);
  // cliPath: a stand-in for the Prisma CLI, for the tests of the early stop below.
  const cli = options.cliPath ?? createRequire(import.meta.url).resolve('prisma/build/index.js');
  await runMigrateDeploy(cli, databaseUrl, async () => {
    const applied = await appliedMigrations(databaseUrl);
    return (await committedMigrations()).every((name) => applied.has(name));
  });
  const after = await appliedMigrations(databaseUrl);
  return [...after].filter((name) => !before.has(name)).sort();
}

/** The CLI's last line on success: every migration is applied (now or before). */
const DONE = /All migrations have been successfully applied\.|No pending migrations to apply\./;

/**
 * The CLI reports success about 10 s before it exits: its JavaScript schema engine leaves a
 * 10 s timer behind (measured on prisma 6.19.3; the pg pool is not it). So once it has printed
 * its success line and the database shows every committed migration applied, it is stopped:
 * its work is done, and the advisory lock it took ends with its connection.
 */
function runMigrateDeploy(cli: string, databaseUrl: string, allApplied: () => Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'migrate', 'deploy'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
    });
    let output = '';
    let verified = false;
    let checking = false;
    const checkDone = () => {
      if (checking || verified || !DONE.test(output)) return;
      checking = true;
      allApplied().then(
        (yes) => {
          verified = yes;
          if (yes) child.kill('SIGTERM');
        },
        () => undefined, // not confirmed: wait for the CLI's own exit
      );
    };
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      checkDone();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    // 'close', not 'exit': the output is complete then. Success is the CLI's exit 0, or the
    // SIGTERM sent above once the database showed the work done.
    child.on('close', (code, signal) => (code === 0 || (verified && signal === 'SIGTERM') ? resolve() : reject(new Error(`prisma migrate deploy exited with ${code ?? signal}\n${output.trim()}`))));
  });
}
