// A session can only be stored with a credential that is still current: sign-ins held in flight
// (at the password check, or inside their INSERT) while the password, the role or "revoke all"
// changes do not survive the change.
import pg from 'pg';
import request from 'supertest';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { setRole } from '../src/admin/roles.ts';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { countingHasher, type CountingHasher } from './helpers/counting-hasher.ts';
import { buildTestApp, loginAgent, PASSWORD, rawSessionId, registerUser, type TestApp } from './helpers/test-app.ts';
import { waitFor } from './helpers/tcp-proxy.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function app(hasher: CountingHasher): Promise<TestApp> {
  const built = await buildTestApp({ TRUST_PROXY: 'true', ACCOUNT_MAX_FAILURES: '100', CHALLENGE_AFTER_ACCOUNT_FAILURES: '0' }, { hasher });
  cleanups.push(() => built.close());
  return built;
}

const login = (t: TestApp, email: string, i: number) => request(t.app).post('/api/auth/login').set('X-Forwarded-For', `198.51.100.${i + 1}`).send({ email, password: PASSWORD });

/** The user's sessions as PostgreSQL and the Redis index hold them. */
async function storedSessions(t: TestApp, userId: string) {
  const rows = (await t.db.session.findMany({ where: { userId }, select: { idHash: true } })).map((row) => row.idHash).sort();
  const indexed = (await t.sessions.cache.indexedHashes(userId)).sort();
  return { rows, indexed };
}

type Change = (t: TestApp, user: Awaited<ReturnType<typeof registerUser>>) => Promise<string | null>;

/** Each change returns the session that continues after it (its hash), if any. */
const changes: Record<string, Change> = {
  'a password change': async (_t, user) => {
    const res = await user.agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
    expect(res.status).toBe(200);
    return hashSessionId(rawSessionId(res.headers['set-cookie']![0]!.split(';')[0]!));
  },
  'a role change': async (t, user) => {
    expect((await setRole(t.db, t.sessions.revoker, user.email, 'admin')).changed).toBe(true);
    return null;
  },
  '"sign out everywhere"': async (_t, user) => {
    expect((await user.agent.post('/api/auth/logout-all')).status).toBe(200);
    return null;
  },
};

describe('sign-ins racing a credential change', () => {
  for (const [name, change] of Object.entries(changes)) {
    it(`10 sign-ins whose password check began before ${name} all answer 401 and store nothing`, async () => {
      const hasher = countingHasher();
      const t = await app(hasher);
      const user = await registerUser(t);
      const stored = (await t.db.user.findUniqueOrThrow({ where: { id: user.user.id } })).passwordHash;
      hasher.hold((hash) => hash === stored, 10);
      let answered = 0;
      const logins = Array.from({ length: 10 }, (_, i) => login(t, user.email, i).then((res) => (answered++, res)));
      await waitFor(() => hasher.waiting() === 10);
      expect(answered).toBe(0);

      const continuing = await change(t, user);
      hasher.release();
      const responses = await Promise.all(logins);
      expect(responses.map((res) => res.status)).toEqual(Array(10).fill(401));
      for (const res of responses) expect(res.headers['set-cookie']).toBeUndefined();
      const expected = continuing ? [continuing] : [];
      expect(await storedSessions(t, user.user.id)).toEqual({ rows: expected, indexed: expected });
    });
  }
});

