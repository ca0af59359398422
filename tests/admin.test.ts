// The admin router: who may use it, what it reports, revocation, live events, metrics, CLI.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setRole } from '../src/admin/roles.ts';
import type { LiveEvent } from '../src/analytics/live-events.ts';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { buildTestApp, loginAgent, PASSWORD, rawSessionId, registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { proxyInFrontOfRedis } from './helpers/services.ts';
import { childEnv } from './helpers/child-env.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const apps: TestApp[] = [];
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});
async function newApp(env: Record<string, string> = {}) {
  const t = await buildTestApp(env);
  apps.push(t);
  return t;
}

/** Registers a user, makes them admin and signs them in again (the role change revoked their session). */
async function signedInAdmin(t: TestApp) {
  const admin = await registerUser(t);
  await setRole(t.db, t.sessions.revoker, admin.email, 'admin');
  const again = await loginAgent(t, admin.email);
  return { ...admin, agent: again.agent, cookie: again.cookie };
}

const json = (req: request.Test) => req.set('Accept', 'application/json');

describe('authorization', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await newApp();
  });

  it.each(['/admin/sessions', '/admin/analytics', '/admin/events', '/metrics'])('GET %s answers 401 signed out and 403 for a plain user', async (path) => {
    expect((await json(request(t.app).get(path))).status).toBe(401);
    const { agent } = await registerUser(t);
    const res = await json(agent.get(path));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
  });

  it('re-checks the role on every request: a demoted admin loses access at once', async () => {
    const admin = await signedInAdmin(t);
    expect((await json(admin.agent.get('/admin/sessions'))).status).toBe(200);
    // Even without the session rotation the CLI does, the next request is refused.
    await t.db.user.update({ where: { id: admin.user.id }, data: { role: 'user' } });
    expect((await json(admin.agent.get('/admin/sessions'))).status).toBe(403);
  });

  it('granting or revoking admin rotates the user\'s sessions', async () => {
    const { email, agent, user } = await registerUser(t);
    const change = await setRole(t.db, t.sessions.revoker, email, 'admin');
    expect(change).toMatchObject({ changed: true, revokedSessions: 1, role: 'admin' });
    expect((await agent.get('/api/auth/me')).status).toBe(401);
    const again = await loginAgent(t, email);
    expect((await again.agent.get('/api/auth/me')).body.user.role).toBe('admin');
    expect(await setRole(t.db, t.sessions.revoker, email, 'user')).toMatchObject({ changed: true, revokedSessions: 1 });
    expect((await again.agent.get('/api/auth/me')).status).toBe(401);
    const types = (await t.db.sessionEvent.findMany({ where: { userId: user.id } })).map((e) => e.type);
    expect(types.filter((type) => type === 'role_changed')).toHaveLength(2);
  });
});

