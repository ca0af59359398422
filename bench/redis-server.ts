// A redis-server of the benchmark's own, on a free loopback port, so that its command counts
// and memory use belong to this run alone (the shared Redis on :6379 is never touched).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../scripts/lib/server-process.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export interface DedicatedRedis {
  url: string;
  stop: () => Promise<void>;
}

export { freePort };

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} before answering`);
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return;
    } catch {
      client.destroy();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  throw new Error(`redis-server did not answer within ${READY_TIMEOUT_MS / 1000} s`);
}

/** Starts `redis-server` (no persistence, loopback only); fails with a hint when it is missing. */
export async function startDedicatedRedis(): Promise<DedicatedRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'rsa-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''], {
    stdio: 'ignore',
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start redis-server (${err.message}); install it, e.g. apt-get install redis-server`)));
  });
  await spawned;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(url, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
