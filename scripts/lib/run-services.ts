// Where the tests, load:test, lb:test and the benchmarks find PostgreSQL and Redis when nothing
// is configured: the servers on 127.0.0.1's default ports. load:test and lb:test read the
// TEST_DATABASE_URL and TEST_REDIS_URL that `npm test` reads (scripts/test-compose.sh sets them
// for a password-protected Compose setup). Each run gets a database of its own on that server,
// named by the caller, and a key prefix of its own in that Redis.
export const LOCAL_POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** The URL of database `name` on `serverUrl`'s server, credentials kept. */
export function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A URL for the database `name` on the configured PostgreSQL server. */
export function runDatabaseUrl(name: string): string {
  return withDatabase(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES_URL, name);
}

/** REDIS_URL is still read, as these scripts did before they shared the tests' settings. */
export function runRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? LOCAL_REDIS_URL;
}
