// Starts each app under test in its own Node process (TypeScript through tsx), on a free
// loopback port it reports back over IPC, and stops it again.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const ANSWER_TIMEOUT_MS = 30_000;

export interface AppProcess {
  name: string;
  baseUrl: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

export interface ListeningMessage {
  type: 'listening';
  port: number;
}

/** What the parent can ask an app process (answered in apps/serve.ts). */
export type AppRequest = { type: 'profile'; action: 'start' } | { type: 'profile'; action: 'stop'; file: string } | { type: 'counters' };

/** An app process's counters so far: CPU time (user + system) and HTTP requests it received. */
export interface AppCounters {
  cpuMicros: number;
  requests: number;
}

export type AppReply = { type: 'profiled' } | ({ type: 'counters' } & AppCounters);

function ask<T extends AppReply['type']>(app: AppProcess, request: AppRequest, replyType: T): Promise<Extract<AppReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      app.child.off('message', done);
      reject(new Error(`${app.name}: no answer to ${request.type} within ${ANSWER_TIMEOUT_MS / 1000} s`));
    }, ANSWER_TIMEOUT_MS);
    const done = (message: AppReply) => {
      if (message?.type !== replyType) return;
      clearTimeout(timer);
      app.child.off('message', done);
      resolve(message as Extract<AppReply, { type: T }>);
    };
    app.child.on('message', done);
    app.child.send(request);
  });
}

/** Starts or stops the CPU profiler inside an app process; resolves when done. */
export async function requestProfile(app: AppProcess, request: Extract<AppRequest, { type: 'profile' }>): Promise<void> {
  await ask(app, request, 'profiled');
}

/**
 * Counted inside the app: requests it actually handled (autocannon does not count those still
 * in flight when it stops) and its CPU time, which is steadier than req/s on a shared machine.
 */
export async function appCounters(app: AppProcess): Promise<AppCounters> {
  const { cpuMicros, requests } = await ask(app, { type: 'counters' }, 'counters');
  return { cpuMicros, requests };
}

export async function startApp(name: string, entry: string, env: Record<string, string>): Promise<AppProcess> {
  const child = fork(fileURLToPath(new URL(`./apps/${entry}`, import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'development', ...env },
    // stdout is the apps' logs (the product's access log): discarded; stderr shows failures.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not listening after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.on('message', (message: ListeningMessage) => {
      if (message?.type !== 'listening') return;
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited with ${code} before listening`));
    });
  });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping || code !== 0) console.error(`bench: ${name} exited ${stopping ? '' : 'unexpectedly '}with ${signal ?? code}`);
  });
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return { name, baseUrl: `http://127.0.0.1:${port}`, child, stop };
}