describe('GET /admin/sessions', () => {
  it('reports a summary that matches a known set of sign-ins, failures and revocations', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t); // 2 sessions created, 1 revoked, 1 login
    const a = await registerUser(t); // +1 created
    const b = await registerUser(t, { userAgent: IPHONE }); // +1 created
    await loginAgent(t, a.email); // +1 created, +1 login
    for (let i = 0; i < 2; i++) await request(t.app).post('/api/auth/login').send({ email: a.email, password: 'wrong password' });
    await b.agent.post('/api/auth/logout'); // +1 revoked
    for (let i = 0; i < 3; i++) await a.agent.get('/api/auth/me'); // cache hits

    const res = await json(admin.agent.get('/admin/sessions'));
    expect(res.status).toBe(200);
    expect(res.body.summary).toMatchObject({
      activeSessions: 3, // admin, a ×2
      activeUsers: 2,
      sessionsCreatedLastHour: 5,
      sessionsRevokedLastHour: 2,
      loginsLastHour: 2,
      loginFailuresLastHour: 2,
      rateLimitedLastHour: 0,
      cacheHitRatio: 1,
    });
    expect(res.body.summary.redisMemoryBytes).toBeGreaterThan(0);
    expect(Object.keys(res.body)).toEqual(['summary', 'sessions', 'nextCursor']);
  });

  it('filters by userId and by email, and pages with disjoint, complete pages', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t);
    const user = await registerUser(t);
    for (let i = 0; i < 6; i++) await loginAgent(t, user.email);
    const expected = await t.db.session.findMany({ where: { userId: user.user.id }, select: { handle: true } });
    expect(expected).toHaveLength(7);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await json(admin.agent.get('/admin/sessions').query({ userId: user.user.id, limit: 3, ...(cursor ? { cursor } : {}) }));
      expect(res.status).toBe(200);
      expect(res.body.sessions.length).toBeLessThanOrEqual(3);
      for (const s of res.body.sessions) expect(s).toMatchObject({ userId: user.user.id, email: user.email });
      seen.push(...res.body.sessions.map((s: { id: string }) => s.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(expected.map((s) => s.handle).sort());

    const byEmail = await json(admin.agent.get('/admin/sessions').query({ email: user.email.toUpperCase(), limit: 500 }));
    expect(byEmail.body.sessions).toHaveLength(7);
    expect(byEmail.body.nextCursor).toBeNull();
  });

  it.each([
    [{ limit: '501' }, 'limit'],
    [{ limit: '0' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ userId: '../../etc' }, 'userId'],
    [{ email: 'no pe' }, 'email'],
    [{ email: '@example.test' }, 'email'],
    [{ email: 'bob@exa_mple' }, 'email'],
    [{ email: 'josé' }, 'email'],
  ])('answers 400 validation_failed for %o', async (query, field) => {
    const t = apps[0]!;
    const admin = await signedInAdmin(t);
    const res = await json(admin.agent.get('/admin/sessions').query(query));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(Object.keys(res.body.error.details)).toEqual([field]);
  });

  it('an empty or too long email filter is 400 with a message for `email`', async () => {
    const admin = await signedInAdmin(await newApp());
    const detail = async (email: string) => (await json(admin.agent.get('/admin/sessions').query({ email }))).body.error?.details;
    expect(await detail('')).toEqual({ email: 'must not be empty' });
    expect(await detail('   ')).toEqual({ email: 'must not be empty' });
    expect(await detail('a'.repeat(255))).toEqual({ email: 'must be at most 254 characters' });
  });
});

