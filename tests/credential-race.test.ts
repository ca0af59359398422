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

/**
 * A trigger that holds the `Session` row writes (`event`) matching `condition` inside
 * PostgreSQL until release(): a real wait on an advisory lock, not a sleep. waitingOnLock()
 * counts the writes held; waitingOnRow(pattern) the statements like `pattern` waiting for a
 * row lock (behind a held write).
 */
async function holdSessionWrites(event: 'INSERT' | 'UPDATE', condition: string) {
  const admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  cleanups.push(() => admin.end());
  const lockKey = Math.floor(Math.random() * 1_000_000_000);
  const fn = `rsa_test_hold_${lockKey}`;
  await admin.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF ${condition} THEN PERFORM pg_advisory_xact_lock_shared(${lockKey}); END IF; RETURN NEW; END $$`);
  await admin.query(`CREATE TRIGGER ${fn} BEFORE ${event} ON "Session" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
  cleanups.push(() => admin.query(`DROP TRIGGER IF EXISTS ${fn} ON "Session"; DROP FUNCTION IF EXISTS ${fn}()`));
  await admin.query('SELECT pg_advisory_lock($1)', [lockKey]);
  const count = async (sql: string, params: unknown[]) => Number((await admin.query(sql, params)).rows[0].n);
  return {
    waitingOnLock: () => count(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`, [lockKey]),
    waitingOnRow: (pattern: string) => count(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, [pattern]),
    release: () => admin.query('SELECT pg_advisory_unlock($1)', [lockKey]),
  };
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
    // This user's session INSERTs (after the credential version was read) wait inside PostgreSQL.
    const held = await holdSessionWrites('INSERT', `NEW."userId" = '${user.user.id}'::uuid`);
    const { waitingOnLock } = held;
    const updateWaiting = () => held.waitingOnRow('%UPDATE "User" SET "credentialVersion"%');

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
    await held.release();
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

describe('a re-authentication racing a password change of the same session', () => {
  it('a re-authentication whose password check began before the change does not move the session on: only the change\'s new session lives', async () => {
    let release = () => {};
    let arrived = () => {};
    const hold = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const hasher = countingHasher();
    const t = await buildTestApp({}, { hasher, sessionHooks: { afterCredentialChange: () => (arrived(), hold) } });
    cleanups.push(() => t.close());
    const user = await registerUser(t);
    const stored = (await t.db.user.findUniqueOrThrow({ where: { id: user.user.id } })).passwordHash;
    // The same session in two tabs: one re-authenticates, the other changes the password.
    hasher.hold((hash) => hash === stored, 1);
    const reauthenticating = request(t.app).post('/api/auth/reauthenticate').set('Cookie', user.cookie).send({ password: PASSWORD }).then((res) => res);
    await waitFor(() => hasher.waiting() === 1);
    const changing = request(t.app).post('/api/auth/password').set('Cookie', user.cookie).send({ currentPassword: PASSWORD, newPassword: 'a brand new password' }).then((res) => res);
    await reached; // the new password and version are committed; this session is still stored
    hasher.release();
    const reauthenticated = await reauthenticating;
    release();
    const changed = await changing;

    expect(changed.status).toBe(200);
    expect(reauthenticated.status).toBe(401);
    expect(reauthenticated.headers['set-cookie']).toBeUndefined();
    const continuing = hashSessionId(rawSessionId(changed.headers['set-cookie']![0]!.split(';')[0]!));
    expect(await storedSessions(t, user.user.id)).toEqual({ rows: [continuing], indexed: [continuing] });
  });
});

describe('a device signed out while it re-authenticates', () => {
  it('the revocation by handle waits for the move to the new id and ends the session under it', async () => {
    const t = await app(countingHasher());
    const user = await registerUser(t);
    const handle = (await user.agent.get('/api/auth/me')).body.session.id as string;
    const other = await loginAgent(t, user.email);
    // The move of this user's row to a new id (the re-authentication) waits inside its UPDATE,
    // holding the row's lock meanwhile.
    const held = await holdSessionWrites('UPDATE', `NEW."userId" = '${user.user.id}'::uuid AND NEW."idHash" <> OLD."idHash"`);
    const { waitingOnLock } = held;
    const deleteWaiting = () => held.waitingOnRow('%DELETE FROM "Session"%');

    const reauthenticating = user.agent.post('/api/auth/reauthenticate').send({ password: PASSWORD }).then((res) => res);
    await waitFor(async () => (await waitingOnLock()) === 1);
    const revoking = other.agent.delete(`/api/sessions/${handle}`).then((res) => res);
    await waitFor(async () => (await deleteWaiting()) === 1);
    await held.release();
    const [reauthenticated, revoked] = await Promise.all([reauthenticating, revoking]);

    expect(revoked.status).toBe(204);
    if (reauthenticated.status === 200) {
      const cookie = reauthenticated.headers['set-cookie']![0]!.split(';')[0]!;
      expect((await request(t.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
    } else {
      expect(reauthenticated.status).toBe(401);
    }
    expect((await request(t.app).get('/api/auth/me').set('Cookie', user.cookie)).status).toBe(401);
    expect(await t.db.session.count({ where: { handle } })).toBe(0);
    expect((await other.agent.get('/api/auth/me')).status).toBe(200);
  });
});
