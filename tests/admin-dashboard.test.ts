// The admin dashboard's HTML: the SVG chart function, the template with a sample view (the
// admin router's contract), and the page as an admin's browser gets it.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeXml, lineChartSvg, niceStep } from '../src/web/chart.ts';
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
    ],
    nextCursor: 'MTc2NDMyNDAwMDAwMC5BQUFB',
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
    expect(html).toContain('<label for="filter-email">Email</label>');
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