describe('GET /admin/sessions?email= (a whole address or its beginning)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await newApp();
  });
  /** A token no other test's email starts with, so each test sees only its own users. */
  const token = () => `p${randomBytes(5).toString('hex')}`;
  const emailsFor = async (agent: request.Agent, email: string) => {
    const res = await json(agent.get('/admin/sessions').query({ email, limit: 500 }));
    expect(res.status).toBe(200);
    return (res.body.sessions as Array<{ email: string }>).map((s) => s.email).sort();
  };

  it('a beginning finds every address that starts with it, in any case; a whole address finds only itself', async () => {
    const admin = await signedInAdmin(t);
    const bob = token();
    const [plain, dotted, longerDomain] = [`${bob}@example.test`, `${bob}.smith@example.test`, `${bob}@example.test.org`];
    for (const email of [plain, dotted, longerDomain, `x${bob}@example.test`]) await registerUser(t, { email });

    expect(await emailsFor(admin.agent, bob.toUpperCase())).toEqual([plain, longerDomain, dotted].sort());
    expect(await emailsFor(admin.agent, `${bob}@example`)).toEqual([plain, longerDomain].sort());
    expect(await emailsFor(admin.agent, `${bob}.`)).toEqual([dotted]);
    expect(await emailsFor(admin.agent, plain.toUpperCase())).toEqual([plain]);
    expect(await emailsFor(admin.agent, `${bob}-nobody`)).toEqual([]);
  });

  it('%, _ and \\ in the filter are matched as themselves, not as LIKE wildcards', async () => {
    const admin = await signedInAdmin(t);
    const p = token();
    const [underscore, percent, backslash] = [`${p}_1@example.test`, `${p}%2@example.test`, `${p}\\3@example.test`];
    for (const email of [underscore, percent, backslash, `${p}a1@example.test`, `${p}a%2@example.test`]) await registerUser(t, { email });

    expect(await emailsFor(admin.agent, `${p}_`)).toEqual([underscore]);
    expect(await emailsFor(admin.agent, `${p}%`)).toEqual([percent]);
    expect(await emailsFor(admin.agent, `${p}\\`)).toEqual([backslash]);
  });

  it('a beginning is served from the pattern index, whatever the database collation', async () => {
    // The statement Prisma sends for startsWith (`email::text LIKE $1`). With sequential scans
    // priced out, the plan shows whether any index can serve the prefix: the unique index
    // cannot (it orders by the collation, and only "C" itself is byte order).
    const plan = await t.db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      const rows = await tx.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>('EXPLAIN SELECT id FROM "User" WHERE email::text LIKE $1', 'bob%');
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('Index Scan using "User_email_idx" on "User"');
    expect(plan).toContain(`Index Cond: (((email)::text ~>=~ 'bob'::text) AND ((email)::text ~<~ 'boc'::text))`);
  });

  it('marks the asking admin\'s own session `current`, and no other', async () => {
    const admin = await signedInAdmin(t);
    await loginAgent(t, admin.email); // the admin on another device
    const own = (await admin.agent.get('/api/auth/me')).body.session.id as string;
    const res = await json(admin.agent.get('/admin/sessions').query({ email: admin.email }));
    expect(res.body.sessions).toHaveLength(2);
    expect(res.body.sessions.map((s: { id: string; current: boolean }) => [s.id === own, s.current])).toEqual(expect.arrayContaining([[true, true], [false, false]]));
  });
});

