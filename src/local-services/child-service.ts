// A server process the start owns (PostgreSQL or redis-server): started in its own process
// group, so a Ctrl-C in the terminal reaches the app (which drains its requests) and not the
// servers it still needs; its output goes to a log file, so it holds no pipe to this process.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ChildService {
  name: string;
  url: string;
  pid: number;
  /** Asks the server to shut down (the given signal) and waits until it has exited. */
  stop(): Promise<void>;
}

export interface ChildServiceOptions {
  command: string;
  args: string[];
  logFile: string;
  uid?: number;
  gid?: number;
}

export function spawnService(options: ChildServiceOptions): ChildProcess {
  const log = openSync(options.logFile, 'a');
  const spawnOptions: SpawnOptions = { detached: true, stdio: ['ignore', log, log], uid: options.uid, gid: options.gid };
  try {
    return spawn(options.command, options.args, spawnOptions);
  } finally {
    closeSync(log); // the child has its own copy
  }
}

/** Polls `ready` until it is true, the child exits, or the deadline passes. */
export async function waitUntilReady(child: ChildProcess, what: string, logFile: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before it was ready (${child.exitCode ?? child.signalCode}); its log: ${logFile}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} was not ready within ${timeoutMs / 1000} s; its log: ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stopping: the clean signal, then the exit. Sent again at process exit if nothing stopped it. */
export function stopper(child: ChildProcess, signal: NodeJS.Signals): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Not kept alive by the child: the start ends when the app has stopped, not when PostgreSQL has.
  child.unref();
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.ref(); // wait for it now
      child.kill(signal);
      await exited;
    }
  };
}
