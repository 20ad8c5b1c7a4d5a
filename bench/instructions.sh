#!/usr/bin/env bash
# Instructions per request of one endpoint, counted by callgrind: a figure
# that does not move with the VM's speed, for comparing two builds of the
# server's own code (issue 22). User space only: the kernel's TCP work is
# not counted, and valgrind hides AVX2, so aws-lc runs its generic code and
# signing weighs more here than on the real CPU.
#
#   bash bench/instructions.sh BIN ALG [token|introspect]
#   bash bench/instructions.sh ~/.cache/tessera-target/release/tessera ES256 token
#
# Makes a SQLite database and a client with a normal start of BIN, then
# runs BIN under `valgrind --tool=callgrind` with instrumentation off, warms
# it with 3 s of wrk, switches instrumentation on for CGD seconds (default
# 6) of `wrk -t1 -c8`, dumps, and prints total instructions / requests.
# The profile is left in /tmp/cg.NAME.ALG.PATH.1 for callgrind_annotate.
# Only 127.0.0.1 is contacted.
set -euo pipefail
BIN=$1; ALG=$2; WHAT=${3:-token}; PORT=${PORT:-18904}; W=$(mktemp -d)
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
export TESSERA_TOKEN_ALG=$ALG RUST_LOG=warn
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
"$BIN" serve --listen "127.0.0.1:$PORT" --database "sqlite://$W/t.db" >"$W/first.log" 2>&1 &
PID=$!
for _ in $(seq 500); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.02; done
CRED="$("$BIN" client create --database "sqlite://$W/t.db" --name bench --scope read --audience api 2>/dev/null)"
ID="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$CRED")"
SECRET="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$CRED")"
TOKEN="$(curl -sf -u "$ID:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
kill "$PID"; wait "$PID" 2>/dev/null || true
B="Basic $(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)"
printf 'wrk.method="POST"\nwrk.path="/token"\nwrk.body="grant_type=client_credentials"\nwrk.headers["Content-Type"]="application/x-www-form-urlencoded"\nwrk.headers["Authorization"]="%s"\n' "$B" >"$W/token.lua"
printf 'wrk.method="POST"\nwrk.path="/introspect"\nwrk.body="token=%s"\nwrk.headers["Content-Type"]="application/x-www-form-urlencoded"\nwrk.headers["Authorization"]="%s"\n' "$TOKEN" "$B" >"$W/introspect.lua"
OUT="/tmp/cg.$(basename "$BIN").$ALG.$WHAT"
rm -f "$OUT" "$OUT".*
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
  "$BIN" serve --listen "127.0.0.1:$PORT" --database "sqlite://$W/t.db" >"$W/log" 2>&1 &
PID=$!
for _ in $(seq 1500); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.05; done
wrk -t1 -c8 -d3s -s "$W/$WHAT.lua" "http://127.0.0.1:$PORT" >/dev/null
callgrind_control -i on "$PID" >/dev/null
N="$(wrk -t1 -c8 -d"${CGD:-6}"s -s "$W/$WHAT.lua" "http://127.0.0.1:$PORT" | awk '/requests in/ {print $1}')"
callgrind_control -i off "$PID" >/dev/null
callgrind_control -d "$PID" >/dev/null
sleep 1
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
IR="$(awk '/^totals:/ {print $2}' "$OUT.1")"
echo "$(basename "$BIN") $ALG $WHAT: $N requests, $IR instructions, $((IR / N)) per request (profile: $OUT.1)"