describe('live events name the account', () => {
  async function liveEvents(t: TestApp) {
    const events: LiveEvent[] = [];
    const live = t.activity.live.subscribe((event) => events.push(event));
    expect(await live.subscribed).toBe(true);
    return { events, unsubscribe: live.unsubscribe };
  }

  it('a failed sign-in carries the account\'s email; one for an email with no account carries none', async () => {
    const t = await newApp();
    const { events, unsubscribe } = await liveEvents(t);
    try {
      const { email, user } = await registerUser(t);
      await request(t.app).post('/api/auth/login').send({ email: email.toUpperCase(), password: 'wrong password' });
      // Typed into the email field, this may be someone's password: it is not broadcast.
      await request(t.app).post('/api/auth/login').send({ email: 'my-secret-password', password: 'wrong password' });
      await waitFor(() => events.filter((e) => e.type === 'login_failed').length === 2, 5000);
      expect(events.filter((e) => e.type === 'login_failed')).toEqual([
        { type: 'login_failed', at: expect.any(String), userId: user.id, ip: expect.any(String), email },
        { type: 'login_failed', at: expect.any(String), userId: null, ip: expect.any(String) },
      ]);
    } finally {
      unsubscribe();
    }
  });

  it('session events carry the email their publisher passes, one per user for several sessions', async () => {
    const t = await newApp();
    const { events, unsubscribe } = await liveEvents(t);
    try {
      const userId = randomUUID();
      const email = uniqueEmail('live');
      t.activity.sessionCreated({ userId, handle: 'A'.repeat(22), email }, '203.0.113.5');
      t.activity.newDeviceSignIn({ userId, handle: 'A'.repeat(22), email }, '203.0.113.5', 'Firefox on Linux');
      t.activity.sessionsRevoked([{ userId, handle: 'A'.repeat(22), email }, { userId, handle: 'B'.repeat(22), email }]);
      t.activity.sessionsExpired([{ userId, handle: 'C'.repeat(22) }]); // not known: no email key
      await waitFor(() => events.filter((e) => e.userId === userId).length === 4, 5000);
      expect(events.filter((e) => e.userId === userId)).toEqual([
        { type: 'created', at: expect.any(String), userId, sessionId: 'A'.repeat(22), ip: '203.0.113.5', email },
        { type: 'new_device', at: expect.any(String), userId, sessionId: 'A'.repeat(22), ip: '203.0.113.5', device: 'Firefox on Linux', email },
        { type: 'revoked', at: expect.any(String), userId, count: 2, email },
        { type: 'expired', at: expect.any(String), userId, sessionId: 'C'.repeat(22) },
      ]);
    } finally {
      unsubscribe();
    }
  });

  it('a locked account\'s refused attempt (rate_limited) carries the account\'s email too', async () => {
    const t = await newApp({ ACCOUNT_MAX_FAILURES: '1', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' });
    const { events, unsubscribe } = await liveEvents(t);
    try {
      const { email, user } = await registerUser(t);
      await request(t.app).post('/api/auth/login').send({ email, password: 'wrong password' }); // locks
      await waitFor(() => events.some((e) => e.type === 'rate_limited' && e.userId === user.id), 5000);
      expect(events.find((e) => e.type === 'rate_limited' && e.userId === user.id)).toMatchObject({ email });
    } finally {
      unsubscribe();
    }
  });

  it('real sign-ins and sign-outs name the account by its email: a sign-in, and a session signed out (its email read from the deleted row)', async () => {
    const t = await newApp();
    const { events, unsubscribe } = await liveEvents(t);
    try {
      const user = await registerUser(t);
      const handle = (await user.agent.get('/api/auth/me')).body.session.id as string;
      expect((await user.agent.post('/api/auth/logout')).status).toBe(204);
      await waitFor(() => events.some((e) => e.userId === user.user.id && e.type === 'revoked'), 5000);
      expect(events.filter((e) => e.userId === user.user.id)).toEqual([
        expect.objectContaining({ type: 'created', sessionId: handle, email: user.email }),
        expect.objectContaining({ type: 'revoked', sessionId: handle, email: user.email }),
      ]);
    } finally {
      unsubscribe();
    }
  });
});

describe('revocation', () => {
  it('DELETE /admin/sessions/:id removes the Redis entry, the index entry, its counts and the row, and records it', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t);
    const victim = await registerUser(t);
    const handle = (await victim.agent.get('/api/auth/me')).body.session.id;
    const hash = hashSessionId(rawSessionId(victim.cookie));
    expect(await t.sessions.cache.activeCounts(Date.now())).toEqual({ activeSessions: 2, activeUsers: 2 });

    expect((await admin.agent.delete(`/admin/sessions/${handle}`)).status).toBe(204);
    expect(await t.redis.exists(`${t.prefix}sess:${hash}`)).toBe(0);
    expect(await t.redis.zScore(t.sessions.cache.keys.userIndex(victim.user.id), hash)).toBeNull();
    expect(await t.sessions.cache.activeCounts(Date.now())).toEqual({ activeSessions: 1, activeUsers: 1 });
    expect(await t.db.session.findUnique({ where: { handle } })).toBeNull();
    expect(await t.db.sessionEvent.count({ where: { userId: victim.user.id, type: 'revoked', sessionHandle: handle } })).toBe(1);
    expect((await victim.agent.get('/api/auth/me')).status).toBe(401);
    expect((await admin.agent.delete(`/admin/sessions/${handle}`)).status).toBe(404);
  });

  it('POST /admin/users/:id/revoke-sessions revokes all of them and answers the count', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t);
    const victim = await registerUser(t);
    const other = await loginAgent(t, victim.email);
    const res = await admin.agent.post(`/admin/users/${victim.user.id}/revoke-sessions`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });
    for (const agent of [victim.agent, other.agent]) expect((await agent.get('/api/auth/me')).status).toBe(401);
    expect(await t.db.session.count({ where: { userId: victim.user.id } })).toBe(0);
    expect(await t.redis.exists(t.sessions.cache.keys.userIndex(victim.user.id))).toBe(0);
    expect((await admin.agent.get('/api/auth/me')).status).toBe(200);
    expect((await admin.agent.post('/admin/users/00000000-0000-4000-8000-000000000000/revoke-sessions')).status).toBe(404);
    expect((await admin.agent.post('/admin/users/not-a-uuid/revoke-sessions')).status).toBe(404);
  });

  it('GET /admin/users/:id/sessions lists that user\'s sessions', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t);
    const user = await registerUser(t);
    await loginAgent(t, user.email);
    const res = await admin.agent.get(`/admin/users/${user.user.id}/sessions`);
    expect(res.status).toBe(200);
    expect(res.body.sessions).toHaveLength(2);
  });
});

