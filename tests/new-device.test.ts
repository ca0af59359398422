// The new-device notice (issue 14 part 3): a sign-in from a browser family or a network the
// account has not signed in from is flagged in the history, published live, counted, and shown
// on the account's other devices until dismissed.
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { setRole } from '../src/admin/roles.ts';
import type { LiveEvent } from '../src/analytics/live-events.ts';
import { deviceFamily, networkOf } from '../src/sessions/device.ts';
import { recordSignIns } from '../src/sessions/new-device-sign-ins.ts';
import { viewHelpers } from '../src/web/view-helpers.ts';
import { fileCleanups } from './helpers/cleanups.ts';
import { csrfTokenOf, getPage, submitForm, type Agent } from './helpers/pages.ts';
import { loginAgent, PASSWORD, registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const FIREFOX_LINUX_NEWER = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const HOME = '203.0.113.10';

const { cleanups, app } = fileCleanups();
let t: TestApp;
beforeAll(async () => {
  // Behind a trusted proxy, so each request says which address it comes from.
  t = await app({ TRUST_PROXY: 'loopback' });
});

interface From {
  userAgent: string;
  ip: string;
}

const fromDevice = (req: request.Test, from: From) => req.set('User-Agent', from.userAgent).set('X-Forwarded-For', from.ip);

/** Registers a fresh account from `from`; the agent stays signed in there. */
async function signUp(app: TestApp, from: From) {
  const agent = request.agent(app.app);
  const email = uniqueEmail('device');
  const res = await fromDevice(agent.post('/api/auth/register'), from).send({ email, password: PASSWORD });
  expect(res.status).toBe(201);
  return { agent, email, userId: res.body.user.id as string };
}

/** Signs in on a new agent (a new browser) from `from`. */
async function signIn(app: TestApp, email: string, from: From): Promise<Agent> {
  const agent = request.agent(app.app);
  const res = await fromDevice(agent.post('/api/auth/login'), from).send({ email, password: PASSWORD });
  expect(res.status).toBe(200);
  return agent;
}

const latestLogin = (userId: string) => t.db.sessionEvent.findFirstOrThrow({ where: { userId, type: 'login' }, orderBy: { id: 'desc' } });
const historyOf = async (agent: Agent) => (await agent.get('/api/sessions/history').expect(200)).body.events as Array<{ type: string; sessionId?: string; flags?: string[] }>;
const noticesOn = (html: string) => html.match(/<li class="device-notice">[\s\S]*?<\/li>/g) ?? [];

describe('device families and networks', () => {
  it('names a browser and OS without versions, and an unrecognized agent the same way every time', () => {
    expect(deviceFamily(FIREFOX_LINUX)).toBe('Firefox on Linux');
    expect(deviceFamily(FIREFOX_LINUX_NEWER)).toBe('Firefox on Linux');
    expect(deviceFamily(CHROME_WINDOWS)).toBe('Chrome on Windows');
    expect(deviceFamily('curl/8.5.0')).toBe(deviceFamily('curl/8.5.0'));
    expect(deviceFamily('vitest')).toBe('Unknown browser on unknown OS');
    expect(deviceFamily(null)).toBe('Unknown browser on unknown OS');
  });

  it('groups IPv4 by /24 and IPv6 by /56, an IPv4-mapped address as IPv4, and nothing for a non-address', () => {
    expect(networkOf('203.0.113.10')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:127.0.0.1')).toBe('127.0.0.0/24');
    expect(networkOf('2001:db8:1:ffab:1::2')).toBe('2001:db8:1:ff00::/56');
    expect(networkOf('2001:db8:1:ff00::9')).toBe('2001:db8:1:ff00::/56');
    expect(networkOf('2001:db8:0:0:1::1')).toBe('2001:db8::/56');
    expect(networkOf('2001:0:0:ff::1')).toBe('2001::/56');
    expect(networkOf('not an address')).toBeNull();
    expect(networkOf(null)).toBeNull();
  });
});

describe('the new-device flag', () => {
  it('signing in again from the same browser family (a newer version) and network is not flagged', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const again = await signIn(t, email, { userAgent: FIREFOX_LINUX_NEWER, ip: HOME });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: false, deviceFamily: 'Firefox on Linux', network: '203.0.113.0/24' });
    expect((await historyOf(again)).some((event) => 'flags' in event)).toBe(false);
  });

  it('registration records the device and network and flags neither of its events', async () => {
    const { userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const events = await t.db.sessionEvent.findMany({ where: { userId }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.type, e.deviceFamily, e.network, e.newDevice])).toEqual([
      ['registered', 'Firefox on Linux', '203.0.113.0/24', false],
      ['login', 'Firefox on Linux', '203.0.113.0/24', false],
    ]);
  });

  it('a new browser family on a known network is flagged, and the history shows it', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const chrome = await signIn(t, email, { userAgent: CHROME_WINDOWS, ip: HOME });
    const login = await latestLogin(userId);
    expect(login).toMatchObject({ newDevice: true, deviceFamily: 'Chrome on Windows', network: '203.0.113.0/24' });
    const flagged = (await historyOf(chrome)).filter((event) => event.flags);
    expect(flagged).toEqual([expect.objectContaining({ type: 'login', sessionId: login.sessionHandle, flags: ['new_device'] })]);
  });

  it('a known browser from a new /24 is flagged; another host of a known /24 is not', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: '203.0.113.200' });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: false });
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: '198.51.100.10' });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: true, network: '198.51.100.0/24' });
  });

  it('IPv6: another host of a known /56 is not flagged, another /56 is', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: '2001:db8:1:ff12::1' });
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: '2001:db8:1:ffee:abcd::7' });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: false, network: '2001:db8:1:ff00::/56' });
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: '2001:db8:1:100::1' });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: true, network: '2001:db8:1:100::/56' });
  });

  it('once a new device has signed in, it is known: its next sign-in is not flagged', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    await signIn(t, email, { userAgent: CHROME_WINDOWS, ip: HOME });
    await signIn(t, email, { userAgent: CHROME_WINDOWS, ip: HOME });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: false });
  });

  it('a failed attempt does not make its device known: the first successful sign-in from it is flagged', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const wrong = await fromDevice(request(t.app).post('/api/auth/login'), { userAgent: CHROME_WINDOWS, ip: HOME }).send({ email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    await signIn(t, email, { userAgent: CHROME_WINDOWS, ip: HOME });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: true });
  });

  it('an account with no recorded sign-in (older than this feature) is not flagged, and its sign-in is recorded', async () => {
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    await t.db.sessionEvent.updateMany({ where: { userId }, data: { deviceFamily: null, network: null } });
    await signIn(t, email, { userAgent: CHROME_WINDOWS, ip: '198.51.100.10' });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: false, deviceFamily: 'Chrome on Windows', network: '198.51.100.0/24' });
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: '198.51.100.10' });
    expect(await latestLogin(userId)).toMatchObject({ newDevice: true });
  });

  it('a sign-in without an address is judged by its device alone', async () => {
    const { userId, agent } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const handle = (await latestLogin(userId)).sessionHandle!;
    expect(await recordSignIns(t.db, [{ type: 'login', userId, sessionHandle: handle, ip: null, userAgent: FIREFOX_LINUX }])).toEqual({ newDevice: false });
    expect(await recordSignIns(t.db, [{ type: 'login', userId, sessionHandle: handle, ip: null, userAgent: CHROME_WINDOWS }])).toEqual({ newDevice: true });
    expect((await historyOf(agent)).filter((event) => event.flags)).toHaveLength(1);
  });

  it('labels a flagged sign-in in the activity list as one from a new device', () => {
    expect(viewHelpers.eventLabel({ type: 'login', flags: ['new_device'] })).toBe('Signed in from a new device');
    expect(viewHelpers.eventLabel({ type: 'login' })).toBe('Signed in');
    expect(viewHelpers.eventLabel({ type: 'reauthenticated' })).toBe('Password confirmed');
  });
});

