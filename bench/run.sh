#!/usr/bin/env bash
# registry-proxy benchmark: one command brings up everything on 127.0.0.1, measures registry-proxy
# on each runtime beside the references, prints ONE markdown table, and stops what it started.
#
#   bash bench/run.sh [--smoke] [--runtimes node,deno,bun] [--sizes 1M,64M,1G] [--refs direct,nginx,floor]
#                     [--require-all] [--out FILE.md] [--no-install] [--keep] [--build] [--head]
#
#   --smoke        CI smoke check: 1 MiB + 4 MiB layers, a few seconds per metric, no reference
#                  rows (unless --refs) and no targets. Asserts
#                  correctness (byte-identical skopeo copy, HEAD headers, every GET a 200, ...),
#                  never speed. Exit 1 on a correctness failure.
#   --runtimes     registry-proxy runtimes (bench/runtimes.sh): node, node24, deno, bun. A runtime
#                  whose binary or entry file is missing is "skipped (reason)".
#   --require-all  a skipped runtime is a failure (exit 1)
#   --sizes        layer sizes (IEC); one image bench/l<size>:v1 per size. Blob 1x/16x use the
#                  largest; 16x + peak RSS run on every size >= 4M.
#   --refs         reference rows: direct (the static upstream itself, http), nginx (proxy_pass
#                  -> the https upstream), floor (one RUNTIME-floor row per runtime: the smallest
#                  passthrough on that runtime, bench/node-passthrough.mjs or fetch-passthrough.mjs)
#   --head         also measure manifest HEAD throughput (ab -k); HEAD correctness is always checked
#   --out FILE     also write the table + raw numbers to FILE
#   --no-install   never apt-get / npm install anything
#   --keep         leave everything running at exit, and the state folder in place
#   --build        run `npm run build` first (otherwise only when dist/cli.js is missing)
# env: BENCH (state folder; default a new temp folder, removed at exit), RUNTIMES_DIR (.runtimes), RP_ARGS (extra
#      registry-proxy CLI arguments; default "--log off"), WRK_CONN (64), WRK_DUR, ROUNDS, COLD_RUNS,
#      AUTH_HEADER, MAX_TIME (20: seconds a single blob transfer may stream before it is cut and
#      counted as bytes-so-far; keeps a full run of slow targets under ~15 min).
# The proxies' upstream is the static nginx over https (h2) with a Bearer challenge; every
# client sends `Authorization: $AUTH_HEADER` (a pass-through proxy forwards it). skopeo pulls
# anonymously, so it does the token dance through each proxy.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
source "$BENCH_DIR/lib.sh"
source "$BENCH_DIR/upstream.sh"
source "$BENCH_DIR/runtimes.sh"

