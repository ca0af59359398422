// The Prisma client, running on the pg driver adapter (no native query engine).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.ts';

export type Db = PrismaClient;
export { Prisma } from './generated/prisma/client.ts';

/** A dead database must fail a request in seconds, not hang it. */
const CONNECTION_TIMEOUT_MS = 3_000;

export function createDb(databaseUrl: string): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECTION_TIMEOUT_MS, max: 10 });
  return new PrismaClient({ adapter });
}
