#!/usr/bin/env bash
# Runs every test against a real broker: installs the pinned Tansu build when missing, starts
# it (and the local databases) on 127.0.0.1, builds the workspace, runs the tests, stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

port=${TRIBUTARY_TEST_BROKER_PORT:-19092}
scripts/services.sh
scripts/broker.sh start "$port"
trap 'scripts/broker.sh stop "$port"' EXIT
export TRIBUTARY_TEST_BOOTSTRAP="127.0.0.1:$port"

# The end-to-end tests start the worker binary and load the plugins from target/debug.
cargo build --workspace
cargo test --workspace -- --test-threads=2
