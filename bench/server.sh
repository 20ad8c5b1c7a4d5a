#!/usr/bin/env bash
# Loopback load test of `tessera serve` on SQLite.
#
#   bash bench/server.sh            # full run (about 2 minutes)
#   DURATION=3 bash bench/server.sh # shorter
#
# Installs wrk (Debian) if missing, builds the release binary, and for RS256
# and ES256 access tokens: start-to-ready time, idle RSS, client_credentials
# at concurrency 1, 16 and 64, the password grant, introspection and JWKS,
# then peak RSS. The load
# generator is pinned to core 1 with taskset; the server is not pinned. Only
# 127.0.0.1 is ever contacted. The raw one-core signing rate of each
# algorithm is measured in the same run, for the RS256 ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-8}"
PORT="${PORT:-18787}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p tessera-server
cargo build --release -q -p tessera-jwt --example raw_sign_rate
BIN="$CARGO_TARGET_DIR/release/tessera"
RAW="$CARGO_TARGET_DIR/release/examples/raw_sign_rate"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# wrk prints requests/s and latency percentiles; this keeps what the table needs.
load() { # name concurrency lua-script
  local out
  out="$(taskset -c 1 wrk -t1 -c"$2" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$PORT" 2>&1)"
  local rps p50 p99 errors
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$ALG" "$1" "$2" "$rps" "$p50 / $p99" "${errors:-0}"
}

printf '| alg | endpoint | concurrency | requests/s | p50 / p99 | non-2xx |\n|---|---|---:|---:|---|---:|\n' > "$WORK/table"
: > "$WORK/facts"
for ALG in RS256 ES256; do
  DB="sqlite://$WORK/$ALG/tessera.db"
  # First start creates the database and keys; the timed start reuses them.
  TESSERA_TOKEN_ALG=$ALG "$BIN" serve --listen "127.0.0.1:$PORT" --database "$DB" >"$WORK/$ALG.first.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.02; done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true

  START_NS=$(date +%s%N)
  TESSERA_TOKEN_ALG=$ALG RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --database "$DB" >"$WORK/$ALG.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.002; done
  READY_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
  sleep 0.5
  IDLE=$(rss_kib "$SERVER_PID")

  CRED="$("$BIN" client create --database "$DB" --name bench --scope "read" --audience api)"
  ID="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$CRED")"
  SECRET="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$CRED")"
  AUTH="$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)"
  TOKEN="$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/token" \
           | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  cat > "$WORK/token.lua" <<LUA
wrk.method = "POST"
wrk.path = "/token"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $AUTH"
LUA
  cat > "$WORK/introspect.lua" <<LUA
wrk.method = "POST"
wrk.path = "/introspect"
wrk.body = "token=$TOKEN"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $AUTH"
LUA
  printf 'wrk.path = "/jwks"\n' > "$WORK/jwks.lua"
  # The password grant: argon2id (19 MiB, t=2) per login bounds it by design.
  # 16 users, one per connection: an account counts attempts in flight
  # against its lock (5), so one account's concurrent logins would be
  # refused by design, not measured.
  for u in $(seq 0 15); do
    echo "bench password 123" | "$BIN" user create --database "$DB" --username "bench$u" --password-stdin >/dev/null
  done
  PW_CRED="$("$BIN" client create --database "$DB" --name bench-app --grant-type password --audience api)"
  PW_ID="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$PW_CRED")"
  PW_SECRET="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$PW_CRED")"
  PW_AUTH="$(printf '%s:%s' "$PW_ID" "$PW_SECRET" | base64 -w0)"
  cat > "$WORK/password.lua" <<LUA
wrk.method = "POST"
wrk.path = "/token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $PW_AUTH"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, "grant_type=password&username=bench" .. (n % 16) .. "&password=bench+password+123")
end
LUA

  for C in 1 16 64; do load client_credentials "$C" "$WORK/token.lua" >> "$WORK/table"; done
  load introspection 64 "$WORK/introspect.lua" >> "$WORK/table"
  load jwks 64 "$WORK/jwks.lua" >> "$WORK/table"
  load password 16 "$WORK/password.lua" >> "$WORK/table"
  PEAK=$(hwm_kib "$SERVER_PID")
  RAW_RATE=$(taskset -c 1 "$RAW" "$ALG" 2)
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  printf -- '- %s: start to ready %s ms (existing database); idle RSS %s MiB; peak RSS %s MiB; raw one-core %s signatures/s (2 cores: %s)\n' \
    "$ALG" "$READY_MS" "$(( IDLE / 1024 ))" "$(( PEAK / 1024 ))" "$RAW_RATE" "$(( ${RAW_RATE%.*} * 2 ))" >> "$WORK/facts"
done

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs), wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}'), ${DURATION}s per run"
cat "$WORK/table"
echo
cat "$WORK/facts"
