// Prisma CLI configuration. The CLI runs through the pg driver adapter and the JavaScript
// schema engine, so `migrate deploy` works where Prisma's native engines cannot be downloaded.
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';
import { DEFAULT_DATABASE_URL } from './src/db-url.ts';
import { loadEnvFile } from './src/env-file.ts';

loadEnvFile();

// The schema reads env("DATABASE_URL"); when it is unset the CLI cannot use this config,
// falls back to the native engine and tries to download it. Default it here instead.
process.env.DATABASE_URL ??= DEFAULT_DATABASE_URL;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
