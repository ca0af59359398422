// The files the local services keep under the data directory: the directory itself (private:
// a Redis append-only file holds session ids, which are bearer tokens), generated passwords,
// the pid file an earlier start may have left, and how to find a program on the PATH.
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const isRoot = () => process.getuid?.() === 0;

/**
 * Creates `dir` readable by this user only; as root, others may pass through it (PostgreSQL
 * then runs as the user `postgres` and must reach its own directory inside).
 */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, isRoot() ? 0o711 : 0o700);
}

/** The password kept in `file` (0600), made up the first time: nobody else on the machine knows it. */
export function localPassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * The pid in the first line of a pid file, when that process still runs and (where /proc
 * tells) is `program`: a stale file whose pid now belongs to something else does not count.
 */
export function runningPid(pidFile: string, program: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n', 1)[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync('/proc/self') && !(existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes(program))) return undefined;
  return pid;
}

/** The first directory above (and including) `path` that other users cannot pass through. */
export function closedToOthers(path: string): string | undefined {
  for (let dir = path; ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The first executable file called `name` in the directories of `path` (nothing is run). */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  return path
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
}