describe('a sign-in inside its INSERT while the password changes', () => {
  it('either commits first and is revoked by the change, or waits and stores nothing: its session never works afterwards', async () => {
    const hasher = countingHasher();
    const t = await app(hasher);
    const user = await registerUser(t);
    // A trigger holds this user's session INSERTs (after the credential version was read) until
    // the test lets go of an advisory lock: a real PostgreSQL wait, not a sleep.
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    cleanups.push(() => admin.end());
    const lockKey = Math.floor(Math.random() * 1_000_000_000);
    const fn = `rsa_test_hold_${lockKey}`;
    await admin.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."userId" = '${user.user.id}'::uuid THEN PERFORM pg_advisory_xact_lock_shared(${lockKey}); END IF; RETURN NEW; END $$`);
    await admin.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON "Session" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    cleanups.push(() => admin.query(`DROP TRIGGER IF EXISTS ${fn} ON "Session"; DROP FUNCTION IF EXISTS ${fn}()`));
    await admin.query('SELECT pg_advisory_lock($1)', [lockKey]);
    const waitingOnLock = async () => Number((await admin.query(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`, [lockKey])).rows[0].n);
    const updateWaiting = async () =>
      Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE "User" SET "credentialVersion"%'`)).rows[0].n);

    let signedIn: request.Response | undefined;
    const signingIn = login(t, user.email, 0).then((res) => (signedIn = res));
    await waitFor(async () => (await waitingOnLock()) === 1);
    let changed: request.Response | undefined;
    const changing = user.agent
      .post('/api/auth/password')
      .send({ currentPassword: PASSWORD, newPassword: 'a brand new password' })
      .then((res) => (changed = res));
    // The change either waits for the held sign-in (its share lock on the user row), or has
    // gone ahead and is now inserting its own new session (held by the trigger too).
    await waitFor(async () => changed !== undefined || (await updateWaiting()) === 1 || (await waitingOnLock()) === 2);
    await admin.query('SELECT pg_advisory_unlock($1)', [lockKey]);
    await Promise.all([signingIn, changing]);

    expect(changed!.status).toBe(200);
    if (signedIn!.status === 200) {
      const cookie = signedIn!.headers['set-cookie']![0]!.split(';')[0]!;
      expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
      expect(await t.db.session.count({ where: { idHash: hashSessionId(rawSessionId(cookie)) } })).toBe(0);
    } else {
      expect(signedIn!.status).toBe(401);
    }
    const continuing = hashSessionId(rawSessionId(changed!.headers['set-cookie']![0]!.split(';')[0]!));
    expect(await storedSessions(t, user.user.id)).toEqual({ rows: [continuing], indexed: [continuing] });
  });
});

describe('a password change racing another credential change', () => {
  it('a change whose current-password check began before "sign out everywhere" changes nothing and answers 401', async () => {
    const hasher = countingHasher();
    const t = await app(hasher);
    const user = await registerUser(t);
    const other = await request(t.app).post('/api/auth/login').set('X-Forwarded-For', '198.51.100.9').send({ email: user.email, password: PASSWORD });
    const otherCookie = other.headers['set-cookie']![0]!.split(';')[0]!;
    const stored = (await t.db.user.findUniqueOrThrow({ where: { id: user.user.id } })).passwordHash;
    hasher.hold((hash) => hash === stored, 1);
    const changing = user.agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'the attacker password' }).then((res) => res);
    await waitFor(() => hasher.waiting() === 1);
    expect((await request(t.app).post('/api/auth/logout-all').set('Cookie', otherCookie)).status).toBe(200);
    hasher.release();
    const changed = await changing;
    expect(changed.status).toBe(401);
    expect((await t.db.user.findUniqueOrThrow({ where: { id: user.user.id } })).passwordHash).toBe(stored);
    expect(await storedSessions(t, user.user.id)).toEqual({ rows: [], indexed: [] });
  });

  it('a sign-in with the new password while the change is on its way to Redis survives it (it is not taken for a stray)', async () => {
    let release = () => {};
    let arrived = () => {};
    const hold = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const t = await buildTestApp({}, { sessionHooks: { afterCredentialChange: () => (arrived(), hold) } });
    cleanups.push(() => t.close());
    const user = await registerUser(t);
    const changing = user.agent.post('/api/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new password' }).then((res) => res);
    await reached; // committed in PostgreSQL, not yet in Redis
    const fresh = await loginAgent(t, user.email, 'a brand new password');
    release();
    expect((await changing).status).toBe(200);
    expect((await fresh.agent.get('/api/auth/me')).status).toBe(200);
  });
});
