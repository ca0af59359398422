// The session cookie's name and attributes: express-session sets them (session-middleware.ts),
// and every stored session carries them, so the serializer leaves them out of Redis and puts
// them back on read (session-serializer.ts).

/** `__Host-` makes browsers insist on Secure, Path=/ and no Domain: no subdomain can plant it. */
export function sessionCookieName(isProduction: boolean): string {
  return isProduction ? '__Host-sid' : 'sid';
}

export function cookieAttributes(isProduction: boolean) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: isProduction, path: '/' };
}

export type SessionCookieSettings = ReturnType<typeof cookieAttributes> & { maxAge: number };

/** The session cookie's settings, as express-session and the serializer take them. */
export function sessionCookieSettings(isProduction: boolean, ttlSeconds: number): SessionCookieSettings {
  return { ...cookieAttributes(isProduction), maxAge: ttlSeconds * 1000 };
}
