// Tests (and `npm run lb:test`) that need a program a bare machine (Node.js and redis-server
// only) lacks. Found: the test runs. Missing: one line on stderr naming what to install, and the test is skipped; but
// under CI (CI set to anything but "", "false" or "0") a missing program fails the test file.
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from '../../src/local-services/local-files.ts';

export interface Tool {
  /** The program's name, looked up on PATH as the tests spawn it. */
  name: string;
  /** How to install it, for the line that names it. */
  install: string;
}

export const TOOLS = {
  chromium: { name: 'chromium', install: 'apt-get install -y chromium (Debian; .ci/run does this)' },
  openssl: { name: 'openssl', install: 'apt-get install -y openssl (Debian/Ubuntu), brew install openssl (macOS)' },
  curl: { name: 'curl', install: 'apt-get install -y curl (Debian/Ubuntu), brew install curl (macOS)' },
  bash: { name: 'bash', install: 'apt-get install -y bash (Debian/Ubuntu), apk add bash (Alpine)' },
  haproxy: { name: 'haproxy', install: 'apt-get install -y haproxy (Debian/Ubuntu; .ci/run does this), brew install haproxy (macOS)' },
} as const satisfies Record<string, Tool>;

export { findOnPath };

/** Whether the environment says this is a CI run. */
export function underCi(value = process.env.CI): boolean {
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * The path of `tool` on PATH, for the test file `testFile` (its import.meta.url), or undefined
 * for `describe.skipIf(!found)` once one line on stderr has said what is skipped and what to
 * install. Under CI a missing tool throws instead. Call it once per tool, at the top of the file.
 */
export function toolOrSkip(testFile: string, tool: Tool, what = ''): string | undefined {
  const found = findOnPath(tool.name);
  if (found) return found;
  const file = relative(process.cwd(), testFile.startsWith('file:') ? fileURLToPath(testFile) : testFile);
  const skipped = what ? `${what} in ${file}` : file;
  if (underCi()) throw new Error(`${tool.name} not found on PATH, so ${skipped} cannot run, and CI=${process.env.CI} makes that a failure — install it: ${tool.install}`);
  process.stderr.write(`skipped ${skipped}: ${tool.name} not found — install it: ${tool.install}\n`);
  return undefined;
}
