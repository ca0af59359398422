// Static files for the pages: our CSS and JS (public/), and the ALTCHA widget served from
// node_modules: no CDN, and nothing inline, so helmet's CSP (script-src 'self') stays as is.
// Mounted before the session middleware: serving a file never reads a session.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type NextFunction, type Request, type Response } from 'express';

const PUBLIC_DIR = fileURLToPath(new URL('./public', import.meta.url));
/** The widget's CSP-friendly build: no inline styles or blob workers (see altcha's README, "CSP"). */
const ALTCHA_DIR = dirname(fileURLToPath(import.meta.resolve('altcha/external')));
const CACHE_MAX_AGE_MS = 3600_000;

const ALTCHA_FILES = new Map([
  ['altcha.js', join(ALTCHA_DIR, 'altcha.min.js')],
  ['altcha.css', join(ALTCHA_DIR, 'altcha.css')],
  // The proof-of-work runs in a worker per algorithm; the server's challenges use PBKDF2.
  ['pbkdf2-worker.js', join(ALTCHA_DIR, '..', 'workers', 'pbkdf2.js')],
]);

export function createStaticRouter(): Router {
  const router = Router();
  // Every response starts as no-store (http/security-headers.ts); these files may be cached,
  // and serve-static only sets its max-age when no Cache-Control is there yet.
  router.use('/static', function cacheableFiles(_req: Request, res: Response, next: NextFunction) {
    res.removeHeader('Cache-Control');
    next();
  });
  router.use('/static', express.static(PUBLIC_DIR, { index: false, maxAge: CACHE_MAX_AGE_MS }));
  router.get('/static/vendor/altcha/:file', function altchaFile(req: Request, res: Response, next: NextFunction) {
    const file = ALTCHA_FILES.get(String(req.params.file));
    if (!file) return next();
    res.sendFile(file, { maxAge: CACHE_MAX_AGE_MS }, (err) => err && next(err));
  });
  return router;
}
