// Graceful shutdown of the real entry point (src/server.ts): on SIGTERM or SIGINT, readiness
// turns 503, new connections are refused, a request already in flight runs to the end with
// Redis and PostgreSQL still connected, and the process exits 0. An open admin event stream
// (a request that never finishes by itself) is ended at once instead of holding the drain.
//
// The slow request is a real one, not a test-only route: the client sends half of a register
// body, the signal arrives, and the client sends the rest later. Nothing in production code
// exists for the test.
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { describe, expect, inject, it } from 'vitest';
import { startServerProcess } from '../scripts/lib/server-process.ts';
import { setRole } from '../src/admin/roles.ts';
import { fileCleanups } from './helpers/cleanups.ts';
import { childEnv } from './helpers/child-env.ts';
import { loginAgent, PASSWORD, registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';

/** How long the client sits on a half-sent body after the signal: the request stays in flight. */
const SLOW_CLIENT_PAUSE_MS = 500;
/** Well under the keep-alive timeout (5 s): the server closes a drained connection itself. */
const PROMPT_CLOSE_MS = 4_000;
const WAIT_TIMEOUT_MS = 10_000;
/** server.ts's SHUTDOWN_GRACE_MS: how long the drain waits before it cuts connections. */
const SHUTDOWN_GRACE_MS = 10_000;

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

async function query(sql: string, params: unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function userExists(email: string): Promise<boolean> {
  return (await query('SELECT 1 FROM "User" WHERE email = $1', [email])).rowCount === 1;
}

/** Registers through the API and makes the user an admin in PostgreSQL, which /admin reads on every request. */
async function adminCookie(url: string): Promise<string> {
  const email = uniqueEmail('sse-admin');
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(res.status).toBe(201);
  await query(`UPDATE "User" SET role = 'admin' WHERE email = $1`, [email]);
  const cookie = res.headers.getSetCookie().find((line) => line.startsWith('sid='));
  return cookie!.split(';')[0]!;
}

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s turns /readyz 503, refuses new connections, finishes a slow in-flight request, then exits 0',
    async (signal) => {
      const server = await startServerProcess(
        childEnv({
          HOST: '127.0.0.1',
          DATABASE_URL: inject('databaseUrl'),
          REDIS_URL: inject('redisUrl'),
          REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}drain-${signal}:`,
        }),
      );
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

describe('shutdown with an admin event stream open', () => {
  it('on SIGTERM ends the stream with a shutdown event that tells EventSource to reconnect, and exits 0 well within the grace period', async () => {
    const server = await startServerProcess(
      childEnv({
        HOST: '127.0.0.1',
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}drain-sse:`,
      }),
    );
    try {
      const port = Number(new URL(server.url).port);
      const cookie = await adminCookie(server.url);
      const stream = await openConnection(port);
      stream.socket.write(`GET /admin/events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\nCookie: ${cookie}\r\n\r\n`);
      await until(() => stream.received().includes(': connected'), 'the open event stream');
      expect(stream.received()).toMatch(/^HTTP\/1\.1 200 /);

      server.child.kill('SIGTERM');
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace period over'>((resolve) => (graceTimer = setTimeout(resolve, SHUTDOWN_GRACE_MS, 'grace period over')));
      const outcome = await Promise.race([server.stop().then((code) => ({ code })), graceOver]);
      clearTimeout(graceTimer);
      expect(outcome).toEqual({ code: 0 });

      await stream.closed;
      // The last event, then the chunked body's end: the response was ended, not cut off.
      expect(stream.received()).toMatch(/\r\n\r\n[\s\S]*: connected\n\n[\s\S]*retry: \d+\nevent: shutdown\ndata: \{"message":"[^"]+"\}\n\n\r\n0\r\n\r\n$/);
      expect(server.output()).toContain('"msg":"stopped"');
      expect(server.output()).not.toContain('in-flight requests still running');
    } finally {
      await server.stop('SIGKILL');
    }
  });
});

describe('App.endStreams', () => {
  const { app, cleanups } = fileCleanups();
  /** Time enough for a stream that is answered at once; one left open would hang for ever. */
  const ENDED_WITHIN_MS = 5_000;

  async function adminAgent(t: TestApp) {
    const admin = await registerUser(t);
    await setRole(t.db, t.sessions.revoker, admin.email, 'admin');
    return loginAgent(t, admin.email);
  }

  /** Reads a stream on a real socket until its text has `wanted`; ends the read either way. */
  async function streamShows(t: TestApp, cookie: string, wanted: string): Promise<string> {
    const server = t.app.listen(0, '127.0.0.1');
    cleanups.push(() => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve))));
    await new Promise((resolve) => server.once('listening', resolve));
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/admin/events`, { headers: { Cookie: cookie }, signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    try {
      while (!text.includes(wanted)) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += Buffer.from(chunk.value).toString();
      }
    } finally {
      controller.abort();
    }
    return text;
  }

  it('answers a stream asked for once shutdown has begun with the shutdown event, and ends it', async () => {
    const t = await app();
    const { agent } = await adminAgent(t);
    t.endStreams();
    const res = await agent.get('/admin/events').buffer(true).parse((r, done) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString()));
      r.on('end', () => done(null, text));
    }).timeout(ENDED_WITHIN_MS);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.body).toMatch(/^retry: \d+\nevent: shutdown\ndata: \{"message":"[^"]+"\}\n\n$/);
  });

  it('ends only its own app\'s streams: another app in the same process keeps streaming', async () => {
    const stopping = await app();
    const other = await app();
    const { cookie } = await adminAgent(other);
    stopping.endStreams();
    const text = await streamShows(other, cookie, ': connected');
    expect(text).toContain(': connected');
    expect(text).not.toContain('event: shutdown');
  });
});
