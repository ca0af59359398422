#!/usr/bin/env bash
# Smoke test of a running server: `npm run smoke -- [baseUrl]` (default http://localhost:3000).
# Plain bash + curl. Two cookie jars play two devices of one new user. Prints one line per step
# and exits 1 at the first failure; exit 0 means every step passed. A login that is asked for a
# proof of work (after repeated failed logins from this IP: on localhost, everyone's) is solved
# with scripts/challenge.ts and sent once more.
set -euo pipefail

BASE_URL="${1:-http://localhost:3000}"
BASE_URL="${BASE_URL%/}"
CURL_TIMEOUT_S=10
BODY_EXCERPT_BYTES=300
repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
solver=("$repo_dir/node_modules/.bin/tsx" "$repo_dir/scripts/challenge.ts" solve -)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jar_a="$work/device-a.jar"
jar_b="$work/device-b.jar"
body="$work/body"
headers="$work/headers"
login_headers="$work/login-headers"

email="smoke-$(date +%s)-$$-$RANDOM@example.test"
password="smoke password $RANDOM$RANDOM$RANDOM"
passed=0

ok() { printf 'ok    %-16s %s\n' "$1" "$2"; passed=$((passed + 1)); }
fail() {
  printf 'FAIL  %-16s %s\n' "$1" "$2"
  exit 1
}

# call METHOD PATH JAR [JSON]: sets $status; the body goes to $body, the headers to $headers.
call() {
  local method="$1" path="$2" jar="$3" data="${4-}"
  local args=(-sS -X "$method" -o "$body" -D "$headers" -w '%{http_code}' --max-time "$CURL_TIMEOUT_S" -H 'Accept: application/json')
  if [[ -n "$jar" ]]; then args+=(-b "$jar" -c "$jar"); fi
  if [[ -n "$data" ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$data"); fi
  : >"$body"
  status="$(curl "${args[@]}" "$BASE_URL$path" 2>"$work/curl-error")" || status="000"
}

# call_answering_challenge STEP METHOD PATH JAR JSON: call; when that answers 403
# challenge_required, solve the challenge in its body and send the same request once more with
# the solution as "altcha" (JSON must be an object).
call_answering_challenge() {
  local step="$1"
  shift
  call "$@"
  [[ "$status" == "403" ]] && grep -q '"challenge_required"' "$body" || return 0
  local altcha
  altcha="$("${solver[@]}" <"$body" 2>"$work/solver-error")" || fail "$step" "403 challenge_required, and the solver failed: $(tail -n 1 "$work/solver-error")"
  printf 'note  %-16s %s\n' "$step" "403 challenge_required: solved the proof of work, sending it again with altcha"
  call "$1" "$2" "$3" "${4%\}},\"altcha\":\"$altcha\"}"
}

# expect STEP STATUS: fails the step unless the last call answered STATUS.
expect() {
  if [[ "$status" == "$2" ]]; then return; fi
  local detail
  detail="$(head -c "$BODY_EXCERPT_BYTES" "$body" 2>/dev/null; cat "$work/curl-error" 2>/dev/null)"
  fail "$1" "expected HTTP $2 from $BASE_URL, got $status: ${detail//$'\n'/ }"
}

expect_body() {
  grep -q -- "$2" "$body" || fail "$1" "response lacks $2: $(head -c "$BODY_EXCERPT_BYTES" "$body")"
}

credentials="{\"email\":\"$email\",\"password\":\"$password\"}"

call GET /healthz ""
expect health "200"
call GET /readyz ""
expect health "200"
ok health "/healthz 200, /readyz 200 (Redis and PostgreSQL answer)"

call POST /api/auth/register "$jar_a" "$credentials"
expect register "201"
grep -q 'sid' "$jar_a" || fail register "no session cookie was set"
ok register "201, $email signed in on device A"

call GET /api/auth/me "$jar_a"
expect me "200"
expect_body me "\"email\":\"$email\""
ok me "200 on device A"

call_answering_challenge login POST /api/auth/login "$jar_b" "$credentials"
expect login "200"
cp "$headers" "$login_headers"
ok login "200, signed in on device B"

call GET /api/sessions "$jar_a"
expect sessions "200"
count="$(grep -o '"current":' "$body" | wc -l | tr -d ' ')"
[[ "$count" == "2" ]] || fail sessions "expected 2 sessions, got $count: $(head -c "$BODY_EXCERPT_BYTES" "$body")"
# The API writes each session as {"id":…,"current":…,…}: the other device is the one not current.
[[ "$(cat "$body")" =~ \"id\":\"([^\"]+)\",\"current\":false ]] || fail sessions "no session with current=false"
other_id="${BASH_REMATCH[1]}"
ok sessions "2 sessions listed on device A"

call DELETE "/api/sessions/$other_id" "$jar_a"
expect revoke "204"
ok revoke "204, device B's session revoked from device A"

call GET /api/auth/me "$jar_b"
expect revoked-me "401"
ok revoked-me "401 on device B"

call POST /api/auth/logout "$jar_a"
expect logout "204"
call GET /api/auth/me "$jar_a"
expect logout "401"
ok logout "204, then 401 on device A"

grep -qiE '^(x-)?ratelimit(-[a-z]+)?:' "$login_headers" || fail rate-limit "no RateLimit or X-RateLimit-* headers on the login response"
names="$(grep -ioE '^(x-)?ratelimit(-[a-z]+)?' "$login_headers" | paste -sd, -)"
ok rate-limit "login response carries $names"

echo "smoke: $passed steps passed against $BASE_URL"
