// The seed plan's design: connect-redis for the session, plus a PostgreSQL
// `UPDATE … last_accessed` awaited on every request that finds one.
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import pg from 'pg';
import { createClient } from 'redis';
import { sessionApp } from './reference.ts';
import { requiredEnv, serve } from './serve.ts';

type Callback = (err?: unknown, data?: any) => void;

const POOL_SIZE = 10; // as the product's Prisma pool

class SeedDesignStore extends RedisStore {
  constructor(
    client: unknown,
    prefix: string,
    private readonly pool: pg.Pool,
  ) {
    super({ client, prefix, disableTouch: true }); // lastAccessed replaces the TTL refresh
  }

  override async get(sid: string, cb?: Callback): Promise<any> {
    try {
      const sess = await super.get(sid);
      if (sess) await this.pool.query('UPDATE seed_session SET last_accessed = now() WHERE sid = $1', [sid]);
      cb?.(null, sess);
      return sess;
    } catch (err) {
      cb?.(err);
    }
  }

  override async set(sid: string, sess: SessionData, cb?: Callback): Promise<any> {
    try {
      await super.set(sid, sess);
      await this.pool.query('INSERT INTO seed_session (sid, last_accessed) VALUES ($1, now()) ON CONFLICT (sid) DO UPDATE SET last_accessed = now()', [sid]);
      cb?.(null);
    } catch (err) {
      cb?.(err);
    }
  }
}

const pool = new pg.Pool({ connectionString: requiredEnv('BENCH_DATABASE_URL'), max: POOL_SIZE });
await pool.query('CREATE TABLE IF NOT EXISTS seed_session (sid text PRIMARY KEY, last_accessed timestamptz NOT NULL)');
const client = createClient({ url: requiredEnv('BENCH_REDIS_URL') });
client.on('error', (err: Error) => console.error(`seed-design app: ${err.message}`));
await client.connect();
serve(sessionApp(new SeedDesignStore(client, `${requiredEnv('BENCH_KEY_PREFIX')}sess:`, pool)), async () => {
  await client.close();
  await pool.end();
});
