// App instances for the load-balancer test: started on a port the caller chooses, so that one
// can be stopped and started again where the balancer expects it, and stopped with a deadline.
import { startServerProcess, type ServerProcess } from './server-process.ts';

/** Ready once /healthz answers; rejects if the process exits first or is not ready in time. */
export function startServerOnPort(env: Record<string, string>, port: number, timeoutMs = 60_000): Promise<ServerProcess> {
  return startServerProcess(env, timeoutMs, { port, nodeArgs: process.env.LB_NODE_ARGS?.split(' ').filter(Boolean) ?? [] });
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
