#!/usr/bin/env bash
# The test suite against docker-compose.yml's Redis and PostgreSQL:
#   docker compose up -d redis postgres
#   bash scripts/test-compose.sh [vitest arguments, e.g. tests/auth.test.ts]
# REDIS_PASSWORD, POSTGRES_PASSWORD, REDIS_HOST_PORT and POSTGRES_HOST_PORT are read as compose
# reads them: from the environment, else from .env. The passwords go URL-encoded into
# TEST_REDIS_URL and TEST_DATABASE_URL, the URLs the tests use (tests/helpers/global-setup.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

urls="$(node --input-type=module -e '
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
const file = existsSync(".env") ? parseEnv(readFileSync(".env", "utf8")) : {};
const setting = (name) => process.env[name] || file[name] || "";
const missing = ["REDIS_PASSWORD", "POSTGRES_PASSWORD"].filter((name) => !setting(name));
if (missing.length > 0) {
  console.error(`test-compose: ${missing.join(" and ")} not set in .env or the environment (docker compose up needs them too)`);
  process.exit(1);
}
const password = (name) => encodeURIComponent(setting(name));
console.log(`redis://:${password("REDIS_PASSWORD")}@127.0.0.1:${setting("REDIS_HOST_PORT") || 6379}`);
console.log(`postgresql://postgres:${password("POSTGRES_PASSWORD")}@127.0.0.1:${setting("POSTGRES_HOST_PORT") || 5432}/postgres`);
')"
{ read -r TEST_REDIS_URL; read -r TEST_DATABASE_URL; } <<<"$urls"
export TEST_REDIS_URL TEST_DATABASE_URL
echo "test-compose: Redis at ${TEST_REDIS_URL##*@}, PostgreSQL at ${TEST_DATABASE_URL##*@} (passwords from the environment or .env)" >&2
exec npm test -- "$@"
