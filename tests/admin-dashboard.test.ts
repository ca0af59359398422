// The admin dashboard's HTML: the SVG chart function, the template with a sample view (the
// admin router's contract), and the page as an admin's browser gets it.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeXml, lineChartSvg, niceStep } from '../src/web/chart.ts';
import { viewHelpers } from '../src/web/view-helpers.ts';
import { csrfTokenOf, getPage, signInWithForm, submitForm } from './helpers/pages.ts';
import { buildTestApp, PASSWORD, registerUser, type TestApp } from './helpers/test-app.ts';

const HOUR_MS = 3600_000;
const hoursEndingAt = (lastHourStartMs: number, count = 24) =>
  Array.from({ length: count }, (_, i) => new Date(lastHourStartMs - (count - 1 - i) * HOUR_MS).toISOString());

describe('lineChartSvg', () => {
  const hours = hoursEndingAt(Date.UTC(2026, 10, 28, 23));

  it('draws one polyline per series across the full width, scaled to a round maximum', () => {
    const logins = Array.from({ length: 24 }, (_, i) => (i === 23 ? 8 : 0));
    const svg = lineChartSvg(hours, [{ key: 'logins', label: 'Sign-ins', values: logins }], { title: 'Test', width: 300, height: 130 });
    expect(svg.startsWith('<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 130" role="img"')).toBe(true);
    const points = /class="series series-logins" fill="none" points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(points).toHaveLength(24);
    // Plot area: x 44..288, y 12..102; max 8 → step 2, top of the scale 8.
    expect(points[0]).toBe('44,102');
    expect(points[23]).toBe('288,12');
    expect(svg).toContain('>8</text>');
    expect(svg).toContain('>0</text>');
    expect(svg.match(/<line class="grid"/g)).toHaveLength(5);
  });

  it('labels every sixth hour and the last one, in UTC', () => {
    const svg = lineChartSvg(hours, [], { title: 'Test' });
    // x labels sit 8 px above the bottom of the default 240 px chart.
    const labels = [...svg.matchAll(/y="232" text-anchor="(?:middle|end)">([^<]+)</g)].map((m) => m[1]);
    expect(labels).toEqual(['00:00', '06:00', '12:00', '18:00', '23:00']);
  });

  it('keeps all-zero and missing values on the baseline without NaN', () => {
    const svg = lineChartSvg(hours, [{ key: 'a', label: 'A', values: [] }, { key: 'b', label: 'B', values: new Array(24).fill(0) }], { title: 'Empty' });
    expect(svg).not.toContain('NaN');
    expect(svg).toContain('Totals: A: 0, B: 0.');
  });

  it('escapes every text it writes', () => {
    const svg = lineChartSvg(hours, [{ key: 'x"><script>', label: '<b>bold</b>', values: [1] }], { title: '<img src=x onerror=alert(1)>' });
    expect(svg).not.toMatch(/<(script|img|b)[\s>]/);
    expect(svg).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });

  it('picks round grid steps', () => {
    expect([0, 1, 4, 5, 9, 40, 41, 999, 1234].map(niceStep)).toEqual([1, 1, 1, 2, 5, 10, 20, 500, 500]);
    expect(escapeXml(`&<>"'`)).toBe('&#38;&#60;&#62;&#34;&#39;');
  });
});

describe('formatRelativeTime (the table\'s times)', () => {
  const now = Date.parse('2026-12-02T10:46:00.000Z');
  const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();
  const MIN = 60_000;

  it('says how long ago or how long from now in whole minutes, hours or days, rounded down', () => {
    expect(viewHelpers.formatRelativeTime(at(-3 * MIN - 59_000), now)).toBe('3 min ago');
    expect(viewHelpers.formatRelativeTime(at(-59 * MIN), now)).toBe('59 min ago');
    expect(viewHelpers.formatRelativeTime(at(-60 * MIN), now)).toBe('1 h ago');
    expect(viewHelpers.formatRelativeTime(at(-25 * 60 * MIN), now)).toBe('1 d ago');
    expect(viewHelpers.formatRelativeTime(at(7 * 24 * 60 * MIN - 1), now)).toBe('in 6 d');
    expect(viewHelpers.formatRelativeTime(at(90 * MIN), now)).toBe('in 1 h');
  });

  it('under a minute is "just now" or "in < 1 min"; nothing or a broken date is a dash', () => {
    expect(viewHelpers.formatRelativeTime(at(0), now)).toBe('just now');
    expect(viewHelpers.formatRelativeTime(at(-59_999), now)).toBe('just now');
    expect(viewHelpers.formatRelativeTime(at(30_000), now)).toBe('in < 1 min');
    expect(viewHelpers.formatRelativeTime(null, now)).toBe('—');
    expect(viewHelpers.formatRelativeTime('not a date', now)).toBe('—');
  });
});

