// Graceful shutdown of the real entry point (src/server.ts): on SIGTERM or SIGINT, readiness
// turns 503, new connections are refused, a request already in flight runs to the end with
// Redis and PostgreSQL still connected, and the process exits 0.
//
// The slow request is a real one, not a test-only route: the client sends half of a register
// body, the signal arrives, and the client sends the rest later. Nothing in production code
// exists for the test.
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startServerProcess } from '../scripts/lib/server-process.ts';
import { PASSWORD, uniqueEmail } from './helpers/test-app.ts';

/** How long the client sits on a half-sent body after the signal: the request stays in flight. */
const SLOW_CLIENT_PAUSE_MS = 500;
/** Well under the keep-alive timeout (5 s): the server closes a drained connection itself. */
const PROMPT_CLOSE_MS = 4_000;
const WAIT_TIMEOUT_MS = 10_000;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await delay(10)) {
    if (Date.now() - started > WAIT_TIMEOUT_MS) throw new Error(`${what}: not within ${WAIT_TIMEOUT_MS} ms`);
  }
}

/** A raw HTTP/1.1 connection, so a test can send a request as slowly as it likes. */
async function openConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  return { socket, closed, received: () => received };
}

/** 'connected', or the error code of a refused connection. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function userExists(email: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM "User" WHERE email = $1', [email])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s turns /readyz 503, refuses new connections, finishes a slow in-flight request, then exits 0',
    async (signal) => {
      const server = await startServerProcess({
        HOST: '127.0.0.1',
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}drain-${signal}:`,
      });
      const port = Number(new URL(server.url).port);
      const email = uniqueEmail('drain');
      const body = JSON.stringify({ email, password: PASSWORD });
      const half = Math.floor(body.length / 2);

      const conn = await openConnection(port);
      // With Expect: 100-continue the server says when it has parsed the headers; from then on
      // the request is in flight, not an idle connection that shutdown may close.
      conn.socket.write(
        `POST /api/auth/register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await until(() => conn.received().includes('HTTP/1.1 100 Continue'), '100 Continue');
      conn.socket.write(body.slice(0, half));

      server.child.kill(signal);
      await until(() => server.output().includes('"msg":"shutting down'), 'the shutdown log line');
      expect(await tryConnect(port)).toBe('ECONNREFUSED');
      await delay(SLOW_CLIENT_PAUSE_MS);

      // The rest of the body, and a readiness probe pipelined behind it on the same connection.
      const resumed = Date.now();
      conn.socket.write(`${body.slice(half)}GET /readyz HTTP/1.1\r\nHost: test\r\n\r\n`);
      await conn.closed;
      expect(Date.now() - resumed).toBeLessThan(PROMPT_CLOSE_MS);
      const statuses = [...conn.received().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      expect(statuses).toEqual([100, 201, 503]);
      expect(conn.received()).toContain('"code":"service_unavailable"');

      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('"msg":"stopped"');
      // The request ran to the end with Redis and PostgreSQL still connected.
      expect(await userExists(email)).toBe(true);
    },
  );
});