SMOKE=0 RUNTIMES=node,deno,bun SIZES='' REFS=direct,nginx,floor REQUIRE_ALL=0 OUTMD='' INSTALL=1 KEEP=0 BUILD=0 HEAD=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) SMOKE=1 ;;
    --runtimes) RUNTIMES=$2; shift ;;
    --runtimes=*) RUNTIMES=${1#*=} ;;
    --sizes) SIZES=$2; shift ;;
    --sizes=*) SIZES=${1#*=} ;;
    --refs) REFS=$2 REFS_SET=$2; shift ;;
    --refs=*) REFS=${1#*=} REFS_SET=${1#*=} ;;
    --require-all) REQUIRE_ALL=1 ;;
    --out) OUTMD=$2; shift ;;
    --out=*) OUTMD=${1#*=} ;;
    --no-install) INSTALL=0 ;;
    --keep) KEEP=1 ;;
    --build) BUILD=1 ;;
    --head) HEAD=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ -n $OUTMD && $OUTMD != /* ]] && OUTMD=$PWD/$OUTMD
if [[ $SMOKE == 1 ]]; then
  SIZES=${SIZES:-1M,4M}
  REFS=${REFS_SET:-}   # correctness only: no reference rows unless --refs asks
  export WRK_DUR=${WRK_DUR:-2s} COLD_RUNS=${COLD_RUNS:-2} COUNT_REQS=${COUNT_REQS:-1000}
  ROUNDS=${ROUNDS:-1}
else
  SIZES=${SIZES:-1M,64M,1G}
  export WRK_DUR=${WRK_DUR:-10s} COLD_RUNS=${COLD_RUNS:-5} COUNT_REQS=${COUNT_REQS:-2000}
  ROUNDS=${ROUNDS:-3}
fi
export RUNS=1 CONC=${CONC:-16} MAX_TIME=${MAX_TIME:-20} WRK_CONN=${WRK_CONN:-64} WRK_THREADS=${WRK_THREADS:-2}
# Request logging off by default, like the nginx references (access_log off); RP_ARGS= measures the CLI's defaults.
RP_ARGS=${RP_ARGS---log off}
RESULTS=$BENCH/results
export RESULTS BENCH

# ---- tools ----
need_tools() {
  local missing=() t pkgs=()
  declare -A pkg=([docker-registry]=docker-registry [skopeo]=skopeo [nginx]=nginx-light [wrk]=wrk [ab]=apache2-utils
    [openssl]=openssl [curl]=curl [jq]=jq [ss]=iproute2 [numfmt]=coreutils [node]=nodejs)
  for t in "${!pkg[@]}"; do
    if [[ $t == docker-registry ]]; then [[ -x $REGISTRY_BIN ]] && continue; else command -v "$t" >/dev/null && continue; fi
    missing+=("$t"); pkgs+=("${pkg[$t]}")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  if [[ $INSTALL == 1 && $(id -u) == 0 ]]; then
    log "installing ${pkgs[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    die "missing tools: ${missing[*]} (apt-get install ${pkgs[*]})"
  fi
}

# ---- cleanup: stop exactly what this run started ----
STARTED=()
cleanup() {
  local rc=$? n
  if [[ $KEEP == 1 ]]; then log "--keep: leaving ${STARTED[*]} running (BENCH=$BENCH bash bench/upstream.sh stop)"; exit $rc; fi
  for n in "${STARTED[@]}"; do stop_pidfile "$n"; done
  [[ $BENCH_OWNED == 1 ]] && rm -rf "$BENCH"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
track() { STARTED=("$1" "${STARTED[@]}"); }

need_tools
mkdir -p "$BENCH/logs" "$BENCH/run"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
T_START=$(date +%s) LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "bench state in $BENCH; mode $([[ $SMOKE == 1 ]] && echo smoke || echo full); sizes $SIZES; runtimes $RUNTIMES"

# ---- runtimes and the CLI build ----
IFS=, read -ra RT_LIST <<<"$RUNTIMES"
[[ $INSTALL == 1 ]] && runtime_install "${RT_LIST[@]}"
if [[ -f $REPO_DIR/adapters/cli/node.ts ]]; then
  if [[ ! -f $REPO_DIR/dist/cli.js || $BUILD == 1 ]]; then
    log "building dist/ (npm run build)"
    (cd "$REPO_DIR" && npm run build --silent) >"$BENCH/logs/build.log" 2>&1 || log "npm run build failed (see $BENCH/logs/build.log)"
  elif [[ -n $(find "$REPO_DIR/lib" "$REPO_DIR/adapters" -name '*.ts' -newer "$REPO_DIR/dist/cli.js" 2>/dev/null | head -1) ]]; then
    log "note: dist/cli.js is older than lib/ or adapters/ sources (pass --build to rebuild first)"
  fi
fi

# ---- upstream, images, references ----
gen_tls
CA=$BENCH/tls/ca.crt
UPSTREAM=https://127.0.0.1:$PORT_STATIC_TLS
running_pidfile registry || { start_registry; track registry; }
running_pidfile issuer || { start_issuer; track issuer; }
IFS=, read -ra SIZE_LIST <<<"$SIZES"
IMG_SPECS=() IMAGES=() CONC_IMAGES=() BLOB_IMAGE='' blob_bytes=0
for s in "${SIZE_LIST[@]}"; do
  s=$(tr 'a-z' 'A-Z' <<<"$s"); s=${s%IB}; s=${s%B}
  bytes=$(numfmt --from=iec "$s") || die "bad size $s (want e.g. 1M, 64M, 1G)"
  n=l$(tr 'A-Z' 'a-z' <<<"$s"); IMAGES+=("$n"); IMG_SPECS+=("$n=$s")
  ((bytes >= 4194304)) && CONC_IMAGES+=("$n")
  ((bytes > blob_bytes)) && { BLOB_IMAGE=$n; blob_bytes=$bytes; }
done
[[ ${#CONC_IMAGES[@]} -gt 0 ]] || CONC_IMAGES=("$BLOB_IMAGE")
export MANIFEST_IMAGE=${IMAGES[0]}
if [[ $SMOKE == 1 ]]; then export SKOPEO_IMAGES="${IMAGES[*]}"; else export SKOPEO_IMAGES="${IMAGES[*]:0:2}"; fi
V2S2=$MANIFEST_IMAGE "$BENCH_DIR/make-images.sh" "${IMG_SPECS[@]}" multi=multi
stop_pidfile static # re-export: the set of images may have changed
start_static; track static

# ---- targets ----
NAMES=()
declare -A T_URL T_PID T_COLD T_DESC T_STATUS
add_target() { # NAME URL PIDNAME COLD_CMD DESC
  NAMES+=("$1"); T_URL[$1]=$2; T_PID[$1]=$(cat "$BENCH/run/$3.pid"); T_COLD[$1]=$4; T_DESC[$1]=$5; T_STATUS[$1]=ok
}
skip_target() { NAMES+=("$1"); T_STATUS[$1]="skipped ($2)"; T_DESC[$1]=$3; log "$1: skipped ($2)"; }
fail_target() { NAMES+=("$1"); T_STATUS[$1]="FAILED ($2)"; T_DESC[$1]=$3; log "$1: FAILED ($2)"; }
# start_target NAME COMMAND DESC: start COMMAND with PORT=<a free port>, wait for 200 on /v2/
start_target() {
  local name=$1 cmd=$2 desc=$3 pidname=target-$1 port
  port=$(free_ports 1)
  start_bg "$pidname" "$BENCH/logs/$pidname.log" env PORT="$port" bash -c "$cmd"
  track "$pidname"
  if wait_http "http://127.0.0.1:$port/v2/" 30 200 -H "Authorization: $AUTH_HEADER"; then
    add_target "$name" "http://127.0.0.1:$port" "$pidname" "$cmd" "$desc"
    log "$name up on :$port (pid $(cat "$BENCH/run/$pidname.pid"))"
  else
    fail_target "$name" "no 200 on /v2/ within 30 s: $(tail -c 300 "$BENCH/logs/$pidname.log" | tr '\n|' '  ')" "$desc"
    stop_pidfile "$pidname"
  fi
}
IFS=, read -ra REF_LIST <<<"$REFS"
FLOORS=0
for r in "${REF_LIST[@]}"; do
  case $r in
    direct)
      # cold start of the upstream itself: a second static nginx (http server only) on its own port
      cpfx=$BENCH/nginx/static-cold; mkdir -p "$cpfx/tmp" "$cpfx/logs"
      sed -e "/# https, ALPN/,\$d" -e "s/listen 127.0.0.1:$PORT_STATIC /listen 127.0.0.1:@PORT@ /" \
        -e "s#pid $BENCH/nginx/static/nginx.pid#pid $cpfx/nginx.pid#" "$BENCH/nginx/static/nginx.conf" >"$cpfx/nginx.conf.in"
      echo '}' >>"$cpfx/nginx.conf.in"
      add_target direct "http://127.0.0.1:$PORT_STATIC" static \
        "sed s/@PORT@/\$PORT/ $cpfx/nginx.conf.in >$cpfx/nginx.conf && exec nginx -p $cpfx -c $cpfx/nginx.conf -g 'daemon off;'" \
        "the static upstream itself over http (nginx $(nginx -v 2>&1 | cut -d/ -f2), $(nproc) workers, sendfile off)" ;;
    nginx)
      running_pidfile nginx || { start_nginx_ref; track nginx; }
      add_target nginx "http://127.0.0.1:$PORT_NGINX" nginx \
        "exec nginx -p $BENCH/nginx/nginx-cold -c \$(bash $BENCH_DIR/upstream.sh conf nginx-cold \$PORT) -g 'daemon off;'" \
        "nginx proxy_pass -> https upstream (keepalive 128, buffering off, 256k buffers)" ;;
    floor | node-floor) FLOORS=1 ;;
    *) die "unknown reference $r (direct, nginx, floor)" ;;
  esac
done
for rt in "${RT_LIST[@]}"; do
  reason=$(runtime_skip "$rt")
  version=$(runtime_version "$rt" || true)
  if [[ $FLOORS == 1 ]]; then
    floor_entry=$(runtime_field "$rt" 5 2>/dev/null | grep -o 'bench/[a-z-]*\.mjs' || true)
    if [[ -n $reason ]]; then skip_target "$rt-floor" "$reason" "passthrough floor on $rt"
    else start_target "$rt-floor" "$(runtime_cmd "$rt" "$UPSTREAM" "$CA" floor)" "$floor_entry on $version: the smallest passthrough on this runtime"; fi
  fi
  if [[ -n $reason ]]; then skip_target "$rt" "$reason" "registry-proxy on $rt"; continue; fi
  start_target "$rt" "$(runtime_cmd "$rt" "$UPSTREAM" "$CA")" "registry-proxy on $version"
done
ACTIVE=()
for n in "${NAMES[@]}"; do [[ ${T_STATUS[$n]} == ok ]] && ACTIVE+=("$n"); done
log "measuring: ${ACTIVE[*]}"

# bundle_size: the handler bundled and minified the way a Worker uploads it (esbuild, which tsup
# brings along). Hook for the workerd adapter: BUNDLE_ENTRY, else the first of these that exists.
bundle_size() {
  local entry out=$BENCH/bundle.js
  for entry in ${BUNDLE_ENTRY:-} adapters/workerd.ts adapters/workerd/index.ts adapters/workerd/worker.ts lib/index.ts; do
    [[ -f $REPO_DIR/$entry ]] && break
  done
  "$REPO_DIR/node_modules/.bin/esbuild" "$REPO_DIR/$entry" --bundle --minify --format=esm --platform=neutral \
    --outfile="$out" --log-level=warning
  echo "bundle_entry=$entry"
  echo "bundle_bytes=$(stat -c %s "$out")"
  echo "bundle_gzip_bytes=$(gzip -9c "$out" | wc -c)"
}

# ---- measure: every metric over every target, order rotated per round ----
measure_all() { # ROUNDS METRIC [ARG]
  local rounds=$1 r i n k=${#ACTIVE[@]}; shift
  for ((r = 0; r < rounds; r++)); do
    for ((i = 0; i < k; i++)); do
      n=${ACTIVE[$(((i + r) % k))]}
      "$BENCH_DIR/measure.sh" "$n" "${T_URL[$n]}" "${T_PID[$n]}" "$@" || log "$n $1 failed"
    done
  done
}
if [[ ${#ACTIVE[@]} -gt 0 ]]; then
  measure_all 1 idle
  measure_all 1 check
  for img in "${CONC_IMAGES[@]}"; do measure_all 1 conc "$img"; done
  measure_all "$ROUNDS" blob "$BLOB_IMAGE"
  measure_all 1 get
  [[ $HEAD == 1 ]] && measure_all 1 head
  for n in "${ACTIVE[@]}"; do
    "$BENCH_DIR/measure.sh" "$n" "${T_URL[$n]}" "${T_PID[$n]}" cold "${T_COLD[$n]}" "$(free_ports 1)" || true
  done
fi
bundle_size >"$RESULTS/bundle.kv" 2>>"$BENCH/logs/bundle.log" || log "bundle size: failed (see $BENCH/logs/bundle.log)"

# ---- report ----
{
  for n in "${NAMES[@]}"; do printf '%s\t%s\t%s\n' "$n" "${T_STATUS[$n]}" "${T_DESC[$n]}"; done
} >"$RESULTS/targets.tsv"
cat >"$RESULTS/meta.json" <<JSON
{"smoke": $SMOKE, "blob_image": "$BLOB_IMAGE", "conc_images": "$(echo "${CONC_IMAGES[*]}")", "manifest_image": "$MANIFEST_IMAGE",
 "conc": $CONC, "wrk_conn": $WRK_CONN, "wrk_threads": $WRK_THREADS, "wrk_dur": "$WRK_DUR", "rounds": $ROUNDS, "cold_runs": $COLD_RUNS,
 "require_all": $REQUIRE_ALL, "max_time": $MAX_TIME, "cpus": $(nproc), "cpu_model": "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo | tr -d '"')",
 "kernel": "$(uname -r)", "load_at_start": "$LOAD0", "date": "$(date -u +%Y-%m-%dT%H:%MZ)", "elapsed_s": $(($(date +%s) - T_START)), "upstream": "$UPSTREAM",
 "rp_args": "${RP_ARGS:-}"}
JSON
rc=0
node "$BENCH_DIR/report.mjs" "$RESULTS" >"$RESULTS/table.md" || rc=$?
cat "$RESULTS/table.md"
if [[ -n $OUTMD ]]; then
  { cat "$RESULTS/table.md"; echo; echo '<details><summary>raw measurements</summary>'; echo; echo '```';
    for n in "${ACTIVE[@]}"; do echo "## $n"; cat "$RESULTS/$n.kv"; done; echo '```'; echo '</details>'; } >"$OUTMD"
  log "wrote $OUTMD"
fi
log "done in $(($(date +%s) - T_START)) s"
exit $rc
