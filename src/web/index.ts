// Server-rendered pages. app.ts wires them in this order:
//   configureViews(app) → createStaticRouter() → (session) → csrf.readCookies → createPageLocals(csrf)
//   → routes incl. createPageRouter() → the error handler with renderErrorPage for browsers.
// createCsrfProtection() is made once in app.ts; other routers with HTML forms (the admin
// dashboard) get its verifyCsrf in their deps, use it after formBody (http/form-body.ts), and
// `it.csrf()` in their templates.
export { configureViews } from './views.ts';
export { createStaticRouter } from './static-files.ts';
export { createPageLocals } from './page-locals.ts';
export { createPageRouter } from './page-routes.ts';
export { renderErrorPage } from './error-page.ts';
export { createCsrfProtection } from './csrf.ts';
