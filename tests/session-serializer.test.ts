// The Redis value of a session: positional and without the cookie's shared settings, which
// come back from the settings on read; older and unusual values still round-trip.
import { Cookie, type SessionData } from 'express-session';
import { describe, expect, it } from 'vitest';
import { sessionCookieSettings } from '../src/sessions/session-cookie.ts';
import { createSessionSerializer, decodeSession } from '../src/sessions/session-serializer.ts';

const settings = sessionCookieSettings(true, 7 * 24 * 3600);
const serializer = createSessionSerializer(settings);
const auth = () => ({ user: { id: 'u1', email: 'a@example.test', name: null, role: 'user' as const }, handle: 'h'.repeat(22), createdAt: 1, lastSeenAt: 2, absoluteExpiresAt: 3, ip: null, userAgent: 'ua', authenticatedAt: 5, remember: false });
/** What older layouts read as: the password entered at creation, remembered. */
const olderAuth = () => ({ ...auth(), authenticatedAt: 1, remember: true });
/**
 * A new session's cookie, as express-session makes it — with its max age exactly the setting's:
 * Cookie computes it from the expiry it just set, a millisecond short when the clock ticks between.
 */
const cookie = () => Object.assign(new (Cookie as unknown as new (options: object) => Cookie)(settings), { originalMaxAge: settings.maxAge });
/** What express-session itself would store (JSON of the session object). */
const asStoredByExpressSession = (sess: object) => JSON.parse(JSON.stringify(sess));

describe('session serializer', () => {
  it('writes a signed-in session as a short array and reads back exactly what express-session had', () => {
    const sess = { cookie: cookie(), auth: auth(), csrfToken: 'tok' } as unknown as SessionData;
    const raw = serializer.stringify(sess);
    expect(JSON.parse(raw)).toEqual(['s3', (sess.cookie.expires as Date).getTime(), ['u1', 'a@example.test', null, 'user'], 'h'.repeat(22), 1, 2, 3, null, 'ua', 4, 0, { csrfToken: 'tok' }]);
    expect(serializer.parse(raw)).toEqual(asStoredByExpressSession(sess));
    expect(raw.length).toBeLessThan(JSON.stringify(sess).length / 2 + 20);
    expect(decodeSession(raw).auth).toEqual(auth());
  });

  it('reads the older s1 layout, which had a verifiedAt after the user agent', () => {
    const raw = JSON.stringify(['s1', null, ['u1', 'a@example.test', null, 'user'], 'h'.repeat(22), 1, 2, 3, null, 'ua', 4, { other: 1 }]);
    const sess = decodeSession(raw) as unknown as { auth: unknown; other: number };
    expect(sess.auth).toEqual(olderAuth());
    expect(sess.other).toBe(1);
  });

  it('reads the s2 layout (before re-authentication) as entered at creation and remembered', () => {
    const raw = JSON.stringify(['s2', 9, ['u1', 'a@example.test', null, 'user'], 'h'.repeat(22), 1, 2, 3, null, 'ua', { other: 1 }]);
    const sess = decodeSession(raw) as unknown as { auth: unknown; other: number };
    expect(sess.auth).toEqual(olderAuth());
    expect(sess.other).toBe(1);
  });

  it('gives an object-form session from before re-authentication the same defaults', () => {
    const { authenticatedAt: _a, remember: _r, ...old } = auth();
    expect(decodeSession(JSON.stringify({ cookie: {}, auth: old })).auth).toEqual(olderAuth());
  });

  it('keeps auth data with a field the layout does not know, as an object', () => {
    const sess = { cookie: cookie(), auth: { ...auth(), mfa: true } } as unknown as SessionData;
    const raw = serializer.stringify(sess);
    expect(JSON.parse(raw).auth.mfa).toBe(true);
    expect(raw).not.toContain('httpOnly');
    expect(serializer.parse(raw)).toEqual(asStoredByExpressSession(sess));
  });

  it('stores an anonymous session (a CSRF token) as an object without the shared cookie settings', () => {
    const sess = { cookie: cookie(), csrfToken: 'tok' } as unknown as SessionData;
    const raw = serializer.stringify(sess);
    expect(raw).not.toContain('httpOnly');
    expect(serializer.parse(raw)).toEqual(asStoredByExpressSession(sess));
  });

  it('reads values written in express-session\'s full form unchanged (their attributes win)', () => {
    const full = { cookie: { originalMaxAge: 5000, expires: null, secure: false, httpOnly: true, path: '/', sameSite: 'lax' }, auth: auth() };
    expect(serializer.parse(JSON.stringify(full))).toEqual(full);
  });

  it('keeps a browser-session cookie (no expiry) without one, and without a max age to give it one again', () => {
    const sess = { cookie: cookie(), auth: auth() } as unknown as SessionData;
    sess.cookie.expires = undefined;
    expect(serializer.parse(serializer.stringify(sess)).cookie).toMatchObject({ expires: null, originalMaxAge: null, httpOnly: true, secure: true, path: '/', sameSite: 'lax' });
  });
});