describe('what operators see', () => {
  it('a new-device sign-in is counted in the summary, the hourly series and Prometheus; a known one is not', async () => {
    const own = await app();
    const admin = await registerUser(own);
    await setRole(own.db, own.sessions.revoker, admin.email, 'admin');
    const adminAgent = (await loginAgent(own, admin.email)).agent; // same unknown agent, same network: not new
    const { email } = await registerUser(own, { userAgent: FIREFOX_LINUX });
    await loginAgent(own, email, PASSWORD, FIREFOX_LINUX);
    await loginAgent(own, email, PASSWORD, CHROME_WINDOWS);

    const summary = (await adminAgent.get('/admin/sessions').set('Accept', 'application/json').expect(200)).body.summary;
    expect(summary).toMatchObject({ newDeviceSignInsLastHour: 1, loginsLastHour: 3 });
    const dashboard = await getPage(adminAgent, '/admin/sessions').expect(200);
    expect(dashboard.text).toContain('New-device sign-ins (last hour)</span> <span class="card-value">1</span>');
    const analytics = (await adminAgent.get('/admin/analytics').expect(200)).body;
    expect(analytics.series.newDeviceSignIns).toHaveLength(24);
    expect(analytics.series.newDeviceSignIns.at(-1)).toBe(1);
    expect((await adminAgent.get('/metrics').expect(200)).text).toMatch(/^new_device_sign_ins_total 1$/m);
  });

  it('publishes a new_device live event with the session, address and device family, and none for a known device', async () => {
    const events: LiveEvent[] = [];
    const live = t.activity.live.subscribe((event) => events.push(event));
    cleanups.push(async () => live.unsubscribe());
    expect(await live.subscribed).toBe(true);
    const { email, userId } = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: HOME });
    await signIn(t, email, { userAgent: CHROME_WINDOWS, ip: '198.51.100.10' });
    const login = await latestLogin(userId);
    await waitFor(() => events.some((e) => e.type === 'new_device' && e.userId === userId));
    // Pub/sub keeps one publisher's order: had the known sign-in published one, it would be here by now.
    expect(events.filter((e) => e.type === 'new_device' && e.userId === userId)).toEqual([
      { type: 'new_device', at: expect.any(String), userId, sessionId: login.sessionHandle, ip: '198.51.100.10', device: 'Chrome on Windows', email },
    ]);
  });
});

