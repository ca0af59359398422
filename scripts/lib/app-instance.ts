// A real server process (src/server.ts, as `npm start` runs it after migrating) on a port the
// caller chooses, so that it can be stopped and started again where a load balancer expects it.
// startServerProcess (server-process.ts) always picks a new free port; this is the same start
// with a fixed one.
import { spawn } from 'node:child_process';
import type { ServerProcess } from './server-process.ts';

/** Only the tail of what the server prints is kept (a load test logs a lot). */
const MAX_OUTPUT_CHARS = 64_000;

/** Ready once /healthz answers; rejects if the process exits first or is not ready in time. */
export async function startServerOnPort(env: Record<string, string>, port: number, timeoutMs = 60_000): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(process.env.LB_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server on port ${port} exited with ${child.exitCode} before it was ready:\n${output}`);
    const healthy = await fetch(`${url}/healthz`).then((res) => res.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server on port ${port} was not ready within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Stopped {
  /** The exit code; null when the process ended by a signal (the SIGKILL below included). */
  code: number | null;
  /** True when it had not exited within the deadline and was killed. */
  killed: boolean;
  ms: number;
}

/** Sends `signal` (SIGTERM) and waits up to `deadlineMs` for the exit; then SIGKILL. */
export async function stopWithin(server: ServerProcess, deadlineMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<Stopped> {
  const started = Date.now();
  const exited = server.stop(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, deadlineMs, 'late');
  });
  const first = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (first !== 'late') return { code: first, killed: false, ms: Date.now() - started };
  server.child.kill('SIGKILL');
  await exited;
  return { code: null, killed: true, ms: Date.now() - started };
}
