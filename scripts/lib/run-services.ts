// Where load:test and lb:test find PostgreSQL and Redis: the TEST_DATABASE_URL and TEST_REDIS_URL
// that `npm test` reads (scripts/test-compose.sh sets them for a password-protected Compose
// setup), else the servers on 127.0.0.1's default ports. Each run gets a database of its own on
// that server, named here, and a key prefix of its own in that Redis.
const DEFAULT_POSTGRES = 'postgresql://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

/** A URL for the database `name` on the configured PostgreSQL server, credentials kept. */
export function runDatabaseUrl(name: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? DEFAULT_POSTGRES);
  url.pathname = `/${name}`;
  return url.toString();
}

/** REDIS_URL is still read, as these scripts did before they shared the tests' settings. */
export function runRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? DEFAULT_REDIS;
}
