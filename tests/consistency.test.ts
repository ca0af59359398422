import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency } from '../src/sessions/consistency.ts';
import { hashSessionId } from '../src/sessions/session-data.ts';
import { locateCookie, buildTestApp, loginAgent, rawSessionId, registerUser, type TestApp } from './helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

// Other test files share the database: check the rows of this file's users only.
const users: string[] = [];
const check = () => checkConsistency(t.redis, t.db, t.sessions.cache, { userIds: users });

describe('consistency check', () => {
  it('finds Redis and PostgreSQL in agreement after sign-ins, revocations and logouts', async () => {
    const a = await registerUser(t);
    const b = await loginAgent(t, a.email);
    const c = await registerUser(t);
    await c.agent.post('/api/auth/logout');
    await a.agent.post('/api/sessions/revoke-others');
    users.push(a.user.id, c.user.id);
    const report = await check();
    expect(report).toEqual({ liveRows: 1, indexedSessions: 1, users: 1, problems: [] });
  });

  it('reports an entry missing from Redis, a stray index member and a missing row', async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    const hashA = hashSessionId(rawSessionId(a.cookie));
    const hashB = hashSessionId(rawSessionId(b.cookie));
    users.push(a.user.id, b.user.id);
    await t.redis.unlink(t.sessions.cache.keys.session(locateCookie(a.cookie)));
    await t.db.session.delete({ where: { idHash: hashB } });
    const { problems } = await check();
    expect(problems).toEqual(
      expect.arrayContaining([
        `row ${hashA} (user ${a.user.id}) has no Redis entry`,
        `index of user ${b.user.id} holds ${hashB}, which has no live row`,
      ]),
    );
  });
});