describe('the notice on /account', () => {
  /** An account signed in on Firefox at home (`home`) and then on Chrome elsewhere (`chrome`, flagged). */
  async function accountWithNewDevice() {
    const home = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const chrome = await signIn(t, home.email, { userAgent: CHROME_WINDOWS, ip: '198.51.100.10' });
    const login = await latestLogin(home.userId);
    return { ...home, home: home.agent, chrome, eventId: String(login.id), handle: login.sessionHandle!, at: login.at };
  }

  it('shows the other devices the new sign-in with a sign-out button, and not the new device itself', async () => {
    const { home, chrome, handle, eventId, at } = await accountWithNewDevice();
    const page = await getPage(home, '/account').expect(200);
    const [notice, ...more] = noticesOn(page.text);
    expect(more).toEqual([]);
    const when = viewHelpers.formatTime(at);
    expect(notice).toContain(`New sign-in from <strong>Chrome on Windows</strong>, <time datetime="${at.toISOString()}">${when}</time> (198.51.100.10) — not you?`);
    expect(notice).toContain(`<form method="post" action="/account/sessions/${handle}/revoke">`);
    expect(notice).toContain('>Sign out that device</button>');
    expect(notice).toContain(`<form method="post" action="/account/notices/${eventId}/dismiss">`);
    // At the top: before the profile.
    expect(page.text.indexOf('class="device-notice"')).toBeLessThan(page.text.indexOf('id="profile-heading"'));

    expect(noticesOn((await getPage(chrome, '/account').expect(200)).text)).toEqual([]);
  });

  it('"Sign out that device" signs it out; the notice stays, without the button, until dismissed', async () => {
    const { home, chrome, handle } = await accountWithNewDevice();
    const res = await submitForm(home, '/account', `/account/sessions/${handle}/revoke`, {}, FIREFOX_LINUX);
    expect(res.status).toBe(303);
    expect((await chrome.get('/api/auth/me')).status).toBe(401);
    const [notice] = noticesOn((await getPage(home, '/account').expect(200)).text);
    expect(notice).toContain('That device is already signed out.');
    expect(notice).not.toContain('/revoke');
    expect(notice).toContain('Dismiss</button>');
  });

  it('a session that has expired gets no sign-out button either', async () => {
    const { home, handle } = await accountWithNewDevice();
    await t.db.session.update({ where: { handle }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const [notice] = noticesOn((await getPage(home, '/account').expect(200)).text);
    expect(notice).toContain('That device is already signed out.');
    expect(notice).not.toContain('/revoke');
  });

  it('lists several newest first, and leaves out those older than 30 days', async () => {
    const { home, email, userId, eventId } = await accountWithNewDevice();
    await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: '192.0.2.20' });
    expect(noticesOn((await getPage(home, '/account')).text).map((n) => /from <strong>([^<]+)/.exec(n)![1])).toEqual(['Firefox on Linux', 'Chrome on Windows']);
    await t.db.sessionEvent.update({ where: { id: BigInt(eventId) }, data: { at: new Date(Date.now() - 31 * 24 * 3600_000) } });
    expect(noticesOn((await getPage(home, '/account')).text)).toHaveLength(1);
    expect(await t.db.sessionEvent.count({ where: { userId, newDevice: true } })).toBe(2);
  });

  it('shows at most five', async () => {
    const { home, email } = await accountWithNewDevice();
    for (let i = 1; i <= 5; i++) await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: `192.0.${i}.1` });
    expect(noticesOn((await getPage(home, '/account')).text)).toHaveLength(5);
  });

  it('Dismiss hides it on every device of the account and records when', async () => {
    const { home, email, eventId } = await accountWithNewDevice();
    const third = await signIn(t, email, { userAgent: FIREFOX_LINUX, ip: HOME });
    expect(noticesOn((await getPage(third, '/account')).text)).toHaveLength(1);
    const res = await submitForm(home, '/account', `/account/notices/${eventId}/dismiss`, {}, FIREFOX_LINUX);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account');
    expect(noticesOn((await getPage(home, '/account')).text)).toEqual([]);
    expect(noticesOn((await getPage(third, '/account')).text)).toEqual([]);
    const { dismissedAt } = await t.db.sessionEvent.findUniqueOrThrow({ where: { id: BigInt(eventId) } });
    expect(dismissedAt?.getTime()).toBeCloseTo(t.clock.now(), -3);
    // Twice (a double click, a second device) is not an error, and keeps the first time.
    t.clock.advance(60_000);
    expect((await submitForm(home, '/account', `/account/notices/${eventId}/dismiss`, {}, FIREFOX_LINUX)).status).toBe(303);
    expect((await t.db.sessionEvent.findUniqueOrThrow({ where: { id: BigInt(eventId) } })).dismissedAt).toEqual(dismissedAt);
  });

  it("dismissing another account's notice, or an id that is not one, answers 404 and changes nothing", async () => {
    const victim = await accountWithNewDevice();
    const other = await signUp(t, { userAgent: FIREFOX_LINUX, ip: HOME });
    const foreign = await submitForm(other.agent, '/account', `/account/notices/${victim.eventId}/dismiss`, {}, FIREFOX_LINUX);
    expect(foreign.status).toBe(404);
    expect(foreign.text).toContain('Page not found');
    for (const id of ['abc', '1e3', '99999999999999999999']) {
      expect((await submitForm(other.agent, '/account', `/account/notices/${id}/dismiss`, {}, FIREFOX_LINUX)).status).toBe(404);
    }
    // A sign-in that was not flagged is no notice to dismiss either.
    const unflagged = await latestLogin(other.userId);
    expect((await submitForm(other.agent, '/account', `/account/notices/${unflagged.id}/dismiss`, {}, FIREFOX_LINUX)).status).toBe(404);
    expect((await t.db.sessionEvent.findUniqueOrThrow({ where: { id: BigInt(victim.eventId) } })).dismissedAt).toBeNull();
    expect(noticesOn((await getPage(victim.home, '/account')).text)).toHaveLength(1);
  });

  it('Dismiss needs the form token and a signed-in session', async () => {
    const { home, eventId } = await accountWithNewDevice();
    const noToken = await home.post(`/account/notices/${eventId}/dismiss`).set('Accept', 'text/html').type('form').send({});
    expect(noToken.status).toBe(403);
    const page = await getPage(request.agent(t.app), '/login');
    const signedOut = await request(t.app).post(`/account/notices/${eventId}/dismiss`).set('Accept', 'text/html').type('form').send({ _csrf: csrfTokenOf(page.text) });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.location).toMatch(/^\/login/);
    expect((await t.db.sessionEvent.findUniqueOrThrow({ where: { id: BigInt(eventId) } })).dismissedAt).toBeNull();
  });
});
