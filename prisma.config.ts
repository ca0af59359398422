// Prisma CLI configuration. The CLI runs through the pg driver adapter and the JavaScript
// schema engine, so `migrate deploy` works where Prisma's native engines cannot be downloaded.
//
// The CLI's adapter is 7.10 under an npm alias (package.json: prisma-cli-adapter-pg), while the
// application's client uses @prisma/adapter-pg 6.19.3, its own version line. The 6.19 adapter
// cannot serve the schema engine: describing the database fails with "Column type 'name' could
// not be deserialized" (https://github.com/prisma/orm/issues/27403); 7.10 maps that type.
// Only this file imports the alias.
import { PrismaPg } from 'prisma-cli-adapter-pg';
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
