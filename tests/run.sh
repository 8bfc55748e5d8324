#!/usr/bin/env bash
# Installs, builds and runs every test: the Release build's full ctest suite, then the
# whole suite again (but the lint) under AddressSanitizer + UndefinedBehaviorSanitizer.
# Exits non-zero on any failure. SLUICE_SKIP_SANITIZE=1 skips the second build.
set -euo pipefail
cd "$(dirname "$0")/.."

# haproxy: differential tests; prometheus: promtool and a real server for the metrics tests;
# openssl, curl and testssl.sh: the TLS tests.
deploy/install-deps.sh clang clang-format python3 haproxy prometheus curl openssl testssl.sh

jobs=$(nproc)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

echo "== build (Release)"
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"

echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${SLUICE_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build (ASan+UBSan)"
  cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "== tests (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE lint
fi
