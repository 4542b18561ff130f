#!/usr/bin/env bash
# Mount benchmark (issue 4): shadowfs against s3fs and rclone mount, each with its disk cache on,
# all against one private RGW started here, each in a fresh bucket holding the same objects.
# Prints a markdown table (seconds per system; ratios = peer time / shadowfs time, so > 1 means
# shadowfs is faster) and how the run compares with the targets. Asserts nothing.
#
#   sudo tests/bench/run_mount_bench.sh [BUILD_DIR] [--quick] [--systems shadowfs,s3fs,rclone]
#                                       [--keep]
#
# Needs root (FUSE mounts, and `echo 3 > /proc/sys/vm/drop_caches` between passes), s3fs,
# rclone, curl and the AWS CLI at /usr/bin/aws. shadowfs is skipped with a note when
# BUILD_DIR/cli/shadowfs has no `mount` subcommand. Everything it mounts, starts or creates is
# unmounted, stopped (by PID) and removed on exit, also on failure or Ctrl-C; --keep keeps the
# scratch directory (logs, caches) for inspection.
# shellcheck disable=SC2016,SC2154  # sh -c scripts take $1 literally; rgw env sets endpoint
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
quick=0
keep=0
systems=shadowfs,s3fs,rclone
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    --systems) systems=$2; shift ;;
    --systems=*) systems=${1#*=} ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
build=$(realpath "$build")
AWS=/usr/bin/aws  # AWS CLI 2; the `aws` first on PATH may be another one

if [ "$(id -u)" != 0 ]; then
  echo "run_mount_bench.sh: needs root (FUSE mounts and drop_caches)" >&2
  exit 2
fi
for tool in s3fs rclone curl "$AWS" fusermount; do
  command -v "$tool" >/dev/null || { echo "run_mount_bench.sh: $tool not found" >&2; exit 2; }
done

if [ $quick = 1 ]; then
  big_mib=32 small_n=200 ls_small=100 ls_large=1000 write_mib=256 warm_runs=3
else
  big_mib=100 small_n=1000 ls_small=1000 ls_large=10000 write_mib=1024 warm_runs=7
fi

W=$(mktemp -d /tmp/shadowfs-mount-bench.XXXXXX)
mounts=()  # mountpoints to unmount on exit
pids=()    # processes to stop on exit (after their mount is gone)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

unmount_quietly() {  # unmount_quietly MOUNTPOINT
  local m=$1
  mountpoint -q "$m" 2>/dev/null || return 0
  fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || fusermount -uz "$m" 2>/dev/null || true
}

stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  for m in "${mounts[@]}"; do unmount_quietly "$m"; done
  for p in "${pids[@]}"; do stop_pid "$p"; done
  bash "$here/../fixtures/rgw.sh" stop "$W/rgw" >/dev/null 2>&1
  if [ $keep = 1 ]; then
    echo "scratch kept in $W" >&2
  else
    rm -rf "$W"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting RGW"
bash "$here/../fixtures/rgw.sh" start "$W/rgw" >/dev/null
# shellcheck disable=SC1091
. "$W/rgw/env"  # endpoint, access_key, secret_key, region

aws_env=(env -u AWS_PROFILE AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY="$secret_key"
  AWS_DEFAULT_REGION="$region" AWS_CONFIG_FILE="$W/aws.cfg" AWS_SHARED_CREDENTIALS_FILE=/dev/null)
# Many small uploads: the default of 10 concurrent requests makes populating 10000 objects slow.
printf '[default]\ns3 =\n  max_concurrent_requests = 64\n  max_queue_size = 20000\n' >"$W/aws.cfg"
aws() { "${aws_env[@]}" "$AWS" --endpoint-url "$endpoint" --no-cli-pager "$@"; }

# Size of BUCKET/KEY on the RGW, or nothing if it does not exist.
object_size() {
  curl -sfI --aws-sigv4 "aws:amz:$region:s3" --user "$access_key:$secret_key" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/$1/$2" 2>/dev/null |
    tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }'
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

now() { date +%s.%N; }
# measure NAME SYSTEM COMMAND...: runs COMMAND (10 min limit), stores its wall time in seconds
# under r_NAME_SYSTEM, or "fail".
declare -A result
measure() {
  local name=$1 sys=$2
  shift 2
  local t0 t1
  t0=$(now)
  if timeout 600 "$@"; then
    t1=$(now)
    result[$name,$sys]=$(echo "$t1 - $t0" | bc -l | awk '{ printf "%.3f", $1 }')
  else
    result[$name,$sys]=fail
    log "$sys: $name failed"
  fi
  log "$sys: $name ${result[$name,$sys]} s"
}

# invalidate SYSTEM REASON NAME...: the data behind these results was wrong; keep the time, flag it.
invalidate() {
  local sys=$1 why=$2
  shift 2
  for name in "$@"; do result[$name,$sys]="${result[$name,$sys]} (invalid: $why)"; done
  log "$sys: $* INVALID: $why"
  bad+=("$sys $*: $why")
}

wait_for_mount() {  # wait_for_mount MOUNTPOINT PID LOG
  for _ in $(seq 300); do
    mountpoint -q "$1" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      echo "mount of $1 exited; its log:" >&2
      tail -n 20 "$3" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "timed out waiting for the mount at $1; log: $3" >&2
  return 1
}

# --- the data, generated once, uploaded into every system's bucket -------------------------------
log "generating data ($big_mib MiB file, $small_n x 4 KiB, $ls_small and $ls_large listing objects, $write_mib MiB to write)"
D=$W/data
mkdir -p "$D/tree/small" "$D/tree/ls_small" "$D/tree/ls_large"
head -c $((big_mib << 20)) /dev/urandom >"$D/tree/big.bin"
head -c $((small_n * 4096)) /dev/urandom | split -b 4096 -a 5 -d - "$D/tree/small/f"
for i in $(seq -w 1 "$ls_small"); do : >"$D/tree/ls_small/o$i"; done
for i in $(seq -w 1 "$ls_large"); do : >"$D/tree/ls_large/o$i"; done
head -c $((write_mib << 20)) /dev/urandom >"$D/write.bin"
(cd "$D/tree/small" && ls) >"$D/small.list"

# --- one system ---------------------------------------------------------------------------------
mount_shadowfs() {  # BUCKET MOUNTPOINT DIR; prints the PID
  AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key \
    "$build/cli/shadowfs" mount "s3://$1" "$2" --endpoint "$endpoint" --region "$region" \
    --store "$3/store" --foreground >"$3/mount.log" 2>&1 &
  echo $!
}
unmount_shadowfs() { "$build/cli/shadowfs" unmount "$1" || fusermount -u "$1"; }

mount_s3fs() {
  echo "$access_key:$secret_key" >"$3/passwd"
  chmod 600 "$3/passwd"
  mkdir -p "$3/cache"
  s3fs "$1" "$2" -f -o "passwd_file=$3/passwd,url=$endpoint,use_path_request_style,use_cache=$3/cache" \
    >"$3/mount.log" 2>&1 &
  echo $!
}
unmount_s3fs() { fusermount -u "$1"; }

mount_rclone() {
  cat >"$3/rclone.conf" <<CONF
[rgw]
type = s3
provider = Ceph
access_key_id = $access_key
secret_access_key = $secret_key
endpoint = $endpoint
region = $region
force_path_style = true
CONF
  # Debian's rclone 1.60 refuses to start while AWS_CA_BUNDLE is set (it is not needed for http).
  env -u AWS_CA_BUNDLE rclone --config "$3/rclone.conf" mount "rgw:$1" "$2" \
    --vfs-cache-mode full --cache-dir "$3/cache" >"$3/mount.log" 2>&1 &
  echo $!
}
unmount_rclone() { fusermount -u "$1"; }

run_system() {
  local sys=$1 bucket="bench-$1-$RANDOM" dir=$W/$1
  local mnt=$dir/mnt
  mkdir -p "$mnt"
  log "$sys: creating and filling bucket $bucket"
  aws s3 mb "s3://$bucket" >/dev/null || return 1
  aws s3 cp --recursive --quiet "$D/tree" "s3://$bucket/" || return 1
  log "$sys: mounting"
  local pid
  pid=$("mount_$sys" "$bucket" "$mnt" "$dir")
  pids+=("$pid")
  mounts+=("$mnt")
  wait_for_mount "$mnt" "$pid" "$dir/mount.log" || return 1

  drop_caches
  measure big_cold "$sys" sh -c 'cat "$1" >/dev/null' _ "$mnt/big.bin"
  # One warm read after drop_caches is mostly the disk's mood of the moment (0.056 to 0.080 s
  # for the same system in two runs): the median of several.
  local warm=() t
  for _ in $(seq "$warm_runs"); do
    drop_caches
    measure big_warm_one "$sys" sh -c 'cat "$1" >/dev/null' _ "$mnt/big.bin"
    warm+=("${result[big_warm_one,$sys]}")
  done
  result[big_warm_all,$sys]="${warm[*]}"
  if [[ " ${warm[*]} " == *fail* ]]; then
    result[big_warm,$sys]=fail
  else
    t=$(printf '%s\n' "${warm[@]}" | sort -n | sed -n "$(((warm_runs + 1) / 2))p")
    result[big_warm,$sys]=$t
  fi
  cmp -s "$mnt/big.bin" "$D/tree/big.bin" || invalidate "$sys" "reads back wrong" big_cold big_warm

  # The names come from a list, not a glob: this times lookup, open and read of every file; the
  # listing has its own rows below.
  drop_caches
  measure small_1 "$sys" sh -c 'cd "$1" && xargs cat <"$2" >/dev/null' _ "$mnt/small" "$D/small.list"
  drop_caches
  measure small_2 "$sys" sh -c 'cd "$1" && xargs cat <"$2" >/dev/null' _ "$mnt/small" "$D/small.list"
  (cd "$mnt/small" && xargs cat <"$D/small.list") | cmp -s - <(cat "$D"/tree/small/*) ||
    invalidate "$sys" "small files read back wrong" small_1 small_2

  drop_caches
  measure ls_small "$sys" sh -c 'ls -l "$1" >/dev/null' _ "$mnt/ls_small"
  drop_caches
  measure ls_large "$sys" sh -c 'ls -l "$1" >/dev/null' _ "$mnt/ls_large"
  local listed
  listed=$(ls "$mnt/ls_large" | wc -l)
  [ "$listed" = "$ls_large" ] || invalidate "$sys" "lists $listed of $ls_large" ls_large
  listed=$(ls "$mnt/ls_small" | wc -l)
  [ "$listed" = "$ls_small" ] || invalidate "$sys" "lists $listed of $ls_small" ls_small

  # Write: the source is in the page cache, so this measures the mount. dd returns after close.
  drop_caches
  cat "$D/write.bin" >/dev/null
  local t0
  t0=$(now)
  measure write "$sys" dd if="$D/write.bin" of="$mnt/write.bin" bs=1M status=none
  # Some systems upload after close returns (rclone's write-back cache): time until it is on RGW.
  local want=$((write_mib << 20)) deadline=$((SECONDS + 600))
  while [ "$(object_size "$bucket" write.bin)" != "$want" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.05
  done
  if [ "$(object_size "$bucket" write.bin)" = "$want" ]; then
    result[write_durable,$sys]=$(echo "$(now) - $t0" | bc -l | awk '{ printf "%.3f", $1 }')
  else
    result[write_durable,$sys]=fail
  fi
  log "$sys: write on RGW after ${result[write_durable,$sys]} s"

  local cached
  cached=$(du -sm "$dir/cache" "$dir/store" 2>/dev/null | awk '{ n += $1 } END { print n + 0 }')
  log "$sys: unmounting (its cache or store holds $cached MiB)"
  notes+=("$sys's cache/store held $cached MiB at the end.")
  "unmount_$sys" "$mnt" || unmount_quietly "$mnt"
  stop_pid "$pid"
  # Free the RAM-backed OSD for the next system (deleting every small object would take longer).
  aws s3 rm "s3://$bucket/write.bin" >/dev/null 2>&1 || true
  aws s3 rm "s3://$bucket/big.bin" >/dev/null 2>&1 || true
  rm -rf "$dir/cache" "$dir/store"
}

bad=()
notes=()
ran=()
for sys in ${systems//,/ }; do
  case $sys in
    shadowfs)
      if ! [ -x "$build/cli/shadowfs" ] || ! "$build/cli/shadowfs" mount --help >/dev/null 2>&1; then
        notes+=("shadowfs skipped: $build/cli/shadowfs has no \`mount\` subcommand yet.")
        log "shadowfs: skipped (no mount subcommand in $build/cli/shadowfs)"
        continue
      fi
      ;;
    s3fs | rclone) ;;
    *) echo "unknown system $sys" >&2; exit 2 ;;
  esac
  # set -e does not apply inside run_system here: it checks the steps that must not fail itself.
  if run_system "$sys"; then
    ran+=("$sys")
  else
    notes+=("$sys failed to set up (see the messages above; --keep keeps $W/$sys).")
    unmount_quietly "$W/$sys/mnt"
    for p in "${pids[@]}"; do stop_pid "$p"; done
  fi
done

# --- report --------------------------------------------------------------------------------------
get() { echo "${result[$1,$2]:-}"; }
ratio() {  # ratio A B: A / B with two decimals, or n/a
  case "$1$2" in *fail* | *invalid* | "") echo n/a; return ;; esac
  [ -z "$1" ] || [ -z "$2" ] && { echo n/a; return; }
  echo "$1 / $2" | bc -l | awk '{ printf "%.2fx", $1 }'
}
labels=(
  "big_cold|${big_mib} MiB file, cold (first read)"
  "big_warm|${big_mib} MiB file, warm (page cache dropped), median of ${warm_runs}"
  "small_1|${small_n} x 4 KiB files, first pass"
  "small_2|${small_n} x 4 KiB files, second pass (page cache dropped)"
  "ls_small|\`ls -l\` of ${ls_small} objects"
  "ls_large|\`ls -l\` of ${ls_large} objects"
  "write|${write_mib} MiB sequential write (dd, incl. close)"
  "write_durable|${write_mib} MiB write until the object is on RGW"
)
echo
echo "| test | shadowfs s | s3fs s | rclone s | s3fs / shadowfs | rclone / shadowfs |"
echo "|---|---:|---:|---:|---:|---:|"
for entry in "${labels[@]}"; do
  key=${entry%%|*}
  label=${entry#*|}
  sh_=$(get "$key" shadowfs) s3_=$(get "$key" s3fs) rc_=$(get "$key" rclone)
  echo "| $label | ${sh_:--} | ${s3_:--} | ${rc_:--} | $(ratio "$s3_" "$sh_") | $(ratio "$rc_" "$sh_") |"
done
echo

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { exit !(r >= t) }' && echo met || echo "NOT met"; }
summary="Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, systems: ${ran[*]:-none}"
[ $quick = 1 ] && summary+=" (--quick sizes)"
summary+=". "
sh_w=$(get big_warm shadowfs) s3_w=$(get big_warm s3fs) rc_w=$(get big_warm rclone)
sh_2=$(get small_2 shadowfs) s3_2=$(get small_2 s3fs) rc_2=$(get small_2 rclone)
if [[ $sh_w =~ ^[0-9.]+$ && $s3_w =~ ^[0-9.]+$ && $rc_w =~ ^[0-9.]+$ ]]; then
  r=$(echo "$(min "$s3_w" "$rc_w") / $sh_w" | bc -l)
  summary+="Warm ${big_mib} MiB read: better peer's time / shadowfs's = $(printf %.2f "$r") (target >= 1.5: $(meets "$r" 1.5)). "
fi
if [[ $sh_2 =~ ^[0-9.]+$ && $s3_2 =~ ^[0-9.]+$ && $rc_2 =~ ^[0-9.]+$ ]]; then
  r1=$(echo "$rc_2 / $sh_2" | bc -l) r2=$(echo "$s3_2 / $sh_2" | bc -l)
  summary+="Small files, second pass: rclone's time / shadowfs's = $(printf %.2f "$r1") (target >= 3: $(meets "$r1" 3)), s3fs's / shadowfs's = $(printf %.2f "$r2") (target >= 10: $(meets "$r2" 10)). "
fi
for sys in "${ran[@]}"; do
  summary+="Warm reads of $sys: $(get big_warm_all "$sys") s. "
done
for n in "${notes[@]}"; do summary+="$n "; done
for b in "${bad[@]}"; do summary+="WRONG DATA, $b. "; done
summary+="rclone's close returns before its upload (write-back cache), hence the durable row."
echo "$summary"
[ ${#bad[@]} -eq 0 ]
