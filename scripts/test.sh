#!/usr/bin/env bash
# Runs every test against a real broker: installs the pinned Tansu build when missing, starts
# it (and the local databases) on 127.0.0.1, builds the workspace, runs the tests, stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

port=${TRIBUTARY_TEST_BROKER_PORT:-19092}
scripts/deps.sh
scripts/services.sh
tls_port=${TRIBUTARY_TEST_TLS_BROKER_PORT:-19093}
scripts/broker.sh start "$port"
scripts/broker.sh start-tls "$tls_port" $((tls_port + 1000))
trap 'scripts/broker.sh stop "$port"; scripts/broker.sh stop-tls "$tls_port" $((tls_port + 1000))' EXIT
export TRIBUTARY_TEST_BOOTSTRAP="127.0.0.1:$port"
# A second broker behind a TLS terminator, for the broker-security tests.
export TRIBUTARY_TEST_TLS_BOOTSTRAP="127.0.0.1:$tls_port"
export TRIBUTARY_TEST_TLS_CA="$root/.tributary/tls/ca.pem"

# The end-to-end tests start the worker binary and load the plugins from target/debug.
cargo build --workspace
cargo test --workspace -- --test-threads=2
