#!/usr/bin/env bash
# Benchmarks (not tests), all in one run against one Tansu broker on 127.0.0.1:29092:
#  1. file source records/s through the worker vs a bare rdkafka producer sending the same
#     lines to the same broker with the same delivery settings (ratio);
#  2. idle worker RSS;
#  3. time from process start to REST ready.
# Usage: scripts/bench.sh [LINES]   (default 300000)
# Honours CARGO_TARGET_DIR. With PERF_DATA=<file>, the worker is profiled (perf record, DWARF
# call graphs) while it runs the file source; the figures of such a run are not comparable.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lines=${1:-300000}
port=29092
rest=18093
work=$(mktemp -d)
bin=${CARGO_TARGET_DIR:-target}/release

scripts/broker.sh start $port
trap 'kill $worker $perf 2>/dev/null || true; scripts/broker.sh stop $port; rm -rf "$work"' EXIT
worker=
perf=
scripts/build-plugins.sh --release >/dev/null
cargo build --release -p tributary-e2e --example bare_producer >/dev/null 2>&1

python3 - "$work/in.txt" "$lines" <<'PY'
import sys
samples = ["plain ascii line of text", "café crème brûlée", "日本語のテキスト", "emoji 🚀🦀", "עברית"]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(int(sys.argv[2])):
        f.write(f"{i:08d} {samples[i % len(samples)]} {'x' * (i % 40)}\n")
PY
size=$(stat -c %s "$work/in.txt")
now_ms() { date +%s%3N; }

# 1a. Baseline: bare producer.
read -r n bare_ms < <($bin/examples/bare_producer 127.0.0.1:$port bench-bare "$work/in.txt")

# 2, 3. Worker start-up and idle memory.
mkdir -p "$work/plugins" && cp target/plugins/*.so "$work/plugins/"
cat > "$work/worker.properties" <<PROPS
bootstrap.servers=127.0.0.1:$port
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$work/offsets.json
offset.flush.interval.ms=100
listeners=http://127.0.0.1:$rest
plugin.path=$work/plugins
PROPS
t0=$(now_ms)
$bin/tributary standalone "$work/worker.properties" 2>"$work/worker.log" &
worker=$!
until curl -sf "http://127.0.0.1:$rest/health" >/dev/null 2>&1; do sleep 0.005; done
ready_ms=$(( $(now_ms) - t0 ))
sleep 2
idle_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$worker/status)

# 1b. The worker's file source, same lines, same broker.
if [ -n "${PERF_DATA:-}" ]; then
  perf record -q -F "${PERF_FREQ:-999}" -g --call-graph dwarf,16384 -o "$PERF_DATA" -p "$worker" 2>"$work/perf.log" &
  perf=$!
  sleep 1
fi
t1=$(now_ms)
curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$rest/connectors" \
  -d "{\"name\":\"bench\",\"config\":{\"connector.class\":\"FileStreamSource\",\"file\":\"$work/in.txt\",\"topic\":\"bench-worker\",\"batch.size\":\"2000\"}}" >/dev/null
until curl -sf "http://127.0.0.1:$rest/connectors/bench/offsets" | grep -q "\"position\":$size"; do sleep 0.02; done
worker_ms=$(( $(now_ms) - t1 ))
busy_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$worker/status)
if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; perf=; fi

python3 - "$lines" "$bare_ms" "$worker_ms" "$ready_ms" "$idle_rss_kb" "$busy_rss_kb" <<'PY'
import sys
n, bare, work, ready, idle, busy = map(int, sys.argv[1:])
bare_rate, work_rate = n / (bare / 1000), n / (work / 1000)
print(f"lines: {n}")
print(f"bare rdkafka producer: {bare} ms, {bare_rate:,.0f} records/s")
print(f"worker file source:    {work} ms, {work_rate:,.0f} records/s (until the last offset was committed)")
print(f"ratio worker/bare:     {work_rate / bare_rate:.2f}")
print(f"start to REST ready:   {ready} ms")
print(f"idle RSS:              {idle / 1024:.1f} MiB; after the run: {busy / 1024:.1f} MiB")
PY
