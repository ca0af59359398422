// The environment of a process a test starts (src/server.ts, a CLI): the settings the test gives
// it, and none from a `.env` in the working directory. Those processes read `.env` for every
// setting their environment lacks (src/env-file.ts), so a developer's `.env` (compose's
// REDIS_PASSWORD, say) would reach them: each name it sets is passed empty instead, which the
// config reads as unset. PATH, HOST, PORT and LOG_LEVEL are not blanked, so the defaults a spawner
// gives them (scripts/lib/server-process.ts) stand; a real variable beats `.env` anyway.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

const SET_BY_SPAWNERS = new Set(['PATH', 'HOST', 'PORT', 'LOG_LEVEL']);

export function childEnv(env: Record<string, string>, envFile = '.env'): Record<string, string> {
  const fromFile = existsSync(envFile) ? Object.keys(parseEnv(readFileSync(envFile, 'utf8'))) : [];
  const blanks = fromFile.filter((name) => !SET_BY_SPAWNERS.has(name)).map((name) => [name, '']);
  return { ...Object.fromEntries(blanks), ...env };
}