/** Just enough DOM for admin-live.js; setting innerHTML throws, so only text can get in. */
class FakeElement {
  parent: FakeElement | null = null;
  readonly children: Array<FakeElement | string> = [];
  className = '';
  title = '';
  dateTime = '';
  private ownText = '';
  constructor(readonly tagName: string) {}
  set innerHTML(_html: string) {
    throw new Error('admin-live.js set innerHTML');
  }
  set textContent(text: string) {
    this.ownText = text;
  }
  get textContent(): string {
    return this.ownText + this.children.map((child) => (typeof child === 'string' ? child : child.textContent)).join('');
  }
  append(...nodes: Array<FakeElement | string>) {
    for (const node of nodes) this.adopt(node, 'end');
  }
  prepend(node: FakeElement) {
    this.adopt(node, 'start');
  }
  get lastElementChild() {
    return this.children.at(-1) as FakeElement | undefined;
  }
  remove() {
    this.parent?.children.splice(this.parent.children.indexOf(this), 1);
  }
  private adopt(node: FakeElement | string, where: 'start' | 'end') {
    if (typeof node !== 'string') node.parent = this;
    if (where === 'start') this.children.unshift(node);
    else this.children.push(node);
  }
}

/** Runs the real admin-live.js against the fake DOM; `push(event)` delivers one SSE message. */
function runLivePanel() {
  const list = new FakeElement('ol');
  const status = new FakeElement('p');
  const listeners: Record<string, (message: { data: string }) => void> = {};
  class FakeEventSource {
    constructor(readonly url: string) {}
    addEventListener(type: string, listener: (message: { data: string }) => void) {
      listeners[type] = listener;
    }
  }
  const document = { getElementById: (id: string) => ({ 'live-events': list, 'live-status': status })[id] ?? null, createElement: (tag: string) => new FakeElement(tag) };
  runInNewContext(readFileSync(new URL('../src/web/public/admin-live.js', import.meta.url), 'utf8'), { document, window: { EventSource: FakeEventSource }, EventSource: FakeEventSource });
  return { list, push: (event: object) => listeners.session!({ data: JSON.stringify(event) }) };
}

describe('the live panel (admin-live.js)', () => {
  const userId = '00000000-0000-4000-8000-000000000001';

  it('names the account by its email, as text, with the user id on hover', () => {
    const { list, push } = runLivePanel();
    push({ type: 'created', at: '2026-12-02T10:46:05.000Z', userId, sessionId: 'A'.repeat(22), ip: '203.0.113.5', email: '<img src=x onerror=alert(1)>@example.test' });
    const item = list.children[0] as FakeElement;
    expect(item.textContent).toBe(`10:46:05 Session created <img src=x onerror=alert(1)>@example.test, session ${'A'.repeat(22)}, from 203.0.113.5`);
    const user = item.children.find((child): child is FakeElement => typeof child !== 'string' && child.className === 'live-user')!;
    expect(user.title).toBe(`user ${userId}`);
  });

  it('falls back to the user id, or "unknown account", when the event has no email; counts bulk revocations', () => {
    const { list, push } = runLivePanel();
    push({ type: 'revoked', at: '2026-12-02T10:46:05.000Z', userId, count: 3 });
    push({ type: 'login_failed', at: '2026-12-02T10:46:06.000Z', userId: null, ip: '203.0.113.5' });
    expect(list.children.map((child) => (child as FakeElement).textContent)).toEqual([
      '10:46:06 Failed sign-in unknown account, from 203.0.113.5',
      `10:46:05 Session revoked user ${userId}, 3 sessions`,
    ]);
  });
});

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

const renderView = (view: string, data: object) =>
  new Promise<string>((resolve, reject) => t.app.render(view, data, (err: Error | null, html?: string) => (err ? reject(err) : resolve(html ?? ''))));

