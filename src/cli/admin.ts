// npm run admin -- grant <email>   make an existing user an admin
// npm run admin -- revoke <email>  make them a plain user again
// Either way the user's sessions are revoked (privilege change). Exit 1 on any problem.
import { email as emailSchema } from '../auth/auth-schemas.ts';
import { createApp } from '../app.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createDb } from '../db.ts';
import { loadEnvFile } from '../env-file.ts';
import { AppError } from '../http/errors.ts';
import { createLogger } from '../logger.ts';
import { setRole } from '../admin/roles.ts';
import { connectRedis, createRedisClient } from '../redis.ts';

const USAGE = 'usage: npm run admin -- grant <email> | revoke <email>';
const REDIS_CONNECT_TIMEOUT_MS = 10_000;

function fail(message: string): never {
  console.error(`admin: ${message}`);
  process.exit(1);
}

const [command, rawEmail, ...rest] = process.argv.slice(2);
if ((command !== 'grant' && command !== 'revoke') || !rawEmail || rest.length > 0) fail(USAGE);
const parsedEmail = emailSchema.safeParse(rawEmail);
if (!parsedEmail.success) fail(`"${rawEmail}" is not a valid email address`);

loadEnvFile();
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.problems.join('; '));
  throw err;
}
const logger = createLogger('warn');
const redis = createRedisClient(config, logger);
try {
  await connectRedis(redis, config.redis, REDIS_CONNECT_TIMEOUT_MS);
} catch (err) {
  fail((err as Error).message);
}
const db = createDb(config.databaseUrl);
const built = createApp({ config, redis, db, logger });
let exitCode = 0;
try {
  const change = await setRole(db, built.sessions.revoker, parsedEmail.data, command === 'grant' ? 'admin' : 'user');
  console.log(
    change.changed
      ? `${change.email} is now ${change.role === 'admin' ? 'an admin' : 'a plain user'}; ${change.revokedSessions} session(s) revoked`
      : `${change.email} is already ${change.role === 'admin' ? 'an admin' : 'a plain user'}; nothing changed`,
  );
} catch (err) {
  console.error(`admin: ${err instanceof AppError ? err.message : `failed: ${(err as Error).message}`}`);
  exitCode = 1;
} finally {
  await built.close();
  await redis.close().catch(() => undefined);
  await db.$disconnect().catch(() => undefined);
}
process.exit(exitCode);
