#!/usr/bin/env bash
# Distributed-mode rebalance/failover benchmark (not a test): 3 `tributary distributed` workers,
# one sequence source connector with 30 tasks, against the Tansu test broker.
#
# Measured R times each (median, min, max):
#   empty-group join  a 4th worker (0 connectors in the group) from spawn to /health 200, i.e. the
#                     cost of one bare group rebalance on this broker (the baseline);
#   create -> spread  POST /connectors (tasks.max=30) until the connector and all 30 tasks are
#                     RUNNING and per-worker task counts differ by <= 1 (two rebalances);
#   kill -9 failover  kill -9 of the worker running the most tasks (not the polled one) until all
#                     30 tasks are RUNNING on the survivors (status polled every 50 ms); also
#                     reported: until the connector instance runs on a survivor as well;
#   rejoin rebalance  restart of the killed worker (same port and config) until it is healthy and
#                     the 30 tasks are balanced within one across the 3 workers again.
# Each time is also given as a ratio to the session timeout (3000 ms, Tributary's default) and to
# the empty-group-join median. At the end: each worker's RSS with 30 tasks running.
#
# Usage: scripts/bench-failover.sh
# Environment:
#   BENCH_RUNS=3            repetitions
#   BENCH_BROKER_PORT=29093 Tansu port (bench.sh uses 29092)
#   BENCH_REST_PORT=28081   first REST port; workers use it and the next 3
#   BENCH_TIMEOUT_S=90      limit for every wait
#   BENCH_SETTLE_S=5        before each measurement the group must be quiet this long: no
#                           "rejoining the group" / "rebalance complete" line in any worker log
#                           (a Tansu round takes ~2 s and one change often causes 2-3 rounds)
#   BENCH_KEEP=1            keep the temp dir (worker logs) even on success
#   RUST_LOG=info           worker log filter (not passed to the broker), e.g.
#     info,tributary::coordination=debug,tributary::herder::distributed::membership=debug
#                           keep membership at info or finer: the settle check reads those lines
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

runs=${BENCH_RUNS:-3}
broker_port=${BENCH_BROKER_PORT:-29093}
rest_base=${BENCH_REST_PORT:-28081}
timeout_s=${BENCH_TIMEOUT_S:-90}
settle_s=${BENCH_SETTLE_S:-5}
session_ms=3000
tasks=30
work=$(mktemp -d -t tributary-bench-failover.XXXXXX)
run_id="bf$(date +%s)$$"
group="$run_id-group"

declare -a pids=() ports=() logs=()
extra_pid=
broker_started=0
ok=0

cleanup() {
  local i
  for i in "${!pids[@]}"; do
    [ -n "${pids[$i]}" ] && kill -9 "${pids[$i]}" 2>/dev/null || true
  done
  [ -n "$extra_pid" ] && kill -9 "$extra_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$broker_started" = 1 ] && scripts/broker.sh stop "$broker_port" || true
  if [ "$ok" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "worker logs kept in $work" >&2
  fi
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
say() { echo "[$(date +%H:%M:%S.%3N)] $*"; }
strip_ansi() { sed -e 's/\x1b\[[0-9;]*m//g'; }

# Prints the tail of the given worker logs (indices) and exits.
fail() {
  local msg=$1; shift
  echo >&2
  echo "FAILED: $msg" >&2
  local i
  for i in "$@"; do
    [ -f "${logs[$i]:-}" ] || continue
    echo "---- tail of worker $((i + 1)) (port ${ports[$i]}) log ${logs[$i]} ----" >&2
    tail -n 40 "${logs[$i]}" | strip_ansi >&2
  done
  exit 1
}

for p in $(seq "$rest_base" $((rest_base + 3))); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "127.0.0.1:$p is already in use; set BENCH_REST_PORT" >&2
    exit 1
  fi
done

say "building (release)"
cargo build --release -p tributary -p tributary-test-plugin-faulty >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; echo "build failed" >&2; exit 1; }
mkdir -p "$work/plugins"
cp target/release/libtributary_test_plugin_faulty.so "$work/plugins/"

