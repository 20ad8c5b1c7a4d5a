#!/usr/bin/env bash
# Cost that does not grow with the data (issue 22, item 3): the hot paths on
# an "empty" database against the same paths on one seeded with SCALE users,
# SCALE refresh tokens, SCALE consents and SCALE/10 clients, on SQLite and
# PostgreSQL; the query plan of every hot query; and how fast the prune job
# deletes a day's worth of expired rows.
#
#   bash bench/large_tables.sh                 # SCALE=1000000, DURATION=5
#   SCALE=20000 DURATION=2 bash bench/large_tables.sh
#   bash bench/large_tables.sh explain         # seed, then plans and pruning only
#   DATABASES=sqlite BIN=path/to/tessera bash bench/large_tables.sh
#
# For each database (DATABASES, default "sqlite postgres"): a fresh database
# whose schema `tessera serve` makes, then bench/large_tables/seed.py fills
# it. "empty" holds only the rows the benchmark uses (seed.py at SCALE=160:
# 160 users, 16 clients, 160 refresh tokens ...); "seeded" holds the same
# rows among SCALE of each (seed.py at SCALE): the measured users and
# clients are seeded ones (user1..user16; apps 1, 2 and 3), with one real
# argon2id hash (made by `tessera user create`) as every user's password.
# On the seeded database, before the server starts: the plans of
# queries.sql printed (bench/large_tables/explain.py), the prune statements
# timed (bench/large_tables/prune.py), then VACUUM ANALYZE on PostgreSQL.
# Then `tessera serve` (ES256, so signing
# is cheap and the database shows) and wrk, pinned to core 1 (the server
# and the database share both cores), DURATION seconds per path:
#
# - password: grant_type=password, 16 connections, users user1..user16
#   (argon2id bounds it by design);
# - refresh: grant_type=refresh_token, 8 connections, each rotating its own
#   family (started by a password grant of user1..user8);
# - authorize: GET /authorize of web app 3 with user1's SSO session (signed
#   in once on the login page, bench/large_tables/sign_in.py) and its seeded
#   consent: 8 connections, each 303 carries a fresh code, which the wrk
#   script keeps;
# - code: grant_type=authorization_code (PKCE) redeeming those codes, each
#   once, 8 connections, right after (a code lives 60 s, so DURATION must
#   stay under about 25 s);
# - introspection: POST /introspect of a live access token (JWT: signature,
#   then the batched revocation check) and of a live refresh token (a
#   lookup in refresh_tokens), 16 connections;
# - client_credentials: 16 connections, service client 2.
#
# Prints one markdown table (path | database | empty rps | seeded rps |
# seeded/empty | p99s | non-2xx), the seeding times, the pruning rates and
# the plans. PostgreSQL at $PG (default postgres://postgres@127.0.0.1:5432,
# databases tessera_large_empty and tessera_large_seeded, dropped and made
# again each run, dropped at the end). Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-bench}"
SCALE="${SCALE:-1000000}"
DURATION="${DURATION:-5}"
PORT="${PORT:-18791}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
DATABASES="${DATABASES:-sqlite postgres}"
EMPTY_SCALE=160
HERE="$PWD/bench/large_tables"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p tessera-server
  BIN="$CARGO_TARGET_DIR/release/tessera"
fi
WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  for size in empty seeded; do
    psql "$PG/postgres" -qAtXc "DROP DATABASE IF EXISTS tessera_large_$size" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
export TESSERA_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA TESSERA_TOKEN_ALG=ES256
BASE="http://127.0.0.1:$PORT"
PASSWORD="large tables bench password"
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ids() { python3 -c "import sys; sys.path.insert(0, '$HERE'); import seed; print(seed.$1($2))"; }

# One real argon2id hash, made by the CLI, for every seeded user.
"$BIN" user create --database "sqlite://$WORK/hash.db" --username hash --password-stdin <<<"$PASSWORD" >/dev/null
PW_HASH="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT secret FROM credentials WHERE kind = 'password'\").fetchone()[0])" "$WORK/hash.db")"

