// `npm start` on a machine with nothing listening at the default addresses (src/cli/start.ts,
// src/local-services): it starts embedded PostgreSQL and a redis-server of its own, serves a
// sign-in through them, and on SIGTERM stops all three. The default addresses are moved to free
// ports (TEST_ONLY_DEFAULT_PORTS), so the machine's own PostgreSQL and Redis are not in the way.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/server-process.ts';
import { childEnv } from './helpers/child-env.ts';

const ARTIFACTS = resolve(`tests/artifacts/local-services-${process.pid}`);
afterAll(() => rmSync(ARTIFACTS, { recursive: true, force: true }));

interface Started {
  lines: () => string[];
  stderr: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

/** The start through tsx, or (`viaNpm`) as people run it: `npm start` (builds dist/, then runs it). */
function start(env: Record<string, string>, viaNpm = false): Started {
  const [command, args] = viaNpm ? ['npm', ['-s', 'start']] : [process.execPath, ['--import', 'tsx', 'src/cli/start.ts']];
  const child = spawn(command, args, { env: childEnv({ HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    lines: () => stdout.split('\n').filter(Boolean),
    stderr: () => stderr,
    exited: new Promise((done) => child.on('exit', (code) => done(code))),
    kill: (signal) => child.kill(signal),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** `local: started <name> at <url> (… pid <pid>)` */
function startedLine(lines: string[], name: string): { url: string; pid: number } | undefined {
  const match = lines.map((line) => new RegExp(`^local: started ${name} at (\\S+) \\(.*pid (\\d+)\\)$`).exec(line)).find(Boolean);
  return match ? { url: match[1]!, pid: Number(match[2]) } : undefined;
}

async function unreachableDefaults(): Promise<string> {
  return `${await freePort()},${await freePort()}`;
}

describe('npm start with nothing at the default addresses (development)', () => {
  it.each([
    ['src/cli/start.ts', false],
    ['npm start (SIGTERM to npm)', true],
  ])('%s: starts embedded PostgreSQL and redis-server, signs a user in through them, and SIGTERM stops all three', async (_name, viaNpm) => {
    const port = await freePort();
    const app = start({ NODE_ENV: 'development', PORT: String(port), TEST_ONLY_DEFAULT_PORTS: await unreachableDefaults(), LOCAL_DATA_DIR: join(ARTIFACTS, 'data'), PATH: process.env.PATH ?? '' }, viaNpm);
    try {
      const base = `http://127.0.0.1:${port}`;
      await until('the app answering', () => fetch(`${base}/healthz`).then((res) => (res.ok ? true : undefined), () => undefined), 120_000);
      const postgres = startedLine(app.lines(), 'PostgreSQL')!;
      const redis = startedLine(app.lines(), 'redis-server')!;
      // Passwords of their own, made up on the first start and kept under the data directory.
      expect(postgres.url).toMatch(/^postgresql:\/\/postgres:[\w-]{24}@127\.0\.0\.1:\d+\/redis_session_auth$/);
      expect(redis.url).toMatch(/^redis:\/\/:[\w-]{24}@127\.0\.0\.1:\d+$/);
      expect(postgres.url).toContain(readFileSync(join(ARTIFACTS, 'data', 'postgres.password'), 'utf8').trim());

      const email = `local-${process.pid}-${viaNpm ? 'npm' : 'tsx'}@example.test`;
      const headers = { 'content-type': 'application/json' };
      const registered = await fetch(`${base}/api/auth/register`, { method: 'POST', headers, body: JSON.stringify({ email, password: 'correct horse battery staple', name: 'Local' }) });
      expect(registered.status).toBe(201);
      const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password: 'correct horse battery staple' }) });
      expect(login.status).toBe(200);
      const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const me = await fetch(`${base}/api/auth/me`, { headers: { cookie } });
      expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);

      // The session is where the lines said: a row in that PostgreSQL, entries in that Redis.
      const db = new pg.Client({ connectionString: postgres.url });
      await db.connect();
      try {
        const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM "Session" s JOIN "User" u ON u.id = s."userId" WHERE u.email = $1', [email]);
        expect(Number(rows[0]!.n)).toBe(2);
      } finally {
        await db.end();
      }
      const client = createClient({ url: redis.url });
      await client.connect();
      expect(await client.dbSize()).toBeGreaterThan(0);
      await client.close();

      app.kill('SIGTERM');
      expect(await app.exited).toBe(0);
      expect(app.lines().at(-1)).toBe('local: stopped PostgreSQL and redis-server');
      expect(alive(postgres.pid)).toBe(false);
      expect(alive(redis.pid)).toBe(false);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('without redis-server on the PATH: one line saying how to get one, exit 1, and the PostgreSQL it started is stopped', async () => {
    // A PATH with node alone on it.
    const bin = join(ARTIFACTS, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    const app = start({ NODE_ENV: 'development', PORT: String(await freePort()), TEST_ONLY_DEFAULT_PORTS: await unreachableDefaults(), LOCAL_DATA_DIR: join(ARTIFACTS, 'data'), PATH: bin });
    expect(await app.exited).toBe(1);
    expect(app.stderr().trim().split('\n')).toEqual([
      'startup: Redis: redis-server is not on the PATH and REDIS_URL is not set. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_PASSWORD (and the other secrets) in .env, run `docker compose up -d redis` and set REDIS_URL=redis://localhost:6379',
    ]);
    const postgres = startedLine(app.lines(), 'PostgreSQL')!;
    expect(alive(postgres.pid)).toBe(false);
  });

  it('a SIGTERM while the services are still starting stops what was spawned, ready or not', async () => {
    // A redis-server that never answers: the start is held waiting for it, PostgreSQL already up.
    const bin = join(ARTIFACTS, 'bin-stuck');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    const stuckPid = join(ARTIFACTS, 'stuck-redis.pid');
    writeFileSync(join(bin, 'redis-server'), `#!/bin/sh\necho $$ > ${stuckPid}\nexec sleep 600\n`, { mode: 0o755 });
    const app = start({ NODE_ENV: 'development', PORT: String(await freePort()), TEST_ONLY_DEFAULT_PORTS: await unreachableDefaults(), LOCAL_DATA_DIR: join(ARTIFACTS, 'data'), PATH: bin });
    try {
      const postgres = await until('PostgreSQL started', () => startedLine(app.lines(), 'PostgreSQL'), 60_000);
      const redisPid = await until('the stuck redis-server spawned', () => (existsSync(stuckPid) ? Number(readFileSync(stuckPid, 'utf8')) || undefined : undefined), 30_000);
      app.kill('SIGTERM');
      expect(await app.exited).toBe(0);
      expect(alive(postgres.pid)).toBe(false);
      expect(alive(redisPid)).toBe(false);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('in production starts nothing: without the URLs it is a configuration error', async () => {
    const app = start({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), TEST_ONLY_DEFAULT_PORTS: await unreachableDefaults(), LOCAL_DATA_DIR: join(ARTIFACTS, 'never'), PATH: process.env.PATH ?? '' });
    expect(await app.exited).toBe(1);
    expect(app.lines()).toEqual([]);
    expect(app.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^config: DATABASE_URL: required when NODE_ENV=production/), expect.stringMatching(/^config: REDIS_URL: required when NODE_ENV=production/)]);
  });
});
