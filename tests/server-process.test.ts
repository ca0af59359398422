// The real entry point, as `npm start` runs it: startup failures, starting while Redis is away,
// and a clean SIGTERM.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, startServerProcess, type ServerProcess } from '../scripts/lib/server-process.ts';
import { SessionKeys } from '../src/sessions/session-keys.ts';
import { startRedisServer } from './helpers/redis-server.ts';
import { childEnv } from './helpers/child-env.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { locateCookie, PASSWORD, uniqueEmail } from './helpers/test-app.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Longer than any start that should exit takes; a server still running then is killed (code null). */
const RUN_LIMIT_MS = 60_000;

function runServer(env: Record<string, string>, onStdout?: (text: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: childEnv({ PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // One SIGTERM, however many chunks follow the line that asked for it: a second one that lands
    // while Node is tearing down (its signal handlers already gone) would end the process by signal.
    const kill = (): void => {
      if (!child.killed) child.kill('SIGTERM');
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, kill);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.on('exit', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the migration step of npm start (src/cli/migrate.ts)', () => {
  it('reports every bad setting and exits 1 before it connects anywhere: no database is created', async () => {
    const url = new URL(inject('databaseUrl'));
    const name = `rsa_never_created_${Date.now()}`;
    url.pathname = `/${name}`;
    const run = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
        env: childEnv({ PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: 'not-a-port', SESSION_SECRET: 'short', DATABASE_URL: url.toString(), REDIS_URL: inject('redisUrl') }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^config: PORT: /), expect.stringMatching(/^config: SESSION_SECRET: /)]);
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    try {
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });
});

describe('server startup', () => {
  it('exits 1 with one line per bad setting and no stack trace', async () => {
    const run = await runServer({ PORT: 'abc', SESSION_IDLE_TIMEOUT: 'soon' });
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^config: PORT: /), expect.stringMatching(/^config: SESSION_IDLE_TIMEOUT: /)]);
  });

  it('exits 1 in production without a SESSION_SECRET, DATABASE_URL or REDIS_URL: nothing is assumed or started there', async () => {
    const run = await runServer({ NODE_ENV: 'production' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^config: DATABASE_URL: required when NODE_ENV=production/),
      expect.stringMatching(/^config: REDIS_URL: required when NODE_ENV=production/),
      expect.stringMatching(/^config: SESSION_SECRET: required when NODE_ENV=production/),
    ]);
  });

  it('exits 1 with one line naming Redis and the cause, and no stack trace, when Redis refuses the password', async () => {
    const redis = await startRedisServer(await freePort(), ['--requirepass', 'right-password']);
    try {
      const run = await runServer({ PORT: '0', REDIS_URL: `redis://:wrong-password@127.0.0.1:${redis.port}`, DATABASE_URL: inject('databaseUrl') });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        `startup: Redis at redis://:****@127.0.0.1:${redis.port} refused the credentials: WRONGPASS invalid username-password pair or user is disabled.`,
      ]);
      expect(run.stdout + run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stdout + run.stderr).not.toContain('wrong-password');
    } finally {
      await redis.stop();
    }
  });

  it('exits 1 with one line naming PostgreSQL and its URL, password masked, when PostgreSQL is unreachable', async () => {
    const port = await freePort() /* nothing listens there */;
    const run = await runServer({ PORT: '0', DATABASE_URL: `postgresql://postgres:hunter2@127.0.0.1:${port}/nowhere`, REDIS_URL: inject('redisUrl') });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^startup: cannot use PostgreSQL at postgresql://postgres:\\*{4}@127\\.0\\.0\\.1:${port}/nowhere: .*Can't reach database server`)),
    ]);
    expect(run.stdout + run.stderr).not.toContain('hunter2');
  });

  it('with Redis unreachable, still stops on SIGTERM and exits 0', async () => {
    const port = await freePort() /* nothing listens there */;
    const run = await runServer(
      { PORT: '0', DATABASE_URL: inject('databaseUrl'), REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}proc-noredis:` },
      (text, kill) => {
        if (text.includes('"msg":"listening"')) kill();
      },
    );
    expect(run.stdout).toContain('"msg":"stopped"');
    expect(run.code).toBe(0);
  });

  it('serves, then on SIGTERM stops and exits 0', async () => {
    const run = await runServer(
      { PORT: '0', DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}proc:` },
      (text, kill) => {
        if (text.includes('"msg":"listening"')) kill();
      },
    );
    expect(run.stdout).toContain('"msg":"listening"');
    expect(run.stdout).toContain('"msg":"stopped"');
    expect(run.code).toBe(0);
  });
});

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** The `sid=…` pair from a fetch response's Set-Cookie. */
function cookieFrom(res: Response): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  if (!line) throw new Error(`no session cookie (status ${res.status})`);
  return line.split(';')[0]!;
}

/** Log lines reach stdout in blocks or once a second (logger.ts): wait for one, within a bound. */
const logShows = (server: ServerProcess, text: string) => waitFor(() => server.output().includes(text), 10_000);

describe('starting while Redis is unreachable (README: Settings)', () => {
  it('serves signed-in requests from PostgreSQL, reports "degraded", and uses Redis within 30 s of it answering', async () => {
    const port = await freePort(); // nothing listens there yet
    const maskedUrl = `redis://:****@127.0.0.1:${port}`;
    const prefix = `${inject('redisKeyPrefix')}late-redis:`;
    const server = await startServerProcess(
      childEnv({
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
        REDIS_KEY_PREFIX: prefix,
      }),
    );
    cleanups.push(() => server.stop('SIGKILL'));
    const readyz = async () => {
      const res = await fetch(`${server.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { status?: string; checks?: unknown; message?: string } };
    };

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: 'degraded', checks: { redis: 'unavailable', postgres: 'ok' }, message: expect.stringMatching(/^Redis is not answering/) },
    });
    expect((await fetch(`${server.url}/login`)).status).toBe(200);
    const email = uniqueEmail('late-redis');
    const registered = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(registered.status).toBe(201);
    const cookie = cookieFrom(registered);
    const me = async () => fetch(`${server.url}/api/auth/me`, { headers: { Cookie: cookie } });
    const fromPostgres = await me();
    expect(fromPostgres.status).toBe(200);
    expect(((await fromPostgres.json()) as { user: { email: string } }).user.email).toBe(email);
    // Named in the log, password masked: the start's own line and the client's outage line.
    await logShows(server, `"redis":"${maskedUrl}","err":"connect ECONNREFUSED 127.0.0.1:${port}","msg":"starting without Redis`);
    await logShows(server, `"redis":"${maskedUrl}","err":"connect ECONNREFUSED 127.0.0.1:${port}","msg":"Redis is not connected`);
    expect(server.output()).not.toContain('hunter2');

    const redis = await startRedisServer(port, ['--requirepass', 'hunter2']);
    cleanups.push(() => redis.stop());
    await waitFor(async () => (await readyz()).body.status === 'ok', 30_000, 200);
    await logShows(server, '"msg":"Redis connected"');
    // The session made while Redis was away gets its Redis entry on its next request.
    expect((await me()).status).toBe(200);
    const direct = createClient({ url: `redis://:hunter2@127.0.0.1:${port}` });
    await direct.connect();
    try {
      const key = new SessionKeys(prefix).session(locateCookie(cookie));
      await waitFor(async () => (await direct.exists(key)) === 1, 10_000);
    } finally {
      direct.destroy();
    }

    expect(await server.stop()).toBe(0);
    expect(server.output().match(/"msg":"Redis connected"/g)).toHaveLength(1);
    await redis.stop();
  });
});
