#!/usr/bin/env bash
# Prints Countersign's size and speed figures (a benchmark, not a test: nothing here fails
# on a slow machine). Expects a release build (`make bench` does it first).
#
#   page weight   the browser's assets raw, Brotli and gzip; each page's cold load in Chromium:
#                 bytes transferred and time to first contentful paint
#   SSR time      p50/p95 of every page the tour visits, signed in as an approver, with
#                 100 000 versions in 100 groups in the store (BENCH_VERSIONS, BENCH_GROUPS),
#                 10 000 of them waiting for that approver (BENCH_WAITING_GROUPS groups
#                 registered by dana; the rest registered by the approver herself)
#   memory        the server's resident set size after that load, and once it has handed
#                 back what the load freed
#   resolve       throughput and latency of GET .../environments/{env} with a bearer token,
#                 under load from wrk (a second process), beside an axum hello-world handler
#                 measured the same way in the same run
#   audit trail   appending, signing a checkpoint and verifying a trail of 100 000 entries,
#                 and of 1 000 000 (BENCH_TRAIL_ENTRIES); the CLI verifying the seeded
#                 group's trail; the history page of a group whose trail holds 1 000 000
#                 entries (BENCH_HISTORY_VERSIONS versions, two entries each), after its
#                 first verification
#   AWS requests  requests per version page, decision, idle outbox poll and resolve on the
#                 AWS backend (counted by the adapter against moto; the capacity note in
#                 ARCHITECTURE.md is computed from them)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/countersign
PORT="${BENCH_PORT:-3200}"
REQUESTS="${BENCH_REQUESTS:-200}"
VERSIONS="${BENCH_VERSIONS:-100000}"
GROUP_COUNT="${BENCH_GROUPS:-100}"
WAITING_GROUPS="${BENCH_WAITING_GROUPS:-10}"
PER_GROUP=$((VERSIONS / GROUP_COUNT))
VERSIONS=$((PER_GROUP * GROUP_COUNT))
if [ "$WAITING_GROUPS" -gt 1 ]; then GROUP=bench-model-001; else GROUP=bench-model; fi
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

export COUNTERSIGN_DATABASE="$WORK/bench.db"
export COUNTERSIGN_LISTEN="127.0.0.1:$PORT"
export COUNTERSIGN_PUBLIC_URL="http://127.0.0.1:$PORT"
export COUNTERSIGN_LOG=warn
# Throughput of the handlers, not of the per-client limiter, which would answer wrk's
# thousands of requests a second from one address with 429.
export COUNTERSIGN_RATE_LIMIT_API_PER_MINUTE=0
# The resolve benchmark calls with a static token, as a pipeline would.
RESOLVE_TOKEN=cst_bench-resolve-token-0123456789abcdef
export COUNTERSIGN_API_TOKENS="bench:register+report+resolve:$(printf '%s' "$RESOLVE_TOKEN" | sha256sum | cut -d' ' -f1)"
BASE="http://127.0.0.1:$PORT"

echo "== Countersign benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo "-- seeding $VERSIONS versions in $GROUP_COUNT groups, $((PER_GROUP * WAITING_GROUPS)) of them waiting for alice"
# Seeded where writes need no disk flush (tmpfs, when the machine has one), then moved beside
# the rest: the store served is on disk as any other.
SEED_DIR="$(mktemp -d -p /dev/shm 2> /dev/null || mktemp -d)"
start=$(date +%s%N)
COUNTERSIGN_DATABASE="$SEED_DIR/bench.db" "$BIN" seed --group bench-model \
  --groups "$WAITING_GROUPS" --versions "$PER_GROUP" > /dev/null
if [ "$GROUP_COUNT" -gt "$WAITING_GROUPS" ]; then
  COUNTERSIGN_DATABASE="$SEED_DIR/bench.db" "$BIN" seed --group bench-other --registrant alice \
    --groups "$((GROUP_COUNT - WAITING_GROUPS))" --versions "$PER_GROUP" > /dev/null
fi
mv "$SEED_DIR"/bench.db* "$WORK/"
rm -rf "$SEED_DIR"
awk -v ns="$(( $(date +%s%N) - start ))" 'BEGIN { printf "   took %.1f s\n", ns / 1e9 }'

