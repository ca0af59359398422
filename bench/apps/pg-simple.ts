// express-session + connect-pg-simple: what people pick instead of Redis.
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import pg from 'pg';
import { sessionApp } from './reference.ts';
import { requiredEnv, serve } from './serve.ts';

const POOL_SIZE = 10; // as the product's Prisma pool

const pool = new pg.Pool({ connectionString: requiredEnv('BENCH_DATABASE_URL'), max: POOL_SIZE });
const PgStore = connectPgSimple(session);
// No pruning timer: it would add transactions that are not the requests'.
const store = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
serve(sessionApp(store), async () => {
  store.close();
  await pool.end();
});
