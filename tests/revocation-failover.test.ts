// A revocation acknowledged by a primary that is then replaced by a replica that never had it,
// and a dataset rolled back under the same server. Real redis-server processes (primary P,
// replica R promoted), a switchable TCP proxy per instance, a real PostgreSQL row lock to order
// one statement against another. No mocks.
import { fileCleanups } from './helpers/cleanups.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { describe, expect, inject, it } from 'vitest';
import { createClient } from 'redis';
import { freePort } from '../scripts/lib/server-process.ts';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionHooks } from '../src/sessions/session-hooks.ts';
import { startRedisServer, type TestRedisServer } from './helpers/redis-server.ts';
import { waitFor } from './helpers/tcp-proxy.ts';
import { buildTestApp, locateCookie, loginAgent, registerUser, type TestApp } from './helpers/test-app.ts';

const { cleanups, app } = fileCleanups();

async function redisServer(): Promise<TestRedisServer> {
  const server = await startRedisServer(await freePort());
  cleanups.push(() => server.stop());
  return server;
}

async function admin(port: number) {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on('error', () => undefined);
  await client.connect();
  cleanups.push(() => client.close().catch(() => undefined));
  return client;
}

/** A TCP proxy whose target can be switched (what a Sentinel-aware client / DNS flip does). */
async function switchableProxy(targetPort: number) {
  let target: number | null = targetPort;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (target === null) return client.destroy();
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const proxy = {
    url: `redis://127.0.0.1:${port}`,
    /** Drops every connection; new ones go to `to` (null: refused). */
    switchTo(to: number | null) {
      target = to;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => (proxy.switchTo(null), server.close(() => resolve()))),
  };
  cleanups.push(() => proxy.close());
  return proxy;
}

const me = (t: TestApp, cookie: string) => request(t.app).get('/api/auth/me').set('Cookie', cookie);

async function replicate(replica: Awaited<ReturnType<typeof admin>>, primaryPort: number, key: string) {
  await replica.sendCommand(['REPLICAOF', '127.0.0.1', String(primaryPort)]);
  await waitFor(async () => /master_link_status:up/.test(await replica.info('replication')) && (await replica.exists(key)) === 1, 15_000);
  await replica.sendCommand(['REPLICAOF', 'NO', 'ONE']); // promoted: from here on it misses P's writes
}

