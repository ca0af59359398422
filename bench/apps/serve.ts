// Shared by every app process: listen on a free loopback port, tell the parent which, and
// shut down when told to (SIGTERM) or when the parent goes away.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Express } from 'express';
import type { AppReply, AppRequest, ListeningMessage } from '../children.ts';

/** Requests whose connection is gone can still be running; they get this long to finish. */
const DRAIN_MS = 2_000;
/** Exit on our own, well before the parent's SIGKILL. */
const CLOSE_TIMEOUT_MS = 5_000;

const within = (work: Promise<unknown>, ms: number) => Promise.race([work.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms))]);

export function serve(app: Express, close: () => Promise<void> = async () => undefined): void {
  const server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.send?.({ type: 'listening', port } satisfies ListeningMessage);
  });
  let requests = 0;
  server.on('request', () => requests++);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    await within(closed, DRAIN_MS);
    server.closeAllConnections();
    await within(close(), CLOSE_TIMEOUT_MS);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (message: AppRequest) => {
    if (message?.type === 'counters') {
      const { user, system } = process.cpuUsage();
      process.send?.({ type: 'counters', cpuMicros: user + system, requests } satisfies AppReply);
    } else if (message?.type === 'profile') void profile(message);
  });
}

let profiler: Session | null = null;

/** The parent starts and stops V8's CPU profiler around exactly the load it wants explained. */
async function profile(message: Extract<AppRequest, { type: 'profile' }>): Promise<void> {
  if (message.action === 'start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  } else if (profiler) {
    const { profile: result } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = null;
    await writeFile(message.file, JSON.stringify(result));
  }
  process.send?.({ type: 'profiled' } satisfies AppReply);
}

/** Settings every app process reads from its environment. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (apps are started by bench/run.ts)`);
  return value;
}