describe('GET /admin/analytics', () => {
  it('answers gauges and 24 hourly points per series, with devices of active sessions', async () => {
    const t = await newApp();
    const admin = await signedInAdmin(t);
    await registerUser(t, { userAgent: IPHONE });
    const res = await admin.agent.get('/admin/analytics');
    expect(res.status).toBe(200);
    expect(res.body.hours).toHaveLength(24);
    for (const name of ['logins', 'loginFailures', 'sessionsCreated', 'sessionsRevoked', 'sessionsExpired', 'rateLimited', 'cacheHits', 'cacheMisses', 'cacheHitRatio']) {
      expect(res.body.series[name]).toHaveLength(24);
    }
    expect(res.body.series.sessionsCreated.at(-1)).toBe(3);
    expect(res.body.series.logins.at(-1)).toBe(1);
    expect(res.body.gauges).toMatchObject({ activeSessions: 2, activeUsers: 2, redisMemoryBytes: expect.any(Number) });
    expect(res.body.gauges.activeSessionsByDevice.mobile).toBeGreaterThanOrEqual(1);
  });
});

describe('GET /admin/events', () => {
  /** Opens the stream on a real socket; `until(text)` reads until the stream's text contains it. */
  async function openStream(t: TestApp, cookie: string) {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/admin/events`, { headers: { Cookie: cookie }, signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    const until = async (wanted: string, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (!text.includes(wanted)) {
        const chunk = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()), null))]);
        if (chunk === null) throw new Error(`no "${wanted}" within ${timeoutMs} ms; got: ${text}`);
        if (chunk.done) throw new Error(`stream ended; got: ${text}`);
        text += Buffer.from(chunk.value).toString();
      }
      return text;
    };
    const close = async () => {
      controller.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
    return { res, until, close, abort: () => controller.abort() };
  }

  it('streams a session event caused by another app instance, and frees the listener when closed', async () => {
    const a = await newApp();
    const b = await newApp({ REDIS_KEY_PREFIX: a.prefix });
    const admin = await signedInAdmin(a);
    const stream = await openStream(a, admin.cookie);
    try {
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await stream.until(': connected'); // subscribed: events from every instance flow from here
      expect(a.activity.live.listenerCount).toBe(1);
      await request(b.app).post('/api/auth/register').send({ email: uniqueEmail('sse'), password: PASSWORD });
      const text = await stream.until('"type":"created"');
      expect(text).toMatch(/event: session\ndata: \{"type":"created","at":"[^"]+","userId":"[0-9a-f-]{36}","sessionId":"[\w-]{22}"/);
      stream.abort();
      await waitFor(() => a.activity.live.listenerCount === 0, 5000);
    } finally {
      await stream.close();
    }
  });

  it('opens at once while Redis is away, and delivers events once Redis answers', async () => {
    const proxy = await proxyInFrontOfRedis();
    try {
      const a = await newApp({ REDIS_URL: proxy.serviceUrl });
      const b = await newApp({ REDIS_KEY_PREFIX: a.prefix });
      const admin = await signedInAdmin(a);
      await proxy.cut();
      await waitFor(() => !a.redis.isReady);
      const stream = await openStream(a, admin.cookie);
      try {
        expect(stream.res.status).toBe(200); // headers did not wait for Redis
        await proxy.restore();
        await stream.until(': connected', 20_000);
        await request(b.app).post('/api/auth/register').send({ email: uniqueEmail('sse'), password: PASSWORD });
        await stream.until('"type":"created"');
      } finally {
        await stream.close();
      }
    } finally {
      await proxy.close();
    }
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with the request, session, login and rate-limit series', async () => {
    const t = await newApp({ METRICS_TOKEN: 'a-metrics-token-for-tests' });
    const admin = await signedInAdmin(t);
    await request(t.app).post('/api/auth/login').send({ email: admin.email, password: 'wrong password' });
    await admin.agent.get('/api/auth/me');
    const res = await admin.agent.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    for (const line of [
      /http_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/api\/auth\/me",status="200"\}/,
      /session_cache_lookups_total\{result="hit"\} [1-9]/,
      /sessions_created_total [1-9]/,
      /sessions_revoked_total [1-9]/,
      /login_failures_total 1/,
      /rate_limit_rejections_total 0/,
      /^redis_up 1$/m,
      /^postgres_up 1$/m,
    ]) {
      expect(res.text).toMatch(line);
    }
    const byToken = await request(t.app).get('/metrics').set('Authorization', 'Bearer a-metrics-token-for-tests');
    expect(byToken.status).toBe(200);
    expect((await request(t.app).get('/metrics').set('Authorization', 'Bearer wrong-token-wrong-token')).status).toBe(401);
  });
});

describe('no KEYS', () => {
  it('the admin and session paths never send KEYS to Redis', async () => {
    const keysCalls = async (t: TestApp) => Number(/cmdstat_keys:calls=(\d+)/.exec(await t.redis.info('commandstats'))?.[1] ?? 0);
    const t = await newApp();
    const before = await keysCalls(t);
    const admin = await signedInAdmin(t);
    const user = await registerUser(t);
    await json(admin.agent.get('/admin/sessions'));
    await admin.agent.get('/admin/analytics');
    await admin.agent.get(`/admin/users/${user.user.id}/sessions`);
    await admin.agent.post(`/admin/users/${user.user.id}/revoke-sessions`);
    await admin.agent.get('/api/sessions');
    await admin.agent.post('/api/sessions/revoke-others');
    await t.sessions.maintenance.sweepExpired();
    expect(await keysCalls(t)).toBe(before);
  });
});

describe('npm run admin', () => {
  const runCli = (args: string[], prefix: string) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], {
        env: childEnv({ PATH: process.env.PATH ?? '', DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix }),
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('exit', (code) => resolve({ code, out, err }));
    });

  it('grants and revokes admin for an existing user, and exits 1 for an unknown email', async () => {
    const t = await newApp();
    const { email, agent, user } = await registerUser(t);
    const granted = await runCli(['grant', email.toUpperCase()], t.prefix);
    expect(granted.code).toBe(0);
    expect(granted.out).toContain(`${email} is now an admin; 1 session(s) revoked`);
    expect((await t.db.user.findUniqueOrThrow({ where: { id: user.id } })).role).toBe('admin');
    expect((await agent.get('/api/auth/me')).status).toBe(401);
    const revoked = await runCli(['revoke', email], t.prefix);
    expect(revoked.code).toBe(0);
    expect((await t.db.user.findUniqueOrThrow({ where: { id: user.id } })).role).toBe('user');

    const unknown = await runCli(['grant', 'nobody-here@example.test'], t.prefix);
    expect(unknown.code).toBe(1);
    expect(unknown.err.trim()).toBe('admin: No user with the email nobody-here@example.test.');
    const usage = await runCli(['promote', email], t.prefix);
    expect(usage.code).toBe(1);
    expect(usage.err).toContain('usage: npm run admin -- grant <email> | revoke <email>');
  });
});
