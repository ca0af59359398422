// The compiled build, as `npm start` and the Docker image run it: `npm run build`'s script into a
// directory of its own (never over the working tree's dist/), then its migration runner and
// server as real processes.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startServerProcess } from '../scripts/lib/server-process.ts';
import { dropDatabase } from '../src/migrations.ts';
import { childEnv } from './helpers/child-env.ts';

const run = promisify(execFile);
// Inside the repository (git-ignored), so the compiled files find node_modules as dist/ does.
const OUT_DIR = `tests/artifacts/dist-${process.pid}`;
const BUILD_LIMIT_MS = 120_000;

function databaseUrl(name: string): string {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

const env = (url: string) => childEnv({ PATH: process.env.PATH ?? '', DATABASE_URL: url, REDIS_URL: inject('redisUrl') });

beforeAll(async () => {
  await run(process.execPath, ['scripts/build.mjs', '--out-dir', OUT_DIR], { timeout: BUILD_LIMIT_MS });
}, BUILD_LIMIT_MS);

afterAll(() => rmSync(OUT_DIR, { recursive: true, force: true }));

describe('npm run build', () => {
  it('emits JavaScript with source maps, the CLIs, and the templates and static files beside them', () => {
    for (const file of ['server.js', 'server.js.map', 'cli/migrate.js', 'cli/admin.js', 'cli/check-consistency.js', 'web/views/login.eta', 'web/public/app.css']) {
      expect(existsSync(`${OUT_DIR}/${file}`), file).toBe(true);
    }
  });
});

describe('the compiled migration runner', () => {
  const url = databaseUrl(`rsa_build_${process.pid}`);
  afterAll(() => dropDatabase(url));

  it('prints one line for a new database and one for an up-to-date one, and nothing from Prisma', async () => {
    const first = await run(process.execPath, [`${OUT_DIR}/cli/migrate.js`], { env: env(url) });
    expect(first.stderr).toBe('');
    expect(first.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^migrate: created database \S+ applied \d+ migration\(s\): \d{14}_\w+(, \d{14}_\w+)*$/)]);
    // Every committed migration, though the CLI is stopped once it reports success (src/migrations.ts).
    const committed = readdirSync('prisma/migrations', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(first.stdout.trim().split(': ').pop()!.split(', ')).toEqual(committed);
    const again = await run(process.execPath, [`${OUT_DIR}/cli/migrate.js`], { env: env(url) });
    expect(again.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^migrate: database \S+ up to date$/)]);
    expect(`${first.stdout}${again.stdout}`).not.toMatch(/WARNING|Prisma|datasource/i);
  });

  it('exits 1 with a line naming the database when it cannot migrate', async () => {
    const failed = await run(process.execPath, [`${OUT_DIR}/cli/migrate.js`], { env: { ...env(url), DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' } }).catch((err: { code: number; stderr: string }) => err);
    expect('code' in failed && failed.code).toBe(1);
    expect((failed as { stderr: string }).stderr).toMatch(/^migrate: PostgreSQL at \S+: /);
  });
});

describe('the compiled server', () => {
  it('serves the login page, its stylesheet and readiness', async () => {
    const url = databaseUrl(inject('databaseUrl').split('/').pop()!);
    const server = await startServerProcess({ ...env(url), REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}build:` }, 60_000, { script: `${OUT_DIR}/server.js` });
    try {
      const login = await fetch(`${server.url}/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain('<form');
      expect((await fetch(`${server.url}/static/app.css`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
