#!/usr/bin/env bash
# PostgreSQL CDC benchmarks (not tests), against the local PostgreSQL (scripts/services.sh)
# and a Tansu broker this script starts on port 29096. Release builds.
#
#  1. streaming: EVENTS inserts of small rows (transactions of 1000) are written while
#     nothing reads; then the same pgoutput stream is drained from two slots created at the
#     same point: `pg_recvlogical` to /dev/null (the baseline: what the server can send)
#     and the worker (snapshot.mode=no_data) into Kafka, timed until a consumer has read every
#     event. Alternately RUNS times; medians, ratio, events/s, the worker's peak RSS.
#  2. latency: the worker streams while pgbench inserts RATE rows/s for SECONDS s (one row per
#     transaction); a consumer computes consumed-at minus the commit time (`source.ts_ms`):
#     p50 / p99 / max. CLIENTS pgbench connections; the machine's CPU use is printed (on a
#     2-core machine PostgreSQL alone takes most of it at 10k transactions/s).
#  3. snapshot: a SNAPSHOT_ROWS-row table read by the initial snapshot into Kafka vs
#     `psql \copy (SELECT …) TO /dev/null`; peak RSS.
# Usage: scripts/bench-cdc.sh
# Environment: RUNS (3), EVENTS (500000), RATE (10000), LOAD_SECONDS (20), CLIENTS (32),
# ROWS_PER_TX (1: RATE transactions/s; 10: RATE/10 transactions of 10 rows),
# SNAPSHOT_ROWS (1000000),
# SKIP_LATENCY=1, SKIP_SNAPSHOT=1, SKIP_STREAM=1, WORKER_PROPS / CONNECTOR_PROPS (extra
# worker / connector properties lines).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${RUNS:-3}
events=${EVENTS:-500000}
rate=${RATE:-10000}
seconds=${LOAD_SECONDS:-20}
clients=${CLIENTS:-32}
rows_per_tx=${ROWS_PER_TX:-1}
snapshot_rows=${SNAPSHOT_ROWS:-1000000}
port=29096
bootstrap=127.0.0.1:$port
export PGSSLMODE=disable
psql_() { psql -h 127.0.0.1 -U postgres -d test -qAt "$@"; }
work=$(mktemp -d)
target=${CARGO_TARGET_DIR:-target}
worker_pid=
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null || true
  psql_ -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench_cdc%' AND NOT active" >/dev/null 2>&1 || true
  scripts/broker.sh stop $port >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

scripts/services.sh
scripts/build-plugins.sh --release >/dev/null 2>&1
cargo build --release -p tributary-e2e --example cdc_watch >/dev/null 2>&1
watch=$target/release/examples/cdc_watch
scripts/broker.sh start $port >/dev/null
mkdir -p "$work/plugins"
cp "$target"/release/libtributary_connector_postgres_cdc.so "$work/plugins/"

