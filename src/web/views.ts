// The view engine for the whole app: Eta templates in src/web/views, auto-escaped (`<%= %>`),
// compiled once. After configureViews(app), `res.render('account', data)` works in any router
// (the admin router renders 'admin/sessions').
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { Eta } from 'eta';
import { viewHelpers } from './view-helpers.ts';

export const VIEWS_DIR = fileURLToPath(new URL('./views', import.meta.url));

export interface ViewOptions {
  /** Keep compiled templates (off in development, so edited templates show on reload). */
  cache: boolean;
}

export function configureViews(app: Express, { cache }: ViewOptions = { cache: true }): void {
  const eta = new Eta({ views: VIEWS_DIR, cache, autoEscape: true });
  app.engine('eta', function renderEta(filePath: string, data: object, done: (err: unknown, html?: string) => void) {
    try {
      done(null, eta.render(relative(VIEWS_DIR, filePath), data));
    } catch (err) {
      done(err);
    }
  });
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'eta');
  Object.assign(app.locals, viewHelpers);
}
