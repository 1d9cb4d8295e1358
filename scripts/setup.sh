#!/usr/bin/env bash
# Installs everything logoutd needs to build, run and test on Debian 12 (run as root).
# Debian packages only, plus the npm packages of the node test client.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev libicu-dev libsqlite3-dev libpq-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format
  postgresql openssl
  prometheus-cpp-dev chromium libcurl4-openssl-dev
  nodejs npm
  python3-grpcio python3-protobuf
)

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
