// What a test file starts (apps, servers, proxies, clients), undone in reverse order after
// its last test, whether the tests passed or not.
import { afterAll } from 'vitest';
import { buildTestApp, type TestApp, type TestAppOptions } from './test-app.ts';

export function fileCleanups() {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });
  /** An app of this file's, closed after its last test. */
  const app = async (env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> => {
    const built = await buildTestApp(env, options);
    cleanups.push(() => built.close());
    return built;
  };
  return { cleanups, app };
}
