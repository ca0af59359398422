// The early stop of `prisma migrate deploy` (src/migrations.ts): the CLI is stopped only once it
// has printed its success line AND the database shows every committed migration applied, and a
// SIGTERM counts as success only when it was ours. Stand-in CLIs play the cases the real one
// never shows on its own; the databases are real.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../scripts/lib/run-services.ts';
import { applyMigrations, dropDatabase, ensureDatabase } from '../src/migrations.ts';

const DIR = join('tests/artifacts', `early-stop-${process.pid}`);
mkdirSync(DIR, { recursive: true });
const created: string[] = [];

afterAll(async () => {
  for (const url of created) await dropDatabase(url);
  rmSync(DIR, { recursive: true, force: true });
});

/** A stand-in for prisma/build/index.js, run as `node <file> migrate deploy`. */
function fakeCli(name: string, body: string): string {
  const file = join(DIR, `${name}.mjs`);
  writeFileSync(file, body);
  return file;
}

async function emptyDatabase(): Promise<string> {
  const url = withDatabase(inject('databaseUrl'), `rsa_early_stop_${process.pid}_${created.length}`);
  created.push(url);
  await ensureDatabase(url);
  return url;
}

describe('the early stop of prisma migrate deploy', () => {
  it('stops a CLI that said it is done and would otherwise never exit, once the database shows every migration', async () => {
    const cli = fakeCli('done-then-hang', `console.log('All migrations have been successfully applied.');\nsetInterval(() => undefined, 1000);\n`);
    // The run's database is fully migrated: nothing is new.
    expect(await applyMigrations(inject('databaseUrl'), { cliPath: cli })).toEqual([]);
  }, 30_000);

  it('does not stop it on the success line alone: with a migration missing from the database, the CLI\'s own exit decides', async () => {
    const cli = fakeCli('done-but-not', `console.log('All migrations have been successfully applied.');\nsetTimeout(() => { console.error('Error: it was not'); process.exit(1); }, 2000);\n`);
    await expect(applyMigrations(await emptyDatabase(), { cliPath: cli })).rejects.toThrow(/exited with 1\n[\s\S]*it was not/);
  }, 30_000);

  it('counts a SIGTERM it did not send as a failure', async () => {
    const cli = fakeCli('terminated', `console.log('Applying migration 0001');\nprocess.kill(process.pid, 'SIGTERM');\nsetInterval(() => undefined, 1000);\n`);
    await expect(applyMigrations(await emptyDatabase(), { cliPath: cli })).rejects.toThrow(/exited with SIGTERM/);
  }, 30_000);
});
