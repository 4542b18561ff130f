#!/usr/bin/env bash
# Prediction benchmark (issue 5): the six workload shapes of predict_workload, each read through
# shadowfs with prediction on and off, s3fs and rclone mount, all against one private RGW behind
# latency_proxy (a fixed delay per request, default 20 ms). Prints one markdown table: wall time,
# p50/p99 read latency, requests that went through the proxy, and shadowfs's prediction metrics
# (precision, coverage, timeliness, wasted bytes as % of the bytes the workload read,
# calibration error; n/a where the mount does not export them). Asserts nothing.
#
#   sudo tests/bench/run_predict_bench.sh [BUILD_DIR] [--quick] [--shapes 1,2,3,4,5,6]
#        [--systems shadowfs-on,shadowfs-off,shadowfs-trained,s3fs,rclone] [--delay-ms 20] [--keep]
#        [--access-log]
#
# Shapes: 1 ml (shuffled epochs), 2 build (fixed include order), 3 etl (nightly partitions,
# simulated days), 4 seq (large sequential reads), 5 columnar (footer + column chunks),
# 6 interactive (ls/grep/cat over one project, then another). Every run starts cold: a fresh
# mount with an empty cache or store, and `echo 3 > /proc/sys/vm/drop_caches`. Each shape's data
# set is uploaded once (directly to RGW, not through the proxy) and removed after the shape.
# shadowfs-trained runs the workload once unmeasured with prediction on (ml: in another shuffle),
# keeps only the learned model (STORE/predict.db) and measures the second run: a cold cache with
# a learned model.
# Needs root, s3fs, rclone, curl, python3 and the AWS CLI at /usr/bin/aws. Until the mount has
# --prediction and --metrics-addr, it runs shadowfs without them (shadowfs-on is then skipped and
# shadowfs-off is the mount as it is). Everything it mounts or starts is unmounted and stopped by
# PID on exit, also on failure or Ctrl-C; --keep keeps the scratch directory (logs, metrics);
# --access-log has each shadowfs mount record its reads (DIR/access.jsonl, for predict eval).
# shellcheck disable=SC2154  # the rgw env file sets endpoint, access_key, secret_key, region
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
quick=0
keep=0
access_log=0
shapes=1,2,3,4,5,6
systems=shadowfs-on,shadowfs-off,s3fs,rclone
delay_ms=20
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    --access-log) access_log=1 ;;
    --shapes) shapes=$2; shift ;;
    --systems) systems=$2; shift ;;
    --delay-ms) delay_ms=$2; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
build=$(realpath "$build")
AWS=/usr/bin/aws
SHADOWFS=$build/cli/shadowfs
WORKLOAD=$build/tests/bench/predict_workload
PROXY=$build/tests/bench/latency_proxy

if [ "$(id -u)" != 0 ]; then
  echo "run_predict_bench.sh: needs root (FUSE mounts and drop_caches)" >&2
  exit 2
fi
for tool in s3fs rclone curl python3 "$AWS" fusermount "$WORKLOAD" "$PROXY"; do
  command -v "$tool" >/dev/null || { echo "run_predict_bench.sh: $tool not found" >&2; exit 2; }
done
shape_names=(_ ml build etl seq columnar interactive)
q=()
[ $quick = 1 ] && q=(--quick)
# The ETL shape's simulated day: 60 real seconds (20 s with --quick). The generator and the mount
# (--time-scale) must agree on it.
etl_scale=1440
[ $quick = 1 ] && etl_scale=4320

W=$(mktemp -d /tmp/shadowfs-predict-bench.XXXXXX)
mounts=()
pids=()
proxy_pid=
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

