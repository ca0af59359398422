// The `route` label of http_request_duration_seconds: one route's full template whatever
// answered (the handler, a check before it, or the error handler after it); `unmatched` only
// when no route matches the method and path.
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { RouteLabels } from '../src/metrics/route-labels.ts';
import { handleOf, signedInAdmin } from './helpers/reauth.ts';
import { buildTestApp, loginAgent, registerUser, type TestApp } from './helpers/test-app.ts';

const METRICS_TOKEN = 'x'.repeat(16);
/** Just past the default REAUTH_MAX_AGE_SECONDS (900): every session's password entry is stale. */
const PAST_REAUTH_MS = 901_000;

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function newApp(): Promise<TestApp> {
  const t = await buildTestApp({ METRICS_TOKEN });
  apps.push(t);
  return t;
}

/** Every timed request as `METHOD route status`, read from /metrics. */
async function timedRequests(t: TestApp): Promise<Set<string>> {
  const res = await request(t.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
  expect(res.status).toBe(200);
  const series = res.text.matchAll(/^http_request_duration_seconds_count\{method="([^"]+)",route="([^"]+)",status="(\d+)"\}/gm);
  return new Set([...series].map(([, method, route, status]) => `${method} ${route} ${status}`));
}

/** The route labels used with one method. */
const routesOf = (series: Set<string>, method: string) => new Set([...series].filter((s) => s.startsWith(`${method} `)).map((s) => s.split(' ')[1]));

describe('the route label of a request', () => {
  it('GET /api/auth/me is /api/auth/me for a 200 and for the 401 of its sign-in check, whatever the query, case or trailing slash', async () => {
    const t = await newApp();
    const { agent } = await registerUser(t);
    expect((await agent.get('/api/auth/me')).status).toBe(200);
    expect((await request(t.app).get('/api/auth/me')).status).toBe(401);
    expect((await request(t.app).get('/API/Auth/Me/?x=1')).status).toBe(401);

    const series = await timedRequests(t);
    expect(series).toContain('GET /api/auth/me 200');
    expect(series).toContain('GET /api/auth/me 401');
    expect(routesOf(series, 'GET')).toEqual(new Set(['/api/auth/me']));
  });

  it('DELETE /api/sessions/:id is /api/sessions/:id for the router-level 401, a 400 bad escape, a 404 thrown in the handler and the gate\'s 403', async () => {
    const t = await newApp();
    const user = await registerUser(t);
    const other = await loginAgent(t, user.email);
    const otherHandle = await handleOf(other.agent);
    expect((await request(t.app).delete(`/api/sessions/${otherHandle}`)).status).toBe(401);
    expect((await user.agent.delete('/api/sessions/%ZZ')).status).toBe(400);
    expect((await user.agent.delete('/api/sessions/no-such-session')).status).toBe(404);
    t.clock.advance(PAST_REAUTH_MS);
    const gated = await user.agent.delete(`/api/sessions/${otherHandle}`);
    expect([gated.status, gated.body.error.code]).toEqual([403, 'reauthentication_required']);

    const series = await timedRequests(t);
    for (const status of [401, 400, 404, 403]) expect(series).toContain(`DELETE /api/sessions/:id ${status}`);
    expect(routesOf(series, 'DELETE')).toEqual(new Set(['/api/sessions/:id']));
  });

  it('GET /admin/sessions is /admin/sessions for an admin\'s 200 and for the 401 and 403 of the router-level admin check', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t);
    const user = await registerUser(t);
    expect((await admin.agent.get('/admin/sessions').set('Accept', 'application/json')).status).toBe(200);
    expect((await request(t.app).get('/admin/sessions').set('Accept', 'application/json')).status).toBe(401);
    expect((await user.agent.get('/admin/sessions').set('Accept', 'application/json')).status).toBe(403);

    const series = await timedRequests(t);
    for (const status of [200, 401, 403]) expect(series).toContain(`GET /admin/sessions ${status}`);
    expect(routesOf(series, 'GET')).toEqual(new Set(['/admin/sessions']));
  });

  it('a refusal before the route is reached names the route: the CSRF check on POST /login, the cross-site refusal on POST /api/auth/login', async () => {
    const t = await newApp();
    const csrf = await request(t.app).post('/login').set('Accept', 'application/json').type('form').send({ email: 'a@b.co', password: 'whatever' });
    expect([csrf.status, csrf.body.error.code]).toEqual([403, 'csrf_failed']);
    const crossSite = await request(t.app).post('/api/auth/login').set('Sec-Fetch-Site', 'cross-site').send({ email: 'a@b.co', password: 'whatever' });
    expect([crossSite.status, crossSite.body.error.code]).toEqual([403, 'cross_site_request']);

    const series = await timedRequests(t);
    expect(series).toEqual(new Set(['POST /login 403', 'POST /api/auth/login 403']));
  });

  it('is unmatched only when no route matches the method and path', async () => {
    const t = await newApp();
    expect((await request(t.app).get('/no-such-path')).status).toBe(404);
    expect((await request(t.app).get('/api/nope')).status).toBe(404);
    expect((await request(t.app).put('/api/auth/me')).status).toBe(404); // a route's path, not its method

    expect(await timedRequests(t)).toEqual(new Set(['GET unmatched 404', 'PUT unmatched 404']));
  });
});

describe('RouteLabels', () => {
  it('names the route the router dispatches to: mounts joined, the first match winning, HEAD as GET', () => {
    const app = express();
    const inner = express.Router();
    inner.get('/:id', () => undefined);
    inner.get('/latest', () => undefined); // shadowed by /:id, as in the router
    inner.post('/', () => undefined);
    app.use('/api/items/', inner);
    app.get('/', () => undefined);
    const labels = new RouteLabels(app);

    expect(labels.of('GET', '/api/items/latest')).toBe('/api/items/:id');
    expect(labels.of('HEAD', '/api/items/42')).toBe('/api/items/:id');
    expect(labels.of('POST', '/api/items')).toBe('/api/items');
    expect(labels.of('POST', '/api/items/')).toBe('/api/items');
    expect(labels.of('GET', '/')).toBe('/');
    expect(labels.of('GET', '/api/items/1/2')).toBe('unmatched');
    expect(labels.of('DELETE', '/api/items/42')).toBe('unmatched');
  });
});
