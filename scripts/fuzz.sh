#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs each for FUZZ_SECONDS
# (default 30) over the seeds in fuzz/seeds plus a corpus kept in build-fuzz/corpus/.
# Exits non-zero when a target finds a crash, a sanitizer report or an invariant violation.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
cmake -S . -B build-fuzz -G Ninja -DLOGOUT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build-fuzz -j "${JOBS:-2}"
mkdir -p build-fuzz/artifacts
status=0
for f in build-fuzz/fuzz/*_fuzzer; do
  name=$(basename "$f")
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  log=build-fuzz/$name.log
  if "$f" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
      "$corpus" fuzz/seeds >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $name ran ${SECONDS_EACH}s, $runs executions, no findings"
  else
    echo "fuzz: $name FAILED; last lines of $log:" >&2
    tail -40 "$log" >&2
    status=1
  fi
done
exit $status