if ! (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null; then
  broker_started=1
fi
# RUST_LOG is for the workers: Tansu reads it too and at info logs every request (GBs).
env -u RUST_LOG scripts/broker.sh start "$broker_port"

# The polling helper: every wait lives here (stdlib only).
cat >"$work/poll.py" <<'PY'
import json, sys, time, urllib.request, urllib.error

def http(method, port, path, body=None, timeout=2.0):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, raw.decode(errors="replace")
    except (OSError, ValueError) as e:
        return None, str(e)

def owners(status):
    """(connector worker or None, {task id: worker}) for RUNNING instances."""
    conn = None
    c = status.get("connector") or {}
    if c.get("state") == "RUNNING":
        conn = c.get("worker_id")
    t = {}
    for task in status.get("tasks") or []:
        if task.get("state") == "RUNNING" and task.get("worker_id"):
            t[task.get("id")] = task["worker_id"]
    return conn, t

def load(task_owners, live):
    out = {w: 0 for w in live}
    for w in task_owners.values():
        out[w] = out.get(w, 0) + 1
    return out

def fmt_load(l):
    return ",".join(f"{w.rsplit(':', 1)[-1]}={n}" for w, n in sorted(l.items()))

def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "create":
        port, name, cfg, timeout = args[0], args[1], json.loads(args[2]), float(args[3])
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            code, body = http("POST", port, "/connectors", {"name": name, "config": cfg}, 10)
            if code == 201:
                return 0
            if code not in (409, 500, None):
                print(f"create {name}: {code} {body}", file=sys.stderr); return 1
            last = (code, body); time.sleep(0.05)
        print(f"create {name}: no 201 within {timeout}s, last {last}", file=sys.stderr); return 1
    if mode == "delete":
        port, name, timeout = args[0], args[1], float(args[2])
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            code, body = http("DELETE", port, f"/connectors/{name}", None, 10)
            if code in (204, 404):
                return 0
            last = (code, body); time.sleep(0.2)
        print(f"delete {name}: no 204 within {timeout}s, last {last}", file=sys.stderr); return 1
    if mode == "gone":
        # Every listed worker stops listing the connector.
        ports, name, timeout = args[0].split(","), args[1], float(args[2])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all((lambda r: r[0] == 200 and name not in r[1])(http("GET", p, "/connectors"))
                   for p in ports):
                return 0
            time.sleep(0.1)
        print(f"{name} still listed after {timeout}s", file=sys.stderr); return 1
    if mode == "top":
        # The worker (id) running the most tasks, other than `exclude`.
        port, name, exclude = args[0], args[1], args[2]
        code, st = http("GET", port, f"/connectors/{name}/status")
        if code != 200:
            print(f"status {name}: {code} {st}", file=sys.stderr); return 1
        conn, t = owners(st)
        l = {w: n for w, n in load(t, []).items() if w != exclude}
        best = max(sorted(l), key=lambda w: l[w])
        print(best, "connector" if conn == best else "-")
        return 0
    if mode == "wait":
        # wait T0_MS TIMEOUT_S ASK_PORTS NAME LIVE_IDS BALANCED HEALTH_PORT
        # ASK_PORTS: comma list, polled in turn (first answering 200 wins each round).
        # NAME "-": only the health condition. BALANCED 1: loads within one.
        # HEALTH_PORT "-": none. Prints "<ms to tasks> <ms to tasks+connector> <load>".
        t0, timeout = int(args[0]), float(args[1])
        ask, name, live = args[2].split(","), args[3], args[4].split(",") if args[4] != "-" else []
        want_balanced, health = args[5] == "1", args[6]
        deadline = time.monotonic() + timeout
        tasks_at = None
        last = "no answer"
        healthy = health == "-"
        while time.monotonic() < deadline:
            if not healthy:
                code, _ = http("GET", health, "/health", None, 1.0)
                healthy = code == 200
                if healthy and name == "-":
                    print(int(time.time() * 1000) - t0, "-", "-"); return 0
            if name != "-":
                st = None
                for p in ask:
                    code, body = http("GET", p, f"/connectors/{name}/status", None, 1.0)
                    if code == 200:
                        st = body; break
                    last = f"{code} {body}"
                if st is not None:
                    conn, t = owners(st)
                    l = load(t, live)
                    on_live = set(t) == set(range(TASKS)) and all(w in live for w in t.values())
                    bal = max(l.values()) - min(l.values()) <= 1
                    now = int(time.time() * 1000) - t0
                    last = f"connector={conn} running_tasks={len(t)} load={fmt_load(l)}"
                    if on_live and healthy and (bal or not want_balanced):
                        if tasks_at is None:
                            tasks_at = now
                        if conn in live:
                            print(tasks_at, now, fmt_load(l)); return 0
            time.sleep(0.05)
        what = "healthy" if not healthy else "the wanted status"
        print(f"timeout after {timeout}s waiting for {what}; last: {last}", file=sys.stderr)
        if name != "-":
            # What each worker reports for the instances that are not RUNNING on a live worker.
            for p in sorted(set(ask) | set(w.rsplit(":", 1)[-1] for w in live)):
                code, st = http("GET", p, f"/connectors/{name}/status", None, 2.0)
                if code != 200:
                    print(f"  status from :{p}: {code} {st}", file=sys.stderr); continue
                c = st.get("connector") or {}
                odd = [t for t in st.get("tasks") or []
                       if t.get("state") != "RUNNING" or t.get("worker_id") not in live]
                print(f"  status from :{p}: connector {c.get('state')} on {c.get('worker_id')}; "
                      f"{len(st.get('tasks') or [])} tasks listed; not RUNNING on a live worker: "
                      + (", ".join(f"{t.get('id')}={t.get('state')}@{t.get('worker_id')}"
                                   for t in odd) or "none"), file=sys.stderr)
        return 1
    if mode == "window":
        # window FROM_MS TO_MS MAX_LINES LOG...: the log lines stamped within [FROM, TO].
        import datetime, re
        lo, hi, most, files = int(args[0]), int(args[1]), int(args[2]), args[3:]
        ansi = re.compile(r"\x1b\[[0-9;]*m")
        for f in files:
            shown = []
            for line in open(f, errors="replace"):
                line = ansi.sub("", line.rstrip("\n"))
                m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z", line)
                if not m:
                    continue
                ts = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
                if lo <= ts.timestamp() * 1000 <= hi:
                    shown.append(line)
            print(f"---- {f}: {len(shown)} line(s) in the window"
                  + (f", first {most} shown" if len(shown) > most else "") + " ----")
            print("\n".join(shown[:most]))
        return 0
    print("unknown mode", mode, file=sys.stderr); return 2

TASKS = 30
sys.exit(main())
PY
poll() { python3 "$work/poll.py" "$@"; }

# Worker i (0-based) on port rest_base+i; properties as in tests/support/cluster.rs.
write_props() {
  local i=$1 port=$((rest_base + i))
  cat >"$work/worker-$i.properties" <<PROPS
bootstrap.servers=127.0.0.1:$broker_port
group.id=$group
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
config.storage.topic=$group-configs
offset.storage.topic=$group-offsets
status.storage.topic=$group-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
status.storage.partitions=3
offset.flush.interval.ms=500
listeners=http://127.0.0.1:$port
plugin.path=$work/plugins
PROPS
}

# Starts worker i in the background (appending to its log); sets pids[i].
spawn() {
  local i=$1
  ports[$i]=$((rest_base + i))
  logs[$i]="$work/worker-$i.log"
  [ -f "$work/worker-$i.properties" ] || write_props "$i"
  echo "=== start $(date +%H:%M:%S.%3N) ===" >>"${logs[$i]}"
  RUST_LOG=${RUST_LOG:-info} target/release/tributary distributed "$work/worker-$i.properties" \
    >>"${logs[$i]}" 2>&1 &
  pids[$i]=$!
}

alive() { [ -n "${pids[$1]:-}" ] && kill -0 "${pids[$1]}" 2>/dev/null; }
id_of() { echo "127.0.0.1:${ports[$1]}"; }
index_of_id() {
  local i
  for i in 0 1 2; do
    if [ "$(id_of "$i")" = "$1" ]; then echo "$i"; fi
  done
  return 0
}

wait_healthy() {
  local i=$1 t0 out
  t0=$(now_ms)
  out=$(poll wait "$t0" "$timeout_s" - - - 0 "${ports[$i]}" 2>"$work/poll.err") \
    || { alive "$i" || echo "worker $((i + 1)) exited" >&2; cat "$work/poll.err" >&2
         fail "worker $((i + 1)) (port ${ports[$i]}) not healthy" "$i"; }
  echo "${out%% *}"
}

# Waits until no worker has logged a group round for settle_s seconds (at most timeout_s).
wait_quiet() {
  local quiet_ms=$((settle_s * 1000)) start since count last=-1 now
  start=$(now_ms); since=$start
  while :; do
    count=$(cat "$work"/worker-*.log 2>/dev/null | grep -c -E "rejoining the group|rebalance complete" || true)
    now=$(now_ms)
    if [ "$count" != "$last" ]; then last=$count; since=$now; fi
    [ $((now - since)) -ge "$quiet_ms" ] && return 0
    if [ $((now - start)) -ge $((timeout_s * 1000)) ]; then
      fail "the group kept rebalancing for ${timeout_s}s (never ${settle_s}s without a round)" 0 1 2
    fi
    sleep 0.2
  done
}

# The last "rebalance complete" line of each worker tells who leads.
leader_index() {
  local i
  for i in 0 1 2; do
    if [ -f "${logs[$i]}" ] && strip_ansi <"${logs[$i]}" | grep "rebalance complete" | tail -n 1 \
      | grep -q "leader=true"; then
      echo "$i"; return
    fi
  done
  echo "?"
}

say "starting 3 workers (group $group) on ports $rest_base-$((rest_base + 2)), broker 127.0.0.1:$broker_port"
for i in 0 1 2; do
  spawn "$i"
  ms=$(wait_healthy "$i")
  say "worker $((i + 1)) healthy after $ms ms (pid ${pids[$i]})"
done
all_ports="${ports[0]},${ports[1]},${ports[2]}"
all_ids="$(id_of 0),$(id_of 1),$(id_of 2)"
wait_quiet

declare -a m_join=() m_spread=() m_fail=() m_fail_conn=() m_rejoin=()
rss_line=

for r in $(seq 1 "$runs"); do
  say "---- run $r/$runs ----"

  # 1. Baseline: a 4th worker joins a group with no connectors, then leaves.
  t0=$(now_ms)
  spawn 3
  extra_pid=${pids[3]}
  out=$(poll wait "$t0" "$timeout_s" - - - 0 "${ports[3]}" 2>"$work/poll.err") \
    || { cat "$work/poll.err" >&2; fail "4th worker not healthy (empty-group join)" 3 0 1 2; }
  m_join+=("${out%% *}")
  say "empty-group join: ${out%% *} ms"
  kill -TERM "${pids[3]}"
  for _ in $(seq 1 $((timeout_s * 10))); do alive 3 || break; sleep 0.1; done
  alive 3 && fail "4th worker did not exit within ${timeout_s}s of SIGTERM" 3
  wait "${pids[3]}" 2>/dev/null || true
  pids[3]=; extra_pid=
  wait_quiet

  # 2. Create -> spread.
  name="$run_id-seq-$r"
  cfg="{\"connector.class\":\"io.tributary.test.SequenceSourceConnector\",\"tasks.max\":\"$tasks\",\"topic\":\"$run_id-topic-$r\",\"interval.ms\":\"50\"}"
  t0=$(now_ms)
  poll create "${ports[0]}" "$name" "$cfg" "$timeout_s" || fail "cannot create $name" 0 1 2
  out=$(poll wait "$t0" "$timeout_s" "$all_ports" "$name" "$all_ids" 1 - 2>"$work/poll.err") \
    || { cat "$work/poll.err" >&2; fail "$name: not RUNNING and spread" 0 1 2; }
  read -r spread_ms _ load <<<"$out"
  m_spread+=("$spread_ms")
  say "create -> spread: $spread_ms ms (load $load)"
  wait_quiet

  # 3. kill -9 failover of the busiest worker other than the polled one (worker 1).
  asker=0
  read -r victim_id victim_conn < <(poll top "${ports[$asker]}" "$name" "$(id_of $asker)") \
    || fail "cannot read $name status" 0 1 2
  v=$(index_of_id "$victim_id")
  [ -n "$v" ] || fail "unknown worker id $victim_id" 0 1 2
  leader=$(leader_index)
  survivors=(); for i in 0 1 2; do [ "$i" != "$v" ] && survivors+=("$i"); done
  s_ports="${ports[${survivors[0]}]},${ports[${survivors[1]}]}"
  s_ids="$(id_of "${survivors[0]}"),$(id_of "${survivors[1]}")"
  echo "=== bench: kill -9 at $(date +%H:%M:%S.%3N) (run $r) ===" >>"$work/events.log"
  t0=$(now_ms)
  kill -9 "${pids[$v]}"
  out=$(poll wait "$t0" "$timeout_s" "$s_ports" "$name" "$s_ids" 0 - 2>"$work/poll.err") \
    || { cat "$work/poll.err" >&2; fail "$name: tasks not RUNNING on the survivors after kill -9 of worker $((v + 1))" "${survivors[@]}" "$v"; }
  wait "${pids[$v]}" 2>/dev/null || true
  pids[$v]=
  read -r fail_ms fail_conn_ms load <<<"$out"
  m_fail+=("$fail_ms"); m_fail_conn+=("$fail_conn_ms")
  role="tasks"; [ "$victim_conn" = connector ] && role="$role+connector"
  [ "$leader" = "$v" ] && role="$role, leader"
  say "kill -9 worker $((v + 1)) ($role): tasks on survivors after $fail_ms ms, connector too after $fail_conn_ms ms (load $load)"
  if [ "$fail_ms" -gt 10000 ]; then
    say "WARNING: failover took more than 10 s (kill at t0=$t0 ms); see logs in $work"
    {
      echo "run $r: failover $fail_ms ms after kill -9 of worker $((v + 1)) (port ${ports[$v]}, $role)"
      echo "at $(date -u -d "@$((t0 / 1000))" +%H:%M:%S).$(printf %03d $((t0 % 1000))) UTC; log lines from 1 s before to 1 s after:"
      poll window $((t0 - 1000)) $((t0 + fail_conn_ms + 1000)) 150 "${logs[0]}" "${logs[1]}" "${logs[2]}"
    } >>"$work/anomalies.txt"
    BENCH_KEEP=1
  fi
  wait_quiet

  # 4. Rejoin: the killed worker comes back on the same port and config.
  t0=$(now_ms)
  spawn "$v"
  out=$(poll wait "$t0" "$timeout_s" "$s_ports" "$name" "$all_ids" 1 "${ports[$v]}" 2>"$work/poll.err") \
    || { cat "$work/poll.err" >&2; fail "worker $((v + 1)) did not rejoin and rebalance" 0 1 2; }
  read -r rejoin_ms _ load <<<"$out"
  m_rejoin+=("$rejoin_ms")
  say "rejoin rebalance: $rejoin_ms ms (load $load)"
  wait_quiet

  if [ "$r" = "$runs" ]; then
    rss_line=""
    for i in 0 1 2; do
      alive "$i" || fail "worker $((i + 1)) is not running" "$i"
      kb=$(awk '/VmRSS/ {print $2}' "/proc/${pids[$i]}/status")
      rss_line+="worker $((i + 1)) (port ${ports[$i]}, pid ${pids[$i]}): $(awk -v k="$kb" 'BEGIN{printf "%.1f", k/1024}') MiB"$'\n'
    done
  fi

  poll delete "${ports[0]}" "$name" "$timeout_s" || fail "cannot delete $name" 0 1 2
  poll gone "$all_ports" "$name" "$timeout_s" || fail "$name still listed" 0 1 2
  wait_quiet
done

ok=1
echo
python3 - "$session_ms" "$runs" \
  "${m_join[*]}" "${m_spread[*]}" "${m_fail[*]}" "${m_fail_conn[*]}" "${m_rejoin[*]}" <<'PY'
import statistics, sys
session, runs = int(sys.argv[1]), int(sys.argv[2])
names = ["empty-group join", "create -> spread", "kill -9 failover (tasks)",
         "kill -9 failover (+connector)", "rejoin rebalance"]
rows = [(n, [int(x) for x in v.split()]) for n, v in zip(names, sys.argv[3:])]
base = statistics.median(rows[0][1])
print(f"3 workers x 30 tasks, {runs} run(s); session.timeout.ms={session}; "
      f"baseline = empty-group join median {base:.0f} ms")
def ratio(med, lo, hi, d):
    return f"{med / d:.2f} ({lo / d:.2f}-{hi / d:.2f})"
h = (f"{'metric':<30} {'median':>7} {'min':>7} {'max':>7}  {'x session: med (min-max)':<25} "
     f"{'x baseline: med (min-max)':<26} runs (ms)")
print(h); print("-" * len(h))
for n, v in rows:
    med, lo, hi = statistics.median(v), min(v), max(v)
    print(f"{n:<30} {med:>7.0f} {lo:>7} {hi:>7}  {ratio(med, lo, hi, session):<25} "
          f"{ratio(med, lo, hi, base):<26} " + " ".join(map(str, v)))
PY
echo
echo "RSS with 30 tasks running (last run, before deletion):"
printf '%s' "$rss_line"
if [ -f "$work/anomalies.txt" ]; then
  echo
  echo "ANOMALIES (failover over 10 s):"
  cat "$work/anomalies.txt"
fi
