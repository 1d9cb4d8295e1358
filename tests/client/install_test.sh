#!/usr/bin/env bash
# The C++ client as a library: configure logoutd with -DLOGOUT_CLIENT_ONLY=ON (no server
# dependencies), install it into a scratch prefix, then build and run a tiny consumer project
# that finds it with find_package(logoutd_client).
#   bash tests/client/install_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "${1:?usage: install_test.sh SOURCE_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOGOUT_CLIENT_ONLY=ON \
  -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/build" -j "${JOBS:-2}" >/dev/null
cmake --install "$work/build" >/dev/null
test -f "$work/prefix/include/client/grpc_decision_client.h"
test -f "$work/prefix/include/logout/v1/logout.pb.h"
# The client-only build needs none of the server's libraries.
server_deps='^(ICU_|SQLite3_|PostgreSQL_|prometheus-cpp_DIR|civetweb_DIR|CURL_)'
if grep -qE "$server_deps" "$work/build/CMakeCache.txt"; then
  echo "install_test: the client-only build looked for a server dependency" >&2
  grep -E "$server_deps" "$work/build/CMakeCache.txt" >&2
  exit 1
fi
cmake -S "$src/tests/client/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
echo "install_test: 1 passed, 0 failed"
