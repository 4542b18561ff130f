#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: the release build (all labels: unit, s3,
# fuse, slow) and an ASan+UBSan build of the unit tests. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSHADOWFS_SANITIZE=address >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs" -L unit \
  --timeout 900)
