#!/usr/bin/env bash
# `systemd-analyze verify` passes, without a single warning, on the units as `cmake --install`
# installs them (so ExecStart= names a real binary) and on the example .mount unit. Works
# offline and without a running systemd.
# Usage: systemd_units_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}

prefix=$tmp/usr
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
  cat "$tmp/install.log" >&2
  exit 1
}
units=$prefix/lib/systemd/system
# Documentation=man:... is checked with man(1): find the installed pages.
export MANPATH=$prefix/share/man:
export SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER=

verify() {  # a unit file (instances of templates are verified as NAME@test)
  local out
  if ! out=$(systemd-analyze verify "$@" 2>&1); then
    fail "systemd-analyze verify $* failed:"$'\n'"$out"
  elif [ -n "$out" ]; then
    fail "systemd-analyze verify $* warns:"$'\n'"$out"
  fi
}

expected=(shadowfs-reconcile@.service shadowfs-reconcile-once@.service shadowfs-reconcile@.timer
  shadowfs-mount@.service)
for unit in "${expected[@]}"; do
  [ -f "$units/$unit" ] || fail "cmake --install did not install $unit"
done
for unit in "$units"/*; do
  name=$(basename "$unit")
  grep -q '@SHADOWFS_BIN@' "$unit" && fail "$name still has @SHADOWFS_BIN@"
  if grep -q '^ExecStart=' "$unit"; then
    grep -q "^ExecStart=$prefix/bin/shadowfs " "$unit" || fail "$name does not run $prefix/bin/shadowfs"
  fi
  case $name in
    *@.service | *@.timer) verify "$units/${name/@./@test.}" ;;
    *) verify "$unit" ;;
  esac
done

# The example mount unit: its name is the escaped mount point, and it is verified the same way.
example=$prefix/share/doc/shadowfs/examples/mnt-data.mount
[ -f "$example" ] || fail "the example mnt-data.mount is not installed"
[ "$(systemd-escape -p --suffix=mount "$(sed -n 's/^Where=//p' "$example")")" = mnt-data.mount ] ||
  fail "mnt-data.mount does not match its Where="
verify "$example"

[ "$failed" -eq 0 ] && echo "systemd units: OK"
exit "$failed"
