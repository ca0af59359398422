import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { buildTestApp, loginAgent, PASSWORD, rawSessionId, registerUser, sessionCookie, sessionKeyOf, uniqueEmail, type TestApp } from './helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

const sessionKey = (cookie: string) => sessionKeyOf(t, cookie);
const sessionRow = (cookie: string) => t.db.session.findUnique({ where: { idHash: hashSessionId(rawSessionId(cookie)) } });
const events = (userId: string) => t.db.sessionEvent.findMany({ where: { userId }, orderBy: { id: 'asc' } });

describe('POST /api/auth/register', () => {
  it('creates the user, signs them in and stores the session in Redis and PostgreSQL', async () => {
    const email = uniqueEmail('Reg');
    const res = await request(t.app).post('/api/auth/register').send({ email: `  ${email.toUpperCase()} `, password: PASSWORD, name: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({ id: expect.any(String), email: email.toLowerCase(), name: 'Ada', role: 'user' });
    const cookie = res.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^sid=s%3A/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    const sid = sessionCookie(res);
    expect(await t.redis.exists(sessionKey(sid))).toBe(1);
    expect(await sessionRow(sid)).toMatchObject({ userId: res.body.user.id });
    const stored = await t.db.user.findUniqueOrThrow({ where: { id: res.body.user.id } });
    expect(stored.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await events(res.body.user.id)).map((e) => e.type)).toEqual(['registered', 'login']);
  });

  it('rejects a taken email, compared case-insensitively, with 409 email_taken', async () => {
    const { email } = await registerUser(t);
    const res = await request(t.app).post('/api/auth/register').send({ email: email.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: { code: 'email_taken', message: expect.any(String) } });
  });

  it.each([
    ['missing fields', {}, { email: 'is required', password: 'is required' }],
    ['a bad email', { email: 'not-an-email', password: PASSWORD }, { email: expect.stringMatching(/valid email/) }],
    ['a short password', { email: uniqueEmail(), password: 'short' }, { password: expect.stringMatching(/at least 8/) }],
    ['a 1025-character password', { email: uniqueEmail(), password: 'x'.repeat(1025) }, { password: expect.stringMatching(/at most 1024/) }],
    ['a 255-character email', { email: `${'a'.repeat(243)}@example.test`, password: PASSWORD }, { email: expect.stringMatching(/at most 254/) }],
    ['an operator object as email', { email: { $ne: null }, password: PASSWORD }, { email: 'must be a string' }],
    ['a look-alike (Cyrillic) email', { email: 'аdmin@example.test', password: PASSWORD }, { email: expect.stringMatching(/valid email/) }],
    ['a name with control characters', { email: uniqueEmail(), password: PASSWORD, name: 'a\u0000b' }, { name: expect.stringMatching(/control/) }],
  ])('rejects %s with 400 validation_failed and per-field details', async (_label, body, details) => {
    const res = await request(t.app).post('/api/auth/register').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual(details);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('accepts a 1024-character password', async () => {
    const res = await request(t.app).post('/api/auth/register').send({ email: uniqueEmail(), password: 'p'.repeat(1024) });
    expect(res.status).toBe(201);
  });
});

describe('POST /api/auth/login', () => {
  it('signs in under a new session id and revokes the one the browser held (no fixation)', async () => {
    const victim = await registerUser(t);
    const other = await registerUser(t);
    // The browser arrives holding a valid session cookie planted by someone else.
    const agent = request.agent(t.app);
    agent.jar.setCookie(other.cookie);
    const res = await agent.post('/api/auth/login').send({ email: victim.email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.user.email).toBe(victim.email);
    const fresh = sessionCookie(res);
    expect(rawSessionId(fresh)).not.toBe(rawSessionId(other.cookie));
    expect(await t.redis.exists(sessionKey(other.cookie))).toBe(0);
    expect(await sessionRow(other.cookie)).toBeNull();
    const me = await request(t.app).get('/api/auth/me').set('Cookie', other.cookie);
    expect(me.status).toBe(401);
    const mine = await request(t.app).get('/api/auth/me').set('Cookie', fresh);
    expect(mine.body.user.email).toBe(victim.email);
  });

  it('answers an unknown email and a wrong password with the same 401 body and records the failure', async () => {
    const { email, user } = await registerUser(t);
    const wrong = await request(t.app).post('/api/auth/login').send({ email, password: 'wrong password!' });
    const unknown = await request(t.app).post('/api/auth/login').send({ email: uniqueEmail('nobody'), password: 'wrong password!' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toEqual({ error: { code: 'invalid_credentials', message: expect.any(String) } });
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect((await events(user.id)).map((e) => e.type)).toContain('login_failed');
  });

  it('finds the account whatever the case and spacing of the email', async () => {
    const { email } = await registerUser(t);
    const res = await request(t.app).post('/api/auth/login').send({ email: ` ${email.toUpperCase()}`, password: PASSWORD });
    expect(res.status).toBe(200);
  });
});

describe('GET /api/auth/me', () => {
  it('returns the user and the session public handle, never the session id', async () => {
    const { agent, user, cookie } = await registerUser(t);
    const res = await agent.get('/api/auth/me');
    expect(res.status).toBe(200);
    expect(res.body.user).toEqual(user);
    expect(res.body.session).toEqual({ id: expect.stringMatching(/^[\w-]{22}$/), createdAt: expect.any(String), lastSeenAt: expect.any(String), expiresAt: expect.any(String), authenticatedAt: res.body.session.createdAt });
    expect(res.body.session.id).not.toBe(rawSessionId(cookie));
    expect(res.body.session.id).not.toBe(hashSessionId(rawSessionId(cookie)));
  });

  it('answers 401 unauthenticated without a session', async () => {
    const res = await request(t.app).get('/api/auth/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
  });

  it('answers 401 to a forged or garbage cookie', async () => {
    for (const cookie of ['sid=garbage', 'sid=s%3Aabc.forgedsignature', `sid=s%3A${'a'.repeat(32)}.${'b'.repeat(43)}`]) {
      const res = await request(t.app).get('/api/auth/me').set('Cookie', cookie);
      expect(res.status).toBe(401);
    }
  });
});

describe('POST /api/auth/logout', () => {
  it('removes the session from Redis and PostgreSQL and clears the cookie', async () => {
    const { agent, cookie, user } = await registerUser(t);
    const res = await agent.post('/api/auth/logout');
    expect(res.status).toBe(204);
    expect(res.headers['set-cookie']![0]).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/);
    expect(await t.redis.exists(sessionKey(cookie))).toBe(0);
    expect(await sessionRow(cookie)).toBeNull();
    expect(await t.redis.zCard(t.sessions.cache.keys.userIndex(user.id))).toBe(0);
    expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
    expect((await events(user.id)).at(-1)?.type).toBe('logout');
  });

  it('answers 401 when not signed in', async () => {
    expect((await request(t.app).post('/api/auth/logout')).status).toBe(401);
  });
});

describe('POST /api/auth/logout-all', () => {
  it('revokes every session of the user, this one included', async () => {
    const first = await registerUser(t);
    const second = await loginAgent(t, first.email);
    const res = await first.agent.post('/api/auth/logout-all');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });
    for (const cookie of [first.cookie, second.cookie]) {
      expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
      expect(await t.redis.exists(sessionKey(cookie))).toBe(0);
    }
    expect(await t.db.session.count({ where: { userId: first.user.id } })).toBe(0);
  });
});

describe('POST /api/auth/password', () => {
  it('refuses the current password as the new one: 400 on newPassword, nothing changed', async () => {
    const { agent, cookie, user } = await registerUser(t);
    const before = await t.db.user.findUniqueOrThrow({ where: { id: user.id } });
    const res = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: PASSWORD });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', details: { newPassword: 'must differ from the current password' } });
    expect(await t.db.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ passwordHash: before.passwordHash, credentialVersion: before.credentialVersion });
    expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(200);
  });

  it('changes the password, gives this session a new id and revokes every other session', async () => {
    const { agent, email, cookie, user } = await registerUser(t);
    const other = await loginAgent(t, email);
    const res = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a whole new password' });
    expect(res.status).toBe(200);
    expect(res.body.revoked).toBe(1);
    const renewed = sessionCookie(res);
    expect(rawSessionId(renewed)).not.toBe(rawSessionId(cookie));
    expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
    expect((await request(t.app).get('/api/auth/me').set('Cookie', other.cookie)).status).toBe(401);
    expect((await request(t.app).get('/api/auth/me').set('Cookie', renewed)).status).toBe(200);
    expect(await t.db.session.count({ where: { userId: user.id } })).toBe(1);
    expect((await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD })).status).toBe(401);
    expect((await request(t.app).post('/api/auth/login').send({ email, password: 'a whole new password' })).status).toBe(200);
    expect((await events(user.id)).map((e) => e.type)).toContain('password_changed');
  });

  it('rejects a wrong current password with 400 and changes nothing', async () => {
    const { agent, email } = await registerUser(t);
    const res = await agent.post('/api/auth/password').send({ currentPassword: 'not my password', newPassword: 'another password' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ currentPassword: 'is incorrect' });
    expect((await agent.get('/api/auth/me')).status).toBe(200);
    expect((await request(t.app).post('/api/auth/login').send({ email, password: PASSWORD })).status).toBe(200);
  });

  it('rejects a too-short new password with 400', async () => {
    const { agent } = await registerUser(t);
    const res = await agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'short' });
    expect(res.status).toBe(400);
    expect(res.body.error.details.newPassword).toMatch(/at least 8/);
  });

  it('answers 401 when not signed in', async () => {
    const res = await request(t.app).post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'another password' });
    expect(res.status).toBe(401);
  });
});
