// The `route` label of a request: the full template of the route its method and path match
// (`/api/sessions/:id`), whoever answered — the handler, a router-level `use` before it (the
// sign-in check, the admin check, CSRF, the recent-password gate), or the error handler after
// it. Read from the app's route table rather than from req.route, which is set only once the
// route itself is reached and whose req.baseUrl is gone by the time an error is answered.
import { createRequire } from 'node:module';
import type { Express } from 'express';

const UNMATCHED = 'unmatched';

/** What router 2.3+ (Express 5) lists per registered path: a route's methods or a mounted router. */
interface RouteInfo {
  path: string | RegExp;
  methods: string[] | undefined;
  router: { listRoutes?: () => RouteInfo[] } | undefined;
}

type CompileTemplate = (template: string, options: { end: boolean; trailing: boolean; sensitive: boolean }) => { regexp: RegExp };

/**
 * path-to-regexp as Express's router itself loads it, so a template here matches exactly the
 * paths it matches there (it is router's dependency, not ours).
 */
function routerPathToRegexp(): CompileTemplate {
  const requireFromExpress = createRequire(import.meta.resolve('express'));
  const requireFromRouter = createRequire(requireFromExpress.resolve('router'));
  return (requireFromRouter('path-to-regexp') as { pathToRegexp: CompileTemplate }).pathToRegexp;
}

interface Route {
  template: string;
  /** Uppercase methods; `*` for `.all()`; HEAD is listed for GET routes by the router. */
  methods: ReadonlySet<string>;
  pattern: RegExp;
}

/** A mount's prefix: the router strips a trailing slash, and `/` adds nothing. */
function mountPrefix(prefix: string, path: string): string {
  return path === '/' ? prefix : prefix + path.replace(/\/+$/, '');
}

/** A route's full template, `/` for the root. */
function templateOf(prefix: string, path: string): string {
  return mountPrefix(prefix, path) || '/';
}

function listRoutes(router: RouteInfo['router'], where: string): RouteInfo[] {
  if (typeof router?.listRoutes !== 'function') {
    throw new Error(`Route labels need router.listRoutes() (router 2.3+, as Express 5.3 ships) for ${where}; update Express.`);
  }
  return router.listRoutes();
}

/** Every route's full template, in the order the router tries them. */
function flatten(router: RouteInfo['router'], prefix: string, compile: CompileTemplate, into: Route[]): Route[] {
  for (const entry of listRoutes(router, prefix || '/')) {
    if (entry.path instanceof RegExp) {
      throw new Error(`Route labels cannot name the RegExp route ${String(entry.path)} under "${prefix || '/'}": register it with a string template.`);
    }
    if (entry.router) {
      flatten(entry.router, mountPrefix(prefix, entry.path), compile, into);
      continue;
    }
    const template = templateOf(prefix, entry.path);
    // Router defaults (express.Router() and the app's): case-insensitive, trailing slash allowed.
    const { regexp } = compile(template, { end: true, trailing: true, sensitive: false });
    into.push({ template, methods: new Set(entry.methods), pattern: regexp });
  }
  return into;
}

export class RouteLabels {
  private readonly routes: Route[];
  /**
   * scan()'s answers for the templates' own strings, by method: a request for a literal route
   * (`GET /api/auth/me`, the hot path) is one Map lookup. Memoized answers, so always scan()'s,
   * shadowing included (an earlier `/:id` wins over a later literal, as in the router).
   */
  private readonly known = new Map<string, Map<string, string>>();

  constructor(app: Pick<Express, 'router'>) {
    this.routes = flatten(app.router as RouteInfo['router'], '', routerPathToRegexp(), []);
    for (const { template, methods } of this.routes) {
      for (const method of methods) {
        const byPath = this.known.get(method) ?? new Map<string, string>();
        this.known.set(method, byPath);
        if (!byPath.has(template)) byPath.set(template, this.scan(method, template));
      }
    }
  }

  /** The label for a request's method and path (the pathname, without the query). */
  of(method: string, path: string): string {
    return this.known.get(method)?.get(path) ?? this.scan(method, path);
  }

  private scan(method: string, path: string): string {
    for (const route of this.routes) {
      if ((route.methods.has(method) || route.methods.has('*')) && route.pattern.test(path)) return route.template;
    }
    return UNMATCHED;
  }
}