"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" > /dev/null && break; sleep 0.1; done
# A portal starting on a full store works for a while in the background (the reconciliation
# scan, the waiting index read whole, reminders, the approval requests nobody is configured
# to receive given up): measured, then waited for, so that it does not colour the pages.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
until_idle() { # pid: until it spends less than 5 ticks of CPU in a second (at most 300 s)
  local before now
  before=$(cpu_ticks "$1")
  for _ in $(seq 1 300); do
    sleep 1
    now=$(cpu_ticks "$1")
    [ $((now - before)) -lt 5 ] && break
    before=$now
  done
}
start=$(date +%s%N)
until_idle "$SERVER"
awk -v ns="$(( $(date +%s%N) - start ))" -v ticks="$(cpu_ticks "$SERVER")" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "-- the portal started on that store: background work done after %.0f s (%.1f s of CPU)\n", ns / 1e9, ticks / hz }'

cookie="$WORK/cookies"
curl -fs -c "$cookie" -o /dev/null -d 'subject=alice&return_to=/' "$BASE/auth/dev/sign-in"
# Approve one version for dev, so there is a model to resolve: choose, read the record the
# confirmation step shows, sign its digest (the sign-in is fresh: dev allows 300 s).
curl -fs -b "$cookie" -c "$cookie" -o /dev/null -H 'Accept: application/json' \
  -d "group=$GROUP&version=1&environment=dev&verdict=approve&reason=bench" "$BASE/rpc/prepare_signature"
digest=$(curl -fs -b "$cookie" -c "$cookie" -H 'Accept: application/json' \
  -d "group=$GROUP&version=1" "$BASE/rpc/review_pending" | grep -o '"record_digest":"[0-9a-f]*"' | cut -d'"' -f4)
curl -fs -b "$cookie" -c "$cookie" -o /dev/null -H 'Accept: application/json' \
  -d "group=$GROUP&version=1&record_digest=$digest" "$BASE/rpc/sign"

echo "-- the browser's assets as served (precompressed: Brotli where the browser takes it, else gzip)"
for asset in pkg/countersign_bg.wasm pkg/countersign.js pkg/countersign.css; do
  raw=$(curl -fs "$BASE/$asset" | wc -c)
  br=$(curl -fs -H 'Accept-Encoding: br' "$BASE/$asset" | wc -c)
  gz=$(curl -fs -H 'Accept-Encoding: gzip' "$BASE/$asset" | wc -c)
  printf '   %-24s %9d B raw %9d B brotli %9d B gzip\n' "$asset" "$raw" "$br" "$gz"
done
# Issue 31's goals hold at 100 000 versions: a figure measured on fewer is "not met" however
# fast, so a smaller BENCH_VERSIONS never reads as reaching them.
GOAL_VERSIONS=100000
measure() { # name url goal-p95-ms ("-": the issue states none)
  local name="$1" url="$2" goal="$3" times="$WORK/times"
  : > "$times"
  for _ in $(seq 1 10); do curl -fs -b "$cookie" -o /dev/null "$url"; done # warm up
  for _ in $(seq 1 "$REQUESTS"); do
    curl -fs -b "$cookie" -o /dev/null -w '%{time_total}\n' "$url" >> "$times"
  done
  sort -n "$times" | awk -v name="$name" -v n="$REQUESTS" -v goal="$goal" -v versions="$VERSIONS" -v at="$GOAL_VERSIONS" '
    { t[NR] = $1 * 1000 }
    END { p95 = t[int(n * 0.95)]
          verdict = (goal == "-") ? "no goal stated" : sprintf("goal p95 <= %d ms with %d versions: %s", goal, at, (p95 <= goal && versions >= at) ? "met" : "not met")
          printf "   %-34s p50 %6.2f ms   p95 %6.2f ms   max %6.2f ms   (%d requests; %s)\n",
          name, t[int(n * 0.50)], p95, t[n], n, verdict }'
}

