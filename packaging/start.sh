#!/usr/bin/env bash
# Installs what is needed, builds shadowfs, and mounts it over the embedded default primary (a
# local directory) so it is ready to use. Re-runnable: if it is already mounted, says so.
#   SHADOWFS_MOUNTPOINT  where to mount (default /mnt/shadowfs as root, ~/shadowfs otherwise)
#   SHADOWFS_BUILD_DIR   the build directory (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SHADOWFS_BUILD_DIR:-build}
if [ "$(id -u)" -eq 0 ]; then
  mnt=${SHADOWFS_MOUNTPOINT:-/mnt/shadowfs}
  primary=/var/lib/shadowfs/primary
else
  mnt=${SHADOWFS_MOUNTPOINT:-$HOME/shadowfs}
  primary=${XDG_DATA_HOME:-$HOME/.local/share}/shadowfs/primary
fi
bin=$(realpath -m "$build/cli/shadowfs")

# The type of the mount at $mnt ("" if none): field 5 is the mount point, the type follows "-".
mount_type() {
  awk -v m="$mnt" '$5 == m { for (i = 6; i <= NF; i++) if ($i == "-") t = $(i + 1) }
                   END { print t }' /proc/self/mountinfo
}

# A mount whose daemon died answers "Transport endpoint is not connected" (a stat of the mount
# point itself may still come from the kernel's cache: look up a name that cannot be cached).
alive() {
  local out
  out=$(stat "$mnt/.shadowfs-probe-$$" 2>&1 || true)
  [[ $out != *"not connected"* ]]
}

if [ "$(mount_type)" = fuse.shadowfs ] && alive; then
  echo "shadowfs is already mounted at $mnt"
  echo "unmount it with: $bin unmount $mnt"
  exit 0
fi

bash packaging/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWFS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target shadowfs

# Clear a dead mount left by a daemon that died.
if [ -n "$(mount_type)" ] && ! alive; then
  umount -l "$mnt" 2>/dev/null || fusermount3 -uz "$mnt"
fi
mkdir -p "$mnt" "$primary"
"$bin" mount "file://$primary" "$mnt"

echo
echo "shadowfs is mounted at $mnt (primary: the local directory $primary)."
echo "Try:      echo hello > $mnt/hello && cat $mnt/hello && ls -l $primary"
echo "Unmount:  $bin unmount $mnt"
