// A redis-server of a test's own on a loopback port the test chose (no persistence), stopped by
// its PID: for a Redis that appears where nothing listened, or one that wants a password.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';

export interface TestRedisServer {
  port: number;
  pid: number;
  stop: () => Promise<void>;
  /** kill -9: no shutdown save, as a crash. */
  kill: () => Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** Whether something on `port` answers a PING with a Redis reply (an error reply counts: NOAUTH). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000, () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(/^[+-]/.test(chunk.toString()));
    });
  });
}

export async function startRedisServer(port: number, extraArgs: string[] = []): Promise<TestRedisServer> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), ...extraArgs], {
    stdio: 'ignore',
  });
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Not left running when the test process ends first (a test that timed out).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await exited;
  };
  const kill = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    await exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer within ${READY_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { port, pid: child.pid!, stop, kill };
}
