// The real entry point, as `npm start` runs it: startup failures and a clean SIGTERM.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, inject, it } from 'vitest';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runServer(env: Record<string, string>, onStdout?: (text: string, kill: () => void) => void): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('server startup', () => {
  it('exits 1 with one line per bad setting and no stack trace', async () => {
    const run = await runServer({ PORT: 'abc', SESSION_IDLE_TIMEOUT: 'soon' });
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^config: PORT: /), expect.stringMatching(/^config: SESSION_IDLE_TIMEOUT: /)]);
  });

  it('exits 1 in production without a SESSION_SECRET', async () => {
    const run = await runServer({ NODE_ENV: 'production' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^config: SESSION_SECRET: required when NODE_ENV=production/);
  });

  it('exits 1 within 30 s naming Redis and its URL, password masked, when Redis is unreachable', async () => {
    const port = await closedPort();
    const run = await runServer({ REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`, DATABASE_URL: inject('databaseUrl') });
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(30_000);
    expect(run.stderr).toContain(`Redis is unreachable at redis://:****@127.0.0.1:${port}`);
    expect(run.stderr).not.toContain('hunter2');
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
