#!/usr/bin/env bash
# The .deb as a user gets it: cpack builds it from this build directory, dpkg installs it on this
# machine, the installed /usr/bin/shadowfs runs, mount(8) mounts a local primary through the
# installed /sbin/mount.shadowfs, a file is written and read through it, it is unmounted, and the
# package is purged. Whatever happens, the mount is undone, its daemon killed by PID and the
# package purged. Needs root; skips (exit 77) otherwise, or if shadowfs is already installed
# here (that installation is not ours to replace or purge).
# Usage: deb_test.sh BUILD_DIR VERSION
set -euo pipefail
build=$(realpath "$1")
version=$2

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: installing a .deb needs root"
  exit 77
fi
if dpkg-query -W -f='${Status}' shadowfs 2>/dev/null | grep -q installed ||
  [ -e /usr/bin/shadowfs ] || [ -e /usr/sbin/mount.shadowfs ]; then
  echo "SKIP: shadowfs is already installed on this machine"
  exit 77
fi

tmp=$(mktemp -d /tmp/shadowfs-deb-test.XXXXXX)
mnt=$tmp/mnt
installed=0
cleanup() {
  set +e
  if grep -qF " $mnt " /proc/self/mountinfo; then
    pid=$(cat /run/shadowfs/"$(systemd-escape -p "$mnt")".pid 2>/dev/null)
    /usr/bin/shadowfs unmount "$mnt" --timeout 30 >/dev/null 2>&1 || umount -l "$mnt"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  fi
  [ "$installed" -eq 1 ] && dpkg -P shadowfs >/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$tmp/store/mount.log" ] && sed 's/^/  mount.log: /' "$tmp/store/mount.log" >&2
  exit 1
}

# Build the package into a directory of our own (not the build tree, which others may use).
cpack --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$tmp"/pkg/shadowfs_*.deb)
[ "$(dpkg-deb -f "$deb" Package)" = shadowfs ] || fail "package name"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "version $(dpkg-deb -f "$deb" Version)"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in fuse3 libfuse3-3 libcurl4 libsqlite3-0 libzstd1 libsystemd0 libc6; do
  grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/shadowfs ./usr/sbin/mount.shadowfs ./usr/share/man/man1/shadowfs.1 \
  ./usr/share/man/man5/shadowfs.toml.5 ./usr/share/man/man8/mount.shadowfs.8 \
  ./usr/lib/systemd/system/shadowfs-reconcile@.service \
  ./usr/lib/systemd/system/shadowfs-reconcile@.timer; do
  grep -qF " $path" <<<"$contents" || fail "the package lacks $path"
done

dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; installed=1; fail "dpkg -i"; }
installed=1
[ "$(/usr/bin/shadowfs --version)" = "shadowfs $version" ] ||
  fail "/usr/bin/shadowfs --version says $(/usr/bin/shadowfs --version)"
grep -q "^ExecStart=/usr/bin/shadowfs reconcile " /lib/systemd/system/shadowfs-reconcile@.service ||
  fail "the installed unit does not run /usr/bin/shadowfs"

# mount(8) -> /sbin/mount.shadowfs -> the installed binary, over a local primary.
mkdir -p "$tmp/primary" "$mnt" "$tmp/store"
echo "from the primary" >"$tmp/primary/existing.txt"
mount -t shadowfs "file://$tmp/primary" "$mnt" -o "store=$tmp/store" || fail "mount -t shadowfs"
grep -qE " $mnt .* fuse\.shadowfs " /proc/self/mountinfo || fail "not mounted as fuse.shadowfs"
[ "$(cat "$mnt/existing.txt")" = "from the primary" ] || fail "read through the mount"
echo "written through the mount" >"$mnt/new.txt" || fail "write through the mount"
[ "$(cat "$mnt/new.txt")" = "written through the mount" ] || fail "read back through the mount"
/usr/bin/shadowfs unmount "$mnt" --timeout 120 || fail "shadowfs unmount"
grep -qF " $mnt " /proc/self/mountinfo && fail "still mounted after unmount"
[ "$(cat "$tmp/primary/new.txt")" = "written through the mount" ] ||
  fail "the written file did not reach the primary"

dpkg -P shadowfs >/dev/null || fail "dpkg -P"
installed=0
[ -e /usr/bin/shadowfs ] && fail "/usr/bin/shadowfs is still there after the purge"
echo "deb: OK ($(basename "$deb"))"
