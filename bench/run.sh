#!/usr/bin/env bash
# The one entry point for Tessera's throughput figures (issue 22): prints a
# table of ratios, tessera against the raw one-core rate of its algorithm,
# and, with BASE set, before against after.
#
#   bash bench/run.sh                    # this checkout (about 5 minutes)
#   BASE=ee46f08 bash bench/run.sh       # also builds ee46f08: before/after, paired
#   BASE=ee46f08 BEFORE_BIN=/path/to/tessera bash bench/run.sh   # that build, already made
#   DURATION=8 ROUNDS=5 bash bench/run.sh
#   GUARD=0 bash bench/run.sh            # skip the guard's benches
#
# What it measures, for RS256 and ES256 access tokens:
# - raw: aws-lc-rs alone on core 0, key parsed once (examples
#   raw_sign_rate and raw_verify_rate of tessera-jwt), for 2 s just before
#   and just after each load run; the run's ratio is to their mean;
# - client_credentials: `tessera serve` (SQLite, fresh database) pinned to
#   core 0 with taskset, `wrk -t1 -c64` pinned to core 1, HTTP Basic client
#   authentication, keep-alive connections;
# - introspection: `POST /introspect` of one live access token by its own
#   client, c=64 (a resource server asking about the token of each call);
# - introspection_first_sight: 20,000 live tokens in turn, more than the
#   node's cache of verified tokens remembers and notes together, so each
#   is verified;
# - healthz: `GET /healthz`, the HTTP floor without any cryptography;
# - the guard: tessera-guard's benches on core 0 (raw verification measured
#   in the same process; allocations counted in a separate process).
# With BASE, each round runs both builds back to back, the order swapped
# every round; figures are medians over ROUNDS rounds. Only 127.0.0.1 is
# contacted. Needs two cores (taskset -c 0 and -c 1).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-3}"
GUARD="${GUARD:-1}"
PORT="${PORT:-18797}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ "$(nproc)" -ge 2 ] || { echo "bench/run.sh needs two cores (server on 0, load on 1)" >&2; exit 1; }

cargo build --release -q -p tessera-server
cargo build --release -q -p tessera-jwt --example raw_sign_rate --example raw_verify_rate
AFTER="$CARGO_TARGET_DIR/release/tessera"
EXAMPLES="$CARGO_TARGET_DIR/release/examples"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  if [ -n "${BASE:-}" ]; then git worktree remove --force "$WORK/base" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

BUILDS=(after)
if [ -n "${BASE:-}" ]; then
  # The base build gets a target directory of its own next to ours, so the
  # two builds do not undo each other's incremental state.
  if [ -n "${BEFORE_BIN:-}" ]; then
    cp "$BEFORE_BIN" "$WORK/tessera-before"
  else
    git worktree add -q --detach "$WORK/base" "$BASE"
    (cd "$WORK/base" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR-base" cargo build --release -q -p tessera-server)
    cp "$CARGO_TARGET_DIR-base/release/tessera" "$WORK/tessera-before"
  fi
  BUILDS=(before after)
fi
cp "$AFTER" "$WORK/tessera-after"


# wrk on core 1 against the server on core 0; prints "requests/s p99-in-µs".
load() { # lua-script
  local out
  out="$(taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" --latency -s "$1" "http://127.0.0.1:$PORT" 2>&1)"
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  awk '/^Requests\/sec/ {rps=$2}
       $1=="99%" {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                  m = (u=="ms") ? 1000 : (u=="s") ? 1000000 : 1; p99 = v*m}
       END {printf "%.0f %.0f\n", rps, p99}' <<<"$out"
}

# The raw one-core rate of an operation, on the server's core, right now.
raw_now() { # op alg
  taskset -c 0 "$EXAMPLES/raw_${1}_rate" "$2" 2
}

# One build, one algorithm: a fresh server on core 0, then each path. Each
# load run is framed by raw measurements on the same core (before and
# after, averaged), and its ratio is taken against them: the VM's speed
# drifts by more than the effects measured here within minutes.
measure() { # build alg
  local bin="$WORK/tessera-$1" db="sqlite://$WORK/$1-$2.db"
  export TESSERA_TOKEN_ALG="$2" RUST_LOG=warn
  taskset -c 0 "$bin" serve --listen "127.0.0.1:$PORT" --database "$db" >"$WORK/$1-$2.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 500); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.02; done
  local cred id secret token basic
  cred="$("$bin" client create --database "$db" --name bench --scope read --audience api 2>/dev/null)"
  id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$cred")"
  secret="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$cred")"
  token="$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "http://127.0.0.1:$PORT/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  basic="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
  printf 'wrk.method = "POST"\nwrk.path = "/token"\nwrk.body = "grant_type=client_credentials"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Authorization"] = "%s"\n' \
    "$basic" >"$WORK/token.lua"
  printf 'wrk.method = "POST"\nwrk.path = "/introspect"\nwrk.body = "token=%s"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Authorization"] = "%s"\n' \
    "$token" "$basic" >"$WORK/introspect.lua"
  cat >"$WORK/save.lua" <<'LUA'
local file = io.open(os.getenv("TOKENS"), "w")
file:setvbuf("line")
response = function(status, headers, body)
  local t = body:match('"access_token":"([^"]+)"')
  if t then file:write(t, "\n") end
