#!/usr/bin/env bash
# One command: install, build, and run the whole test suite (unit, conformance, integration,
# node reflection client, and a short fuzz run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# House style: every C++ file clang-format clean (.clang-format, Google base).
if [[ -d .git ]]; then
  git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror
  echo "format: clang-format clean"
fi
bash scripts/build.sh
(cd build && ctest --output-on-failure -j "${JOBS:-2}" --timeout 600)
bash scripts/fuzz.sh
