// Server-rendered pages. app.ts wires them in this order:
//   configureViews(app) → createStaticRouter() → (session) → csrf.readCookies → createPageLocals(csrf)
//   → routes incl. createPageRouter() → the error handler with renderErrorPage for browsers.
// createCsrfProtection() is made once in app.ts; other routers with HTML forms (the admin
// dashboard) get its verifyCsrf in their deps, use it after formBody, and `it.csrf()` in their templates.
export { configureViews } from './views.ts';
export { createStaticRouter } from './static-files.ts';
export { createPageLocals } from './page-locals.ts';
export { createPageRouter, type PageDeps } from './page-routes.ts';
export { renderErrorPage } from './error-page.ts';
export { createCsrfProtection, CSRF_FIELD, type CsrfProtection } from './csrf.ts';
export { formBody } from './forms.ts';
