#!/usr/bin/env bash
# Sink benchmark (not a test), in one run against one Tansu broker on 127.0.0.1:29094:
#  1. a topic pre-filled with RECORDS records of 100 bytes (one line each) is drained by a bare
#     rdkafka consumer (tests/bench/bare_consumer.rs) and by the worker's file sink; both clocks
#     exclude the group join: the bare consumer's runs from the first record consumed to the
#     last, the worker's from the first line appearing in the sink file to the last (the file
#     size is polled every 5 ms; the last lines land at the offset flush, every FLUSH_MS);
#  2. unless SKIP_ISOLATED is set, the sink write path in isolation, without the broker (which
#     caps 1): `cargo bench -p tributary --bench sink_write_path` with the same record size.
# Usage: scripts/bench-sink.sh [RECORDS]   (default 500000)
# Environment: FLUSH_MS (offset.flush.interval.ms, default 100); WORKER_PROPS (extra worker
# properties, one per line, e.g. consumer.* settings to try); CARGO_TARGET_DIR is honoured;
# PERF_DATA=<file> profiles the worker (perf record, DWARF call graphs) while it drains the
# topic (the figures of such a run are not comparable).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
records=${1:-500000}
flush_ms=${FLUSH_MS:-100}
port=29094
rest=18094
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)

scripts/broker.sh start $port
worker=
perf=
trap 'kill $worker $perf 2>/dev/null || true; scripts/broker.sh stop $port; rm -rf "$work"' EXIT
scripts/build-plugins.sh --release >/dev/null
cargo build --release -p tributary-e2e --example bare_producer --example bare_consumer >/dev/null 2>&1

# Records of exactly 100 bytes (UTF-8), one per line.
python3 - "$work/in.txt" "$records" <<'PY'
import sys
samples = ["plain ascii line of text", "café crème brûlée", "日本語のテキスト", "emoji 🚀🦀", "עברית"]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(int(sys.argv[2])):
        head = f"{i:08d} {samples[i % len(samples)]} "
        f.write(head + "x" * (100 - len(head.encode())) + "\n")
PY
size=$(stat -c %s "$work/in.txt")
now_ms() { date +%s%3N; }

# Fill the topic (the broker auto-creates it, with its default partition count).
topic=bench-sink
read -r filled fill_ms < <("$bin/examples/bare_producer" 127.0.0.1:$port $topic "$work/in.txt")

# 1a. Baseline: bare consumer, group join excluded.
read -r bare_n bare_ms bare_join parts < <("$bin/examples/bare_consumer" 127.0.0.1:$port $topic "$records")

# 1b. The worker's file sink on the same topic (its own group).
mkdir -p "$work/plugins" && cp target/plugins/*.so "$work/plugins/"
cat > "$work/worker.properties" <<PROPS
bootstrap.servers=127.0.0.1:$port
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$work/offsets.json
offset.flush.interval.ms=$flush_ms
consumer.session.timeout.ms=6000
listeners=http://127.0.0.1:$rest
plugin.path=$work/plugins
${WORKER_PROPS:-}
PROPS
"$bin/tributary" standalone "$work/worker.properties" 2>"$work/worker.log" &
worker=$!
until curl -sf "http://127.0.0.1:$rest/health" >/dev/null 2>&1; do sleep 0.005; done
: > "$work/out.txt"
# Polls the sink file: prints the epoch ms of its first byte and of its full size.
python3 - "$work/out.txt" "$size" > "$work/times.txt" <<'PY' &
import os, sys, time
path, want = sys.argv[1], int(sys.argv[2])
first = None
deadline = time.time() + 600
while time.time() < deadline:
    n = os.stat(path).st_size
    now = time.time()
    if n > 0 and first is None:
        first = now
    if n >= want:
        print(int(first * 1000), int(now * 1000))
        sys.exit(0)
    time.sleep(0.005)
sys.exit(1)
PY
poller=$!
if [ -n "${PERF_DATA:-}" ]; then
  perf record -q -F "${PERF_FREQ:-999}" -g --call-graph dwarf,16384 -o "$PERF_DATA" -p "$worker" 2>"$work/perf.log" &
  perf=$!
  sleep 1
fi
t1=$(now_ms)
curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$rest/connectors" \
  -d "{\"name\":\"bench-sink\",\"config\":{\"connector.class\":\"FileStreamSink\",\"file\":\"$work/out.txt\",\"topics\":\"$topic\"}}" >/dev/null
wait $poller
read -r first_ms last_ms < "$work/times.txt"
if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; perf=; fi
lines=$(wc -l < "$work/out.txt")
if [ "$lines" != "$records" ]; then echo "sink file has $lines lines, expected $records" >&2; exit 1; fi

python3 - "$records" "$filled" "$fill_ms" "$parts" "$bare_n" "$bare_ms" "$bare_join" \
  "$((first_ms - t1))" "$((last_ms - first_ms))" "$flush_ms" <<'PY'
import sys
n, filled, fill, parts, bare_n, bare, bare_join, join, work, flush = map(int, sys.argv[1:])
rate = lambda ms: n / (max(ms, 1) / 1000)
print(f"records: {n} of 100 B in {parts} partition(s) (filled at {filled / (fill / 1000):,.0f} records/s)")
print(f"bare rdkafka consumer: {bare} ms, {rate(bare):,.0f} records/s (join {bare_join} ms, excluded)")
print(f"worker file sink:      {work} ms, {rate(work):,.0f} records/s (first line after {join} ms, excluded; flush every {flush} ms)")
print(f"ratio worker/bare:     {bare / max(work, 1):.2f}")
PY

if [ -z "${SKIP_ISOLATED:-}" ]; then
  echo "write path in isolation (no broker):"
  cargo bench -q -p tributary --bench sink_write_path -- "$records" 2>/dev/null
fi
