#!/usr/bin/env bash
# Login latency under a registration flood (issue item 5): password hashing
# has two slots; registrations may hold one of them and queue a quarter as
# deep as logins, and past the bound the answer is 503 at once.
#
#   bash bench/password_queue.sh                 # the release build of this tree
#   BIN=/path/to/tessera bash bench/password_queue.sh   # another build, for comparison
#
# Starts `tessera serve` on a temp SQLite database with self-registration on
# and 127.0.0.1 as a trusted proxy (so the flood's X-Forwarded-For spreads it
# over many client addresses and the per-address registration limit does not
# stop it), measures 30 sequential password-grant logins alone, then again
# while wrk sends registrations at concurrency 40. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
PORT="${PORT:-18788}"
FLOOD_SECS="${FLOOD_SECS:-12}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p tessera-server
  BIN="$CARGO_TARGET_DIR/release/tessera"
fi
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

DB="sqlite://$WORK/tessera.db"
TESSERA_SELF_REGISTRATION=true TESSERA_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn \
  "$BIN" serve --listen "127.0.0.1:$PORT" --database "$DB" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
CLIENT=$("$BIN" client create --database "$DB" --name bench --public --grant-type password \
  --scope openid | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
echo 'a long bench passphrase' | "$BIN" user create --database "$DB" --username ann --password-stdin >/dev/null

logins() { # label
  for _ in $(seq 30); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -d grant_type=password -d "client_id=$CLIENT" \
      -d username=ann --data-urlencode 'password=a long bench passphrase' "http://127.0.0.1:$PORT/token"
  done > "$WORK/$1"
  python3 - "$WORK/$1" "$1" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = sorted(float(t) for c, t in rows if c == "200")
codes = {}
for c, _ in rows:
    codes[c] = codes.get(c, 0) + 1
q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] * 1000 if ok else float("nan")
print(f"| {sys.argv[2]} | {len(ok)}/{len(rows)} | {q(0.5):.0f} | {q(0.95):.0f} | {max(ok)*1000 if ok else float('nan'):.0f} | {codes} |")
PY
}

cat > "$WORK/flood.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  local body = string.format('{"username":"flood%d_%d","password":"a long flood passphrase"}', n, math.random(1, 1e9))
  return wrk.format("POST", "/api/v1/users", {["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip}, body)
end
local counts = {}
response = function(status) counts[status] = (counts[status] or 0) + 1 end
done = function() end
LUA

echo "| logins (30, sequential) | 200s | p50 ms | p95 ms | max ms | answers |"
echo "|---|---:|---:|---:|---:|---|"
logins alone
taskset -c 1 wrk -t1 -c40 -d"${FLOOD_SECS}s" -s "$WORK/flood.lua" "http://127.0.0.1:$PORT" > "$WORK/wrk.txt" 2>&1 &
WRK=$!
sleep 1
logins "during a registration flood (c=40)"
wait "$WRK" || true
echo
echo "flood: $(awk '/requests in/ {print $1" registrations sent"}' "$WORK/wrk.txt"); $(awk '/Non-2xx/ {print $5" non-2xx (503 shed or 429)"}' "$WORK/wrk.txt")"