database_url() { # dialect size
  if [ "$1" = sqlite ]; then echo "sqlite://$WORK/$2.db"; else echo "$PG/tessera_large_$2"; fi
}
start_server() { # url
  RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --metrics-listen 127.0.0.1:0 --database "$1" \
    --issuer "$BASE" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do curl -sf "$BASE/readyz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1
}
# A fresh database with the schema, seeded at $3 rows.
prepare() { # dialect size scale
  local url; url="$(database_url "$1" "$2")"
  if [ "$1" = postgres ]; then
    psql "$PG/postgres" -qAtXc "DROP DATABASE IF EXISTS tessera_large_$2" >/dev/null
    psql "$PG/postgres" -qAtXc "CREATE DATABASE tessera_large_$2" >/dev/null
  else
    rm -f "$WORK/$2.db"*
  fi
  start_server "$url"; stop_server
  local target="$url"; [ "$1" = sqlite ] && target="$WORK/$2.db"
  local t0; t0=$(date +%s.%N)
  python3 "$HERE/seed.py" "$1" "$target" "$3" "$(date +%s)" "$PW_HASH" 2>"$WORK/seed.$1.$2.log"
  printf -- '- %s %s (SCALE=%s): seeded in %.0f s\n' "$1" "$2" "$3" "$(echo "$(date +%s.%N) - $t0" | bc)" >>"$WORK/facts"
}

# wrk's figures: requests/s, p99, non-2xx.
load() { # name connections threads lua url [env...]
  local name=$1 c=$2 t=$3 lua=$4 url=$5 out
  out="$(taskset -c 1 wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s "$lua" "$url" 2>&1)"
  echo "$out" >"$WORK/wrk.$name.$DIALECT.$SIZE"
  # Successful requests per second (a code redemption that ran out of
  # codes would otherwise count its quick refusals).
  local bad; bad="$(awk '/Non-2xx/ {n=$5} END {print n+0}' <<<"$out")"
  printf '%s %s %s\n' "$(awk -v bad="$bad" '/requests in/ {t=$4; sub(/s,$/, "", t); printf "%.0f", ($1 - bad) / t}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" "$bad" >"$WORK/r.$name.$DIALECT.$SIZE"
}

