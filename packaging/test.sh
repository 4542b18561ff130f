#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#  1. the release build (gcc), every label: unit, s3 (against a RADOS Gateway the tests start),
#     fuse, slow;
#  2. a clang build with ASan+UBSan and -Wthread-safety (so the lock annotations are checked),
#     running the unit tests.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh

jobs=$(nproc)
# Tests on explicitly: start.sh may have configured this build directory without them.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWFS_BUILD_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure --no-tests=error -j "$jobs" --timeout 900)

CXX=clang++ cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DSHADOWFS_SANITIZE=address -DSHADOWFS_BUILD_TESTS=ON >/dev/null
cmake --build build-clang -j "$jobs"
(cd build-clang && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure --no-tests=error -j "$jobs" -L "unit|fuse" \
  --timeout 900)
