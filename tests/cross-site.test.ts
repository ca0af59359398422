// Cross-site refusal (issue 12): a state-changing request that a browser marks as coming from
// another site (Sec-Fetch-Site, Origin) is refused with 403 before anything runs, on /api,
// /admin and the page forms; requests from this site's own pages, and from programs that send
// neither header, go through.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRole } from '../src/admin/roles.ts';
import { isCrossSite } from '../src/http/cross-site.ts';
import { csrfTokenOf, getPage, signInWithForm } from './helpers/pages.ts';
import { buildTestApp, loginAgent, PASSWORD, registerUser, type TestApp } from './helpers/test-app.ts';

const apps: TestApp[] = [];
let t: TestApp;
let admin: Awaited<ReturnType<typeof loginAgent>>;
beforeAll(async () => {
  t = await newApp();
  const registered = await registerUser(t);
  await setRole(t.db, t.sessions.revoker, registered.email, 'admin');
  admin = await loginAgent(t, registered.email); // the role change signed them out
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

async function newApp(env: Record<string, string> = {}) {
  const built = await buildTestApp(env);
  apps.push(built);
  return built;
}

type Headers = Record<string, string>;
/** This site, as the tests address it (the Host header is set to it). */
const SITE = 'auth.example';

const REFUSED: [string, Headers][] = [
  ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
  ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'Sec-Fetch-Site': 'same-site' }],
  ['a foreign Origin', { Origin: 'https://evil.example', Host: SITE }],
  ['Origin: null', { Origin: 'null' }],
];
const ALLOWED: [string, Headers][] = [
  ['Sec-Fetch-Site: same-origin with a matching Origin', { 'Sec-Fetch-Site': 'same-origin', Origin: `http://${SITE}`, Host: SITE }],
  ['a matching Origin alone', { Origin: `http://${SITE}`, Host: SITE }],
  ['neither header (curl, scripts)', {}],
];

const me = (cookie: string) => request(t.app).get('/api/auth/me').set('Cookie', cookie);
const works = async (cookie: string) => (await me(cookie)).status === 200;
const handleOf = async (cookie: string) => (await me(cookie)).body.session.id as string;

interface Prepared {
  send: (headers: Headers) => request.Test;
  /** True while the state the request would change is as it was. */
  intact: () => Promise<boolean>;
  /** The status when the request goes through. */
  status: number;
  /** A form a browser posts: refused with the HTML page rather than JSON. */
  page?: boolean;
}

/** Each scenario makes its own users and sessions, so every header variant starts afresh. */
const SCENARIOS: [string, () => Promise<Prepared>][] = [
  ['admin DELETE /admin/sessions/:id', async () => {
    const victim = await registerUser(t);
    const handle = await handleOf(victim.cookie);
    return { send: (h) => admin.agent.delete(`/admin/sessions/${handle}`).set(h), intact: () => works(victim.cookie), status: 204 };
  }],
  ['admin POST /admin/users/:id/revoke-sessions', async () => {
    const victim = await registerUser(t);
    return { send: (h) => admin.agent.post(`/admin/users/${victim.user.id}/revoke-sessions`).set(h), intact: () => works(victim.cookie), status: 200 };
  }],
  ['POST /api/auth/logout', async () => {
    const user = await registerUser(t);
    return { send: (h) => user.agent.post('/api/auth/logout').set(h), intact: () => works(user.cookie), status: 204 };
  }],
  ['POST /api/auth/logout-all', async () => {
    const user = await registerUser(t);
    const second = await loginAgent(t, user.email);
    return { send: (h) => user.agent.post('/api/auth/logout-all').set(h), intact: async () => (await works(user.cookie)) && (await works(second.cookie)), status: 200 };
  }],
  ['POST /api/sessions/revoke-others', async () => {
    const user = await registerUser(t);
    const second = await loginAgent(t, user.email);
    return { send: (h) => user.agent.post('/api/sessions/revoke-others').set(h), intact: () => works(second.cookie), status: 200 };
  }],
  ['DELETE /api/sessions/:id', async () => {
    const user = await registerUser(t);
    const second = await loginAgent(t, user.email);
    const handle = await handleOf(second.cookie);
    return { send: (h) => user.agent.delete(`/api/sessions/${handle}`).set(h), intact: () => works(second.cookie), status: 204 };
  }],
  ['the "Sign out all other devices" form (with a valid CSRF token)', async () => {
    const user = await registerUser(t);
    const browser = await signInWithForm(t, user.email, PASSWORD);
    const token = csrfTokenOf((await getPage(browser, '/account')).text);
    const send = (h: Headers) => browser.post('/account/sessions/revoke-others').set('Accept', 'text/html').set(h).type('form').send({ _csrf: token });
    return { send, intact: () => works(user.cookie), status: 303, page: true };
  }],
  ['the sign-in form (login CSRF, with a valid CSRF token)', async () => {
    const user = await registerUser(t);
    const browser = request.agent(t.app);
    const token = csrfTokenOf((await getPage(browser, '/login')).text);
    const send = (h: Headers) => browser.post('/login').set('Accept', 'text/html').set(h).type('form').send({ _csrf: token, email: user.email, password: PASSWORD });
    return { send, intact: async () => (await t.db.session.count({ where: { userId: user.user.id } })) === 1, status: 303, page: true };
  }],
];

