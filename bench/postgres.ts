// The benchmark's PostgreSQL side: a database per app on the shared server (created and dropped
// by this run only), and the transaction counters read from pg_stat_database.
import pg from 'pg';
import { LOCAL_POSTGRES_URL, withDatabase } from '../scripts/lib/run-services.ts';
import { dropDatabase, ensureDatabase } from '../src/migrations.ts';

/**
 * A backend that committed within the last second reports its counts only after going idle
 * for 10 s (PostgreSQL's PGSTAT_IDLE_INTERVAL); wait this long after load before reading.
 */
export const PG_STATS_SETTLE_MS = 11_000;

/** The server every benchmark database is made on: BENCH_DATABASE_URL (its database name is not used). */
export const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? LOCAL_POSTGRES_URL;

export { withDatabase as databaseUrl };

export async function createDatabases(urls: string[]): Promise<void> {
  for (const url of urls) {
    if (!(await ensureDatabase(url))) throw new Error(`database ${new URL(url).pathname.slice(1)} already exists; refusing to use it`);
  }
}

/**
 * Creates `targetUrl`'s database as a copy of an already migrated one: cheaper than running the
 * migrations again (PostgreSQL requires that nobody is connected to the template meanwhile).
 */
export async function cloneDatabase(templateUrl: string, targetUrl: string): Promise<void> {
  const name = (url: string) => pg.escapeIdentifier(decodeURIComponent(new URL(url).pathname.slice(1)));
  const admin = new pg.Client({ connectionString: withDatabase(targetUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name(targetUrl)} TEMPLATE ${name(templateUrl)}`);
  } finally {
    await admin.end();
  }
}

export async function dropDatabases(urls: string[]): Promise<void> {
  for (const url of urls) await dropDatabase(url).catch((err: Error) => console.error(`bench: could not drop ${new URL(url).pathname.slice(1)}: ${err.message}`));
}

/**
 * Reads committed + rolled-back transactions per database. Connected to the maintenance
 * database, so these reads are not counted in the databases they observe.
 */
export class TransactionCounter {
  private constructor(private readonly client: pg.Client) {}

  static async connect(baseUrl: string): Promise<TransactionCounter> {
    const client = new pg.Client({ connectionString: withDatabase(baseUrl, 'postgres') });
    await client.connect();
    return new TransactionCounter(client);
  }

  async read(databaseNames: string[]): Promise<Map<string, number>> {
    const { rows } = await this.client.query<{ datname: string; xacts: string }>(
      'SELECT datname, (xact_commit + xact_rollback)::text AS xacts FROM pg_stat_database WHERE datname = ANY($1::text[])',
      [databaseNames],
    );
    return new Map(rows.map((row) => [row.datname, Number(row.xacts)]));
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
