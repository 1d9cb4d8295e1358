#!/usr/bin/env bash
# Installs what logoutd needs on Debian 12 (run as root): `setup.sh run` only what building and
# running logoutd and logoutctl needs; `setup.sh` everything to build, run and test.
# Debian packages only, plus the npm packages of the node test clients.
set -euo pipefail
cd "$(dirname "$0")/.."

# What building and running logoutd and logoutctl needs (scripts/run.sh: `setup.sh run`).
RUN_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev libicu-dev libsqlite3-dev libpq-dev nlohmann-json3-dev
  prometheus-cpp-dev libcurl4-openssl-dev openssl
)
# Everything else the tests, benchmarks and fuzzers use (scripts/test.sh: `setup.sh`).
TEST_PACKAGES=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format
  postgresql chromium
  nodejs npm
  python3-grpcio python3-protobuf
  jq curl nghttp2-client
)
profile=${1:-all}
PACKAGES=("${RUN_PACKAGES[@]}")
[[ "$profile" == run ]] || PACKAGES+=("${TEST_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node may come from elsewhere than Debian's package (this image ships its own); keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if [[ "$profile" == run ]]; then
  echo "setup: done (run)"
  exit 0
fi

# npm packages: the node test clients (reflection as grpcurl uses it, the back-channel receiver,
# playwright-core for the browser test), the example web tier, and js-yaml for the deploy manifest
# test. `npm ci` whenever node_modules is missing or older than the lock file, so dependencies
# added later reach existing checkouts.
for dir in tests/integration/node client/web tests/deploy; do
  if [[ ! -f "$dir/node_modules/.package-lock.json" ||
        "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
echo "setup: done"
