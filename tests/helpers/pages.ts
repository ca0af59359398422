// Driving the HTML pages the way a browser does: GET a page, read its CSRF token, post the form.
import request from 'supertest';
import type { TestApp } from './test-app.ts';

export type Agent = ReturnType<typeof request.agent>;

/** The `_csrf` value of the first form on a page. */
export function csrfTokenOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field on the page');
  return match[1]!;
}

/** GETs a page as a browser asks for one. */
export function getPage(agent: Agent, path: string) {
  return agent.get(path).set('Accept', 'text/html,application/xhtml+xml');
}

/** GETs `pagePath`, then posts `fields` (plus the page's CSRF token) to `action`. */
export async function submitForm(agent: Agent, pagePath: string, action: string, fields: Record<string, string>, userAgent = 'vitest-browser') {
  const page = await getPage(agent, pagePath).set('User-Agent', userAgent);
  if (page.status !== 200) throw new Error(`GET ${pagePath} answered ${page.status}`);
  return agent.post(action).set('Accept', 'text/html').set('User-Agent', userAgent).type('form').send({ _csrf: csrfTokenOf(page.text), ...fields });
}

/** Signs in through the login form on a new agent (a new "browser"). */
export async function signInWithForm(t: TestApp, email: string, password: string, userAgent = 'vitest-browser') {
  const agent = request.agent(t.app);
  const res = await submitForm(agent, '/login', '/login', { email, password }, userAgent);
  if (res.status !== 303) throw new Error(`form sign-in answered ${res.status}`);
  return agent;
}

/** The text of the page's role="alert" box, tags removed. */
export function alertText(html: string): string | null {
  const match = /role="alert">([\s\S]*?)<\/div>/.exec(html);
  return match ? match[1]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() : null;
}
