// Hostile input, table-driven: every case gets a 4xx with a JSON error, stores nothing,
// changes no role, and the process keeps serving.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRole } from '../src/admin/roles.ts';
import { MAX_JSON_DEPTH } from '../src/http/json-body.ts';
import { buildTestApp, PASSWORD, registerUser, type TestApp } from './helpers/test-app.ts';

let t: TestApp;
let user: Awaited<ReturnType<typeof registerUser>>;
let admin: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  t = await buildTestApp();
  user = await registerUser(t);
  admin = await registerUser(t);
  await setRole(t.db, t.sessions.revoker, admin.email, 'admin');
  admin = { ...admin, agent: request.agent(t.app) };
  await admin.agent.post('/api/auth/login').send({ email: admin.email, password: PASSWORD });
});
afterAll(async () => t.close());

type As = 'anonymous' | 'user' | 'admin';
interface Case {
  name: string;
  as: As;
  method: 'get' | 'post' | 'delete';
  path: string;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
  /** The error code, where the case is about one. */
  code?: string;
  /** What the error message must say, where the case is about it. */
  message?: RegExp;
}

const json = (value: unknown) => JSON.stringify(value);
const deep = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const register = (body: string, name: string, status = 400): Case => ({ name, as: 'anonymous', method: 'post', path: '/api/auth/register', body, status });
const login = (body: string, name: string, status = 400): Case => ({ name, as: 'anonymous', method: 'post', path: '/api/auth/login', body, status });
/** Valid JSON that is not an object: the body's shape is wrong (validation_failed), its syntax is not. */
const notAnObject = (body: string, name: string): Case => ({ ...login(body, name), code: 'validation_failed', message: /^The request body must be a JSON object\.$/ });
/** A login body whose ignored, unknown field `extra` holds `value`. */
const withExtra = (value: string) => `{"email":"deep@y.co","password":"wrong password","extra":${value}}`;
const tooDeep = { code: 'validation_failed', message: new RegExp(`nested too deeply: at most ${MAX_JSON_DEPTH} levels`) };
/** A broken `%` escape in a route parameter, sent by someone allowed to reach the route, so the router decodes it. */
const badEscape = (as: As, method: Case['method'], path: string): Case => ({ name: `a bad % escape in ${method.toUpperCase()} ${path}`, as, method, path, status: 400, code: 'invalid_parameter' });

