#!/usr/bin/env bash
# A store smaller than the data set (issue 5, tests/bench/README.md): the ml shape's 5000 files of
# 16 KiB (79 MiB) read for 3 shuffled epochs through a shadowfs mount whose store holds 40 MiB,
# over a file:// primary that waits 20 ms per request (--primary-latency-ms). Prediction on and
# off alternate (on, off, off, on, ...), each run with a fresh store and a dropped page cache.
# Prints one JSON line per run (predict_workload's, with the system added). Asserts nothing.
#
#   sudo tests/bench/run_small_store_bench.sh [BUILD_DIR] [--pairs N] [--cache-size 40M]
#
# Needs root (drop_caches, FUSE). The mount is stopped by PID and unmounted on exit, also on
# failure or Ctrl-C; the scratch directory goes too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
pairs=1
cache_size=40M
while [ $# -gt 0 ]; do
  case $1 in
    --pairs) pairs=$2; shift ;;
    --cache-size) cache_size=$2; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
build=$(realpath "$build")
SHADOWFS=$build/cli/shadowfs
WORKLOAD=$build/tests/bench/predict_workload
if [ "$(id -u)" != 0 ]; then
  echo "run_small_store_bench.sh: needs root (FUSE mounts and drop_caches)" >&2
  exit 2
fi

work=$(mktemp -d /tmp/shadowfs-small-store.XXXXXX)
mount_pid=
cleanup() {
  if mountpoint -q "$work/mnt" 2>/dev/null; then
    fusermount -u "$work/mnt" 2>/dev/null || umount "$work/mnt" 2>/dev/null || true
  fi
  if [ -n "$mount_pid" ] && kill -0 "$mount_pid" 2>/dev/null; then
    kill -TERM "$mount_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$mount_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$mount_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$WORKLOAD" setup ml --dir "$work/data" >/dev/null

run() {  # SYSTEM: on or off
  rm -rf "$work/store" && mkdir -p "$work/store" "$work/mnt"
  "$SHADOWFS" mount "file://$work/data" "$work/mnt" --store "$work/store" \
    --cache-size "$cache_size" --primary-latency-ms 20 --prediction "$1" --foreground \
    >"$work/mount-$1.log" 2>&1 &
  mount_pid=$!
  for _ in $(seq 100); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
  mountpoint -q "$work/mnt" || { cat "$work/mount-$1.log" >&2; exit 1; }
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local line
  line=$(timeout 1800 "$WORKLOAD" run ml --dir "$work/mnt")
  echo "{\"system\":\"shadowfs-$1\",${line#\{}"
  fusermount -u "$work/mnt"
  wait "$mount_pid" || true
  mount_pid=
}

for ((i = 0; i < pairs; i++)); do
  if ((i % 2 == 0)); then run on; run off; else run off; run on; fi
done
