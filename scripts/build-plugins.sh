#!/usr/bin/env bash
# Builds the worker and the connector plugins, and copies the plugins into target/plugins
# (the plugin.path of config-examples/). Usage: scripts/build-plugins.sh [--release]
# Honours CARGO_TARGET_DIR (the plugins are still copied into target/plugins).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
profile=debug
flags=()
if [ "${1:-}" = "--release" ]; then profile=release; flags=(--release); fi
cargo build "${flags[@]}" -p tributary -p tributary-connector-file -p tributary-connector-jdbc -p tributary-connector-postgres-cdc
mkdir -p target/plugins
for lib in "${CARGO_TARGET_DIR:-target}"/$profile/libtributary_connector_*.so; do
  # Copy to a temporary name and rename, so the worker's plugin watcher never sees half a file.
  cp "$lib" "target/plugins/.$(basename "$lib").tmp"
  mv "target/plugins/.$(basename "$lib").tmp" "target/plugins/$(basename "$lib")"
done
