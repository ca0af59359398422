// CSRF for the HTML forms (issue 12): a signed double-submit cookie, so an anonymous visitor
// leaves nothing in Redis, and a signed-in visitor's token is bound to their session.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertText, csrfTokenOf, getPage, signInWithForm, type Agent } from './helpers/pages.ts';
import { buildTestApp, PASSWORD, registerUser, writtenKeys, uniqueEmail, type TestApp } from './helpers/test-app.ts';

const apps: TestApp[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await newApp();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

async function newApp(env: Record<string, string> = {}) {
  const built = await buildTestApp(env);
  apps.push(built);
  return built;
}

const setCookies = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []);
/** The value a response sets for cookie `name` (the last one, as a browser keeps it). */
const cookieValue = (res: request.Response, name: string) => setCookies(res).filter((c) => c.startsWith(`${name}=`)).at(-1)?.split(';')[0]!.slice(name.length + 1);
const agentCookie = (agent: Agent, name: string) => agent.jar.getCookie(name, { domain: '127.0.0.1', path: '/', secure: false, script: false })?.value;
const postForm = (client: Agent | ReturnType<typeof request>, path: string, fields: Record<string, string>) =>
  client.post(path).set('Accept', 'text/html').type('form').send(fields);
const me = (app: TestApp, cookie: string) => request(app.app).get('/api/auth/me').set('Cookie', cookie);
const sessionRows = (userId: string) => t.db.session.count({ where: { userId } });
const userEvents = (userId: string) => t.db.sessionEvent.count({ where: { userId } });

/** A form refused by the CSRF check: a 403 page saying so (browsers), and a JSON csrf_failed otherwise. */
function expectCsrfRefusal(res: request.Response) {
  expect(res.status).toBe(403);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(alertText(res.text)).toMatch(/form has expired/);
}

describe('anonymous visitors', () => {
  it('cookieless GETs of /login and /register store nothing in Redis and set no session cookie', async () => {
    const fresh = await newApp();
    const responses = [];
    for (const path of ['/login', '/register', '/login?next=/account', '/register']) responses.push(await getPage(request(fresh.app), path));
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(setCookies(res).filter((c) => c.startsWith('sid='))).toEqual([]);
      // Only the CSRF cookie, and it carries the form's token.
      expect(cookieValue(res, 'csrf')).toBe(csrfTokenOf(res.text));
    }
    expect(await writtenKeys(fresh)).toEqual([]);
  });

  it('in production the cookie is __Host-csrf, Secure and SameSite=Strict, and only that name is accepted', async () => {
    const prod = await newApp({ NODE_ENV: 'production' });
    const page = await getPage(request(prod.app), '/login');
    const token = csrfTokenOf(page.text);
    expect(setCookies(page)).toEqual([`__Host-csrf=${token}; Path=/; HttpOnly; Secure; SameSite=Strict`]);
    const login = (cookie: string) =>
      request(prod.app).post('/login').set('Accept', 'text/html').set('Cookie', cookie).type('form').send({ _csrf: token, email: uniqueEmail(), password: 'not the password' });
    expect((await login(`__Host-csrf=${token}`)).status).toBe(401); // past the CSRF check
    expectCsrfRefusal(await login(`csrf=${token}`));
  });
});

