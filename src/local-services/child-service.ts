// A server process the start owns (PostgreSQL or redis-server): started in its own process
// group, so a Ctrl-C in the terminal reaches the app (which drains its requests) and not the
// servers it still needs; its output goes to a log file, so it holds no pipe to this process.
// Every one spawned is known from the moment it is spawned (before it is ready), so a signal
// that arrives while the services start can still stop them all (stopEveryService).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { LocalServiceError } from './local-service-error.ts';

export interface ChildService {
  name: string;
  url: string;
  pid: number;
  /** Shuts the server down cleanly and waits until it has exited (SIGKILL past a deadline). */
  stop(): Promise<void>;
}

export interface ChildServiceOptions {
  command: string;
  args: string[];
  logFile: string;
  /** The signal that shuts this server down cleanly (PostgreSQL: SIGINT, a fast shutdown). */
  stopSignal: NodeJS.Signals;
  uid?: number;
  gid?: number;
}

export interface SpawnedService {
  child: ChildProcess;
  /** Rejects when the process could not be started at all (EACCES, ENOENT). */
  failed: Promise<never>;
  stop(): Promise<void>;
}

/** A clean shutdown that takes longer than this (a stuck checkpoint) ends with SIGKILL. */
const STOP_DEADLINE_MS = 15_000;

const live = new Set<SpawnedService>();

export function spawnService(options: ChildServiceOptions): SpawnedService {
  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, { detached: true, stdio: ['ignore', log, log], uid: options.uid, gid: options.gid });
  } finally {
    closeSync(log); // the child has its own copy
  }
  const failed = new Promise<never>((_resolve, reject) => child.once('error', (err) => reject(new LocalServiceError(`cannot start ${options.command}: ${err.message}`))));
  failed.catch(() => undefined); // observed by waitUntilReady
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  // Not kept alive by the child: the start ends when the app has stopped, not when PostgreSQL has.
  child.unref();
  // The last resort, if this process exits without having stopped it.
  process.once('exit', () => {
    if (running()) child.kill(options.stopSignal);
  });
  const service: SpawnedService = {
    child,
    failed,
    async stop() {
      live.delete(service);
      if (!running()) return;
      child.ref(); // wait for it now
      child.kill(options.stopSignal);
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
      await exited;
      clearTimeout(killer);
    },
  };
  live.add(service);
  return service;
}

/** Stops every service spawned and not yet stopped, ready or not. */
export async function stopEveryService(): Promise<void> {
  await Promise.all([...live].map((service) => service.stop()));
}

/** Polls `ready` until it is true, the child exits or cannot start, or the deadline passes. */
export async function waitUntilReady(spawned: SpawnedService, what: string, logFile: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const { child } = spawned;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await Promise.race([spawned.failed, new Promise((resolve) => setImmediate(resolve))]);
    if (child.exitCode !== null || child.signalCode !== null) throw new LocalServiceError(`${what} exited before it was ready (${child.exitCode ?? child.signalCode}); its log: ${logFile}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      await spawned.stop();
      throw new LocalServiceError(`${what} was not ready within ${timeoutMs / 1000} s; its log: ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
