// The server-rendered pages (README: Pages): every form path, CSRF, redirects, escaping, errors.
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { loginUrl, safeNextPath } from '../src/web/safe-next.ts';
import { alertText, csrfTokenOf, getPage, signInWithForm, submitForm, type Agent } from './helpers/pages.ts';
import { buildTestApp, loginAgent, PASSWORD, rawSessionId, registerUser, sessionCookie, sessionKeyOf, uniqueEmail, writtenKeys, type TestApp } from './helpers/test-app.ts';

const apps: TestApp[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
  apps.push(t);
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

async function newApp(env: Record<string, string>) {
  const built = await buildTestApp(env);
  apps.push(built);
  return built;
}

const userEvents = (userId: string) => t.db.sessionEvent.findMany({ where: { userId }, orderBy: { id: 'asc' } });
const liveSessions = (userId: string) => t.db.session.count({ where: { userId } });
const me = (cookie: string) => request(t.app).get('/api/auth/me').set('Cookie', cookie);
const agentCookie = (agent: Agent) => {
  const cookie = agent.jar.getCookie('sid', { domain: '127.0.0.1', path: '/', secure: false, script: false });
  if (!cookie) throw new Error('the agent holds no session cookie');
  return `sid=${cookie.value}`;
};

describe('GET /login', () => {
  it('renders the form with a CSRF token in the page and in a cookie, and stores no session for it', async () => {
    const agent = request.agent(t.app);
    const res = await getPage(agent, '/login');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.text).toContain('<title>Sign in · redis-session-auth</title>');
    expect(res.text).toMatch(/<label for="email">Email<\/label>/);
    expect(res.text).toMatch(/<label for="password">Password<\/label>/);
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect(res.text).not.toContain('style=');
    // `<HMAC-SHA256>.<random>`: the double-submit token, the same in the form and the cookie.
    const token = csrfTokenOf(res.text);
    expect(token).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{64}$/);
    expect(res.headers['set-cookie']).toEqual([`csrf=${token}; Path=/; HttpOnly; SameSite=Strict`]);
    expect(await writtenKeys(t)).toEqual([]);
  });

  it('a 404 page for a signed-out visitor creates no session', async () => {
    const res = await getPage(request(t.app), '/no-such-page');
    expect(res.status).toBe(404);
    expect(res.text).toContain('<title>Page not found');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('/ sends signed-out visitors to /login and signed-in ones to /account', async () => {
    expect((await request(t.app).get('/')).headers.location).toBe('/login');
    const { agent } = await registerUser(t);
    expect((await agent.get('/')).headers.location).toBe('/account');
  });
});

describe('POST /login', () => {
  it('without a CSRF token answers 403 with a page and signs nobody in', async () => {
    const { email, user } = await registerUser(t);
    const before = await userEvents(user.id);
    const agent = request.agent(t.app);
    await getPage(agent, '/login');
    const res = await agent.post('/login').set('Accept', 'text/html').type('form').send({ email, password: PASSWORD });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(alertText(res.text)).toMatch(/form has expired/);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await liveSessions(user.id)).toBe(1); // only the registration's
    expect(await userEvents(user.id)).toEqual(before);
  });

  it('with a token from another browser answers 403', async () => {
    const { email } = await registerUser(t);
    const other = await getPage(request.agent(t.app), '/login');
    const agent = request.agent(t.app);
    await getPage(agent, '/login');
    const res = await agent.post('/login').set('Accept', 'text/html').type('form').send({ _csrf: csrfTokenOf(other.text), email, password: PASSWORD });
    expect(res.status).toBe(403);
  });

  it('with a wrong password re-renders the form with the email kept, and says the same for an unknown email', async () => {
    const { email, user } = await registerUser(t);
    const wrong = await submitForm(request.agent(t.app), '/login', '/login', { email: email.toUpperCase(), password: 'not my password' });
    expect(wrong.status).toBe(401);
    expect(alertText(wrong.text)).toBe('The email or password is incorrect.');
    expect(wrong.text).toContain(`value="${email.toUpperCase()}"`);
    expect(wrong.text).not.toContain('not my password');
    expect((await userEvents(user.id)).map((e) => e.type)).toContain('login_failed');

    const unknown = await submitForm(request.agent(t.app), '/login', '/login', { email: uniqueEmail('nobody'), password: 'not my password' });
    expect(unknown.status).toBe(401);
    expect(alertText(unknown.text)).toBe(alertText(wrong.text));
  });

  it('with missing fields re-renders the form with a message per field', async () => {
    const res = await submitForm(request.agent(t.app), '/login', '/login', { email: 'someone@example.test', password: '' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Password is required');
    expect(res.text).toContain('aria-invalid="true"');
    expect(res.text).toContain('value="someone@example.test"');
  });

  it('signs in with a session cookie only then, gets a fresh CSRF token, and the old token is dead', async () => {
    const { email, user } = await registerUser(t);
    const agent = request.agent(t.app);
    const loginPage = await getPage(agent, '/login');
    expect(() => sessionCookie(loginPage)).toThrow('no session cookie');
    const oldToken = csrfTokenOf(loginPage.text);
    const res = await agent.post('/login').set('Accept', 'text/html').type('form').send({ _csrf: oldToken, email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account');
    const signedInCookie = sessionCookie(res);
    expect(await t.redis.exists(sessionKeyOf(t, signedInCookie))).toBe(1);
    expect(await liveSessions(user.id)).toBe(2);

    const account = await getPage(agent, '/account');
    expect(account.status).toBe(200);
    expect(csrfTokenOf(account.text)).not.toBe(oldToken);
    const replay = await agent.post('/account/sessions/revoke-others').set('Accept', 'text/html').type('form').send({ _csrf: oldToken });
    expect(replay.status).toBe(403);
    expect(await liveSessions(user.id)).toBe(2);
  });
});

describe('next: coming back after signing in', () => {
  it('a signed-out visit to /account goes to /login?next=/account and comes back after login', async () => {
    const { email } = await registerUser(t);
    const agent = request.agent(t.app);
    const bounced = await getPage(agent, '/account');
    expect(bounced.status).toBe(303);
    expect(bounced.headers.location).toBe('/login?next=/account');
    const page = await getPage(agent, bounced.headers.location!);
    expect(page.text).toContain('name="next" value="/account"');
    const res = await agent.post('/login').set('Accept', 'text/html').type('form').send({ _csrf: csrfTokenOf(page.text), email, password: PASSWORD, next: '/account?tab=devices' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account?tab=devices');
  });

  it.each(['//evil.example/', '/\\evil.example', 'https://evil.example/', '/%0d%0aSet-Cookie:x', 'javascript:alert(1)', '/\t/evil.example', ' /account'])(
    'never sends the browser off-site for next=%j',
    async (next) => {
      const { email } = await registerUser(t);
      const res = await submitForm(request.agent(t.app), '/login', '/login', { email, password: PASSWORD, next });
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/^\/(?![/\\])/);
      expect(res.headers.location).not.toMatch(/evil|\r|\n/);
    },
  );

  it.each([
    ['/account', '/account'],
    ['/admin/sessions?email=a%40b.c#top', '/admin/sessions?email=a%40b.c#top'],
    ['/a/../account', '/account'],
    ['//evil.example', '/account'],
    ['/\\evil.example', '/account'],
    ['https://evil.example/account', '/account'],
    ['/login?next=//evil.example', '/account'],
    ['', '/account'],
    [['/account', '/x'], '/account'],
    [undefined, '/account'],
  ])('safeNextPath(%j) is %j', (value, expected) => {
    expect(safeNextPath(value)).toBe(expected);
  });

  it('loginUrl keeps the path readable and drops unsafe ones', () => {
    expect(loginUrl('/admin/sessions?limit=5')).toBe('/login?next=/admin/sessions%3Flimit%3D5');
    expect(loginUrl('//evil.example')).toBe('/login?next=/account');
  });

  it('a signed-in visit to /login goes straight to next', async () => {
    const { agent } = await registerUser(t);
    expect((await getPage(agent, '/login?next=/account')).headers.location).toBe('/account');
  });
});

describe('POST /register', () => {
  it('creates the account, signs in and shows a name like <script> escaped', async () => {
    const email = uniqueEmail('page');
    const agent = request.agent(t.app);
    const res = await submitForm(agent, '/register', '/register', { email, password: PASSWORD, name: '<script>alert("x")</script>' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account');
    const user = await t.db.user.findUniqueOrThrow({ where: { email } });
    expect(user.name).toBe('<script>alert("x")</script>');
    expect((await userEvents(user.id)).map((e) => e.type)).toEqual(['registered', 'login']);

    const account = await getPage(agent, '/account');
    expect(account.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(account.text).not.toContain('<script>alert');
  });

  it('treats an empty name field as no name', async () => {
    const email = uniqueEmail('noname');
    const res = await submitForm(request.agent(t.app), '/register', '/register', { email, password: PASSWORD, name: '  ' });
    expect(res.status).toBe(303);
    expect((await t.db.user.findUniqueOrThrow({ where: { email } })).name).toBeNull();
  });

  it('re-renders the form with the typed email and per-field messages for a short password', async () => {
    const email = uniqueEmail('short');
    const res = await submitForm(request.agent(t.app), '/register', '/register', { email, password: 'short', name: 'Ada' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Password must be at least 8 characters');
    expect(res.text).toContain(`value="${email}"`);
    expect(res.text).toContain('value="Ada"');
    expect(res.text).not.toContain('value="short"');
    expect(await t.db.user.count({ where: { email } })).toBe(0);
  });

  it('answers a taken email with 409 and a message that does not accuse anyone', async () => {
    const { email } = await registerUser(t);
    const res = await submitForm(request.agent(t.app), '/register', '/register', { email, password: PASSWORD });
    expect(res.status).toBe(409);
    expect(alertText(res.text)).toMatch(/could not be created/);
  });

  it('without a CSRF token answers 403 and creates no user', async () => {
    const email = uniqueEmail('csrf');
    const agent = request.agent(t.app);
    await getPage(agent, '/register');
    const res = await agent.post('/register').set('Accept', 'text/html').type('form').send({ email, password: PASSWORD });
    expect(res.status).toBe(403);
    expect(await t.db.user.count({ where: { email } })).toBe(0);
  });
});

describe('/account', () => {
  it('lists every device with browser, OS, IP and last seen, marking this one', async () => {
    const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
    const { email } = await registerUser(t, { userAgent: iphone });
    const agent = await signInWithForm(t, email, PASSWORD, chrome);
    const res = await getPage(agent, '/account');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>Your account · redis-session-auth</title>');
    expect(res.text).toContain('Signed in on 2 devices.');
    expect(res.text).toContain('Chrome 120 on Linux (desktop)');
    expect(res.text).toContain('Mobile Safari 17 on iOS 17.1 (mobile)');
    expect(res.text.match(/This device/g)).toHaveLength(1);
    expect(res.text).toMatch(/This device[\s\S]*127\.0\.0\.1/);
    expect(res.text).toContain('Recent activity');
    expect(res.text).toContain('Account created');
  });

  it('"Sign out" on another device revokes it; without a CSRF token nothing changes', async () => {
    const { email, user } = await registerUser(t);
    const second = await loginAgent(t, email);
    const agent = await signInWithForm(t, email, PASSWORD);
    const page = await getPage(agent, '/account');
    const handles = [...page.text.matchAll(/action="\/account\/sessions\/([\w-]{22})\/revoke"/g)].map((m) => m[1]!);
    expect(handles).toHaveLength(3);
    const secondHandle = (await second.agent.get('/api/auth/me')).body.session.id as string;

    const forged = await agent.post(`/account/sessions/${secondHandle}/revoke`).set('Accept', 'text/html').type('form').send({});
    expect(forged.status).toBe(403);
    expect((await me(second.cookie)).status).toBe(200);

    const res = await agent.post(`/account/sessions/${secondHandle}/revoke`).set('Accept', 'text/html').type('form').send({ _csrf: csrfTokenOf(page.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account?notice=device-signed-out');
    expect((await me(second.cookie)).status).toBe(401);
    expect(await liveSessions(user.id)).toBe(2);
    expect((await getPage(agent, res.headers.location!)).text).toContain('The device was signed out.');
  });

  it('"Sign out" on another user\'s session handle answers 404 and revokes nothing', async () => {
    const victim = await registerUser(t);
    const victimHandle = (await victim.agent.get('/api/auth/me')).body.session.id as string;
    const { email } = await registerUser(t);
    const res = await submitForm(await signInWithForm(t, email, PASSWORD), '/account', `/account/sessions/${victimHandle}/revoke`, {});
    expect(res.status).toBe(404);
    expect((await me(victim.cookie)).status).toBe(200);
  });

  it('"Sign out all other devices" keeps only this one', async () => {
    const { email, user, cookie } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const forged = await agent.post('/account/sessions/revoke-others').set('Accept', 'text/html').type('form').send({ _csrf: 'not-the-token' });
    expect(forged.status).toBe(403);
    expect(await liveSessions(user.id)).toBe(2);

    const res = await submitForm(agent, '/account', '/account/sessions/revoke-others', {});
    expect(res.status).toBe(303);
    expect((await me(cookie)).status).toBe(401);
    expect((await getPage(agent, '/account')).status).toBe(200);
    expect(await liveSessions(user.id)).toBe(1);
  });

  it('"Sign out everywhere" ends every session, this one included', async () => {
    const { email, user, cookie } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    expect((await agent.post('/account/logout-everywhere').set('Accept', 'text/html').type('form').send({})).status).toBe(403);
    expect(await liveSessions(user.id)).toBe(2);

    const res = await submitForm(agent, '/account', '/account/logout-everywhere', {});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?signed_out=everywhere');
    expect(await liveSessions(user.id)).toBe(0);
    expect((await me(cookie)).status).toBe(401);
    expect((await getPage(agent, '/account')).headers.location).toBe('/login?next=/account');
    expect((await getPage(agent, '/login?signed_out=everywhere')).text).toContain('signed out on every device');
  });

  it('the password form rejects a wrong current password: back on /account (post/redirect/get), the message once, nothing changed', async () => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const res = await submitForm(agent, '/account', '/account/password', { currentPassword: 'not my password', newPassword: 'a brand new password' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account?password=currentPassword.incorrect#password-heading');
    const page = await getPage(agent, res.headers.location!.split('#')[0]!);
    expect(page.status).toBe(200);
    expect(page.text.match(/Current password is incorrect/g)).toHaveLength(1);
    expect(page.text.match(/role="alert"/g)).toHaveLength(1);
    expect(page.text).toContain('Signed in on 2 devices.');
    expect((await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD })).status).toBe(200);
  });

  it('the password form refuses the current password as the new one, next to the new-password field', async () => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const res = await submitForm(agent, '/account', '/account/password', { currentPassword: PASSWORD, newPassword: PASSWORD });
    expect(res.headers.location).toBe('/account?password=newPassword.same#password-heading');
    expect((await getPage(agent, '/account?password=newPassword.same')).text).toContain('New password must differ from the current password');
  });

  it('shows only the known messages for the codes in ?password=, never text from the URL', async () => {
    const { email } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const page = await getPage(agent, `/account?password=${encodeURIComponent('currentPassword.<b>call us</b> newPassword.short locked')}`);
    expect(page.text).not.toContain('call us');
    expect(page.text).toContain('New password must be at least 8 characters');
    expect(page.text).toContain('Too many wrong passwords');
  });

  it('a device signed out from here shows in the history as "… was signed out from this device"', async () => {
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
    const chrome = await registerUser(t, { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' });
    const handle = (await chrome.agent.get('/api/auth/me')).body.session.id as string;
    const agent = await signInWithForm(t, chrome.email, PASSWORD, firefox);
    expect((await submitForm(agent, '/account', `/account/sessions/${handle}/revoke`, {}, firefox)).status).toBe(303);
    const page = (await getPage(agent, '/account')).text;
    expect(page).toContain('<strong>Chrome 131 on Windows 10 (desktop) was signed out from this device</strong>');
  });

  it('the password form changes the password and signs out every other device', async () => {
    const { email, cookie } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    expect((await agent.post('/account/password').set('Accept', 'text/html').type('form').send({ currentPassword: PASSWORD, newPassword: 'a brand new password' })).status).toBe(403);

    const res = await submitForm(agent, '/account', '/account/password', { currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account?notice=password-changed');
    expect((await me(cookie)).status).toBe(401);
    expect((await getPage(agent, res.headers.location!)).text).toContain('Your password was changed');
    expect((await request(t.app).post('/api/auth/login').send({ email, password: 'a brand new password' })).status).toBe(200);
  });

  it('a form posted by a signed-out browser goes to the sign-in page and changes nothing', async () => {
    const res = await request(t.app).post('/account/sessions/revoke-others').set('Accept', 'text/html').type('form').send({});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=/account');
  });
});

describe('POST /logout', () => {
  it('signs this device out and clears the cookie; without a CSRF token it does nothing', async () => {
    const { email, user } = await registerUser(t);
    const agent = await signInWithForm(t, email, PASSWORD);
    const cookie = agentCookie(agent);
    expect((await agent.post('/logout').set('Accept', 'text/html').type('form').send({})).status).toBe(403);
    expect((await me(cookie)).status).toBe(200);

    const res = await submitForm(agent, '/account', '/logout', {});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?signed_out=device');
    expect(res.headers['set-cookie']?.[0]).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/);
    expect((await me(cookie)).status).toBe(401);
    expect(await liveSessions(user.id)).toBe(1);
    expect((await userEvents(user.id)).at(-1)?.type).toBe('logout');
  });
});

describe('rate limits on the forms', () => {
  it('POST /login and /register share the API\'s per-IP budget and answer 429 with a page', async () => {
    const limited = await newApp({ RATE_LIMIT_MAX: '3' });
    const agent = request.agent(limited.app);
    const page = await getPage(agent, '/login');
    const token = csrfTokenOf(page.text);
    expect((await request(limited.app).post('/api/auth/login').send({ email: uniqueEmail(), password: 'x' })).status).toBe(401);
    expect((await agent.post('/login').set('Accept', 'text/html').type('form').send({ _csrf: token, email: uniqueEmail(), password: 'x' })).status).toBe(401);
    expect((await agent.post('/register').set('Accept', 'text/html').type('form').send({ _csrf: token, email: 'bad', password: 'x' })).status).toBe(400);

    const res = await agent.post('/login').set('Accept', 'text/html').type('form').send({ _csrf: token, email: uniqueEmail(), password: 'x' });
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>Too many requests');
    expect(alertText(res.text)).toMatch(/Too many requests; try again later/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['x-ratelimit-limit']).toBe('3');
    expect((await agent.post('/register').set('Accept', 'text/html').type('form').send({ _csrf: token, email: uniqueEmail(), password: PASSWORD })).status).toBe(429);
    // The API still answers in JSON.
    expect((await request(limited.app).post('/api/auth/login').send({})).body.error.code).toBe('rate_limited');
  });

  it('a locked account gets the wrong-password page plus Retry-After', async () => {
    const locking = await newApp({ ACCOUNT_MAX_FAILURES: '2', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' });
    const { email } = await registerUser(locking);
    const agent = request.agent(locking.app);
    for (let i = 0; i < 2; i++) await submitForm(agent, '/login', '/login', { email, password: 'wrong password' });
    const res = await submitForm(agent, '/login', '/login', { email, password: PASSWORD });
    expect(res.status).toBe(401);
    expect(alertText(res.text)).toBe('The email or password is incorrect.');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('after repeated failures the login page carries the ALTCHA widget, and a solved challenge lets the login through', async () => {
    const guarded = await newApp({ CHALLENGE_AFTER_ACCOUNT_FAILURES: '2', ACCOUNT_MAX_FAILURES: '50' });
    const { email } = await registerUser(guarded);
    const agent = request.agent(guarded.app);
    const first = await submitForm(agent, '/login', '/login', { email, password: 'wrong password' });
    expect(first.text).not.toContain('<altcha-widget');
    const second = await submitForm(agent, '/login', '/login', { email, password: 'wrong password' });
    expect(second.status).toBe(401);
    expect(second.text).toContain('<altcha-widget challenge="/api/auth/challenge" name="altcha"');
    expect(second.text).toContain('<script type="module" src="/static/altcha-setup.js"></script>');

    const asked = await submitForm(agent, '/login', '/login', { email, password: PASSWORD });
    expect(asked.status).toBe(403);
    expect(alertText(asked.text)).toMatch(/Confirm you are not a robot/);
    expect(asked.text).toContain('<altcha-widget');

    const challenge = (await request(guarded.app).get('/api/auth/challenge')).body;
    const solution = await solveChallenge({ challenge, deriveKey });
    const altcha = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    const passed = await submitForm(agent, '/login', '/login', { email, password: PASSWORD, altcha });
    expect(passed.status).toBe(303);
  });
});

describe('static files', () => {
  it('serves the stylesheet, the scripts and the ALTCHA widget from this site', async () => {
    for (const [path, type] of [
      ['/static/app.css', /text\/css/],
      ['/static/altcha-setup.js', /javascript/],
      ['/static/admin-live.js', /javascript/],
      ['/static/vendor/altcha/altcha.js', /javascript/],
      ['/static/vendor/altcha/altcha.css', /text\/css/],
      ['/static/vendor/altcha/pbkdf2-worker.js', /javascript/],
    ] as const) {
      const res = await request(t.app).get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toMatch(type);
      expect(res.headers['set-cookie'], path).toBeUndefined();
    }
  });

  it('serves nothing else from node_modules', async () => {
    for (const path of ['/static/vendor/altcha/constructor', '/static/vendor/altcha/..%2F..%2Fpackage.json', '/static/../package.json']) {
      expect((await request(t.app).get(path)).status, path).toBe(404);
    }
  });
});

describe('errors for browsers and for programs', () => {
  it('keeps JSON for /api, and for /admin when JSON is asked for', async () => {
    const api = await request(t.app).get('/api/nothing').set('Accept', 'text/html');
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('not_found');
    const admin = await request(t.app).get('/admin/sessions').set('Accept', 'application/json');
    expect(admin.status).toBe(401);
    expect(admin.body.error.code).toBe('unauthenticated');
  });

  it('answers a client that states no preference (curl, */*) in JSON, pages included', async () => {
    const res = await request(t.app).get('/no-such-page');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await request(t.app).get('/account')).status).toBe(401);
    expect((await request(t.app).post('/admin/users/00000000-0000-4000-8000-000000000000/revoke-sessions')).body.error.code).toBe('unauthenticated');
  });

  it('sends a signed-out browser from /admin/sessions to the sign-in page and back', async () => {
    const res = await getPage(request(t.app), '/admin/sessions');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=/admin/sessions');
  });

  it('shows a plain user an HTML 403 page on /admin/sessions', async () => {
    const { agent } = await registerUser(t);
    const res = await getPage(agent, '/admin/sessions');
    expect(res.status).toBe(403);
    expect(res.text).toContain('<title>Not allowed');
  });
});
