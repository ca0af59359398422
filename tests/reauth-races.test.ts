// Re-authentication moves a session to a new secret id under the same public handle, and a
// password change does the same: everything that names "this session" must name it by handle.
// Each race holds one request at a real step (a password check at the hasher's gate, the
// Redis index read of "sign out other devices") while the other request runs.
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { fileCleanups } from './helpers/cleanups.ts';
import { countingHasher } from './helpers/counting-hasher.ts';
import { getPage } from './helpers/pages.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { PASSWORD, registerUser, sessionCookie } from './helpers/test-app.ts';

const files = fileCleanups();

describe('"sign out other devices" racing a re-authentication of the same session (two tabs)', () => {
  it('keeps the session that just re-authenticated: it is kept by its handle, whichever id it has', async () => {
    const t = await files.app();
    const user = await registerUser(t);
    const other = await request.agent(t.app).post('/api/auth/login').send({ email: user.email, password: PASSWORD });
    expect(other.status).toBe(200);
    // Tab B's "sign out other devices" has loaded the session (old id H) and is in its first
    // step (the Redis index read) when tab A's re-authentication moves the session to N.
    const original = t.sessions.cache.indexedHashes.bind(t.sessions.cache);
    let held = false;
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    t.sessions.cache.indexedHashes = async (userId: string) => {
      held = true;
      await gate;
      return original(userId);
    };
    const tabB = request(t.app).post('/api/sessions/revoke-others').set('Cookie', user.cookie).then((r) => r);
    await waitFor(() => held);
    const tabA = await request(t.app).post('/api/auth/reauthenticate').set('Cookie', user.cookie).send({ password: PASSWORD });
    expect(tabA.status).toBe(200);
    const newCookie = sessionCookie(tabA);
    expect((await request(t.app).get('/api/auth/me').set('Cookie', newCookie)).status).toBe(200);
    release();
    const b = await tabB;
    expect(b.status).toBe(200);
    // Expected: the other device is gone, this device (now under N) stays signed in.
    const me = await request(t.app).get('/api/auth/me').set('Cookie', newCookie);
    expect({ revoked: b.body.revoked, meStatus: me.status }).toEqual({ revoked: 1, meStatus: 200 });
  });
});

describe('a re-authentication racing "sign out other devices" of the same session', () => {
  it('a re-authentication whose password check began before it still succeeds (the password did not change)', async () => {
    const hasher = countingHasher();
    const t = await files.app({}, { hasher });
    const user = await registerUser(t);
    const stored = (await t.db.user.findUniqueOrThrow({ where: { id: user.user.id } })).passwordHash;
    hasher.hold((hash) => hash === stored, 1);
    const reauth = request(t.app).post('/api/auth/reauthenticate').set('Cookie', user.cookie).send({ password: PASSWORD }).then((r) => r);
    await waitFor(() => hasher.waiting() === 1);
    expect((await request(t.app).post('/api/sessions/revoke-others').set('Cookie', user.cookie)).status).toBe(200);
    hasher.release();
    const res = await reauth;
    const me = await request(t.app).get('/api/auth/me').set('Cookie', user.cookie);
    expect({ reauth: res.status, stillSignedIn: me.status }).toEqual({ reauth: 200, stillSignedIn: 401 });
  });
});
describe('signing in over a session that is re-authenticating in another tab', () => {
  it('ends the previous session by its handle, under whichever id it has by then', async () => {
    const hasher = countingHasher();
    const t = await files.app({}, { hasher });
    const first = await registerUser(t);
    const second = await registerUser(t);
    const secondHash = (await t.db.user.findUniqueOrThrow({ where: { id: second.user.id } })).passwordHash;
    hasher.hold((hash) => hash === secondHash, 1);
    // Tab B: someone signs in as `second` in the browser that holds `first`'s cookie.
    const signingIn = request(t.app).post('/api/auth/login').set('Cookie', first.cookie).send({ email: second.email, password: PASSWORD }).then((r) => r);
    await waitFor(() => hasher.waiting() === 1);
    // Tab A: `first` re-authenticates in the same session meanwhile.
    const re = await request(t.app).post('/api/auth/reauthenticate').set('Cookie', first.cookie).send({ password: PASSWORD });
    expect(re.status).toBe(200);
    hasher.release();
    expect((await signingIn).status).toBe(200);
    const rows = await t.db.session.count({ where: { userId: first.user.id } });
    const me = await request(t.app).get('/api/auth/me').set('Cookie', sessionCookie(re));
    expect({ rows, status: me.status }).toEqual({ rows: 0, status: 401 });
  });
});

describe('a password change keeps the session\'s handle', () => {
  it('a new device that changes its password is not shown its own new-device notice', async () => {
    const t = await files.app();
    const owner = await registerUser(t, { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0' });
    const agent = request.agent(t.app);
    const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
    expect((await agent.post('/api/auth/login').set('User-Agent', ua).send({ email: owner.email, password: PASSWORD })).status).toBe(200);
    const before = await getPage(agent, '/account');
    expect(before.text).not.toContain('New sign-in from');
    const changed = await agent.post('/api/auth/password').set('User-Agent', ua).send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(changed.status).toBe(200);
    const after = await getPage(agent, '/account');
    // Expected: still none (this is the new device itself, still signed in).
    expect(after.text).not.toContain('New sign-in from');
  });
});

describe('a new device that changed its password', () => {
  it('is still offered to other devices as "Sign out that device" while it is live', async () => {
    const t = await files.app();
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
    const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
    const owner = await registerUser(t, { userAgent: firefox });
    const laptop = request.agent(t.app);
    expect((await laptop.post('/api/auth/login').set('User-Agent', chrome).send({ email: owner.email, password: PASSWORD })).status).toBe(200);
    expect((await laptop.post('/api/auth/password').set('User-Agent', chrome).send({ currentPassword: PASSWORD, newPassword: 'a brand new password' })).status).toBe(200);
    const phone = request.agent(t.app);
    expect((await phone.post('/api/auth/login').set('User-Agent', firefox).send({ email: owner.email, password: 'a brand new password' })).status).toBe(200);
    expect((await laptop.get('/api/auth/me')).status).toBe(200); // the laptop is signed in
    const page = await getPage(phone, '/account');
    expect(page.text).toContain('New sign-in from <strong>Chrome on Windows</strong>');
    expect(page.text, 'the notice must not claim a live device is signed out').not.toContain('That device is already signed out');
  });
});