/** A view exactly as the admin router's contract describes it. */
function sampleView() {
  const zeros = () => new Array<number>(24).fill(0);
  const logins = zeros();
  logins[23] = 12;
  return {
    summary: { activeSessions: 42, activeUsers: 17, sessionsCreatedLastHour: 5, sessionsRevokedLastHour: 2, loginFailuresLastHour: 3, rateLimitedLastHour: 1, newDeviceSignInsLastHour: 1, cacheHitRatio: 0.987, redisMemoryBytes: 3 * 1024 * 1024 },
    sessions: [
      {
        id: 'AAAAAAAAAAAAAAAAAAAAAA', userId: '00000000-0000-4000-8000-000000000001', email: 'evil"<script>@example.test', current: false,
        createdAt: '2026-11-28T10:00:00.000Z', lastSeenAt: '2026-11-28T10:30:00.000Z', expiresAt: '2026-11-29T10:30:00.000Z',
        ip: '203.0.113.9', userAgent: 'x', device: { type: 'desktop', browser: 'Firefox 120', os: 'Windows 10' },
      },
      {
        // The admin's own session (the router marks it by the session's handle).
        id: 'BBBBBBBBBBBBBBBBBBBBBB', userId: '00000000-0000-4000-8000-000000000002', email: 'admin@example.test', current: true,
        createdAt: '2026-11-28T10:31:00.000Z', lastSeenAt: '2026-11-28T10:32:00.000Z', expiresAt: '2026-12-05T10:31:00.000Z',
        ip: '203.0.113.10', userAgent: 'x', device: { type: 'desktop', browser: 'Chrome 131', os: 'macOS' },
      },
    ],
    nextCursor: 'MTc2NDMyNDAwMDAwMC5BQUFB',
    /** The app's clock when the page was made: relative times count from it. */
    now: Date.parse('2026-11-28T10:33:20.000Z'),
    filters: { email: 'evil"<script>@example.test', userId: '', limit: 50 },
    analytics: { hours: hoursEndingAt(Date.UTC(2026, 10, 28, 10)), series: { logins, loginFailures: zeros(), sessionsCreated: zeros(), sessionsRevoked: zeros(), rateLimited: zeros() } },
    csrfToken: 'sample-csrf-token',
    user: { id: '00000000-0000-4000-8000-000000000002', email: 'admin@example.test', name: null, role: 'admin' },
  };
}