bench() {
  local C1 C2 C3 S1 S2 S3
  C1=$(ids cid 1); C2=$(ids cid 2); C3=$(ids cid 3)
  S1=$(ids client_secret 1); S2=$(ids client_secret 2); S3=$(ids client_secret 3)
  local B1 B2 B3
  B1="Basic $(printf '%s:%s' "$C1" "$S1" | base64 -w0)"
  B2="Basic $(printf '%s:%s' "$C2" "$S2" | base64 -w0)"
  B3="Basic $(printf '%s:%s' "$C3" "$S3" | base64 -w0)"
  cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTH")
wrk.body = os.getenv("BODY")
EOF
  cat >"$WORK/password.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$B1"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/token", nil, "grant_type=password&scope=read&username=user" .. (n % 16 + 1) .. "&password=large+tables+bench+password")
end
EOF
  cat >"$WORK/refresh.lua" <<EOF
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local n = 0
function setup(thread) n = n + 1; thread:set("refresh", tokens[n]) end
function init() wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "$B1" end
function request() return wrk.format(nil, "/token", nil, "grant_type=refresh_token&refresh_token=" .. refresh) end
function response(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then refresh = t end
end
EOF
  # PKCE (S256): one verifier for every code.
  local verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk challenge
  challenge="$(python3 -c "import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip('='))" "$verifier")"
  local redirect="https%3A%2F%2Fapp3.example%2Fcallback"
  local query="response_type=code&client_id=$C3&redirect_uri=$redirect&scope=openid+profile+email&state=s&nonce=n&code_challenge=$challenge&code_challenge_method=S256"
  cat >"$WORK/authorize.lua" <<EOF
local out
function init() out = io.open(os.getenv("CODES"), "a")
  wrk.headers["Cookie"] = os.getenv("COOKIE") end
function request() return wrk.format("GET", "/authorize?$query") end
function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  local code = location and location:match("[?&]code=([^&]+)")
  if code then out:write(code, "\n"); out:flush() end
end
EOF
  cat >"$WORK/code.lua" <<EOF
local codes = {}
for line in io.lines(os.getenv("CODES")) do codes[#codes + 1] = line end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$B3"
function request()
  n = n + 1
  return wrk.format(nil, "/token", nil, "grant_type=authorization_code&redirect_uri=$redirect&code_verifier=$verifier&code=" .. (codes[n] or "none"))
end
EOF
  local url; url="$(database_url "$DIALECT" "$SIZE")"
  start_server "$url"
  load password 16 1 "$WORK/password.lua" "$BASE"
  : >"$WORK/tokens"
  for u in 1 2 3 4 5 6 7 8; do
    curl -s -H "Authorization: $B1" -d grant_type=password -d "username=user$u" --data-urlencode "password=$PASSWORD" \
      -d scope=read "$BASE/token" | json refresh_token >>"$WORK/tokens"
  done
  TOKENS="$WORK/tokens" load refresh 8 8 "$WORK/refresh.lua" "$BASE"
  local cookie; cookie="$(python3 "$HERE/sign_in.py" "$BASE" "$query" user1 "$PASSWORD")"
  : >"$WORK/codes"
  CODES="$WORK/codes" COOKIE="$cookie" load authorize 8 1 "$WORK/authorize.lua" "$BASE"
  # More codes (not measured), so the redemption run does not run out.
  CODES="$WORK/codes" COOKIE="$cookie" DURATION=$((DURATION * 2)) load mint 8 1 "$WORK/authorize.lua" "$BASE"
  CODES="$WORK/codes" load code 8 1 "$WORK/code.lua" "$BASE"
  echo "$(wc -l <"$WORK/codes") codes minted, $(awk '/requests in/ {print $1}' "$WORK/wrk.code.$DIALECT.$SIZE") redeemed" \
    >"$WORK/codes.$DIALECT.$SIZE"
  local token rt
  token="$(curl -s -H "Authorization: $B2" -d grant_type=client_credentials "$BASE/token" | json access_token)"
  rt="$(curl -s -H "Authorization: $B1" -d grant_type=password -d username=user9 --data-urlencode "password=$PASSWORD" \
    -d scope=read "$BASE/token" | json refresh_token)"
  AUTH="$B2" BODY="token=$token" load introspect_access 16 1 "$WORK/post.lua" "$BASE/introspect"
  AUTH="$B1" BODY="token=$rt&token_type_hint=refresh_token" load introspect_refresh 16 1 "$WORK/post.lua" "$BASE/introspect"
  AUTH="$B2" BODY="grant_type=client_credentials" load client_credentials 16 1 "$WORK/post.lua" "$BASE/token"
  stop_server
}

: >"$WORK/facts"
: >"$WORK/plans"
: >"$WORK/prune"
for DIALECT in $DATABASES; do
  for SIZE in empty seeded; do
    if [ "$SIZE" = empty ]; then
      [ "$MODE" = explain ] && continue
      prepare "$DIALECT" empty "$EMPTY_SCALE"
    else
      prepare "$DIALECT" seeded "$SCALE"
      target="$(database_url "$DIALECT" seeded)"; [ "$DIALECT" = sqlite ] && target="$WORK/seeded.db"
      python3 "$HERE/explain.py" "$DIALECT" "$target" "$(date +%s)" >>"$WORK/plans"
      python3 "$HERE/prune.py" "$DIALECT" "$target" "$(date +%s)" | while read -r table rows batches secs rate slowest; do
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$DIALECT" "$table" "$rows" "$batches" "$secs" "$rate" "$slowest"
      done >>"$WORK/prune"
      # The prune's deletes leave dead rows; vacuum them now, or PostgreSQL's
      # autovacuum does it during the load runs (a first run measured
      # introspection 25 % slower for that reason alone).
      if [ "$DIALECT" = postgres ]; then psql "$target" -qAtXc "VACUUM ANALYZE" >/dev/null; fi
    fi
    [ "$MODE" = explain ] || bench
  done
done

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs); SCALE=$SCALE, ${DURATION}s per run, wrk on core 1"
echo
if [ "$MODE" != explain ]; then
  echo "| path | database | empty rps | seeded rps | seeded/empty | p99 empty / seeded | non-2xx empty / seeded |"
  echo "|---|---|---:|---:|---:|---|---|"
  for DIALECT in $DATABASES; do
    for name in password refresh authorize code introspect_access introspect_refresh client_credentials; do
      read -r e_rps e_p99 e_bad <"$WORK/r.$name.$DIALECT.empty"
      read -r s_rps s_p99 s_bad <"$WORK/r.$name.$DIALECT.seeded"
      printf '| %s | %s | %s | %s | %s | %s / %s | %s / %s |\n' "$name" "$DIALECT" "$e_rps" "$s_rps" \
        "$(python3 -c "print(f'{$s_rps / $e_rps:.2f}' if $e_rps else '-')")" "$e_p99" "$s_p99" "$e_bad" "$s_bad"
    done
  done
  echo
  for f in "$WORK"/codes.*; do echo "- code redemption ${f#"$WORK/codes."}: $(cat "$f")"; done
fi
cat "$WORK/facts"
echo
echo "Pruning a day's worth of expired rows (prune.rs statements, batches of 1000, no pause between them):"
echo
echo "| database | table | rows deleted | batches | seconds | rows/s | slowest batch (ms) |"
echo "|---|---|---:|---:|---:|---:|---:|"
cat "$WORK/prune"
echo
echo "## Query plans on the seeded databases (bench/large_tables/queries.sql)"
echo
cat "$WORK/plans"
