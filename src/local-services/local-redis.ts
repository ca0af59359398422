// Redis from a `redis-server` binary on the PATH: data under `<data dir>/redis` with the
// append-only file on (sessions survive a restart of `npm start`), a free loopback port, and a
// password of its own (in `<data dir>/redis.conf`, 0600: not on a command line `ps` shows).
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { spawnService, waitUntilReady, type ChildService } from './child-service.ts';
import { findOnPath, localPassword, privateDir, runningPid } from './local-files.ts';
import { LocalServiceError } from './local-service-error.ts';
import { freePort } from './network.ts';

const READY_TIMEOUT_MS = 30_000;

export const REDIS_SERVER_MISSING =
  'Redis: redis-server is not on the PATH and REDIS_URL is not set. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_PASSWORD (and the other secrets) in .env, run `docker compose up -d redis` and set REDIS_URL=redis://localhost:6379';

/** True once the server answers PING with PONG (not while it is still loading its data). */
function pong(port: number, password: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (answer: boolean) => {
      socket.destroy();
      done(answer);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const lines = reply.split('\r\n');
      if (lines.length >= 3) finish(lines[1]!.startsWith('+PONG'));
    });
  });
}

export async function startLocalRedis(dataDir: string): Promise<ChildService> {
  const command = findOnPath('redis-server');
  if (!command) throw new LocalServiceError(REDIS_SERVER_MISSING);
  const base = resolve(dataDir);
  privateDir(base);
  const dir = join(base, 'redis');
  privateDir(dir);
  const pidFile = join(base, 'redis.pid');
  const earlier = runningPid(pidFile, 'redis-server');
  if (earlier) throw new LocalServiceError(`Redis: a redis-server (pid ${earlier}) already runs on ${dir}, left by an earlier start: stop it (kill ${earlier}) and start again`);
  const password = localPassword(join(base, 'redis.password'));
  const config = join(base, 'redis.conf');
  writeFileSync(config, `requirepass ${password}\n`, { mode: 0o600 });
  const port = await freePort();
  const logFile = join(base, 'redis.log');
  const args = [config, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--pidfile', pidFile, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--maxmemory-policy', 'noeviction'];
  const spawned = spawnService({ command, args, logFile, stopSignal: 'SIGTERM' });
  await waitUntilReady(spawned, 'redis-server', logFile, () => pong(port, password), READY_TIMEOUT_MS);
  return { name: 'redis-server', url: `redis://:${password}@127.0.0.1:${port}`, pid: spawned.child.pid!, stop: spawned.stop };
}
