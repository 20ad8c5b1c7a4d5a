#!/usr/bin/env bash
# One node against two nodes on the same PostgreSQL (issue 12, item 4):
# client_credentials, introspection and refresh-token rotation throughput,
# and the database transactions each request costs on those hot paths.
#
#   bash bench/many_nodes.sh          # DURATION=5 seconds per run by default
#
# Starts `tessera serve` (release build, ES256 so signing is cheap and the
# database shows) on a fresh database of the PostgreSQL at $PG (default
# postgres://postgres@127.0.0.1:5432), registers a client and a user with
# the CLI, then drives each endpoint with wrk: one node with 16 connections,
# then two nodes with 8 connections each at the same time (wrk pinned to core
# 1; the nodes and PostgreSQL share both cores). Transactions per request
# are pg_stat_database's xact_commit + xact_rollback delta over the requests
# wrk counted (read after PostgreSQL flushed its statistics). Only 127.0.0.1
# is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
DURATION="${DURATION:-5}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p tessera-server
  BIN="$CARGO_TARGET_DIR/release/tessera"
fi
NAME="tessera_bench_$$"
psql "$PG/postgres" -qAtc "CREATE DATABASE $NAME" >/dev/null
DB="$PG/$NAME"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export TESSERA_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA TESSERA_TOKEN_ALG=ES256 RUST_LOG=warn
for port in 18801 18802; do
  "$BIN" serve --listen "127.0.0.1:$port" --metrics-listen 127.0.0.1:0 --database "$DB" --issuer http://bench.test >"$WORK/$port.log" 2>&1 &
  PIDS+=($!)
done
for port in 18801 18802; do
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done
CREDS=$("$BIN" client create --database "$DB" --name bench --grant-type client_credentials \
  --grant-type password --grant-type refresh_token --scope read --audience api)
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$CREDS")
SECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$CREDS")
echo 'a long bench passphrase' | "$BIN" user create --database "$DB" --username ann --password-stdin >/dev/null
BASIC="Basic $(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)"
TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials http://127.0.0.1:18801/token \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$BASIC"
wrk.body = os.getenv("BODY")
EOF
# Refresh: one connection per wrk thread, each rotating its own family.
cat >"$WORK/refresh.lua" <<EOF
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local n = 0
function setup(thread) n = n + 1; thread:set("refresh", tokens[n]) end
function init() wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "$BASIC" end
function request() return wrk.format(nil, "/token", nil, "grant_type=refresh_token&refresh_token=" .. refresh) end
function response(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then refresh = t end
end
EOF

xacts() {
  psql "$DB" -qAtc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
}
# wrk's request count and rate from its output file.
requests() { awk '/requests in/ {print $1}' "$1"; }
rate() { awk '/Requests\/sec/ {printf "%d\n", $2}' "$1"; }
errors() { awk '/Non-2xx/ {print $5} END {print 0}' "$1" | head -1; }

run() { # label path body nodes
  local label=$1 path=$2 body=$3 nodes=$4
  sleep 11; local before; before=$(xacts)
  if [ "$nodes" = 1 ]; then
    BODY="$body" taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" -s "$WORK/post.lua" "http://127.0.0.1:18801$path" >"$WORK/a" 2>&1
    local total; total=$(requests "$WORK/a"); local rps; rps=$(rate "$WORK/a"); local bad; bad=$(errors "$WORK/a")
  else
    BODY="$body" taskset -c 1 wrk -t1 -c8 -d"${DURATION}s" -s "$WORK/post.lua" "http://127.0.0.1:18801$path" >"$WORK/a" 2>&1 &
    local first=$!
    BODY="$body" taskset -c 1 wrk -t1 -c8 -d"${DURATION}s" -s "$WORK/post.lua" "http://127.0.0.1:18802$path" >"$WORK/b" 2>&1
    wait "$first"
    local total=$(( $(requests "$WORK/a") + $(requests "$WORK/b") ))
    local rps; rps=$(python3 -c "print(round($(rate "$WORK/a") + $(rate "$WORK/b")))")
    local bad=$(( $(errors "$WORK/a") + $(errors "$WORK/b") ))
  fi
  sleep 11; local after; after=$(xacts)
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$nodes" "$rps" \
    "$(python3 -c "print(round(($after - $before) / $total, 2))")" "$bad"
}

refresh_run() { # nodes
  local nodes=$1
  : >"$WORK/tokens"
  for _ in 1 2 3 4 5 6 7 8; do
    curl -s -u "$ID:$SECRET" -d grant_type=password -d username=ann -d 'password=a long bench passphrase' \
      -d scope=read http://127.0.0.1:18801/token \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])' >>"$WORK/tokens"
  done
  sleep 11; local before; before=$(xacts)
  if [ "$nodes" = 1 ]; then
    TOKENS="$WORK/tokens" taskset -c 1 wrk -t8 -c8 -d"${DURATION}s" -s "$WORK/refresh.lua" http://127.0.0.1:18801/token >"$WORK/a" 2>&1
    local total; total=$(requests "$WORK/a"); local rps; rps=$(rate "$WORK/a"); local bad; bad=$(errors "$WORK/a")
  else
    head -4 "$WORK/tokens" >"$WORK/ta"; tail -4 "$WORK/tokens" >"$WORK/tb"
    TOKENS="$WORK/ta" taskset -c 1 wrk -t4 -c4 -d"${DURATION}s" -s "$WORK/refresh.lua" http://127.0.0.1:18801/token >"$WORK/a" 2>&1 &
    local first=$!
    TOKENS="$WORK/tb" taskset -c 1 wrk -t4 -c4 -d"${DURATION}s" -s "$WORK/refresh.lua" http://127.0.0.1:18802/token >"$WORK/b" 2>&1
    wait "$first"
    local total=$(( $(requests "$WORK/a") + $(requests "$WORK/b") ))
    local rps; rps=$(python3 -c "print(round($(rate "$WORK/a") + $(rate "$WORK/b")))")
    local bad=$(( $(errors "$WORK/a") + $(errors "$WORK/b") ))
  fi
  sleep 11; local after; after=$(xacts)
  printf '| refresh_token (rotation) | %s | %s | %s | %s |\n' "$nodes" "$rps" \
    "$(python3 -c "print(round(($after - $before) / $total, 2))")" "$bad"
}

echo "| endpoint | nodes | requests/s | database transactions per request | non-2xx |"
echo "|---|---:|---:|---:|---:|"
for nodes in 1 2; do
  run client_credentials /token grant_type=client_credentials "$nodes"
  run introspection /introspect "token=$TOKEN" "$nodes"
  refresh_run "$nodes"
done
