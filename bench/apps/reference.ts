// What the reference apps share: the same route and JSON as the product's GET /api/auth/me,
// over express-session configured as the product configures it, with a bench-only sign-in.
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import session, { type Store } from 'express-session';
import { newHandle, type SessionAuth } from '../../src/sessions/session-data.ts';

const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
const IDLE_TIMEOUT_MS = 24 * 3600 * 1000;
export const BENCH_SESSION_SECRET = 'bench-secret-that-is-long-enough-for-production';

/**
 * The mode as the product reads it (bench/settings.ts sets both for every app): in production,
 * the proxy's X-Forwarded-* are trusted as the product trusts them, and the cookie is the
 * product's `__Host-sid`, Secure (express-session then checks req.secure before setting it).
 */
const PRODUCTION = process.env.NODE_ENV === 'production';
const TRUST_PROXY = process.env.TRUST_PROXY ?? 'false';

/** Express 5 set up as the product sets itself up, minus the product's own features. */
export function referenceExpress(): Express {
  const app = express();
  app.set('trust proxy', TRUST_PROXY === 'false' ? false : TRUST_PROXY.split(','));
  return app;
}

/** The same session data the product keeps for a signed-in user. */
export function benchAuth(nowMs: number, userAgent: string | null): SessionAuth {
  return {
    user: { id: randomUUID(), email: 'bench-reference@example.test', name: null, role: 'user' },
    handle: newHandle(),
    createdAt: nowMs,
    lastSeenAt: nowMs,
    absoluteExpiresAt: nowMs + SESSION_TTL_MS,
    ip: '127.0.0.1',
    userAgent,
    authenticatedAt: nowMs,
    remember: true,
  };
}

/** The body the product answers GET /api/auth/me with. */
export function meBody(auth: SessionAuth) {
  return {
    user: auth.user,
    session: {
      id: auth.handle,
      createdAt: new Date(auth.createdAt).toISOString(),
      lastSeenAt: new Date(auth.lastSeenAt).toISOString(),
      expiresAt: new Date(Math.min(auth.absoluteExpiresAt, auth.lastSeenAt + IDLE_TIMEOUT_MS)).toISOString(),
      authenticatedAt: new Date(auth.authenticatedAt).toISOString(),
    },
  };
}

/** Express 5 + express-session over `store`, with POST /login (no password) and GET /api/auth/me. */
export function sessionApp(store: Store): Express {
  const app = referenceExpress();
  app.use(
    session({
      name: PRODUCTION ? '__Host-sid' : 'sid',
      secret: BENCH_SESSION_SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: PRODUCTION, path: '/', maxAge: SESSION_TTL_MS },
    }),
  );
  app.post('/login', function login(req, res, next) {
    req.session.regenerate((err: unknown) => {
      if (err) return next(err);
      req.session.auth = benchAuth(Date.now(), req.get('user-agent') ?? null);
      req.session.save((saveErr: unknown) => (saveErr ? next(saveErr) : res.status(204).end()));
    });
  });
  app.get('/api/auth/me', function me(req, res) {
    const auth = req.session.auth;
    if (!auth) {
      res.status(401).json({ error: { code: 'unauthenticated', message: 'Sign in first.' } });
      return;
    }
    res.json(meBody(auth));
  });
  return app;
}
