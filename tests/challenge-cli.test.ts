// `npm run challenge -- solve` and the smoke test against a server whose IP budget is tripped:
// the real app listens on a free port, CHALLENGE_AFTER_IP_FAILURES wrong logins from 127.0.0.1
// make every login from there need a proof of work, and the solver (a child process, as a
// curl user runs it) and scripts/smoke.sh have to answer it over real HTTP.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fileCleanups } from './helpers/cleanups.ts';
import { registerUser, uniqueEmail, type TestApp } from './helpers/test-app.ts';
import { TOOLS, toolOrSkip } from '../scripts/lib/tool.ts';

const IP_FAILURES = 3;
/** scripts/smoke.sh is bash and curl. */
const smokeTools = [toolOrSkip(import.meta.url, TOOLS.bash, 'the smoke test'), toolOrSkip(import.meta.url, TOOLS.curl, 'the smoke test')];
const { cleanups, app } = fileCleanups();

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(command: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

/** The solver as the README runs it. */
const npmSolve = (baseUrl: string) => run('npm', ['run', '--silent', 'challenge', '--', 'solve', baseUrl]);
/** The solver without npm in front (quicker), for the cases npm adds nothing to. */
const solve = (source: string, stdin?: string) => run(process.execPath, ['--import', 'tsx', 'scripts/challenge.ts', 'solve', source], stdin);

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A login over real HTTP from 127.0.0.1, as curl sends it. */
async function login(baseUrl: string, body: Record<string, string>) {
  const res = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; challenge?: unknown } }, cookie: res.headers.get('set-cookie') };
}

/** The app on a free port, after IP_FAILURES wrong logins (each for a new email) from 127.0.0.1. */
async function trippedServer(): Promise<{ t: TestApp; baseUrl: string }> {
  const t = await app({ CHALLENGE_AFTER_IP_FAILURES: String(IP_FAILURES) });
  const server = t.app.listen(0, '127.0.0.1');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const baseUrl = await listening(server);
  for (let i = 0; i < IP_FAILURES; i++) expect((await login(baseUrl, { email: uniqueEmail('wrong'), password: 'wrong password' })).status).toBe(401);
  return { t, baseUrl };
}

const expectChallenged = (res: Awaited<ReturnType<typeof login>>) =>
  expect({ status: res.status, code: res.body.error?.code, challenge: typeof res.body.error?.challenge }).toEqual({ status: 403, code: 'challenge_required', challenge: 'object' });

const sessionCount = (t: TestApp, userId: string) => t.db.session.count({ where: { userId } });

describe('npm run challenge -- solve', () => {
  it('from a tripped IP a login without altcha is 403 challenge_required; with the value solve <baseUrl> prints it is 200', async () => {
    const { t, baseUrl } = await trippedServer();
    const { email, password, user } = await registerUser(t);
    expectChallenged(await login(baseUrl, { email, password }));

    const solved = await npmSolve(baseUrl);
    expect(solved.code).toBe(0);
    expect(solved.out).toMatch(/^[A-Za-z0-9+/]+=*\n$/); // the value alone, on one line
    expect(solved.err).toContain('solved in');
    const res = await login(baseUrl, { email, password, altcha: solved.out.trim() });
    expect(res.status).toBe(200);
    expect(res.cookie).toMatch(/^sid=/);
    expect(await sessionCount(t, user.id)).toBe(2); // the registration's and this login's
  });

  it('solve - answers the challenge of a 403 body on stdin: its value makes the login 200', async () => {
    const { t, baseUrl } = await trippedServer();
    const { email, password } = await registerUser(t);
    const challenged = await login(baseUrl, { email, password });
    expectChallenged(challenged);

    const solved = await solve('-', JSON.stringify(challenged.body));
    expect(solved.code).toBe(0);
    expect((await login(baseUrl, { email, password, altcha: solved.out.trim() })).status).toBe(200);
  });

  it('against a port nothing listens on, exits 1 with one line naming the URL and prints nothing on stdout', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    const baseUrl = await listening(probe);
    await new Promise((resolve) => probe.close(resolve));

    const solved = await solve(baseUrl);
    expect(solved.code).toBe(1);
    expect(solved.out).toBe('');
    expect(solved.err).toBe(`challenge: could not reach ${baseUrl}/api/auth/challenge (ECONNREFUSED); is the server running there?\n`);
  });

  it('against a URL that answers no challenge (a 404), exits 1 naming the status and prints nothing on stdout', async () => {
    const { baseUrl } = await trippedServer();
    const solved = await solve(`${baseUrl}/not-here`);
    expect(solved.code).toBe(1);
    expect(solved.out).toBe('');
    expect(solved.err).toBe(`challenge: ${baseUrl}/not-here/api/auth/challenge answered HTTP 404, not a challenge; is this the sign-in service?\n`);
  });
});

describe.skipIf(!smokeTools.every(Boolean))('npm run smoke', () => {
  it('passes against a server whose IP is tripped, saying its login was challenged', { timeout: 60_000 }, async () => {
    const { baseUrl } = await trippedServer();
    const smoke = await run('bash', ['scripts/smoke.sh', baseUrl]);
    expect(smoke.err).toBe('');
    expect(smoke.out).toMatch(/^note +login +403 challenge_required: solved the proof of work/m);
    expect(smoke.out).toMatch(/^ok +login +200, signed in on device B$/m);
    expect(smoke.out).toContain(`smoke: 9 steps passed against ${baseUrl}`);
    expect(smoke.code).toBe(0);
  });
});