const cases = (variants: [string, Headers][]) => SCENARIOS.flatMap(([scenario, prepare]) => variants.map(([variant, headers]) => [scenario, variant, prepare, headers] as const));

describe('refused: a state-changing request from another site', () => {
  it.each(cases(REFUSED))('%s with %s is 403 cross_site_request and changes nothing', async (_scenario, _variant, prepare, headers) => {
    const { send, intact, page } = await prepare();
    const res = await send(headers);
    expect(res.status).toBe(403);
    if (page) {
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('<title>Request refused');
      expect(res.text).toContain('came from another site');
    } else {
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.error).toEqual({ code: 'cross_site_request', message: expect.stringMatching(/came from another site/) });
    }
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? [])).toEqual([]);
    expect(await intact()).toBe(true);
  });
});

describe('allowed: this site\'s own pages, and programs', () => {
  it.each(cases(ALLOWED))('%s with %s goes through', async (_scenario, _variant, prepare, headers) => {
    const { send, intact, status } = await prepare();
    const res = await send(headers);
    expect(res.status).toBe(status);
    expect(await intact()).toBe(false);
  });

  it('pages are sent with Referrer-Policy: same-origin, so a browser without Sec-Fetch-Site sends its real Origin with their forms', async () => {
    // Under helmet's default `no-referrer`, browsers send `Origin: null` with a same-origin form
    // post, which is refused when Sec-Fetch-Site is not there to vouch for it.
    for (const path of ['/login', '/register', '/no-such-page']) expect((await request(t.app).get(path)).headers['referrer-policy'], path).toBe('same-origin');
  });

  it('GET requests are never refused, whatever the headers say', async () => {
    const user = await registerUser(t);
    const res = await user.agent.get('/api/auth/me').set('Sec-Fetch-Site', 'cross-site').set('Origin', 'https://evil.example');
    expect(res.status).toBe(200);
  });
});

describe('behind a proxy', () => {
  it('compares Origin with X-Forwarded-Host only when the proxy is trusted', async () => {
    const proxied = await newApp({ TRUST_PROXY: 'loopback' });
    const headers = { Origin: 'https://public.example', 'X-Forwarded-Host': 'public.example', 'X-Forwarded-Proto': 'https', Host: 'internal:3000' };
    const trusted = await request(proxied.app).post('/api/auth/logout').set(headers);
    expect(trusted.status).toBe(401); // past the refusal: nobody is signed in
    const untrusted = await request(t.app).post('/api/auth/logout').set(headers);
    expect(untrusted.status).toBe(403);
    expect(untrusted.body.error.code).toBe('cross_site_request');
  });
});

describe('isCrossSite', () => {
  const own = 'http://auth.example:8443';
  it.each([
    ['a different port', { origin: 'http://auth.example:9000' }, true],
    ['a sibling subdomain', { origin: 'http://a.auth.example:8443' }, true],
    ['an unparseable Origin', { origin: 'not a url' }, true],
    ['an unknown Sec-Fetch-Site value', { fetchSite: 'cross-origin-someday' }, true],
    ['Sec-Fetch-Site: same-site with this site as Origin', { fetchSite: 'same-site', origin: own }, true],
    // What a current browser sends for this site's own form under Referrer-Policy: no-referrer.
    ['Sec-Fetch-Site: same-origin with Origin: null', { fetchSite: 'same-origin', origin: 'null' }, false],
    ['the same host in capitals, other scheme', { origin: 'HTTPS://AUTH.EXAMPLE:8443' }, false],
    ['Sec-Fetch-Site: none (typed by the person)', { fetchSite: 'none' }, false],
  ] as const)('%s → %s', (_name, headers, expected) => {
    expect(isCrossSite({ method: 'POST', fetchSite: undefined, origin: undefined, ownOrigin: own, ...headers })).toBe(expected);
  });

  it('never refuses GET, HEAD or OPTIONS', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(isCrossSite({ method, fetchSite: 'cross-site', origin: 'null', ownOrigin: own })).toBe(false);
  });
});
