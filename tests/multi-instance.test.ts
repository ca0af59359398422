// Three real server processes on one Redis and one PostgreSQL: sessions, revocations and
// rate limits are shared.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PASSWORD, uniqueEmail } from './helpers/test-app.ts';
import { childEnv } from './helpers/child-env.ts';
import { startServerProcess, type ServerProcess } from '../scripts/lib/server-process.ts';

let servers: ServerProcess[] = [];
beforeAll(async () => {
  const env = childEnv({
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}multi:`,
    SESSION_SECRET: 'shared-secret-of-every-instance-0123456789',
    RATE_LIMIT_MAX: '9',
  });
  servers = await Promise.all([startServerProcess(env), startServerProcess(env), startServerProcess(env)]);
}, 120_000);
afterAll(async () => {
  const codes = await Promise.all(servers.map((s) => s.stop()));
  expect(codes).toEqual([0, 0, 0]);
});

const cookieOf = (res: request.Response) => String(res.headers['set-cookie']?.[0] ?? '').split(';')[0]!;

describe('several instances', () => {
  it('a session created on one works on the others, and a revocation on one holds on all', async () => {
    const [one, two, three] = servers.map((s) => s.url) as [string, string, string];
    const email = uniqueEmail('multi');
    const registered = await request(one).post('/api/auth/register').send({ email, password: PASSWORD });
    expect(registered.status).toBe(201);
    const first = cookieOf(registered);
    const second = cookieOf(await request(two).post('/api/auth/login').send({ email, password: PASSWORD }));
    for (const url of [one, two, three]) {
      expect((await request(url).get('/api/auth/me').set('Cookie', first)).status).toBe(200);
      expect((await request(url).get('/api/auth/me').set('Cookie', second)).status).toBe(200);
    }
    expect((await request(three).get('/api/sessions').set('Cookie', first)).body.sessions).toHaveLength(2);

    expect((await request(three).post('/api/sessions/revoke-others').set('Cookie', first)).body).toEqual({ revoked: 1 });
    for (const url of [one, two, three]) {
      expect((await request(url).get('/api/auth/me').set('Cookie', second)).status).toBe(401);
      expect((await request(url).get('/api/auth/me').set('Cookie', first)).status).toBe(200);
    }
  });

  it('shares the per-IP rate limit: the 10th auth request across three instances is refused', async () => {
    // The first test used 2 of the 9; spread the rest across the instances.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await request(servers[i % 3]!.url).post('/api/auth/register').send({})).status);
    expect(statuses.slice(0, 7)).toEqual([400, 400, 400, 400, 400, 400, 400]);
    expect(statuses[7]).toBe(429);
  });
});
