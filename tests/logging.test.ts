// Structured logs: one JSON line per request, tagged with a request id the client also gets
// back; cookies, authorization, passwords and session ids never reach the log.
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, loginAgent, PASSWORD, rawSessionId, registerUser, sessionCookie, type TestApp } from './helpers/test-app.ts';

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  req?: Record<string, unknown>;
  res?: Record<string, unknown>;
  responseTime?: number;
}

const DEBUG = 20;
const INFO = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const logLines: string[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ LOG_LEVEL: 'trace' }, { logLines });
});
afterAll(async () => t.close());
beforeEach(() => {
  logLines.length = 0;
});

/** Everything logged since the test began: raw (to search for secrets) and parsed. */
const logText = () => logLines.join('');
const parsedLines = () => logLines.map((line) => JSON.parse(line) as LogLine);

const completionFor = (requestId: string | undefined) => parsedLines().filter((line) => line.reqId === requestId && line.res);

describe('request logging', () => {
  it('writes one JSON line per request with a generated request id, also sent back as X-Request-Id', async () => {
    const res = await request(t.app).get('/api/auth/me');
    expect(res.status).toBe(401);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(UUID);
    const [line, ...others] = completionFor(id);
    expect(others).toEqual([]);
    expect(line).toMatchObject({ level: INFO, msg: 'request completed', reqId: id, req: { method: 'GET', url: '/api/auth/me' }, res: { statusCode: 401 } });
    expect(line?.responseTime).toEqual(expect.any(Number));
  });

  it('keeps an incoming X-Request-Id that is a short token and replaces one that is not', async () => {
    const kept = await request(t.app).get('/healthz').set('X-Request-Id', 'lb-7f3a.42:trace=9');
    expect(kept.headers['x-request-id']).toBe('lb-7f3a.42:trace=9');
    expect(completionFor('lb-7f3a.42:trace=9')).toHaveLength(1);

    for (const bad of ['has spaces in it', 'x'.repeat(129), '<script>', '']) {
      const replaced = await request(t.app).get('/healthz').set('X-Request-Id', bad);
      expect(replaced.headers['x-request-id']).toMatch(UUID);
    }
  });

  it('logs health probes at debug, so they are out of the default info log', async () => {
    const res = await request(t.app).get('/readyz');
    expect(completionFor(res.headers['x-request-id'])[0]?.level).toBe(DEBUG);
  });

  it('never logs the password, the cookie, the raw session id or an authorization header', async () => {
    const newPassword = 'a brand new passphrase 7';
    const { agent, cookie: firstCookie } = await registerUser(t);
    const me = await agent.get('/api/auth/me').set('Authorization', 'Bearer tok-should-not-be-logged');
    expect(me.status).toBe(200);
    const second = await loginAgent(t, me.body.user.email);
    const changed = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword });
    expect(changed.status).toBe(200);
    const changedCookie = sessionCookie(changed);
    const wrong = await request(t.app).post('/api/auth/login').send({ email: me.body.user.email, password: 'wrong password 123' });
    expect(wrong.status).toBe(401);
    expect((await agent.post('/api/auth/logout')).status).toBe(204);

    const text = logText();
    for (const cookie of [firstCookie, second.cookie, changedCookie]) {
      const value = cookie.slice(cookie.indexOf('=') + 1);
      expect(text).not.toContain(value);
      expect(text).not.toContain(decodeURIComponent(value));
      expect(text).not.toContain(rawSessionId(cookie));
    }
    for (const secret of [PASSWORD, newPassword, 'wrong password 123', 'tok-should-not-be-logged']) expect(text).not.toContain(secret);

    // The line names the request by an allowlist of fields: no headers (cookie, authorization,
    // set-cookie), whatever their name.
    const meLine = completionFor(me.headers['x-request-id'])[0];
    expect(meLine?.req).toEqual({ method: 'GET', url: '/api/auth/me', remoteAddress: expect.any(String), userAgent: undefined });
    expect(Object.keys(completionFor(changed.headers['x-request-id'])[0]?.res ?? {}).sort()).toEqual(['contentLength', 'statusCode']);
  });
});