describe('the admin/sessions template', () => {
  it('renders the summary cards, the chart, the filter form, paging, revoke forms and the live panel', async () => {
    const html = await renderView('admin/sessions', sampleView());
    expect(html).toContain('<title>Sessions dashboard · redis-session-auth</title>');
    for (const card of ['Active sessions</span> <span class="card-value">42', 'Active users</span> <span class="card-value">17', '98.7 %', '3.0 MiB', 'Failed sign-ins (last hour)</span> <span class="card-value">3', 'Rate-limited (last hour)</span> <span class="card-value">1']) {
      expect(html).toContain(card);
    }
    expect(html).toMatch(/<svg class="chart"[\s\S]*class="series series-logins"[\s\S]*<\/svg>/);
    expect(html).toContain('<span class="swatch swatch-loginFailures" aria-hidden="true"></span>Failed sign-ins');
    expect(html).toContain('<label for="filter-email">Email, or how it starts</label>');
    // A beginning ("bob") is not an address: type="email" would refuse it in the browser.
    expect(html).toMatch(/<input id="filter-email" name="email" type="text" inputmode="email" /);
    expect(html).toContain('value="evil&quot;&lt;script&gt;@example.test"');
    expect(html).not.toContain('evil"<script>');
    expect(html).toContain('<option value="50" selected>50</option>');
    expect(html).toContain('Firefox 120 on Windows 10 (desktop)');
    expect(html).toContain('<form method="post" action="/admin/sessions/AAAAAAAAAAAAAAAAAAAAAA/revoke">');
    expect(html).toContain('<input type="hidden" name="_csrf" value="sample-csrf-token">');
    expect(html).toContain('href="/admin/sessions?email=evil%22%3Cscript%3E%40example.test&amp;limit=50&amp;cursor=MTc2NDMyNDAwMDAwMC5BQUFB"');
    expect(html).toContain('<ol id="live-events" class="live"></ol>');
    expect(html).toContain('<script type="module" src="/static/admin-live.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
  });

  it('shows times relative to the page\'s clock on one line, the exact UTC time on hover', async () => {
    const html = await renderView('admin/sessions', sampleView());
    expect(html).toContain('<td><time datetime="2026-11-28T10:00:00.000Z" title="2026-11-28 10:00 UTC">33 min ago</time></td>');
    expect(html).toContain('<td><time datetime="2026-11-28T10:30:00.000Z" title="2026-11-28 10:30 UTC">3 min ago</time></td>');
    expect(html).toContain('<td><time datetime="2026-11-29T10:30:00.000Z" title="2026-11-29 10:30 UTC">in 23 h</time></td>');
    expect(html).toContain('<td><time datetime="2026-12-05T10:31:00.000Z" title="2026-12-05 10:31 UTC">in 6 d</time></td>');
  });

  it('marks the admin\'s own session "This device", and only that one', async () => {
    const html = await renderView('admin/sessions', sampleView());
    expect(html.match(/This device/g)).toHaveLength(1);
    expect(html).toMatch(/<tr class="current">\s*<td><a href="[^"]+">admin@example.test<\/a><\/td>\s*<td>Chrome 131 on macOS \(desktop\) <strong class="badge">This device<\/strong><\/td>/);
    expect(html).toContain('aria-label="Revoke the session of admin@example.test on Chrome 131 on macOS (desktop) (this device: signs you out)"');
  });

  it('says so when no session matches, and has no next link on the last page', async () => {
    const html = await renderView('admin/sessions', { ...sampleView(), sessions: [], nextCursor: null });
    expect(html).toContain('No active sessions match.');
    expect(html).not.toContain('rel="next"');
  });
});

describe('GET /admin/sessions in a browser', () => {
  it('shows an admin the dashboard with live sessions and a working CSRF token', async () => {
    const { email, user } = await registerUser(t);
    await t.db.user.update({ where: { id: user.id }, data: { role: 'admin' } });
    const agent = await signInWithForm(t, email, PASSWORD);
    // Filtered: other test files sign in meanwhile, and the unfiltered first page is the newest 50.
    const res = await getPage(agent, `/admin/sessions?email=${encodeURIComponent(email)}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>Sessions dashboard');
    expect(res.text).toContain(email);
    expect(res.text).toContain('<a href="/admin/sessions">Admin</a>');
    // The page's token is the session's: the account page's forms carry the same one.
    expect(csrfTokenOf(res.text)).toBe(csrfTokenOf((await getPage(agent, '/account')).text));
    expect((await request(t.app).get('/admin/sessions').set('Accept', 'application/json')).status).toBe(401);
  });
});

describe('the dashboard\'s filter form and table', () => {
  it('a blank field in the form means "any", while the JSON API refuses an empty email', async () => {
    const { email, user } = await registerUser(t);
    await t.db.user.update({ where: { id: user.id }, data: { role: 'admin' } });
    const agent = await signInWithForm(t, email, PASSWORD);
    // What the form sends when only "Per page" is set.
    expect((await getPage(agent, '/admin/sessions?email=&userId=&limit=50')).status).toBe(200);
    const api = await agent.get('/admin/sessions?email=').set('Accept', 'application/json');
    expect(api.status).toBe(400);
    expect(api.body.error.details).toEqual({ email: 'must not be empty' });
  });

  it('filters by the beginning of an address and marks the admin\'s own session "This device"', async () => {
    const { email, user } = await registerUser(t);
    await t.db.user.update({ where: { id: user.id }, data: { role: 'admin' } });
    const agent = await signInWithForm(t, email, PASSWORD, 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0');
    await signInWithForm(t, email, PASSWORD); // the same admin on another browser
    const res = await getPage(agent, `/admin/sessions?email=${encodeURIComponent(email.slice(0, email.indexOf('@')))}`);
    expect(res.status).toBe(200);
    const rows = res.text.match(/<tr(?: class="current")?>\s*<td><a [\s\S]*?<\/tr>/g) ?? [];
    expect(rows).toHaveLength(3); // registration's session, this browser, the other one
    const current = rows.filter((row) => row.includes('This device'));
    expect(current).toHaveLength(1);
    expect(current[0]).toContain('<tr class="current">');
    expect(current[0]).toContain('Firefox 120 on Linux');
    expect(res.text).toMatch(/<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC">just now<\/time>/);
  });
});

describe('POST /admin/sessions/:id/revoke (the dashboard\'s revoke button)', () => {
  it('revokes the session with a valid CSRF token and goes back to the list; without one it changes nothing', async () => {
    const admin = await registerUser(t);
    await t.db.user.update({ where: { id: admin.user.id }, data: { role: 'admin' } });
    const agent = await signInWithForm(t, admin.email, PASSWORD);
    const victim = await registerUser(t);
    const handle = (await victim.agent.get('/api/auth/me')).body.session.id as string;

    const forged = await agent.post(`/admin/sessions/${handle}/revoke`).set('Accept', 'text/html').type('form').send({});
    expect(forged.status).toBe(403);
    expect((await victim.agent.get('/api/auth/me')).status).toBe(200);

    const res = await submitForm(agent, '/admin/sessions', `/admin/sessions/${handle}/revoke`, {});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/sessions');
    expect((await victim.agent.get('/api/auth/me')).status).toBe(401);
    expect(await t.db.session.findUnique({ where: { handle } })).toBeNull();
  });
});
