#!/usr/bin/env bash
# The quickstart: lines typed into test.txt travel through a real Kafka-compatible broker
# (Tansu on 127.0.0.1:9092) into test.sink.txt, via `tributary standalone` with the file
# source and sink from config-examples/, managed over the Kafka Connect REST API.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)

scripts/broker.sh start 9092
scripts/deps.sh
scripts/build-plugins.sh --release

printf 'hello\nworld\nfrom a file, through Kafka, into another file\n' > "$work/test.txt"
sed -e "s#^file=.*#file=$work/test.txt#" config-examples/connect-file-source.properties > "$work/source.properties"
sed -e "s#^file=.*#file=$work/test.sink.txt#" config-examples/connect-file-sink.properties > "$work/sink.properties"
sed -e "s#^offset.storage.file.filename=.*#offset.storage.file.filename=$work/connect.offsets#" \
    config-examples/connect-standalone.properties > "$work/worker.properties"
# Two settings for the Tansu test broker only (see README, "Broker"): it auto-creates topics with
# several partitions, so keyless lines go to one partition to stay in order; and it answers a
# group's first join after half the session timeout, so the sink uses a short session.
cat >> "$work/worker.properties" <<'PROPS'
producer.partitioner=consistent
consumer.session.timeout.ms=6000
PROPS

target/release/tributary standalone "$work/worker.properties" "$work/source.properties" "$work/sink.properties" \
  > "$work/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null; scripts/broker.sh stop 9092' EXIT

for _ in $(seq 1 100); do curl -sf localhost:8083/ >/dev/null && break; sleep 0.1; done
echo "== GET /"; curl -s localhost:8083/; echo
echo "== GET /connectors?expand=status"; curl -s 'localhost:8083/connectors?expand=status'; echo

echo "one more line, appended while running" >> "$work/test.txt"
for _ in $(seq 1 600); do
  [ "$(wc -l < "$work/test.sink.txt" 2>/dev/null || echo 0)" -ge 4 ] && break
  sleep 0.1
done
echo "== $work/test.sink.txt (the sink flushes on each offset commit, every 10 s):"
cat "$work/test.sink.txt"
[ "$(wc -l < "$work/test.sink.txt")" -ge 4 ] || { echo "quickstart failed; worker log:"; cat "$work/worker.log"; exit 1; }
echo "== quickstart OK"
