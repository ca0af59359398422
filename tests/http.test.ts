// Hardening that applies to every route: headers, body rules, errors.
import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SECURITY_HEADERS, PAGE_SECURITY_HEADERS } from '../src/http/security-headers.ts';
import { buildTestApp, PASSWORD, registerUser, sessionCookie, uniqueEmail, type TestApp } from './helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

const expectJsonError = (res: request.Response, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
  expect(res.text).not.toMatch(/at .*\.ts:\d+/); // no stack trace
};

describe('every response', () => {
  it('carries helmet\'s security headers and no X-Powered-By', async () => {
    for (const [path, csp] of [['/healthz', "default-src 'self'"], ['/nope', "default-src 'self'"], ['/api/auth/me', "default-src 'none';frame-ancestors 'none'"]] as const) {
      const res = await request(t.app).get(path);
      expect(res.headers['content-security-policy']).toContain(csp);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toBeDefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('carries exactly the headers helmet() itself sets (they are precomputed once): its defaults with Referrer-Policy same-origin on pages, the JSON set on /api', async () => {
    const helmetHeaders = async (options: Parameters<typeof helmet>[0]) => {
      const reference = express();
      reference.use(helmet(options));
      reference.get('/', (_req, res) => void res.json({}));
      const { headers } = await request(reference).get('/');
      return Object.fromEntries(Object.entries(headers).filter(([name]) => !['content-type', 'content-length', 'etag', 'date', 'connection', 'keep-alive'].includes(name)));
    };
    const ours = async (path: string) => {
      const { headers } = await request(t.app).get(path);
      return Object.fromEntries(Object.entries(headers).filter(([name]) => !['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'cache-control', 'x-request-id', 'ratelimit', 'ratelimit-policy'].includes(name) && !name.startsWith('x-ratelimit')));
    };
    const pageSet = await helmetHeaders(PAGE_SECURITY_HEADERS);
    expect(Object.keys(pageSet).length).toBeGreaterThan(10);
    // A real Origin on this site's own form posts (http/cross-site.ts), and still no Referer off-site.
    expect(pageSet['referrer-policy']).toBe('same-origin');
    expect(await ours('/healthz')).toEqual(pageSet);
    const apiSet = await helmetHeaders(API_SECURITY_HEADERS);
    expect(apiSet).toMatchObject({ 'x-frame-options': 'DENY', 'cross-origin-resource-policy': 'same-origin', 'x-content-type-options': 'nosniff' });
    expect(apiSet['referrer-policy']).toBeUndefined();
    expect(await ours('/api/auth/me')).toEqual(apiSet);
  });

  it('marks API answers and pages no-store, without an ETag; static files stay cacheable', async () => {
    for (const path of ['/api/auth/me', '/login', '/healthz']) {
      const res = await request(t.app).get(path);
      expect([path, res.headers['cache-control'], res.headers.etag]).toEqual([path, 'no-store', undefined]);
    }
    const css = await request(t.app).get('/static/app.css');
    expect(css.headers['cache-control']).toBe('public, max-age=3600');
    expect(css.headers.etag).toBeDefined();
  });

  it('answers an unknown /api path with a JSON 404 naming the method and the whole path, even when HTML is asked for', async () => {
    const res = await request(t.app).get('/api/nope').set('Accept', 'text/html');
    expectJsonError(res, 404, 'not_found');
    expect(res.body.error.message).toBe('There is no GET /api/nope.');
  });
});

describe('request bodies', () => {
  it('rejects a body over 100 kB with 413 payload_too_large', async () => {
    const res = await request(t.app).post('/api/auth/login').set('Content-Type', 'application/json').send(JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(110_000) }));
    expectJsonError(res, 413, 'payload_too_large');
  });

  it('rejects malformed JSON with 400 invalid_json', async () => {
    const res = await request(t.app).post('/api/auth/login').set('Content-Type', 'application/json').send('{"email": ');
    expectJsonError(res, 400, 'invalid_json');
  });

  it.each([
    ['a form', 'application/x-www-form-urlencoded', 'email=a%40b.co&password=12345678'],
    ['plain text', 'text/plain', '{"email":"a@b.co","password":"12345678"}'],
  ])('rejects %s on a JSON endpoint with 415 unsupported_media_type', async (_label, type, body) => {
    const res = await request(t.app).post('/api/auth/register').set('Content-Type', type).send(body);
    expectJsonError(res, 415, 'unsupported_media_type');
  });

  it('rejects valid JSON that is not an object (an array, a string, null, a number) with 400 validation_failed saying it must be an object', async () => {
    for (const body of ['[]', '"hello"', 'null', '42']) {
      const res = await request(t.app).post('/api/auth/login').set('Content-Type', 'application/json').send(body);
      expectJsonError(res, 400, 'validation_failed');
      expect([body, res.body.error.message]).toEqual([body, 'The request body must be a JSON object.']);
    }
  });

  it('ignores __proto__ and unknown keys without changing anything', async () => {
    const email = uniqueEmail();
    const res = await request(t.app)
      .post('/api/auth/register')
      .set('Content-Type', 'application/json')
      .send(`{"email":"${email}","password":"${PASSWORD}","role":"admin","__proto__":{"role":"admin"},"constructor":{"prototype":{"role":"admin"}}}`);
    expect(res.status).toBe(201);
    expect(res.body.user.role).toBe('user');
    expect(({} as { role?: string }).role).toBeUndefined();
    const me = await request(t.app).get('/api/auth/me').set('Cookie', sessionCookie(res));
    expect(me.body.user.role).toBe('user');
  });

  it('accepts a bodiless POST without a Content-Type', async () => {
    const { agent } = await registerUser(t);
    expect((await agent.post('/api/auth/logout')).status).toBe(204);
  });
});

describe('unknown routes', () => {
  it('answer 404 not_found in JSON', async () => {
    expectJsonError(await request(t.app).get('/api/nothing/here'), 404, 'not_found');
    expectJsonError(await request(t.app).delete('/api/auth/me'), 404, 'not_found');
  });

  it('answer a browser with a 404 page that says the page does not exist and links home, naming no route', async () => {
    const res = await request(t.app).get('/does-not-exist').set('Accept', 'text/html,application/xhtml+xml');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>Page not found');
    expect(res.text).toContain('<p>This page does not exist.</p>');
    expect(res.text).toMatch(/<a href="\/">/);
    expect(res.text).not.toMatch(/route|GET \/does-not-exist/i);
  });

  it('answer a program outside /api in JSON, naming what it asked for', async () => {
    const res = await request(t.app).post('/does-not-exist');
    expectJsonError(res, 404, 'not_found');
    expect(res.body.error.message).toBe('There is no POST /does-not-exist.');
  });
});

describe('health', () => {
  it('/healthz and /readyz answer 200 while Redis and PostgreSQL answer', async () => {
    expect((await request(t.app).get('/healthz')).status).toBe(200);
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { redis: 'ok', postgres: 'ok' } });
  });
});

describe('production cookie', () => {
  it('is named __Host-sid and is Secure, HttpOnly, SameSite=Lax, Path=/ with no Domain', async () => {
    const prod = await buildTestApp({ NODE_ENV: 'production', TRUST_PROXY: 'loopback' });
    try {
      const res = await request(prod.app).post('/api/auth/register').set('X-Forwarded-Proto', 'https').send({ email: uniqueEmail(), password: PASSWORD });
      expect(res.status).toBe(201);
      const cookie = res.headers['set-cookie']![0]!;
      expect(cookie).toMatch(/^__Host-sid=s%3A/);
      for (const attribute of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']) expect(cookie).toContain(attribute);
      expect(cookie).not.toMatch(/Domain=/i);
    } finally {
      await prod.close();
    }
  });
});

describe('secret rotation', () => {
  it('accepts cookies signed with an older secret in the list and signs new ones with the first', async () => {
    const OLD = 'old-secret-old-secret-old-secret-old!!';
    const NEW = 'new-secret-new-secret-new-secret-new!!';
    // Three deploys sharing one Redis prefix, as instances before, during and after a rotation.
    const before = await buildTestApp({ SESSION_SECRET: OLD });
    const rotating = await buildTestApp({ SESSION_SECRET: `${NEW},${OLD}`, REDIS_KEY_PREFIX: before.prefix });
    const newOnly = await buildTestApp({ SESSION_SECRET: NEW, REDIS_KEY_PREFIX: before.prefix });
    try {
      const { cookie } = await registerUser(before);
      expect((await request(rotating.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(200);
      expect((await request(newOnly.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
      const fresh = await request(rotating.app).post('/api/auth/register').send({ email: uniqueEmail(), password: PASSWORD });
      expect((await request(newOnly.app).get('/api/auth/me').set('Cookie', sessionCookie(fresh))).status).toBe(200);
    } finally {
      await Promise.all([before.close(), rotating.close(), newOnly.close()]);
    }
  });
});