unmount_quietly() {
  mountpoint -q "$1" 2>/dev/null || return 0
  fusermount -u "$1" 2>/dev/null || umount "$1" 2>/dev/null || fusermount -uz "$1" 2>/dev/null || true
}
stop_pid() {  # TERM, wait up to 10 s, then KILL
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  for m in "${mounts[@]}"; do unmount_quietly "$m"; done
  for p in "${pids[@]}"; do stop_pid "$p"; done
  [ -n "$proxy_pid" ] && stop_pid "$proxy_pid"
  bash "$here/../fixtures/rgw.sh" stop "$W/rgw" >/dev/null 2>&1
  if [ $keep = 1 ]; then echo "scratch kept in $W" >&2; else rm -rf "$W"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

log "starting RGW"
bash "$here/../fixtures/rgw.sh" start "$W/rgw" >/dev/null
# shellcheck disable=SC1091
. "$W/rgw/env"
rgw_hostport=${endpoint#http://}
aws_env=(env -u AWS_PROFILE AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY="$secret_key"
  AWS_DEFAULT_REGION="$region" AWS_CONFIG_FILE="$W/aws.cfg" AWS_SHARED_CREDENTIALS_FILE=/dev/null)
printf '[default]\ns3 =\n  max_concurrent_requests = 64\n  max_queue_size = 20000\n' >"$W/aws.cfg"
aws() { "${aws_env[@]}" "$AWS" --endpoint-url "$endpoint" --no-cli-pager "$@"; }

log "starting latency_proxy (+$delay_ms ms per request) in front of $endpoint"
"$PROXY" --upstream "$rgw_hostport" --delay-ms "$delay_ms" >"$W/proxy.port" 2>"$W/proxy.log" &
proxy_pid=$!
for _ in $(seq 50); do [ -s "$W/proxy.port" ] && break; sleep 0.1; done
[ -s "$W/proxy.port" ] || { echo "latency_proxy did not start" >&2; exit 1; }
proxied=http://127.0.0.1:$(cat "$W/proxy.port")

# Requests the proxy has delayed so far (client bursts: about one per request).
proxy_requests() {
  local before
  before=$(grep -c . "$W/proxy.log" || true)
  kill -USR1 "$proxy_pid"
  for _ in $(seq 50); do
    [ "$(grep -c . "$W/proxy.log" || true)" -gt "$before" ] && break
    sleep 0.02
  done
  tail -n 1 "$W/proxy.log" | sed -n 's/.*bursts=\([0-9]*\).*/\1/p'
}

help=$("$SHADOWFS" mount --help 2>/dev/null || true)
has_flag() { grep -q -- "$1" <<<"$help"; }
notes=()
has_flag --prediction || notes+=("The mount has no --prediction flag yet: shadowfs-on skipped, shadowfs-off is the mount as it is.")
has_flag --metrics-addr || notes+=("The mount has no --metrics-addr yet: prediction metrics are n/a.")
# --time-scale is hidden from --help: ask for it with a bad value and see whether it is known.
has_time_scale=0
probe=$("$SHADOWFS" mount s3://probe / --time-scale 0 2>&1 || true)
grep -q "bad --time-scale" <<<"$probe" && has_time_scale=1
[ $has_time_scale = 1 ] || notes+=("The mount has no --time-scale: ETL days are real-time for it.")
has_time_anchor=0
probe=$("$SHADOWFS" mount s3://probe / --time-anchor x 2>&1 || true)
grep -q "bad --time-anchor" <<<"$probe" && has_time_anchor=1

# ETL's calendar: each run's mount reads etl_sim0 (2026-01-01T02:00:00Z, the nightly job's time)
# a few real seconds after it starts, when the workload starts day 0's job (--etl-anchor), so
# every day's job comes at 02:00 simulated. A trained run's measured half goes on with the next
# days after its training half's, on the same calendar.
etl_sim0=1767232800
etl_days=5
[ $quick = 1 ] && etl_days=3
etl_anchor=""  # "REAL,SIM" of the next ETL run (set_etl_anchor)
set_etl_anchor() {  # FIRST_DAY
  etl_anchor="$(($(date +%s) + 5)),$((etl_sim0 + $1 * 86400))"
  etl_args=(--etl-anchor "${etl_anchor%%,*}" --etl-first-day "$1")
}
etl_args=()

wait_for_mount() {  # MOUNTPOINT PID LOG
  for _ in $(seq 300); do
    mountpoint -q "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "mount of $1 exited:" >&2; tail -n 20 "$3" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for the mount at $1" >&2
  return 1
}

# mount_SYSTEM BUCKET MOUNTPOINT DIR SHAPE: starts the mount in the foreground; prints its PID.
mount_shadowfs() {  # + the prediction mode (on|off) as $5
  local args=(mount "s3://$1" "$2" --endpoint "$proxied" --region "$region" --store "$3/store"
    --foreground)
  has_flag --prediction && args+=(--prediction "$5")
  has_flag --metrics-addr && args+=(--metrics-addr "127.0.0.1:$(cat "$3/metrics.port")")
  [ $access_log = 1 ] && args+=(--access-log "$3/access.jsonl")
  [ "$4" = etl ] && [ $has_time_scale = 1 ] && args+=(--time-scale "$etl_scale")
  [ "$4" = etl ] && [ $has_time_anchor = 1 ] && args+=(--time-anchor "$etl_anchor")
  AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key "$SHADOWFS" "${args[@]}" \
    >"$3/mount.log" 2>&1 &
  echo $!
}
mount_s3fs() {
  echo "$access_key:$secret_key" >"$3/passwd"
  chmod 600 "$3/passwd"
  mkdir -p "$3/cache"
  s3fs "$1" "$2" -f -o "passwd_file=$3/passwd,url=$proxied,use_path_request_style,use_cache=$3/cache" \
    >"$3/mount.log" 2>&1 &
  echo $!
}
mount_rclone() {
  printf '[rgw]\ntype = s3\nprovider = Ceph\naccess_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = %s\nforce_path_style = true\n' \
    "$access_key" "$secret_key" "$proxied" "$region" >"$3/rclone.conf"
  # Debian's rclone 1.60 refuses to start while AWS_CA_BUNDLE is set (not needed for http).
  env -u AWS_CA_BUNDLE rclone --config "$3/rclone.conf" mount "rgw:$1" "$2" \
    --vfs-cache-mode full --cache-dir "$3/cache" >"$3/mount.log" 2>&1 &
  echo $!
}

# Summarises a /metrics scrape: precision coverage timeliness wasted%-of-demand calibration,
# each "n/a" when the mount did not export it. Overall figures come from a series without an
# expert label (or expert="all"); without one, the per-expert counters are summed.
summarize_metrics() {  # METRICS_FILE DEMAND_BYTES
  python3 - "$1" "$2" <<'PY'
import re, sys
series = {}
try:
    text = open(sys.argv[1]).read()
except OSError:
    text = ""
for line in text.splitlines():
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)', line)
    if m and not line.startswith("#"):
        series.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
def value(name):
    s = series.get("shadowfs_predict_" + name)
    if not s:
        return None
    overall = [v for labels, v in s if labels in ("", "{}") or 'expert="all"' in labels]
    return overall[0] if overall else sum(v for _, v in s)
def fmt(x, pct=False):
    return "n/a" if x is None else ("%.1f%%" % (100 * x) if pct else "%.3f" % x)
# Precision and waste as of the end of the run: prefetched bytes not read by then count as
# wasted. The engine's own precision gauge counts a prefetch's waste only when its horizon
# (10 minutes) has passed unread, later than most runs last, so it would show only the
# prefetches that were read.
prefetched, useful = value("prefetched_bytes_total"), value("useful_bytes_total")
precision = None
if prefetched and useful is not None:
    precision = useful / prefetched
elif not prefetched:
    precision = value("precision")
coverage = value("coverage")
demand_reads, covered = value("demand_reads_total"), value("covered_reads_total")
if coverage is None and demand_reads:
    coverage = covered / demand_reads if covered is not None else None
timely, prefetches = value("timely_prefetches_total"), value("prefetches_total")
timeliness = timely / prefetches if timely is not None and prefetches else None
wasted, demand = value("wasted_bytes_total"), float(sys.argv[2] or 0)
if prefetched is not None and useful is not None:
    wasted = max(wasted or 0, prefetched - useful)
waste = wasted / demand if wasted is not None and demand > 0 else None
calibration = value("calibration_error")
if value("calibration_labels") == 0:
    calibration = None  # nothing labelled during the run yet: no error to speak of
print(fmt(precision), fmt(coverage), fmt(timeliness), fmt(waste, True), fmt(calibration))
PY
}

json_field() {  # JSON_LINE FIELD
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

results=()  # "shape|system|wall|p50|p99|requests|precision|coverage|timeliness|waste|calibration"

# shadowfs-trained: a first, unmeasured run of the workload with prediction on teaches the model;
# after that mount ends, everything in the store but the model (predict.db) is removed, so the
# measured run starts with a cold cache and a learned model, as a recurring job would.
train_one() {  # SHAPE BUCKET DIR
  local shape=$1 bucket=$2 dir=$3 pid
  log "$shape / shadowfs-trained: training run"
  set_etl_anchor 0
  pid=$(mount_shadowfs "$bucket" "$dir/mnt" "$dir" "$shape" on)
  pids+=("$pid")
  mounts+=("$dir/mnt")
  wait_for_mount "$dir/mnt" "$pid" "$dir/mount.log" || return 1
  drop_caches
  # Another shuffle than the measured run's: the model must have learned the set, not the order.
  timeout 3600 "$WORKLOAD" run "$shape" --dir "$dir/mnt" "${q[@]}" --ml-seed 2 \
    --etl-time-scale "$etl_scale" "${etl_args[@]}" >"$dir/training.json" 2>"$dir/workload.err" ||
    true
  fusermount -u "$dir/mnt" 2>/dev/null || unmount_quietly "$dir/mnt"
  stop_pid "$pid"
  find "$dir/store" -mindepth 1 -maxdepth 1 ! -name predict.db -exec rm -rf {} +
  [ -f "$dir/store/predict.db" ] || log "$shape / shadowfs-trained: no model was saved"
}

run_one() {  # SHAPE SYSTEM BUCKET
  local shape=$1 sys=$2 bucket=$3 dir=$W/$1/$2
  local mnt=$dir/mnt kind=${sys%%-*} mode=${sys#shadowfs-}
  mkdir -p "$mnt"
  free_port >"$dir/metrics.port"
  set_etl_anchor 0
  if [ "$sys" = shadowfs-trained ]; then
    mode=on
    train_one "$shape" "$bucket" "$dir" || return 1
    set_etl_anchor "$etl_days"  # the nights after the training run's
  fi
  local pid
  pid=$("mount_$kind" "$bucket" "$mnt" "$dir" "$shape" "$mode")
  pids+=("$pid")
  mounts+=("$mnt")
  wait_for_mount "$mnt" "$pid" "$dir/mount.log" || return 1
  drop_caches
  local before after out rc=0
  before=$(proxy_requests)
  log "$shape / $sys: running"
  out=$(timeout 3600 "$WORKLOAD" run "$shape" --dir "$mnt" "${q[@]}" \
    --etl-time-scale "$etl_scale" "${etl_args[@]}" 2>"$dir/workload.err") || rc=$?
  after=$(proxy_requests)
  if has_flag --metrics-addr; then
    # The engine takes the reads from a ring it drains every 5-200 ms (cli/prediction.cc):
    # scrape until the reads it has seen stop changing over 300 ms (at most 5 s), or the
    # workload's last reads and their useful bytes are missing.
    local url seen last="" deadline=$((SECONDS + 5))
    url="http://127.0.0.1:$(cat "$dir/metrics.port")/metrics"
    while :; do
      curl -sf "$url" >"$dir/metrics.txt" || true
      seen=$(grep '^shadowfs_predict_demand_reads_total ' "$dir/metrics.txt" || true)
      [ "$seen" = "$last" ] || [ $SECONDS -ge $deadline ] && break
      last=$seen
      sleep 0.3
    done
  fi
  fusermount -u "$mnt" 2>/dev/null || unmount_quietly "$mnt"
  stop_pid "$pid"
  rm -rf "$dir/cache" "$dir/store"
  if [ -z "$out" ]; then
    log "$shape / $sys: the workload failed (rc $rc): $(head -c 300 "$dir/workload.err")"
    results+=("$shape|$sys|fail|||||||||")
    return 0
  fi
  log "$shape / $sys: $out"
  local wall p50 p99 errors metrics
  wall=$(json_field "$out" wall_s) p50=$(json_field "$out" p50_ms) p99=$(json_field "$out" p99_ms)
  errors=$(json_field "$out" errors)
  [ "$errors" = 0 ] || wall="$wall (invalid: $errors wrong reads)"
  metrics=$(summarize_metrics "$dir/metrics.txt" "$(json_field "$out" bytes)")
  # shellcheck disable=SC2086  # five space-separated fields
  results+=("$shape|$sys|$wall|$p50|$p99|$((${after:-0} - ${before:-0}))|$(printf '%s|' $metrics)")
}

for n in ${shapes//,/ }; do
  shape=${shape_names[$n]:-}
  [ -n "$shape" ] || { echo "unknown shape $n (use 1-6)" >&2; exit 2; }
  bucket=predict-$shape-$RANDOM
  log "$shape: writing the data set and uploading it to $bucket"
  # ETL: twice the days, for a trained run's measured half.
  setup_args=()
  [ "$shape" = etl ] && setup_args=(--etl-days $((2 * etl_days)))
  "$WORKLOAD" setup "$shape" --dir "$W/data" "${q[@]}" "${setup_args[@]}"
  aws s3 mb "s3://$bucket" >/dev/null
  aws s3 cp --recursive --quiet "$W/data" "s3://$bucket/"
  rm -rf "$W/data"
  for sys in ${systems//,/ }; do
    case $sys in
      shadowfs-on | shadowfs-trained) has_flag --prediction || continue ;;
      shadowfs-off) ;;
      s3fs | rclone) ;;
      *) echo "unknown system $sys" >&2; exit 2 ;;
    esac
    if ! run_one "$shape" "$sys" "$bucket"; then
      results+=("$shape|$sys|mount failed|||||||||")
      unmount_quietly "$W/$shape/$sys/mnt"
    fi
  done
  aws s3 rb --force "s3://$bucket" >/dev/null 2>&1 || true
done

echo
echo "| shape | system | wall s | p50 ms | p99 ms | requests | precision | coverage | timeliness | wasted (% of demand) | calibration error |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${results[@]}"; do
  IFS='|' read -r s y w p5 p9 rq pr co ti wa ca _ <<<"$r"
  echo "| $s | $y | $w | $p5 | $p9 | $rq | ${pr:-n/a} | ${co:-n/a} | ${ti:-n/a} | ${wa:-n/a} | ${ca:-n/a} |"
done
echo
summary="Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, +$delay_ms ms per request"
[ $quick = 1 ] && summary+=" (--quick sizes)"
summary+=". ETL: one simulated day = $((86400 / etl_scale)) s; its wall time is the jobs' time, not the sleeps."
for n in "${notes[@]}"; do summary+=" $n"; done
echo "$summary"
