#!/usr/bin/env bash
# JDBC connector benchmarks (not tests), against the local PostgreSQL and MariaDB
# (scripts/services.sh starts them). Each pair runs alternately RUNS times (after one warm-up
# each); the script prints, per command, the median wall time (whole process) and peak RSS,
# the median of the data path's own clock where the program reports one, and the ratio of
# the baseline's median wall time to ours (> 1: we are faster).
#
#  1. sink write path, PostgreSQL insert mode, ROWS records of ~100 B handed to the task
#     directly (connectors/jdbc/examples/jdbc_bench.rs; COPY FROM STDIN) vs `psql \copy` of the
#     same rows from CSV; both TRUNCATE first;
#  2. the same in upsert mode (every row already there: all updates) vs a hand-written loop of
#     3000-row `INSERT … ON CONFLICT` statements with sqlx (`jdbc_bench bare-upsert`);
#  3. sink write path into MariaDB, insert mode, vs `LOAD DATA LOCAL INFILE` of the CSV;
#  4. source, bulk mode over a SOURCE_ROWS-row PostgreSQL table, vs
#     `psql -c "\copy (select …) to stdout"`; peak RSS of both;
#  5. end to end from a pre-filled topic (see below).
# Both sides speak without TLS (sslmode=disable / PGSSLMODE=disable): the local servers have
# none, and building a TLS connector per connection would only add the same constant to ours.
# Usage: scripts/bench-jdbc.sh
# Environment: RUNS (5), ROWS (500000), SOURCE_ROWS (1000000), SKIP_ISOLATED=1 (only part 5),
# SKIP_E2E=1 (parts 1-4 only),
# BATCH_SIZE (the sink's batch.size, default Confluent's 3000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${RUNS:-5}
rows=${ROWS:-500000}
source_rows=${SOURCE_ROWS:-1000000}
pg_host=127.0.0.1
pg_jdbc="jdbc:postgresql://$pg_host:5432/test?user=postgres&sslmode=disable"
pg_url="postgres://postgres@$pg_host:5432/test?sslmode=disable"
my_jdbc="jdbc:mariadb://127.0.0.1:3306/test?user=root"
export PGSSLMODE=disable
psql_() { psql -h $pg_host -U postgres -d test -qAt "$@"; }
mysql_() { mariadb -h 127.0.0.1 -uroot --local-infile=1 test "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scripts/services.sh
cargo build --release -p tributary-connector-jdbc --example jdbc_bench >/dev/null 2>&1
bench=${CARGO_TARGET_DIR:-target}/release/examples/jdbc_bench

python3 - "$work/rows.csv" "$rows" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(f"{i},item-{i:014d},{i%100},{i*0.5},note {i:032d}\n")
PY
psql_ -c "DROP TABLE IF EXISTS bench_sink; CREATE TABLE bench_sink (id BIGINT PRIMARY KEY, name TEXT, qty BIGINT, price DOUBLE PRECISION, note TEXT)"
mysql_ -e "DROP TABLE IF EXISTS bench_sink; CREATE TABLE bench_sink (id BIGINT PRIMARY KEY, name TEXT, qty BIGINT, price DOUBLE, note TEXT)"

# run LABEL CMD...: one run; appends "wall_s rss_kb inner_ms" to $work/LABEL.
run() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err" || {
    echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  local inner
  inner=$(awk 'NF>=2 && $1 ~ /^[0-9]+$/ {print $2; exit}' "$work/out")
  echo "$(tail -1 "$work/time") ${inner:--}" >> "$work/$label"
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'; }
report() { # report NAME OURS BASE
  local o=$2 b=$3
  local ow ob om bw bb
  ow=$(cut -d' ' -f1 "$work/$o" | median); om=$(cut -d' ' -f2 "$work/$o" | median)
  bw=$(cut -d' ' -f1 "$work/$b" | median); bb=$(cut -d' ' -f2 "$work/$b" | median)
  local oi; oi=$(cut -d' ' -f3 "$work/$o" | { grep -v -- - || true; } | median)
  printf '%-34s ours %6.2f s (data path %s ms, peak %s MB)  baseline %6.2f s (peak %s MB)  baseline/ours %.2f×\n' \
    "$1" "$ow" "${oi:--}" "$((om/1024))" "$bw" "$((bb/1024))" "$(echo "$bw / $ow" | bc -l)"
}
pair() { # pair NAME OURS-LABEL "OURS CMD" BASE-LABEL "BASE CMD"
  local name=$1 o=$2 ocmd=$3 b=$4 bcmd=$5
  rm -f "$work/$o" "$work/$b"
  bash -c "$ocmd" >/dev/null 2>&1 || true; bash -c "$bcmd" >/dev/null 2>&1 || true
  for _ in $(seq "$runs"); do
    run "$o" bash -c "$ocmd"
    run "$b" bash -c "$bcmd"
  done
  report "$name" "$o" "$b"
}

if [ -z "${SKIP_ISOLATED:-}" ]; then
echo "rows: $rows (sink), $source_rows (source); runs: $runs; batch.size: ${BATCH_SIZE:-3000}"
pair "PostgreSQL insert (COPY)" pg_ins \
  "psql -h $pg_host -U postgres -d test -qc 'TRUNCATE bench_sink' && $bench sink '$pg_jdbc' bench_sink $rows insert" \
  pg_copy \
  "psql -h $pg_host -U postgres -d test -qc 'TRUNCATE bench_sink' && psql -h $pg_host -U postgres -d test -qc '\\copy bench_sink FROM $work/rows.csv CSV'"
pair "PostgreSQL upsert (all updates)" pg_up \
  "$bench sink '$pg_jdbc' bench_sink $rows upsert" \
  pg_bare_up \
  "$bench bare-upsert '$pg_url' bench_sink $rows"
pair "MariaDB insert" my_ins \
  "mariadb -h 127.0.0.1 -uroot test -e 'TRUNCATE bench_sink' && $bench sink '$my_jdbc' bench_sink $rows insert" \
  my_load \
  "mariadb -h 127.0.0.1 -uroot --local-infile=1 test -e \"TRUNCATE bench_sink; LOAD DATA LOCAL INFILE '$work/rows.csv' INTO TABLE bench_sink FIELDS TERMINATED BY ','\""

psql_ -c "DROP TABLE IF EXISTS bench_source; CREATE TABLE bench_source AS SELECT g::bigint AS id, 'item-' || lpad(g::text, 14, '0') AS name, (g % 100)::bigint AS qty, g * 0.5::float8 AS price, 'note ' || lpad(g::text, 32, '0') AS note FROM generate_series(1, $source_rows) g; ALTER TABLE bench_source ADD PRIMARY KEY (id)"
psql_ -c "VACUUM ANALYZE bench_source"
pair "PostgreSQL source (bulk)" pg_src \
  "$bench source '$pg_jdbc' public.bench_source $source_rows" \
  pg_copy_out \
  "psql -h $pg_host -U postgres -d test -qc '\\copy (select * from bench_source) to stdout' > /dev/null"
fi

# 5. End to end from a pre-filled topic (ROWS JSON-with-schema records, one partition) into
#    PostgreSQL: the worker's JDBC sink (insert mode: COPY) vs a bare consumer that parses the
#    same records and streams them into one COPY (tests/bench/bare_copy_consumer.rs). The test
#    broker caps both. Clocks exclude the group join: the bare one from its first record to the
#    COPY's end; the worker's from the first row in the table to the last (count polled every
#    20 ms). One run each (SKIP_E2E=1 skips this part). PERF_DATA=<file> profiles the worker
#    (perf record with DWARF call graphs; that run's figures are not comparable).
if [ -z "${SKIP_E2E:-}" ]; then
  port=29095
  rest=18095
  scripts/broker.sh start $port >/dev/null
  worker=
  trap 'kill $worker 2>/dev/null || true; scripts/broker.sh stop '$port' >/dev/null; rm -rf "$work"' EXIT
  scripts/build-plugins.sh --release >/dev/null
  cargo build --release -p tributary-e2e --example bare_producer --example bare_copy_consumer >/dev/null 2>&1
  bin=${CARGO_TARGET_DIR:-target}/release
  python3 - "$work/records.json" "$rows" <<'PY'
import json, sys
schema = {"type": "struct", "optional": False, "name": "bench_sink", "fields": [
    {"field": "id", "type": "int64", "optional": False},
    {"field": "name", "type": "string", "optional": False},
    {"field": "qty", "type": "int64", "optional": False},
    {"field": "price", "type": "double", "optional": False},
    {"field": "note", "type": "string", "optional": False}]}
s = json.dumps(schema, separators=(",", ":"))
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write('{"schema":%s,"payload":{"id":%d,"name":"item-%014d","qty":%d,"price":%s,"note":"note %032d"}}\n'
                % (s, i, i, i % 100, repr(i * 0.5), i))
PY
  psql -h 127.0.0.1 -U postgres -d test -qc "CREATE TABLE IF NOT EXISTS bench_e2e (LIKE bench_sink INCLUDING ALL)"
  read -r filled fill_ms < <("$bin/examples/bare_producer" 127.0.0.1:$port bench-jdbc "$work/records.json")
  psql -h 127.0.0.1 -U postgres -d test -qc "TRUNCATE bench_e2e"
  read -r bare_n bare_ms < <("$bin/examples/bare_copy_consumer" 127.0.0.1:$port bench-jdbc "$rows" "$pg_url" bench_e2e)
  psql -h 127.0.0.1 -U postgres -d test -qc "TRUNCATE bench_e2e"
  mkdir -p "$work/plugins" && cp target/plugins/*.so "$work/plugins/"
  cat > "$work/worker.properties" <<PROPS
bootstrap.servers=127.0.0.1:$port
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
offset.storage.file.filename=$work/offsets.json
offset.flush.interval.ms=1000
consumer.session.timeout.ms=6000
listeners=http://127.0.0.1:$rest
plugin.path=$work/plugins
PROPS
  "$bin/tributary" standalone "$work/worker.properties" 2>"$work/worker.log" &
  worker=$!
  until curl -sf "http://127.0.0.1:$rest/health" >/dev/null 2>&1; do sleep 0.01; done
  perf=
  if [ -n "${PERF_DATA:-}" ]; then
    perf record -q -F 999 --call-graph dwarf,16384 -o "$PERF_DATA" -p "$worker" 2>/dev/null &
    perf=$!
    sleep 1
  fi
  curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$rest/connectors" \
    -d "{\"name\":\"bench-jdbc\",\"config\":{\"connector.class\":\"JdbcSinkConnector\",\"topics\":\"bench-jdbc\",\"connection.url\":\"$pg_jdbc\",\"table.name.format\":\"bench_e2e\"}}" >/dev/null
  first= last=
  deadline=$(( $(date +%s) + 600 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    n=$(psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT count(*) FROM bench_e2e")
    now=$(date +%s%3N)
    if [ "$n" -gt 0 ] && [ -z "$first" ]; then first=$now; fi
    if [ "$n" -ge "$rows" ]; then last=$now; break; fi
    sleep 0.02
  done
  rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$worker/status)
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
  kill -TERM $worker; wait $worker || true; worker=
  [ -n "$last" ] || { echo "the worker wrote $n of $rows rows" >&2; tail -20 "$work/worker.log" >&2; exit 1; }
  work_ms=$((last - first))
  printf 'end to end, %s records (topic filled at %s records/s)\n' "$rows" "$(( rows * 1000 / (fill_ms > 0 ? fill_ms : 1) ))"
  printf '  bare consumer + COPY  %6d ms  %8d rows/s\n' "$bare_ms" "$(( rows * 1000 / (bare_ms > 0 ? bare_ms : 1) ))"
  printf '  worker JDBC sink      %6d ms  %8d rows/s (peak RSS %d MB)\n' "$work_ms" "$(( rows * 1000 / (work_ms > 0 ? work_ms : 1) ))" "$(( rss_kb / 1024 ))"
  printf '  bare/worker           %.2f×\n' "$(echo "$bare_ms / $work_ms" | bc -l)"
fi