# Every page of the browser tour below, as alice, for whom $((PER_GROUP * WAITING_GROUPS)) steps wait.
tour_pages() { # prints "name|path|goal" lines
  echo "groups page /|/|10"
  echo "version page|/models/$GROUP/versions/$((PER_GROUP / 2))|5"
  echo "versions list (first page of 50)|/models/$GROUP|5"
  echo "inbox (first page)|/inbox|-"
  echo "your models|/mine|-"
  echo "model groups|/models|-"
  echo "history|/models/$GROUP/history|-"
  echo "notifications|/notifications|-"
}

echo "-- server-side rendering time, signed in, one request at a time, $VERSIONS versions in the store"
while IFS='|' read -r name path goal; do
  measure "$name" "$BASE$path" "$goal"
done < <(tour_pages)

# wrk prints "Requests/sec: N" and, with --latency, a "99%" line. Prints the figures and
# leaves "requests-per-second p99-ms" in $WORK/figures.
load() { # name url [wrk options]
  local name="$1" url="$2" out="$WORK/wrk.out"
  shift 2
  wrk -t1 -c"${BENCH_CONNECTIONS:-16}" -d2s "$@" "$url" > /dev/null # warm up
  wrk -t1 -c"${BENCH_CONNECTIONS:-16}" -d"${BENCH_SECONDS:-10}s" --latency "$@" "$url" > "$out"
  awk -v name="$name" -v figures="$WORK/figures" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END {
      printf "   %-34s %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms%s\n", name, rps, p50, p99, (bad ? "   NON-2XX: " bad : "")
      print rps, p99 > figures
    }' "$out"
}

if command -v wrk > /dev/null; then
  echo "-- every page under load: wrk, 1 thread, ${BENCH_CONNECTIONS:-16} connections, ${BENCH_PAGE_SECONDS:-5} s each, signed in"
  session=$(awk -F '\t' 'NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$cookie")
  while IFS='|' read -r name path _; do
    BENCH_SECONDS="${BENCH_PAGE_SECONDS:-5}" load "$name" "$BASE$path" -H "Cookie: $session"
  done < <(tour_pages)
fi

if command -v wrk > /dev/null && [ -x target/release/bench-hello ]; then
  echo "-- resolve under load: wrk, 1 thread, ${BENCH_CONNECTIONS:-16} connections, ${BENCH_SECONDS:-10} s each, on loopback"
  HELLO_PORT=$((PORT + 2))
  target/release/bench-hello "127.0.0.1:$HELLO_PORT" &
  HELLO=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$HELLO_PORT/hello" > /dev/null && break; sleep 0.1; done
  load "axum hello world" "http://127.0.0.1:$HELLO_PORT/hello"
  read -r hello_rps _ < "$WORK/figures"
  kill "$HELLO" 2>/dev/null || true
  load "resolve (bearer token)" "$BASE/api/v1/models/$GROUP/environments/dev" \
    -H "Authorization: Bearer $RESOLVE_TOKEN"
  read -r resolve_rps resolve_p99 < "$WORK/figures"
  awk -v r="$resolve_rps" -v h="$hello_rps" -v p="$resolve_p99" 'BEGIN {
    printf "   resolve / hello world: %.2f of the throughput (goal >= 0.5: %s); resolve p99 %.2f ms (goal <= 1 ms: %s)\n",
      r / h, (r / h >= 0.5) ? "met" : "not met", p, (p <= 1) ? "met" : "not met" }'
else
  echo "-- resolve under load: skipped (needs wrk: scripts/tools.sh bench; and the bench-hello server)"
fi

rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER/status")
memory() { # when kb
  awk -v when="$1" -v kb="$2" 'BEGIN { mb = kb / 1024
    printf "-- server memory %s: %.1f MB RSS (goal <= 40 MB: %s)\n", when, mb, (mb <= 40) ? "met" : "not met" }'
}
memory "after the load" "$rss_kb"
# The server hands back what requests freed every ten seconds: the figure once it has.
sleep 11
memory "after the load, 11 s later" "$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER/status")"

