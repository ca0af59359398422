// Every server-rendered page (README: Pages) but the admin dashboard, which the admin router renders.
import { Router } from 'express';
import { createAccountPages, type AccountPageDeps } from './account-pages.ts';
import { createAuthPages } from './auth-pages.ts';
import { createDeviceNoticeRouter } from './device-notices.ts';
import { createReauthPages } from './reauth-pages.ts';

export type PageDeps = AccountPageDeps;

export function createPageRouter(deps: PageDeps): Router {
  const router = Router();
  router.use(createAuthPages(deps));
  router.use(createReauthPages(deps));
  router.use(createAccountPages(deps));
  router.use(createDeviceNoticeRouter(deps));
  return router;
}
