#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
cmake -S . -B build-fuzz -G Ninja -DLOGOUT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build-fuzz -j "${JOBS:-2}"
for f in build-fuzz/fuzz/*_fuzzer; do
  name=$(basename "$f")
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  echo "fuzz: $name for ${SECONDS_EACH}s"
  "$f" -max_total_time="$SECONDS_EACH" -print_final_stats=1 "$corpus" fuzz/seeds 2>&1 |
    grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY|BINGO|crash' || true
  # libFuzzer exits non-zero on a finding; pipefail is off for grep, so re-check artifacts.
  if ls crash-* leak-* timeout-* oom-* 2>/dev/null | grep -q .; then
    echo "fuzz: $name found a failing input" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran clean"
