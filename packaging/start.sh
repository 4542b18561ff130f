#!/usr/bin/env bash
# Installs what is needed, builds shadowfs, and runs it over the embedded default primary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWFS_BUILD_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target shadowfs
./build/cli/shadowfs --help
./build/cli/shadowfs selfcheck
