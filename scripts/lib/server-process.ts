// A real server process (src/server.ts through tsx, or a compiled build, as `npm start` runs it) on a free
// loopback port (or the one given: a load balancer expects it there), ready once /healthz answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/local-services/network.ts';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Only the tail of what the server prints is kept (a load test logs a lot). */
const MAX_OUTPUT_CHARS = 64_000;

export { freePort };

export interface StartOptions {
  port?: number;
  /** Extra node flags (a profiler, say). */
  nodeArgs?: string[];
  /** The compiled server (`dist/server.js` or a test's own build) instead of the sources through tsx. */
  script?: string;
}

export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000, options: StartOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...(options.script ? [options.script] : ['--import', 'tsx', 'src/server.ts'])], {
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
    // One signal asks for the stop: a test that already sent it (server.child.kill) only waits
    // here. A second SIGTERM landing while Node tears down, its handlers gone, would end the
    // process by signal instead of its exit 0. SIGKILL, the cleanups' last word, always goes.
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null && (signal === 'SIGKILL' || !child.killed)) child.kill(signal);
      return exited;
    },
  };
}