describe('revocation across a Redis failover', () => {
  it('split brain: a revocation acknowledged by the old primary after another instance adopted the promoted replica is applied to the new one', async () => {
    const primary = await redisServer();
    const replica = await redisServer();
    const replicaAdmin = await admin(replica.port);
    const prefix = `${inject('redisKeyPrefix')}${randomBytes(3).toString('hex')}:`;
    const pa = await switchableProxy(primary.port);
    const pb = await switchableProxy(primary.port);
    const logLines: string[] = [];
    const a = await app({ REDIS_URL: pa.url, REDIS_KEY_PREFIX: prefix }, { logLines });
    const b = await app({ REDIS_URL: pb.url, REDIS_KEY_PREFIX: prefix });
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);
    const phone = await loginAgent(a, alice.email);
    const laptopKey = a.sessions.cache.keys.session(locateCookie(laptop.cookie));
    expect((await me(a, laptop.cookie)).status).toBe(200);

    await replicate(replicaAdmin, primary.port, laptopKey); // R has the laptop's entry and P's marker

    // Failover: A's connection already goes to the promoted replica; B's still reaches the old primary.
    const replicaRunId = /run_id:(\w+)/.exec(await replicaAdmin.info('server'))![1]!;
    pa.switchTo(replica.port);
    await waitFor(async () => a.sessions.outbox.redisTrusted && (await a.redis.info('server').catch(() => '')).includes(replicaRunId), 15_000); // A believes R

    // A revocation on R (the same user, so the same bucket): R's count moves on as P's will, so
    // only the generation can tell the two histories apart.
    expect((await phone.agent.post('/api/auth/logout')).status).toBe(204);
    // B revokes the laptop: the old primary acknowledges it, the outbox entry is marked applied.
    expect((await request(b.app).post('/api/sessions/revoke-others').set('Cookie', alice.cookie)).body).toEqual({ revoked: 1 });
    // The revoking request has answered. Now the old primary goes away and B moves to R too.
    await primary.kill();
    pb.switchTo(replica.port);
    const onReplica = async (t: TestApp) => t.sessions.outbox.redisTrusted && (await t.redis.info('server').catch(() => '')).includes(replicaRunId);
    await waitFor(() => onReplica(b), 15_000);
    await a.sessions.outbox.catchUp();
    await b.sessions.outbox.catchUp();

    // Guarantee 1: never authenticates again once the revoking request answered, on any instance.
    expect((await me(a, laptop.cookie)).status).toBe(401);
    expect((await me(b, laptop.cookie)).status).toBe(401);
  }, 60_000);

  it('no split brain: the revoking instance marks its entry applied while the other instance catches up on the promoted replica', async () => {
    const primary = await redisServer();
    const replica = await redisServer();
    const replicaAdmin = await admin(replica.port);
    const primaryAdmin = await admin(primary.port);
    const prefix = `${inject('redisKeyPrefix')}${randomBytes(3).toString('hex')}:`;
    const pa = await switchableProxy(primary.port);
    const pb = await switchableProxy(primary.port);
    const pgClient = async () => {
      const c = new pg.Client({ connectionString: inject('databaseUrl') });
      await c.connect();
      cleanups.push(() => c.end());
      return c;
    };
    const lockB = await pgClient(); // holds B's applied() (the row of B's fresh entry)
    const observer = await pgClient(); // outside any transaction: pg_stat_activity is snapshotted per transaction
    const waiting = async (sqlFragment: string) =>
      ((await observer.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%${sqlFragment}%`])).rowCount ?? 0) > 0;
    let locked = () => {};
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const bHooks: SessionHooks = {
      afterCredentialChange: async () => {
        await lockB.query('BEGIN');
        await lockB.query(`SELECT id FROM "RevocationOutbox" WHERE "keyPrefix" = $1 AND "appliedAt" IS NULL FOR UPDATE`, [prefix]);
        locked();
      },
    };
    const a = await app({ REDIS_URL: pa.url, REDIS_KEY_PREFIX: prefix });
    const b = await app({ REDIS_URL: pb.url, REDIS_KEY_PREFIX: prefix }, { sessionHooks: bHooks });
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);
    const laptopKey = a.sessions.cache.keys.session(locateCookie(laptop.cookie));
    const laptopTombstone = a.sessions.cache.keys.tombstone(locateCookie(laptop.cookie));
    expect((await me(a, laptop.cookie)).status).toBe(200);

    // One earlier revocation, applied and kept (its session has not expired yet).
    await a.db.revocationOutbox.create({ data: { keyPrefix: prefix, idHash: randomBytes(32).toString('base64url'), userId: randomUUID(), appliedAt: new Date(), keepUntil: new Date(Date.now() + 3600_000) } });
    await replicate(replicaAdmin, primary.port, laptopKey); // a replica that has the laptop's entry, not what follows
    const replicaRunId = /run_id:(\w+)/.exec(await replicaAdmin.info('server'))![1]!;

    // B revokes; the primary acknowledges the tombstone; B's applied() waits on the row lock.
    const revoking = request(b.app).post('/api/sessions/revoke-others').set('Cookie', alice.cookie).then((res) => res);
    await lockTaken;
    await waitFor(() => waiting('SET "appliedAt" = now()'));
    expect(await primaryAdmin.exists(laptopTombstone)).toBe(1);

    // The primary dies before replicating it; the replica is promoted; A reconnects to it and
    // catches up while B's applied() is still held (on the bucket row, then the entry's row).
    pb.switchTo(null);
    await primary.kill();
    pa.switchTo(replica.port);
    await waitFor(() => !a.sessions.outbox.redisTrusted, 15_000);
    await lockB.query('COMMIT');
    expect((await revoking).body).toEqual({ revoked: 1 }); // the revoking request has answered
    await waitFor(async () => a.sessions.outbox.redisTrusted && (await a.redis.info('server').catch(() => '')).includes(replicaRunId), 15_000);
    pb.switchTo(replica.port);
    await waitFor(async () => b.sessions.outbox.redisTrusted && (await b.redis.info('server').catch(() => '')).includes(replicaRunId), 15_000);

    expect((await me(a, laptop.cookie)).status).toBe(401);
    expect((await me(b, laptop.cookie)).status).toBe(401);
  }, 60_000);

  it('a backup restored into the running primary (same run_id, same connection): the revocation is applied again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rsa-review-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const primary = await startRedisServer(await freePort(), ['--dir', dir, '--dbfilename', 'primary.rdb']);
    cleanups.push(() => primary.stop());
    const adminP = createClient({ url: `redis://127.0.0.1:${primary.port}` });
    adminP.on('error', () => undefined);
    await adminP.connect();
    cleanups.push(() => adminP.close());
    const a = await buildTestApp({ REDIS_URL: `redis://127.0.0.1:${primary.port}` });
    cleanups.push(() => a.close());
    const alice = await registerUser(a);
    const laptop = await loginAgent(a, alice.email);
    const laptopKey = a.sessions.cache.keys.session(locateCookie(laptop.cookie));
    expect((await request(a.app).get('/api/auth/me').set('Cookie', laptop.cookie)).status).toBe(200);

    await adminP.sendCommand(['SAVE']); // the nightly backup: laptop entry + marker = this server's run_id
    await copyFile(join(dir, 'primary.rdb'), join(dir, 'backup.rdb'));
    expect((await alice.agent.post('/api/sessions/revoke-others')).body).toEqual({ revoked: 1 });
    expect(await adminP.exists(laptopKey)).toBe(0);

    // The operator restores the backup into the running primary by replicating from a server loaded with it.
    const backup = await startRedisServer(await freePort(), ['--dir', dir, '--dbfilename', 'backup.rdb']);
    cleanups.push(() => backup.stop());
    const runIdBefore = /run_id:(\w+)/.exec(await adminP.info('server'))![1];
    await adminP.sendCommand(['REPLICAOF', '127.0.0.1', String(backup.port)]);
    await waitFor(async () => /master_link_status:up/.test(await adminP.info('replication')), 20_000);
    await adminP.sendCommand(['REPLICAOF', 'NO', 'ONE']);
    const runIdAfter = /run_id:(\w+)/.exec(await adminP.info('server'))![1];

    expect(runIdAfter).toBe(runIdBefore); // the same server, its connection never broke: only the data went back
    expect(await adminP.exists(laptopKey)).toBe(1);
    expect(await a.sessions.outbox.catchUp()).toBe(true); // the next catch-up (the 2 s poll) sees the count went back
    expect((await request(a.app).get('/api/auth/me').set('Cookie', laptop.cookie)).status).toBe(401);
  }, 60_000);
});