const cases: Case[] = [
  register('{"email": "a@b.co", "password": ', 'truncated JSON', 400),
  register('{"email":"a@b.co","password":"x"}}}}', 'trailing garbage after JSON', 400),
  register(json({ email: 'big@b.co', password: 'p'.repeat(200_000) }), 'a 200 kB body', 413),
  register(deep(5_000), 'an object nested 5,000 deep', 400),
  register(deepArray(20_000), 'an array nested 20,000 deep', 400),
  register(json({ email: { $ne: null }, password: PASSWORD }), 'an operator object as email'),
  register(json({ email: ['a@b.co'], password: PASSWORD }), 'an array as email'),
  register(json({ email: 'x@y.co', password: 12345678 }), 'a number as password'),
  register(json({ email: 'x@y.co', password: null }), 'null as password'),
  register(json({ email: 'x@y.co', password: { toString: 'hack' } }), 'an object as password'),
  register('{"email":"proto@y.co","password":"' + PASSWORD + '","__proto__":{"role":"admin"},"name":{"constructor":1}}', '__proto__ and a non-string name'),
  register(json({ email: 'ctl\u0000@y.co', password: PASSWORD }), 'a NUL in the email'),
  register(json({ email: 'x@y.co\r\nBcc: z@y.co', password: PASSWORD }), 'a header injection in the email'),
  register(json({ email: 'nul@y.co', password: PASSWORD, name: 'Eve\r\nSet-Cookie: sid=evil' }), 'a header injection in the name'),
  register(json({ email: 'bell@y.co', password: PASSWORD, name: 'a\u0007b' }), 'a control character in the name'),
  register(json({ email: `${'a'.repeat(250)}@y.co`, password: PASSWORD }), 'a 255-character email'),
  register(json({ email: 'long@y.co', password: 'p'.repeat(1025) }), 'a 1,025-character password'),
  register(json({ email: 'name@y.co', password: PASSWORD, name: 'n'.repeat(101) }), 'a 101-character name'),
  register(json({ email: 'раураl@y.co', password: PASSWORD }), 'a Cyrillic look-alike email'),
  register(json({ email: 'admin@exаmple.com', password: PASSWORD }), 'a look-alike in the domain'),
  register(json({ email: 'zero\u200bwidth@y.co', password: PASSWORD }), 'a zero-width space in the email'),
  register(json({ email: 'ﬁ@y.co', password: PASSWORD }), 'a ligature that NFKC would rewrite'),
  { name: 'a form-encoded body', as: 'anonymous', method: 'post', path: '/api/auth/register', body: 'email=a%40b.co&password=x', contentType: 'application/x-www-form-urlencoded', status: 415 },
  { name: 'JSON labelled as text', as: 'anonymous', method: 'post', path: '/api/auth/login', body: json({ email: 'a@b.co', password: 'x' }), contentType: 'text/plain', status: 415 },
  { name: 'an unsupported charset', as: 'anonymous', method: 'post', path: '/api/auth/login', body: json({ email: 'a@b.co' }), contentType: 'application/json; charset=klingon-8', status: 415 },
  login(json({ email: 'a@b.co', password: '' }), 'an empty password'),
  login(json({ email: 'a@b.co', password: 'p'.repeat(1025) }), 'an over-long password on login'),
  login(json({ email: { $gt: '' }, password: { $gt: '' } }), 'operator objects on login'),
  notAnObject('"just a string"', 'a bare JSON string'),
  notAnObject('[1,2,3]', 'a JSON array'),
  notAnObject('[]', 'an empty JSON array'),
  notAnObject('null', 'JSON null'),
  notAnObject('42', 'a JSON number'),
  notAnObject(deepArray(50_000), 'a 100 kB array nested 50,000 deep'),
  { ...login(withExtra(deepArray(49_000)), 'an unknown field nested 49,000 deep (a 98 kB body)'), ...tooDeep },
  { ...login(withExtra(deep(MAX_JSON_DEPTH)), `an unknown field one level past ${MAX_JSON_DEPTH}`), ...tooDeep },
  login('['.repeat(100_000), 'an unclosed 100 kB [[[[…'),
  { name: 'a 10 kB user agent on login', as: 'anonymous', method: 'post', path: '/api/auth/login', body: json({ email: 'ua@y.co', password: 'wrong password' }), headers: { 'User-Agent': 'U'.repeat(10_000) }, status: 401 },
  { name: 'a garbage cookie', as: 'anonymous', method: 'get', path: '/api/auth/me', headers: { Cookie: 'sid=%%%garbage%%%' }, status: 401 },
  { name: 'a forged signature', as: 'anonymous', method: 'get', path: '/api/auth/me', headers: { Cookie: 'sid=s%3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.forgedforgedforgedforgedforgedforgedforged' }, status: 401 },
  { name: 'duplicate garbage cookies', as: 'anonymous', method: 'get', path: '/api/auth/me', headers: { Cookie: 'sid=one; sid=two; sid=three' }, status: 401 },
  { name: 'a 4 kB cookie', as: 'anonymous', method: 'get', path: '/api/auth/me', headers: { Cookie: `sid=${'x'.repeat(4000)}` }, status: 401 },
  { name: 'path traversal in a session handle', as: 'user', method: 'delete', path: '/api/sessions/..%2F..%2Fadmin', status: 404 },
  { name: 'a NUL in a session handle', as: 'user', method: 'delete', path: '/api/sessions/abc%00def', status: 404 },
  { name: 'an over-long session handle', as: 'user', method: 'delete', path: `/api/sessions/${'a'.repeat(5000)}`, status: 404 },
  { name: 'a plain user on the admin router', as: 'user', method: 'get', path: '/admin/sessions', headers: { Accept: 'application/json' }, status: 403 },
  { name: 'a plain user revoking all of another user', as: 'user', method: 'post', path: '/admin/users/00000000-0000-4000-8000-000000000000/revoke-sessions', status: 403 },
  { name: 'limit=-1', as: 'admin', method: 'get', path: '/admin/sessions?limit=-1', headers: { Accept: 'application/json' }, status: 400 },
  { name: 'limit=1e9', as: 'admin', method: 'get', path: '/admin/sessions?limit=1000000000', headers: { Accept: 'application/json' }, status: 400 },
  { name: 'limit as an array', as: 'admin', method: 'get', path: '/admin/sessions?limit=1&limit=2', headers: { Accept: 'application/json' }, status: 400 },
  { name: 'a forged cursor', as: 'admin', method: 'get', path: `/admin/sessions?cursor=${Buffer.from('99999999999999999.' + '../'.repeat(7)).toString('base64url')}`, headers: { Accept: 'application/json' }, status: 400 },
  { name: 'SQL in the userId filter', as: 'admin', method: 'get', path: `/admin/sessions?userId=${encodeURIComponent("1' OR '1'='1")}`, headers: { Accept: 'application/json' }, status: 400 },
  { name: 'a non-UUID user id', as: 'admin', method: 'get', path: '/admin/users/..%2F..%2F/sessions', status: 404 },
  badEscape('user', 'delete', '/api/sessions/%ZZ'),
  badEscape('admin', 'get', '/admin/users/%ZZ/sessions'),
  badEscape('admin', 'delete', '/admin/sessions/%ZZ'),
  badEscape('admin', 'post', '/admin/sessions/%ZZ/revoke'),
  badEscape('admin', 'post', '/admin/users/%ZZ/revoke-sessions'),
  badEscape('user', 'post', '/account/sessions/%ZZ/revoke'),
];

