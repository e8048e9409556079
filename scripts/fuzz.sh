#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (properties, json_converter, rest_bodies) for the given
# number of seconds each (default 60), starting from fuzz/seeds/. Needs a nightly toolchain;
# installs cargo-fuzz when missing. Crashes are left in fuzz/artifacts/<target>/ and the grown
# corpora in fuzz/corpus/<target>/ (both ignored by git). Not part of scripts/test.sh or CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${1:-60}
scripts/deps.sh
cargo +nightly --version >/dev/null
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cd fuzz
targets=(properties json_converter rest_bodies)
# No sanitizer: with AddressSanitizer, librdkafka's configure step fails to link its test
# programs against the instrumented libzstd. The fuzzed paths are safe Rust; libFuzzer still
# catches panics, stack overflows, timeouts and memory blow-ups.
sanitizer=(--sanitizer none)
cargo +nightly fuzz build "${sanitizer[@]}"
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: ${seconds}s" >&2
  if ! cargo +nightly fuzz run "${sanitizer[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1; then
    echo "== $t: crashed (see fuzz/artifacts/$t/)" >&2
    status=1
  fi
done
exit $status