end
LUA
  # 20,000 distinct live tokens, introspected in turn: more than the node's
  # cache of verified tokens remembers (4,096) and notes as seen once
  # (16,384), so every check verifies a signature, as for a token seen the
  # first time.
  cat "$WORK/token.lua" "$WORK/save.lua" >"$WORK/mint.lua"
  : >"$WORK/tokens"
  while [ "$(wc -l <"$WORK/tokens")" -lt 20000 ]; do
    TOKENS="$WORK/tokens.part" taskset -c 1 wrk -t1 -c8 -d1s -s "$WORK/mint.lua" "http://127.0.0.1:$PORT" >/dev/null
    cat "$WORK/tokens.part" >>"$WORK/tokens"
  done
  head -n 20000 "$WORK/tokens" >"$WORK/tokens.first"
  cat >"$WORK/first-sight.lua" <<LUA
wrk.method = "POST"
wrk.path = "/introspect"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$basic"
local tokens = {}
for line in io.lines("$WORK/tokens.first") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format(nil, nil, nil, "token=" .. tokens[i])
end
LUA
  printf 'wrk.path = "/healthz"\n' >"$WORK/healthz.lua"
  # A short warm-up: the client cache, the allocator's arenas, the CPU.
  taskset -c 1 wrk -t1 -c64 -d1s -s "$WORK/token.lua" "http://127.0.0.1:$PORT" >/dev/null
  local path lua op before after rps p99
  for path in client_credentials introspection introspection_first_sight healthz; do
    case "$path" in
      client_credentials) lua=token op=sign ;;
      introspection) lua=introspect op=verify ;;
      introspection_first_sight) lua=first-sight op=verify ;;
      healthz) lua=healthz op=sign ;;
    esac
    before="$(raw_now "$op" "$2")"
    read -r rps p99 < <(load "$WORK/$lua.lua")
    after="$(raw_now "$op" "$2")"
    echo "$1 $2 $path $rps $p99 $(( (${before%.*} + ${after%.*}) / 2 ))" >>"$WORK/results"
  done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  rm -f "$WORK/$1-$2.db"* "$WORK/tokens"*
}

: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  order=("${BUILDS[@]}")
  if [ $((round % 2)) -eq 0 ] && [ "${#BUILDS[@]}" -eq 2 ]; then order=(after before); fi
  for alg in ES256 RS256; do
    for build in "${order[@]}"; do
      echo "round $round/$ROUNDS: $build $alg" >&2
      measure "$build" "$alg"
    done
  done
done

# Medians over the rounds: of requests/s, p99, the raw rate, and of each
# run's own ratio to the raw rate around it.
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }
col() { # build alg path column (4 rps, 5 p99, 6 raw, 7 ratio)
  awk -v b="$1" -v a="$2" -v p="$3" -v c="$4" \
    '$1==b && $2==a && $3==p {if (c==7) printf "%.4f\n", ($6>0 ? $4/$6 : 0); else print $c}' "$WORK/results" | median
}

echo
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs); wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}'); ${DURATION}s per run, ${ROUNDS} rounds (medians); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "server on core 0, wrk -t1 -c64 on core 1; raw = aws-lc-rs alone on core 0 just before and after each run"
echo "(signing for client_credentials, verification for introspection; healthz is the HTTP floor, no cryptography)"
echo
if [ "${#BUILDS[@]}" -eq 2 ]; then
  echo "before = $BASE ($(git rev-parse --short "$BASE")), after = this checkout ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'))"
  echo
  echo "| alg | path | raw/s | before/s | after/s | before/raw | after/raw | after/before | p99 before | p99 after |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
else
  echo "| alg | path | raw/s | tessera/s | tessera/raw | p99 |"
  echo "|---|---|---:|---:|---:|---:|"
fi
for alg in ES256 RS256; do
  for path in client_credentials introspection introspection_first_sight healthz; do
    r="$(col after "$alg" "$path" 6)"
    a="$(col after "$alg" "$path" 4)"; ap="$(col after "$alg" "$path" 5)"; ar="$(col after "$alg" "$path" 7)"
    [ "$path" = healthz ] && ar="-" && r="-"
    if [ "${#BUILDS[@]}" -eq 2 ]; then
      b="$(col before "$alg" "$path" 4)"; bp="$(col before "$alg" "$path" 5)"; br="$(col before "$alg" "$path" 7)"
      [ "$path" = healthz ] && br="-"
      ab="$(awk -v x="$a" -v y="$b" 'BEGIN {if (y>0) printf "%.3f", x/y; else print "-"}')"
      echo "| $alg | $path | $r | $b | $a | $br | $ar | $ab | ${bp} µs | ${ap} µs |"
    else
      echo "| $alg | $path | $r | $a | $ar | ${ap} µs |"
    fi
  done
done

if [ "$GUARD" = 1 ]; then
  echo
  echo "tessera-guard, this checkout (raw verification measured in the same process, core 0):"
  echo
  TESSERA_BENCH_SECS=2 taskset -c 0 cargo bench -q -p tessera-guard --bench guard 2>/dev/null | grep '^|'
  echo
  cargo bench -q -p tessera-guard --bench guard_allocations 2>/dev/null | grep '^|'
fi
