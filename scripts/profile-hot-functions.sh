#!/usr/bin/env bash
# Writes Sources/weft/hot-functions.order, the order in which the linker lays out the
# functions a gateway and an echo worker run for every request (Package.swift passes it
# to lld): sampled with perf while `weft-bench mesh --small-only` drives them, those with
# the most samples (their callees' included) first. Run it after changing the request
# path; names it no longer finds are skipped by the linker, new hot ones just land
# wherever the linker puts them until then. docs/BENCHMARKS.md says what it is worth.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt-install-missing.sh
apt_install_missing profile-hot-functions linux-perf
swift build -c release --product weft
swift build -c release --product weft-bench

profile=$(mktemp -d)
bench_pid=""
cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true
  rm -rf "$profile"
}
trap cleanup EXIT

.build/release/weft-bench mesh --small-only --rounds 2 --latency-samples 15000 --messages 200000 >"$profile/bench.txt" 2>&1 &
bench_pid=$!
pids=""
for _ in $(seq 1 100); do
  gateway=$(pgrep -f "^$PWD/.build/.*/weft gateway --frontend" | head -1 || true)
  worker=$(pgrep -f "^$PWD/.build/.*/weft worker --model" | head -1 || true)
  if [ -n "$gateway" ] && [ -n "$worker" ]; then pids="$gateway,$worker"; break; fi
  sleep 0.1
done
[ -n "$pids" ] || { echo "profile-hot-functions: no gateway and worker to profile" >&2; exit 1; }
# Both the latency phase (one request at a time) and the throughput phase are sampled.
perf record -q -F 10000 -g -p "$pids" -o "$profile/perf.data" -- sleep 25 >/dev/null 2>&1
wait "$bench_pid" || true
bench_pid=""
perf script -i "$profile/perf.data" -F ip,sym,dso 2>/dev/null |
  awk '/\/weft\)$/ && $2 != "[unknown]" { print $2 }' | sort | uniq -c | sort -rn | awk '{ print $2 }' \
  >Sources/weft/hot-functions.order
echo "profile-hot-functions: $(wc -l <Sources/weft/hot-functions.order) functions in Sources/weft/hot-functions.order"
# SwiftPM does not see the order file as an input: make the next build link again.
rm -f .build/release/weft
