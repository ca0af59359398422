// Redis from a `redis-server` binary on the PATH: data under `<data dir>/redis` with the
// append-only file on (sessions survive a restart of `npm start`), a free loopback port.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { spawnService, stopper, waitUntilReady, type ChildService } from './child-service.ts';
import { LocalServiceError } from './local-service-error.ts';
import { freePort } from './network.ts';

const READY_TIMEOUT_MS = 30_000;

export const REDIS_SERVER_MISSING =
  'Redis: redis-server is not on the PATH and REDIS_URL is not set. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or run `docker compose up -d redis` and set REDIS_URL and REDIS_PASSWORD in .env';

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True once the server answers PING with PONG (not while it is still loading its data). */
function pong(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (answer: boolean) => {
      socket.destroy();
      done(answer);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

export async function startLocalRedis(dataDir: string): Promise<ChildService> {
  const command = onPath('redis-server');
  if (!command) throw new LocalServiceError(REDIS_SERVER_MISSING);
  const logDir = resolve(dataDir);
  const dir = join(logDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = join(logDir, 'redis.log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--maxmemory-policy', 'noeviction'];
  const child = spawnService({ command, args, logFile });
  await waitUntilReady(child, 'redis-server', logFile, () => pong(port), READY_TIMEOUT_MS);
  return { name: 'redis-server', url: `redis://127.0.0.1:${port}`, pid: child.pid!, stop: stopper(child, 'SIGTERM') };
}