describe('refused form posts change nothing', () => {
  it('a login post without a token is 403 csrf_failed, for a browser and for a program', async () => {
    const { email, user } = await registerUser(t);
    const [rows, events] = [await sessionRows(user.id), await userEvents(user.id)];
    const agent = request.agent(t.app);
    await getPage(agent, '/login');
    const res = await postForm(agent, '/login', { email, password: PASSWORD });
    expectCsrfRefusal(res);
    expect(setCookies(res)).toEqual([]);
    const program = await agent.post('/login').type('form').send({ email, password: PASSWORD });
    expect(program.status).toBe(403);
    expect(program.body.error.code).toBe('csrf_failed');
    expect(await sessionRows(user.id)).toBe(rows);
    expect(await userEvents(user.id)).toBe(events);
  });

  it('a register post without a token is 403 and creates no user', async () => {
    const email = uniqueEmail('csrf');
    const agent = request.agent(t.app);
    await getPage(agent, '/register');
    expectCsrfRefusal(await postForm(agent, '/register', { email, password: PASSWORD }));
    expect(await t.db.user.count({ where: { email } })).toBe(0);
  });

  it('a token without its cookie is 403 (login and register)', async () => {
    const { email, user } = await registerUser(t);
    const rows = await sessionRows(user.id);
    const token = csrfTokenOf((await getPage(request(t.app), '/login')).text);
    expectCsrfRefusal(await postForm(request(t.app), '/login', { _csrf: token, email, password: PASSWORD }));
    const newEmail = uniqueEmail('nocookie');
    expectCsrfRefusal(await postForm(request(t.app), '/register', { _csrf: token, email: newEmail, password: PASSWORD }));
    expect(await sessionRows(user.id)).toBe(rows);
    expect(await t.db.user.count({ where: { email: newEmail } })).toBe(0);
  });

  it('a token with the cookie of another client is 403 (login and register)', async () => {
    const { email, user } = await registerUser(t);
    const rows = await sessionRows(user.id);
    const victim = request.agent(t.app);
    await getPage(victim, '/login');
    const attackerToken = csrfTokenOf((await getPage(request.agent(t.app), '/login')).text);
    expect(agentCookie(victim, 'csrf')).not.toBe(attackerToken);
    expectCsrfRefusal(await postForm(victim, '/login', { _csrf: attackerToken, email, password: PASSWORD }));
    const newEmail = uniqueEmail('othercookie');
    expectCsrfRefusal(await postForm(victim, '/register', { _csrf: attackerToken, email: newEmail, password: PASSWORD }));
    expect(await sessionRows(user.id)).toBe(rows);
    expect(await t.db.user.count({ where: { email: newEmail } })).toBe(0);
  });

  it('a cookie and token made up by the client (not signed by the server) are 403', async () => {
    const { email, user } = await registerUser(t);
    const rows = await sessionRows(user.id);
    const forged = `${'a'.repeat(64)}.${'b'.repeat(64)}`;
    const res = await request(t.app).post('/login').set('Accept', 'text/html').set('Cookie', `csrf=${forged}`).type('form').send({ _csrf: forged, email, password: PASSWORD });
    expectCsrfRefusal(res);
    expect(await sessionRows(user.id)).toBe(rows);
  });

  it('a token minted for an anonymous visitor is refused on an account form after sign-in', async () => {
    const { email, user, cookie: otherDevice } = await registerUser(t);
    const agent = request.agent(t.app);
    const anonymousToken = csrfTokenOf((await getPage(agent, '/login')).text);
    expect((await postForm(agent, '/login', { _csrf: anonymousToken, email, password: PASSWORD })).status).toBe(303);
    // The browser still holds the anonymous cookie (no page was loaded since): the pair is intact.
    expect(agentCookie(agent, 'csrf')).toBe(anonymousToken);
    expectCsrfRefusal(await postForm(agent, '/account/sessions/revoke-others', { _csrf: anonymousToken }));
    expect((await me(t, otherDevice)).status).toBe(200);
    expect(await sessionRows(user.id)).toBe(2);
  });

  it('an anonymous cookie+token pair planted next to a victim\'s session is refused (login CSRF the other way round)', async () => {
    const { user, cookie: victimSid } = await registerUser(t);
    const attackerPage = await getPage(request(t.app), '/login');
    const planted = csrfTokenOf(attackerPage.text);
    const res = await request(t.app).post('/account/logout-everywhere').set('Accept', 'text/html').set('Cookie', `${victimSid}; csrf=${planted}`).type('form').send({ _csrf: planted });
    expectCsrfRefusal(res);
    expect((await me(t, victimSid)).status).toBe(200);
    expect(await sessionRows(user.id)).toBe(1);
  });

  it('a token of one signed-in session does not work in another session of the same user', async () => {
    const { email, user, cookie: firstDevice } = await registerUser(t);
    const first = await signInWithForm(t, email, PASSWORD);
    const second = await signInWithForm(t, email, PASSWORD);
    const firstToken = csrfTokenOf((await getPage(first, '/account')).text);
    second.jar.setCookie(`csrf=${firstToken}; Path=/`, '127.0.0.1', '/');
    expectCsrfRefusal(await postForm(second, '/account/sessions/revoke-others', { _csrf: firstToken }));
    expect((await me(t, firstDevice)).status).toBe(200);
    expect(await sessionRows(user.id)).toBe(3);
  });
});

describe('valid tokens', () => {
  it('the login form signs in with its token, and the next page mints a token for the new session', async () => {
    const { email, user } = await registerUser(t);
    const agent = request.agent(t.app);
    const anonymousToken = csrfTokenOf((await getPage(agent, '/login')).text);
    const res = await postForm(agent, '/login', { _csrf: anonymousToken, email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(cookieValue(res, 'sid')).toBeTruthy();
    expect(await sessionRows(user.id)).toBe(2);

    const account = await getPage(agent, '/account');
    const signedInToken = csrfTokenOf(account.text);
    expect(signedInToken).not.toBe(anonymousToken);
    expect(cookieValue(account, 'csrf')).toBe(signedInToken);
    // Every form on the page carries the one token the cookie holds.
    expect(new Set([...account.text.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]))).toEqual(new Set([signedInToken]));
    // The cookie's token stays while it is valid for this session.
    expect(csrfTokenOf((await getPage(agent, '/account')).text)).toBe(signedInToken);

    const revoke = await postForm(agent, '/account/sessions/revoke-others', { _csrf: signedInToken });
    expect(revoke.status).toBe(303);
    expect(await sessionRows(user.id)).toBe(1);
  });

  it('the register form creates the account with its token', async () => {
    const email = uniqueEmail('valid');
    const agent = request.agent(t.app);
    const token = csrfTokenOf((await getPage(agent, '/register')).text);
    const res = await postForm(agent, '/register', { _csrf: token, email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account');
    expect(await t.db.user.count({ where: { email } })).toBe(1);
    expect((await getPage(agent, '/account')).status).toBe(200);
  });

  it('a token signed with an older SESSION_SECRET still works after the secret is rotated', async () => {
    const before = await newApp({ SESSION_SECRET: 'the-old-secret-that-is-long-enough-for-it' });
    const after = await newApp({ SESSION_SECRET: 'a-brand-new-secret-that-is-long-enough,the-old-secret-that-is-long-enough-for-it' });
    const token = csrfTokenOf((await getPage(request(before.app), '/login')).text);
    const res = await request(after.app).post('/login').set('Accept', 'text/html').set('Cookie', `csrf=${token}`).type('form').send({ _csrf: token, email: uniqueEmail(), password: 'not the password' });
    expect(res.status).toBe(401); // past the CSRF check
    const retired = await newApp({ SESSION_SECRET: 'a-brand-new-secret-that-is-long-enough' });
    expectCsrfRefusal(await request(retired.app).post('/login').set('Accept', 'text/html').set('Cookie', `csrf=${token}`).type('form').send({ _csrf: token, email: uniqueEmail(), password: 'x' }));
  });
});
