// Server-rendered pages. app.ts wires them in this order:
//   configureViews(app) → createStaticRouter() → (session) → pageLocals → routes incl. createPageRouter()
//   → the error handler with renderErrorPage for browsers.
// Other routers with HTML forms (the admin dashboard) use formBody + verifyCsrf, and `it.csrf()`
// in their templates.
export { configureViews } from './views.ts';
export { createStaticRouter } from './static-files.ts';
export { pageLocals } from './page-locals.ts';
export { createPageRouter, type PageDeps } from './page-routes.ts';
export { renderErrorPage } from './error-page.ts';
export { csrfToken, verifyCsrf, CSRF_FIELD } from './csrf.ts';
export { formBody } from './forms.ts';
