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
#     `psql -c "\copy (select …) to stdout"`; peak RSS of both.
# Both sides speak without TLS (sslmode=disable / PGSSLMODE=disable): the local servers have
# none, and building a TLS connector per connection would only add the same constant to ours.
# Usage: scripts/bench-jdbc.sh
# Environment: RUNS (5), ROWS (500000), SOURCE_ROWS (1000000), PG_URL, MYSQL (client args),
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
