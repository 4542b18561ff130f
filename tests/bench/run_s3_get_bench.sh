#!/usr/bin/env bash
# Starts a private RGW, runs the GET throughput benchmark, stops the RGW (also on failure).
# Usage: tests/bench/run_s3_get_bench.sh [BUILD_DIR] [--size-mib N] [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
shift || true
state=$(mktemp -d /tmp/shadowfs-bench-rgw.XXXXXX)
trap 'bash "$here/../fixtures/rgw.sh" stop "$state/rgw" >/dev/null' EXIT
bash "$here/../fixtures/rgw.sh" start "$state/rgw" >/dev/null
SHADOWFS_RGW_ENV="$state/rgw/env" "$build/tests/bench/s3_get_bench" "$@"
