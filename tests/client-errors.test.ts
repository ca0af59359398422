// Requests that Node's HTTP parser refuses before Express sees them get the app's JSON error
// shape (src/http/client-errors.ts), read off a raw socket as a client would see them.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { startServerProcess } from '../scripts/lib/server-process.ts';
import { setRole } from '../src/admin/roles.ts';
import { installClientErrorHandler } from '../src/http/client-errors.ts';
import { createLogger } from '../src/logger.ts';
import { fileCleanups } from './helpers/cleanups.ts';
import { childEnv } from './helpers/child-env.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { loginAgent, registerUser, type TestApp } from './helpers/test-app.ts';

/** Over Node's default limit for all the headers together (16 KiB). */
const OVERSIZED_HEADER = `X-Padding: ${'a'.repeat(20_000)}\r\n`;
const SECRET_COOKIE = 'sid=s%3Anot-for-the-log';
/** A connection still open after this has not been closed by the server. */
const CLOSE_WITHIN_MS = 5_000;
/** Short enough for a test, long enough for the request that is sent in time. */
const HEADERS_TIMEOUT_MS = 300;

const { app, cleanups } = fileCleanups();
let t: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  t = await app();
});

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  cleanups.push(() => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve))));
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as { port: number }).port;
}

/** The app on a real port, the hook installed as server.ts installs it. */
async function appServer(): Promise<number> {
  const server = t.app.listen(0, '127.0.0.1');
  installClientErrorHandler(server, createLogger('info', { write: (line: string) => void logLines.push(line) }));
  return listen(server);
}

/** Sends `raw` and reads until the server closes the connection. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`not closed within ${CLOSE_WITHIN_MS} ms; got: ${received}`))), CLOSE_WITHIN_MS);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined); // a reset after the answer still leaves the answer
    socket.on('close', () => (clearTimeout(timer), resolve(received)));
    socket.write(raw);
  });
}

/** Status line, headers and the parsed JSON body of one raw response. */
function parse(response: string) {
  const [head = '', body = ''] = response.split('\r\n\r\n', 2);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { statusLine, headers, body: JSON.parse(body) as unknown, bodyBytes: Buffer.byteLength(body) };
}

describe('requests the HTTP parser refuses', () => {
  it('headers over Node\'s limit get 431 headers_too_large as JSON, the connection closed, and a log line without the headers', async () => {
    const port = await appServer();
    const response = await exchange(port, `GET /api/auth/me HTTP/1.1\r\nHost: test\r\nCookie: ${SECRET_COOKIE}\r\n${OVERSIZED_HEADER}\r\n`);
    const { statusLine, headers, body, bodyBytes } = parse(response);
    expect(statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', connection: 'close', 'content-length': String(bodyBytes) });
    expect(body).toEqual({ error: { code: 'headers_too_large', message: expect.stringMatching(/headers are too large/) } });
    const line = logLines.find((l) => l.includes('"code":"headers_too_large"'));
    expect(line).toContain('"msg":"request refused by the HTTP parser"');
    expect(line).toContain('"err":"HPE_HEADER_OVERFLOW"');
    expect(logLines.join('\n')).not.toContain('not-for-the-log');
  });

  it('the real entry point (server.ts) installs the hook: headers over the limit get the JSON 431', async () => {
    const server = await startServerProcess(
      childEnv({
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}client-errors:`,
      }),
    );
    cleanups.push(() => server.stop('SIGKILL'));
    const response = await exchange(Number(new URL(server.url).port), `GET /healthz HTTP/1.1\r\nHost: test\r\n${OVERSIZED_HEADER}\r\n`);
    expect(parse(response)).toMatchObject({ statusLine: 'HTTP/1.1 431 Request Header Fields Too Large', body: { error: { code: 'headers_too_large' } } });
    expect(await server.stop()).toBe(0);
  });

  it('headers over the limit pipelined behind a quick request get the JSON 431 after its answer', async () => {
    const port = await appServer();
    const response = await exchange(port, `GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: test\r\n${OVERSIZED_HEADER}\r\n`);
    const second = response.slice(response.indexOf('HTTP/1.1', 1));
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(parse(second)).toMatchObject({ statusLine: 'HTTP/1.1 431 Request Header Fields Too Large', body: { error: { code: 'headers_too_large' } } });
  });

  it.each([
    ['a request line that is not HTTP', 'HELLO WORLD\r\n\r\n'],
    ['a method with a bad character', 'G(T / HTTP/1.1\r\nHost: test\r\n\r\n'],
    ['a header name with a space', 'GET / HTTP/1.1\r\nHost: test\r\nBad Name: x\r\n\r\n'],
    ['a header value with a control character', 'GET / HTTP/1.1\r\nHost: test\r\nX-Value: a\u0001b\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST /api/auth/login HTTP/1.1\r\nHost: test\r\nContent-Length: ten\r\n\r\n'],
  ])('%s gets 400 bad_request as JSON', async (_name, raw) => {
    const port = await appServer();
    const { statusLine, headers, body, bodyBytes } = parse(await exchange(port, raw));
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', connection: 'close', 'content-length': String(bodyBytes) });
    expect(body).toEqual({ error: { code: 'bad_request', message: expect.stringMatching(/not valid HTTP/) } });
  });

  it('a request whose headers do not arrive in time gets 408 request_timeout as JSON', async () => {
    const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: HEADERS_TIMEOUT_MS / 3 }, t.app);
    installClientErrorHandler(server, createLogger('silent'));
    const port = await listen(server);
    const { statusLine, body } = parse(await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: test\r\n'));
    expect(statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(body).toEqual({ error: { code: 'request_timeout', message: expect.any(String) } });
  });

  it('a bad request pipelined behind a streaming response is answered after that response ends, never inside it', async () => {
    const streaming = await app(); // its streams are ended below
    const server = streaming.app.listen(0, '127.0.0.1');
    installClientErrorHandler(server, createLogger('silent'));
    const port = await listen(server);
    const admin = await registerUser(streaming);
    await setRole(streaming.db, streaming.sessions.revoker, admin.email, 'admin');
    const { cookie } = await loginAgent(streaming, admin.email);
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(`GET /admin/events HTTP/1.1\r\nHost: test\r\nCookie: ${cookie}\r\n\r\nHELLO WORLD\r\n\r\n`);
    await waitFor(() => received.includes(': connected'), CLOSE_WITHIN_MS);
    expect(received).not.toContain('bad_request');

    streaming.endStreams();
    await closed;
    const streamEnd = '\r\n0\r\n\r\n';
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    const after = received.slice(received.indexOf(streamEnd) + streamEnd.length);
    expect(parse(after)).toMatchObject({ statusLine: 'HTTP/1.1 400 Bad Request', body: { error: { code: 'bad_request' } } });
  });
});
