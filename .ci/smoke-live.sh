#!/usr/bin/env bash
# Runs the smoke test against a live server, as `npm start` runs it: its own database and Redis
# key prefix, a free port on 127.0.0.1, plain HTTP (so not NODE_ENV=production, whose Secure
# cookie express-session only sets over HTTPS). Then stops it with SIGTERM and requires exit
# code 0. Removes its database and Redis keys at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

STARTUP_WAIT_TENTHS=600   # 60 s for the server to listen and report ready
STOP_WAIT_TENTHS=200      # 20 s for SIGTERM (the drain itself is bounded at 10 s)

run_id="smoke_$(date +%s)_$$"
database_url="postgresql://postgres@127.0.0.1:5432/rsa_ci_${run_id}"
key_prefix="rsa-ci-${run_id//_/-}:"
log="$(mktemp)"
server_pid=""

cleanup() {
  local code=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  if [[ $code -ne 0 ]]; then echo "ci: smoke failed; server log:"; tail -n 40 "$log"; fi
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"rsa_ci_${run_id}\" WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "${key_prefix}*" | xargs -r redis-cli -h 127.0.0.1 -p 6379 unlink >/dev/null || true
  rm -f "$log"
  exit $code
}
trap cleanup EXIT

echo "ci: smoke: migrating rsa_ci_${run_id}"
DATABASE_URL="$database_url" node dist/cli/migrate.js >"$log" 2>&1

env NODE_ENV=development SESSION_SECRET="ci-smoke-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  HOST=127.0.0.1 PORT=0 DATABASE_URL="$database_url" REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$key_prefix" \
  LOG_LEVEL=info node --enable-source-maps dist/server.js >"$log" 2>&1 &
server_pid=$!

port=""
for _ in $(seq 1 "$STARTUP_WAIT_TENTHS"); do
  port="$(sed -n 's/.*"port":\([0-9]*\).*"msg":"listening".*/\1/p' "$log" | head -n 1)"
  if [[ -n "$port" ]] && curl -sf --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { echo "ci: server exited before it was ready" >&2; exit 1; }
  port=""
  sleep 0.1
done
[[ -n "$port" ]] || { echo "ci: server not ready within $((STARTUP_WAIT_TENTHS / 10)) s" >&2; exit 1; }

npm run --silent smoke -- "http://127.0.0.1:$port"

kill -TERM "$server_pid"
for _ in $(seq 1 "$STOP_WAIT_TENTHS"); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then echo "ci: server still running $((STOP_WAIT_TENTHS / 10)) s after SIGTERM" >&2; exit 1; fi
code=0
wait "$server_pid" || code=$?
server_pid=""
[[ $code -eq 0 ]] || { echo "ci: server exited with $code after SIGTERM (expected 0)" >&2; exit 1; }
grep -q '"msg":"stopped"' "$log" || { echo "ci: server did not log \"stopped\"" >&2; exit 1; }
echo "ci: smoke: server stopped cleanly on SIGTERM (exit 0)"
