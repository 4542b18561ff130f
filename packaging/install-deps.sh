#!/usr/bin/env bash
# Installs every build and test dependency of shadowfs on Debian 12 (bookworm), as root.
# Idempotent: skips apt entirely when every package is already installed.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libfuse3-dev fuse3 libzstd-dev liblz4-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev
  libpugixml-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libxxhash-dev libsystemd-dev
  libgtest-dev libgmock-dev
  scdoc dpkg-dev  # man pages; dpkg-shlibdeps for the .deb
)
test_pkgs=(
  ceph-mon ceph-osd ceph-common radosgw uuid-runtime curl awscli s3fs rclone
  clang clang-tidy clang-format libclang-rt-14-dev python3 procps psmisc
  man-db groff-base systemd  # man -l and systemd-analyze verify (tests/packaging)
)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