if [ -d end2end/node_modules/playwright-core ] && [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "-- cold page loads in Chromium: bytes transferred (document and all it loads) and first contentful paint"
  node end2end/bench/page-weight.mjs "$BASE" "$GROUP" "$((PER_GROUP / 2))"
  # After the memory figure above: the inbox and the history page, whose first view verifies
  # the group's whole audit trail.
  rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER/status")
  memory "after every page once more" "$rss_kb"
else
  echo "-- cold page loads in Chromium: skipped (needs scripts/tools.sh test: Chromium and Playwright)"
fi

# Event -> e-mail: a second server on the AWS backend over moto, mailing to maildev, as in the
# end-to-end tests; SageMaker registrations are posted to it as EventBridge would.
if [ -x .tools/venv/bin/moto_server ] && [ -x end2end/node_modules/.bin/maildev ]; then
  MOTO_PORT=$((PORT + 90)); SMTP_PORT=$((PORT + 91)); MAILDEV_PORT=$((PORT + 92)); AWS_PORT=$((PORT + 1))
  .tools/venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" > "$WORK/moto.log" 2>&1 &
  MOTO=$!
  end2end/node_modules/.bin/maildev --ip 127.0.0.1 --web-ip 127.0.0.1 --smtp "$SMTP_PORT" \
    --web "$MAILDEV_PORT" --silent > "$WORK/maildev.log" 2>&1 &
  MAILDEV=$!
  trap 'kill "$SERVER" "$MOTO" "$MAILDEV" "${AWS_SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$MOTO_PORT/moto-api/" > /dev/null && curl -fs "http://127.0.0.1:$MAILDEV_PORT/api/email" > /dev/null && break
    sleep 0.2
  done
  KEY=bench-events-key-0123456789
  COUNTERSIGN_BACKEND=aws AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
    COUNTERSIGN_LISTEN="127.0.0.1:$AWS_PORT" \
    COUNTERSIGN_PUBLIC_URL="http://127.0.0.1:$AWS_PORT" COUNTERSIGN_EVENTS_API_KEY="$KEY" \
    COUNTERSIGN_DYNAMODB_CREATE_TABLE=true \
    COUNTERSIGN_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" COUNTERSIGN_NOTIFY_DEV=ml-leads@example.com \
    COUNTERSIGN_SCAN_SECONDS=0 "$BIN" serve > "$WORK/aws-server.log" 2>&1 &
  AWS_SERVER=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$AWS_PORT/healthz" > /dev/null && break; sleep 0.1; done
  echo "-- event to e-mail: SageMaker event posted, approval request read back from maildev (AWS backend on moto)"
  .tools/venv/bin/python scripts/event_latency.py "http://127.0.0.1:$AWS_PORT" "http://127.0.0.1:$MOTO_PORT" \
    "http://127.0.0.1:$MAILDEV_PORT" "$KEY" "${BENCH_EVENTS:-100}"
else
  echo "-- event to e-mail: skipped (run scripts/tools.sh test first, for moto and maildev)"
fi

echo "-- audit trail: a trail of 100 000 entries, a signed checkpoint after each append (target: verify < 5 s)"
cargo run --locked --release -q -p countersign-audit --example verify_bench 100000
TRAIL_ENTRIES="${BENCH_TRAIL_ENTRIES:-1000000}"
echo "-- audit trail at issue 31's scale: $TRAIL_ENTRIES entries, built and verified the same way (no goal stated beyond verifying them)"
cargo run --locked --release -q -p countersign-audit --example verify_bench "$TRAIL_ENTRIES"
echo "   the bench group's own trail, exported and verified by the CLI ($PER_GROUP versions seeded):"
"$BIN" audit export --group "$GROUP" > "$WORK/bundle.json"
AUDIT_KEY=$("$BIN" audit public-key)
start=$(date +%s%N)
"$BIN" audit verify "$WORK/bundle.json" --key "$AUDIT_KEY" | tail -2 | sed 's/^/   /'
awk -v ns="$(( $(date +%s%N) - start ))" 'BEGIN { printf "   countersign audit verify took %.2f s\n", ns / 1e9 }'

# The history page of a long trail: a store of its own, one group of
# $BENCH_HISTORY_VERSIONS versions (two entries each: seen, approval asked) and more than a
# page of decisions; the first view verifies the whole trail, later ones what was appended.
HISTORY_VERSIONS="${BENCH_HISTORY_VERSIONS:-500000}"
HISTORY_PORT=$((PORT + 3))
echo "-- history page of a long trail: seeding $HISTORY_VERSIONS versions into a store of its own"
start=$(date +%s%N)
SEED_DIR="$(mktemp -d -p /dev/shm 2> /dev/null || mktemp -d)"
COUNTERSIGN_DATABASE="$SEED_DIR/history.db" "$BIN" seed --group long-history --versions "$HISTORY_VERSIONS" > /dev/null
mv "$SEED_DIR"/history.db* "$WORK/"
rm -rf "$SEED_DIR"
awk -v ns="$(( $(date +%s%N) - start ))" 'BEGIN { printf "   took %.1f s\n", ns / 1e9 }'
COUNTERSIGN_DATABASE="$WORK/history.db" COUNTERSIGN_LISTEN="127.0.0.1:$HISTORY_PORT" \
  COUNTERSIGN_PUBLIC_URL="http://127.0.0.1:$HISTORY_PORT" "$BIN" serve > "$WORK/history-server.log" 2>&1 &
HISTORY_SERVER=$!
trap 'kill "$SERVER" "${MOTO:-}" "${MAILDEV:-}" "${AWS_SERVER:-}" "$HISTORY_SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
HISTORY_BASE="http://127.0.0.1:$HISTORY_PORT"
for _ in $(seq 1 100); do curl -fs "$HISTORY_BASE/healthz" > /dev/null && break; sleep 0.1; done
until_idle "$HISTORY_SERVER"
history_cookie="$WORK/history-cookies"
curl -fs -c "$history_cookie" -o /dev/null -d 'subject=alice&return_to=/' "$HISTORY_BASE/auth/dev/sign-in"
for version in $(seq 1 60); do # more than a page of decisions: rejections, each signed
  curl -fs -b "$history_cookie" -c "$history_cookie" -o /dev/null -H 'Accept: application/json' \
    -d "group=long-history&version=$version&environment=dev&verdict=reject&reason=bench" "$HISTORY_BASE/rpc/prepare_signature"
  digest=$(curl -fs -b "$history_cookie" -c "$history_cookie" -H 'Accept: application/json' \
    -d "group=long-history&version=$version" "$HISTORY_BASE/rpc/review_pending" | grep -o '"record_digest":"[0-9a-f]*"' | cut -d'"' -f4)
  curl -fs -b "$history_cookie" -c "$history_cookie" -o /dev/null -H 'Accept: application/json' \
    -d "group=long-history&version=$version&record_digest=$digest" "$HISTORY_BASE/rpc/sign"
done
# Counted in the store itself: an export of a million entries is a gigabyte of JSON.
entries=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT COUNT(*) FROM audit_entries WHERE group_name = ?", ("long-history",)).fetchone()[0])' "$WORK/history.db")
first=$(curl -fs -b "$history_cookie" -o /dev/null -w '%{time_total}' "$HISTORY_BASE/models/long-history/history")
times="$WORK/history-times"
: > "$times"
for _ in $(seq 1 "${BENCH_HISTORY_REQUESTS:-50}"); do
  curl -fs -b "$history_cookie" -o /dev/null -w '%{time_total}\n' "$HISTORY_BASE/models/long-history/history" >> "$times"
done
sort -n "$times" | awk -v entries="$entries" -v first="$first" '
  { t[NR] = $1 * 1000 }
  END {
    p95 = t[int(NR * 0.95)]
    printf "   history page, %d trail entries: first view %.0f ms (verifies the whole trail); then p50 %.2f ms, p95 %.2f ms over %d views (goal: p95 < 10 ms with 1 000 000 entries): %s\n",
      entries, first * 1000, t[int(NR * 0.50)], p95, NR, (p95 < 10 && entries >= 1000000) ? "met" : "not met"
  }'
kill "$HISTORY_SERVER" 2>/dev/null || true

if [ -x .tools/venv/bin/python ]; then
  echo "-- AWS requests (the adapter's own count, against moto)"
  cargo test --locked -q -p countersign-aws --test moto requests_per_page_decision_poll_and_resolve -- --nocapture 2>/dev/null \
    | sed -n 's/^requests per /   per /p'
else
  echo "-- AWS requests: skipped (run scripts/tools.sh test first, for moto)"
fi
