#!/usr/bin/env bash
# Introspection of one live access token, two builds alternating, with the
# SQLite worker threads' wake-ups per request (issue 22): the figures of
# BENCHMARKS.md, "Revocation checks that really share a query".
#
#   bash bench/introspection_pairs.sh BEFORE_BIN AFTER_BIN [ROUNDS]
#
# For RS256 and ES256, each round: the raw verification rate on core 0
# (tessera-jwt's example raw_verify_rate), then each build serving on core 0
# (fresh SQLite database) under `wrk -t1 -c64 -d5s` on core 1, then the raw
# rate again. Wake-ups are the voluntary context switches of the process's
# `sqlx-sqlite-worker` threads, read from /proc before and after the run.
# Only 127.0.0.1 is contacted. Needs two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$1; AFTER=$2; ROUNDS=${3:-2}; PORT=${PORT:-18812}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p tessera-jwt --example raw_verify_rate
RAW="$CARGO_TARGET_DIR/release/examples/raw_verify_rate"

one() { # bin alg -> "requests/s p99 wakeups-per-request"
  local bin=$1 alg=$2 dir pid cred id secret token wakeups_before wakeups_after out
  dir=$(mktemp -d)
  TESSERA_TOKEN_ALG=$alg RUST_LOG=warn taskset -c 0 "$bin" serve --listen "127.0.0.1:$PORT" \
    --database "sqlite://$dir/t.db" >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.05; done
  cred=$("$bin" client create --database "sqlite://$dir/t.db" --name bench --scope read --audience api 2>/dev/null)
  id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$cred")
  secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$cred")
  token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "http://127.0.0.1:$PORT/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  printf 'wrk.method="POST"\nwrk.path="/introspect"\nwrk.body="token=%s"\nwrk.headers["Content-Type"]="application/x-www-form-urlencoded"\nwrk.headers["Authorization"]="Basic %s"\n' \
    "$token" "$(printf '%s:%s' "$id" "$secret" | base64 -w0)" >"$dir/i.lua"
  taskset -c 1 wrk -t1 -c64 -d1s -s "$dir/i.lua" "http://127.0.0.1:$PORT" >/dev/null
  wakeups() {
    for t in /proc/"$pid"/task/*; do
      [ "$(cat "$t/comm")" = sqlx-sqlite-wor ] && awk '/^voluntary_ctxt/ {print $2}' "$t/status"
    done | awk '{s += $1} END {print s + 0}'
  }
  wakeups_before=$(wakeups)
  out=$(taskset -c 1 wrk -t1 -c64 -d5s --latency -s "$dir/i.lua" "http://127.0.0.1:$PORT")
  wakeups_after=$(wakeups)
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  awk -v a="$wakeups_before" -v b="$wakeups_after" '
    /^Requests\/sec/ {rps = $2} /requests in/ {n = $1} $1 == "99%" {p99 = $2}
    END {printf "%.0f %s %.3f\n", rps, p99, (b - a) / n}' <<<"$out"
}

echo "| alg | raw verify/s | before/s | after/s | before/raw | after/raw | p99 before | p99 after | SQLite wake-ups per request, before → after |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for _ in $(seq "$ROUNDS"); do
  for alg in RS256 ES256; do
    r1=$(taskset -c 0 "$RAW" "$alg" 2 | tail -1)
    read -r b bp bw < <(one "$BEFORE" "$alg")
    read -r a ap aw < <(one "$AFTER" "$alg")
    r2=$(taskset -c 0 "$RAW" "$alg" 2 | tail -1)
    awk -v alg="$alg" -v r1="$r1" -v r2="$r2" -v b="$b" -v a="$a" -v bp="$bp" -v ap="$ap" -v bw="$bw" -v aw="$aw" \
      'BEGIN {r = (r1 + r2) / 2; printf "| %s | %.0f | %s | %s | %.3f | %.3f | %s | %s | %s → %s |\n", alg, r, b, a, b / r, a / r, bp, ap, bw, aw}'
  done
done