/** Every string that could be an email in a body, as the app would normalize it. */
function emailsIn(body: string | undefined): string[] {
  try {
    const parsed = JSON.parse(body ?? 'null') as { email?: unknown } | null;
    // PostgreSQL cannot even hold a NUL, so such an address cannot have been stored.
    return typeof parsed?.email === 'string' && !parsed.email.includes('\u0000') ? [parsed.email.trim().toLowerCase()] : [];
  } catch {
    return [];
  }
}

describe('hostile input', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s → 4xx JSON error, nothing stored, no role change', async (_name, c) => {
    // Counted by what this app owns (other test files share the database).
    const emails = emailsIn(c.body);
    const activeSessions = async () => (await t.sessions.cache.activeCounts(Date.now())).activeSessions;
    const sessionsBefore = await activeSessions();
    const rowsBefore = await t.db.session.count({ where: { userId: { in: [user.user.id, admin.user.id] } } });
    const agent = c.as === 'anonymous' ? request(t.app) : c.as === 'user' ? user.agent : admin.agent;
    let req = agent[c.method](c.path);
    for (const [name, value] of Object.entries(c.headers ?? {})) req = req.set(name, value);
    if (c.body !== undefined) req = req.set('Content-Type', c.contentType ?? 'application/json').send(c.body);
    const res = await req;

    expect(res.status).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.error).toEqual(expect.objectContaining({ code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) }));
    if (c.code) expect(res.body.error.code).toBe(c.code);
    if (c.message) expect(res.body.error.message).toMatch(c.message);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await t.db.user.count({ where: { email: { in: emails } } })).toBe(0);
    expect(await activeSessions()).toBe(sessionsBefore);
    expect(await t.db.session.count({ where: { userId: { in: [user.user.id, admin.user.id] } } })).toBe(rowsBefore);
    expect((await t.db.user.findUniqueOrThrow({ where: { id: user.user.id } })).role).toBe('user');
    expect((await request(t.app).get('/healthz')).status).toBe(200);
  });
});

describe('a bad % escape in a route parameter', () => {
  it('answers a browser with the HTML error page (400), outside /api', async () => {
    const res = await admin.agent.post('/admin/sessions/%ZZ/revoke').set('Accept', 'text/html').type('form').send({});
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>Not a valid address');
    expect(res.text).toContain('broken % escape');
  });

  it('answers JSON on /api even when HTML is asked for', async () => {
    const res = await user.agent.delete('/api/sessions/abc%E0%A4%A').set('Accept', 'text/html');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_parameter');
    expect(res.body.error.message).toMatch(/broken % escape/);
  });
});

describe('nesting in an ignored field', () => {
  it(`is accepted up to ${MAX_JSON_DEPTH} levels (the body itself is one), so a sign-in with it gets as far as the password check`, async () => {
    const atLimit = '{"a":'.repeat(MAX_JSON_DEPTH - 2) + '[1]' + '}'.repeat(MAX_JSON_DEPTH - 2);
    const res = await request(t.app).post('/api/auth/login').set('Content-Type', 'application/json').send(`{"email":"${user.email}","password":"wrong password","extra":${atLimit}}`);
    expect([res.status, res.body.error.code]).toEqual([401, 'invalid_credentials']);
  });
});