# drop_slot NAME: once its walsender has gone (a stopped worker's lingers a moment).
drop_slot() {
  for _ in $(seq 1 100); do
    if psql_ -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$1' AND NOT active" >/dev/null 2>&1 \
      && [ -z "$(psql_ -c "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$1'")" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "warning: slot $1 not dropped" >&2
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# worker PREFIX SLOT SNAPSHOT_MODE TABLE: starts a release worker with the connector.
worker() {
  cat > "$work/worker.properties" <<EOF
bootstrap.servers=$bootstrap
key.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
offset.storage.file.filename=$work/offsets-$1.json
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$((port + 1))
plugin.path=$work/plugins
${WORKER_PROPS:-}
EOF
  cat > "$work/cdc.properties" <<EOF
name=bench-cdc
connector.class=io.debezium.connector.postgresql.PostgresConnector
plugin.name=pgoutput
database.hostname=127.0.0.1
database.user=postgres
database.dbname=test
database.sslmode=disable
topic.prefix=$1
slot.name=$2
publication.name=bench_cdc_pub
publication.autocreate.mode=disabled
table.include.list=public.$4
snapshot.mode=$3
${CONNECTOR_PROPS:-}
EOF
  "$target"/release/tributary standalone "$work/worker.properties" "$work/cdc.properties" \
    > "$work/worker.log" 2>&1 &
  worker_pid=$!
}
stop_worker() {
  local rss
  rss=$(awk '/VmHWM/ {print $2}' /proc/"$worker_pid"/status 2>/dev/null || echo 0)
  kill "$worker_pid" 2>/dev/null || true
  wait "$worker_pid" 2>/dev/null || true
  worker_pid=
  echo "$rss"
}
psql_ -c "DROP PUBLICATION IF EXISTS bench_cdc_pub" \
  -c "DROP TABLE IF EXISTS bench_cdc; CREATE TABLE bench_cdc (id BIGINT PRIMARY KEY, qty INTEGER, note TEXT)" \
  -c "DROP TABLE IF EXISTS bench_cdc_snap; CREATE TABLE bench_cdc_snap (id BIGINT PRIMARY KEY, qty INTEGER, note TEXT)" \
  -c "CREATE PUBLICATION bench_cdc_pub FOR TABLE bench_cdc, bench_cdc_snap"

if [ -z "${SKIP_STREAM:-}" ]; then
  echo "== 1. streaming $events inserts (transactions of 1000), $runs runs"
  for r in $(seq 1 "$runs"); do
    psql_ -c "TRUNCATE bench_cdc" \
      -c "SELECT pg_create_logical_replication_slot('bench_cdc_ours_$r', 'pgoutput')" \
      -c "SELECT pg_create_logical_replication_slot('bench_cdc_base_$r', 'pgoutput')" >/dev/null
    psql_ -c "DO \$\$ BEGIN FOR b IN 0..$((events / 1000 - 1)) LOOP
        INSERT INTO bench_cdc SELECT b * 1000 + i, i, 'note ' || (b * 1000 + i) FROM generate_series(1, 1000) i;
        COMMIT; END LOOP; END \$\$"
    end=$(psql_ -c "SELECT pg_current_wal_lsn()")
    start=$(date +%s%N)
    pg_recvlogical -h 127.0.0.1 -U postgres -d test --slot "bench_cdc_base_$r" --start \
      --endpos "$end" -o proto_version=1 -o publication_names=bench_cdc_pub -f /dev/null
    base_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    prefix=bench$r$$
    worker "$prefix" "bench_cdc_ours_$r" no_data bench_cdc
    out=$("$watch" "$bootstrap" "$prefix.public.bench_cdc" "$events" count)
    rss=$(stop_worker)
    ours_ms=$(echo "$out" | awk '{print $2}')
    echo "run $r: pg_recvlogical ${base_ms} ms; worker ${ours_ms} ms ($(( events * 1000 / ours_ms )) events/s), peak RSS ${rss} kB"
    echo "$base_ms" >> "$work/base"; echo "$ours_ms" >> "$work/ours"; echo "$rss" >> "$work/rss"
    drop_slot "bench_cdc_ours_$r"; drop_slot "bench_cdc_base_$r"
  done
  b=$(median < "$work/base"); o=$(median < "$work/ours"); m=$(sort -n "$work/rss" | tail -1)
  echo "streaming: pg_recvlogical median ${b} ms, worker median ${o} ms → $(( events * 1000 / o )) events/s, ratio (baseline/ours) $(awk "BEGIN {printf \"%.2f\", $b / $o}"), peak RSS ${m} kB"
fi

if [ -z "${SKIP_LATENCY:-}" ]; then
  echo "== 2. latency at $rate inserts/s ($rows_per_tx per transaction) for $seconds s"
  psql_ -c "TRUNCATE bench_cdc" -c "SELECT pg_create_logical_replication_slot('bench_cdc_lat', 'pgoutput')" >/dev/null
  prefix=benchlat$$
  worker "$prefix" bench_cdc_lat no_data bench_cdc
  # Whole transactions per client; the consumer waits for exactly what they insert.
  tx_per_client=$((rate * seconds / rows_per_tx / clients))
  total=$((tx_per_client * clients * rows_per_tx))
  "$watch" "$bootstrap" "$prefix.public.bench_cdc" "$total" latency > "$work/lat" &
  watch_pid=$!
  echo "INSERT INTO bench_cdc SELECT nextval('bench_cdc_seq'), 1, 'x' FROM generate_series(1, $rows_per_tx);" > "$work/insert.sql"
  psql_ -c "DROP SEQUENCE IF EXISTS bench_cdc_seq; CREATE SEQUENCE bench_cdc_seq"
  cpu_before=$(head -1 /proc/stat)
  pgbench -h 127.0.0.1 -U postgres -n -c "$clients" -j 2 -R "$((rate / rows_per_tx))" \
    -t "$tx_per_client" -f "$work/insert.sql" test > "$work/pgbench.log" 2>&1
  cpu_after=$(head -1 /proc/stat)
  wait "$watch_pid"
  rss=$(stop_worker)
  read -r n p50 p99 max < "$work/lat"
  echo "latency: $n events at $rate/s: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (commit → consumed); peak RSS ${rss} kB"
  echo "pgbench ($clients clients): $(grep -E 'tps =' "$work/pgbench.log" | head -1)"
  echo "CPU busy during the load: $(echo "$cpu_before $cpu_after" | awk '{t=0; for (i=2;i<=9;i++) t+=$(i+11)-$i; printf "%d%%", 100-100*($(16)-$5)/t}')"
  drop_slot bench_cdc_lat
fi

if [ -z "${SKIP_SNAPSHOT:-}" ]; then
  echo "== 3. snapshot of $snapshot_rows rows, $runs runs"
  psql_ -c "TRUNCATE bench_cdc_snap" \
    -c "INSERT INTO bench_cdc_snap SELECT i, i % 100, 'note ' || i FROM generate_series(1, $snapshot_rows) i"
  for r in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    psql_ -c "\\copy (SELECT * FROM bench_cdc_snap) TO '/dev/null'"
    base_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    prefix=benchsnap$r$$
    worker "$prefix" "bench_cdc_snap_$r" initial bench_cdc_snap
    out=$("$watch" "$bootstrap" "$prefix.public.bench_cdc_snap" "$snapshot_rows" count)
    rss=$(stop_worker)
    ours_ms=$(echo "$out" | awk '{print $2}')
    echo "run $r: psql \\copy ${base_ms} ms; worker snapshot ${ours_ms} ms ($(( snapshot_rows * 1000 / ours_ms )) rows/s), peak RSS ${rss} kB"
    echo "$base_ms" >> "$work/sbase"; echo "$ours_ms" >> "$work/sours"; echo "$rss" >> "$work/srss"
    drop_slot "bench_cdc_snap_$r"
  done
  b=$(median < "$work/sbase"); o=$(median < "$work/sours"); m=$(sort -n "$work/srss" | tail -1)
  echo "snapshot: psql \\copy median ${b} ms, worker median ${o} ms → $(( snapshot_rows * 1000 / o )) rows/s, ratio (baseline/ours) $(awk "BEGIN {printf \"%.2f\", $b / $o}"), peak RSS ${m} kB"
fi
