#!/usr/bin/env bash
# How long a refused password-grant login takes, by reason (issue item 3: an
# unknown user, a locked account and a wrong password must not be told apart
# by their answer or their time). 20 logins of each, sequential, from
# distinct X-Forwarded-For addresses (127.0.0.1 is a trusted proxy here) so
# per-address slowing does not mix in; the account is locked first.
#
#   bash bench/login_timing.sh            # BIN=/path/to/tessera for another build
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
PORT="${PORT:-18789}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p tessera-server
  BIN="$CARGO_TARGET_DIR/release/tessera"
fi
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
DB="sqlite://$WORK/tessera.db"
TESSERA_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --database "$DB" >"$WORK/log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
CLIENT=$("$BIN" client create --database "$DB" --name t --public --grant-type password --scope openid \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
for u in known locked; do echo 'a long timing passphrase' | "$BIN" user create --database "$DB" --username "$u" --password-stdin >/dev/null; done
n=0
try() { # username password
  n=$((n + 1))
  curl -s -o "$WORK/body" -w '%{time_total}' -H "X-Forwarded-For: 10.1.$((n / 250)).$((n % 250 + 1))" \
    -d grant_type=password -d "client_id=$CLIENT" -d "username=$1" --data-urlencode "password=$2" \
    "http://127.0.0.1:$PORT/token"
  printf ' %s\n' "$(md5sum < "$WORK/body" | cut -c1-8)"
}
for _ in 1 2 3 4 5 6; do try locked wrong >/dev/null; done
for _ in $(seq 20); do
  try nobody wrong >> "$WORK/unknown"
  try known wrong >> "$WORK/wrong"
  try locked 'a long timing passphrase' >> "$WORK/locked"
done
echo "| refused login (20 each) | p50 ms | min ms | max ms | distinct bodies |"
echo "|---|---:|---:|---:|---:|"
for k in unknown wrong locked; do
  python3 - "$WORK/$k" "$k" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
t = sorted(float(r[0]) * 1000 for r in rows)
print(f"| {sys.argv[2]} | {t[len(t)//2]:.0f} | {t[0]:.0f} | {t[-1]:.0f} | {len(set(r[1] for r in rows))} |")
PY
done
cat "$WORK/unknown" "$WORK/wrong" "$WORK/locked" | awk '{print $2}' | sort -u | wc -l | xargs echo "distinct bodies over all three:"
