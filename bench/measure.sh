#!/usr/bin/env bash
# Measure one metric of one target and append key=value lines to $RESULTS/NAME.kv.
#
#   measure.sh NAME URL PID METRIC [ARG]
#     PID      the target's serving process (its descendants count too; nginx: master)
#     METRIC   idle              RSS now (MiB)
#              conc LAYERNAME    $CONC parallel curl downloads of that image's layer: aggregate
#                                MB/s, peak RSS (VmHWM after clear_refs, and 0.2 s samples),
#                                CPU s/GiB, ok count (bytes and status checked)
#              blob LAYERNAME    single stream, $RUNS runs: MB/s, CPU s/GiB
#              get               wrk -t$WRK_THREADS -c$WRK_CONN -d$WRK_DUR manifest GET: req/s, p50/p99, CPU µs/req
#              head              ab -k (wrk 4.1 hangs on HEAD) manifest HEAD, same duration
#              cold CMD PORT     cold start of CMD (spawned with PORT=PORT): spawn -> first 200 on /v2/
#              check             correctness (see check_*); check_ok/check_total/check_fail
# MB/s are 10^6 bytes/s, latencies ms, CPU = utime+stime from /proc/PID/stat.
# env: RESULTS MANIFEST_IMAGE (l1m) SKOPEO_IMAGES ("l1m") RUNS (3) CONC (16) WRK_* COLD_RUNS (5) MAX_TIME (20)
#      COUNT_REQS (2000: fixed-count GET that must all be 200)
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"

[[ $# -ge 4 ]] || die "usage: $0 NAME URL PID METRIC [ARG...]"
NAME=$1 URL=${2%/} ROOTPID=$3 METRIC=$4; shift 4
HOSTPORT=${URL#*://}
RESULTS=${RESULTS:-$BENCH/results}
MANIFEST_IMAGE=${MANIFEST_IMAGE:-l1m}
SKOPEO_IMAGES=${SKOPEO_IMAGES:-l1m}
RUNS=${RUNS:-3} CONC=${CONC:-16}
WRK_THREADS=${WRK_THREADS:-2} WRK_CONN=${WRK_CONN:-64} WRK_DUR=${WRK_DUR:-10s}
COLD_RUNS=${COLD_RUNS:-5} COUNT_REQS=${COUNT_REQS:-2000}
MAX_TIME=${MAX_TIME:-20}   # cap (s) per blob transfer: a slow target streams a 1 GiB layer for at most this long
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$RESULTS" "$BENCH/logs"
TMPD=$(mktemp -d "$BENCH/tmp.measure.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
trap 'log "$NAME $METRIC: measure.sh failed at line $LINENO: $BASH_COMMAND"' ERR
AUTH=(-H "Authorization: $AUTH_HEADER")

emit() { echo "$1=$2" >>"$RESULTS/$NAME.kv"; OUT+=" $1=$2"; }
OUT=''
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "NA"} else if(NR%2){print a[(NR+1)/2]} else {printf "%.6g\n",(a[NR/2]+a[NR/2+1])/2}}'; }
pids() { pid_tree "$ROOTPID" | tr '\n' ' '; }
cpu_ticks() { # utime+stime (all threads) summed over pids
  local p s=0 v
  for p in "$@"; do
    v=$(awk '{sub(/^.*\) /,""); print $12+$13}' /proc/"$p"/stat 2>/dev/null || true)
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
rss_kib() { # FIELD PIDS...: sum of a /proc/PID/status field
  local f=$1 p s=0 v; shift
  for p in "$@"; do v=$(awk -v f="$f:" '$1==f{print $2}' /proc/"$p"/status 2>/dev/null || true); s=$((s + ${v:-0})); done
  echo "$s"
}
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
manifest_url() { echo "$URL/v2/bench/$1/manifests/v1"; }
layer_of() { # IMAGE -> "digest size" of its (largest) layer, read from the registry directly
  curl -s -H "Accept: $MANIFEST_ACCEPT" "http://127.0.0.1:$PORT_REGISTRY/v2/bench/$1/manifests/v1" |
    jq -r '[.layers[]] | max_by(.size) | "\(.digest) \(.size)"'
}

m_idle() {
  # shellcheck disable=SC2046
  emit rss_idle_MiB "$(mib "$(rss_kib VmRSS $(pids))")"
}

m_conc() {
  local img=$1 digest size i t0 t1 peak=0 cur hwm idle okc=0 f c0 c1 p
  read -r digest size < <(layer_of "$img")
  for p in $(pids); do echo 5 >/proc/"$p"/clear_refs 2>/dev/null || true; done # reset VmHWM
  # shellcheck disable=SC2046
  idle=$(rss_kib VmRSS $(pids))
  # shellcheck disable=SC2046
  c0=$(cpu_ticks $(pids))
  t0=$(date +%s.%N)
  for ((i = 0; i < CONC; i++)); do
    { rc=0; curl -s "${AUTH[@]}" --max-time "$MAX_TIME" -o /dev/null -w '%{http_code} %{size_download}' \
      "$URL/v2/bench/$img/blobs/$digest" || rc=$?; echo " $rc"; } >"$TMPD/c$i" 2>&1 &
  done
  while [[ -n $(jobs -rp) ]]; do
    # shellcheck disable=SC2046
    cur=$(rss_kib VmRSS $(pids)); ((cur > peak)) && peak=$cur
    sleep 0.2
  done
  wait || true
  t1=$(date +%s.%N)
  # shellcheck disable=SC2046
  c1=$(cpu_ticks $(pids))
  # shellcheck disable=SC2046
  hwm=$(rss_kib VmHWM $(pids))
  ((hwm > peak)) && peak=$hwm
  # ok = 200 with every byte, or 200 still streaming when the $MAX_TIME cap hit (curl exit 28)
  local code got rc bytes=0 partial=0
  for f in "$TMPD"/c*; do
    read -r code got rc <"$f" || true
    if [[ $code == 200 && $got == "$size" && $rc == 0 ]]; then okc=$((okc + 1)); bytes=$((bytes + got))
    elif [[ $code == 200 && $rc == 28 && ${got:-0} -gt 0 ]]; then okc=$((okc + 1)); partial=$((partial + 1)); bytes=$((bytes + got))
    else log "$NAME conc $img: http $code, $got of $size bytes, curl exit $rc"; fi
  done
  emit "conc_pre_rss_MiB_$img" "$(mib "$idle")"
  emit "rss_peak_MiB_$img" "$(mib "$peak")"
  emit "conc_MBps_$img" "$(awk -v n="$bytes" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n/(b-a)/1e6}')"
  emit "conc_ok_$img" "$okc/$CONC"
  emit "conc_GiB_$img" "$(awk -v b="$bytes" 'BEGIN{printf "%.2f", b/1073741824}')"
  ((partial > 0)) && emit "conc_capped_$img" "$partial/$CONC stopped at ${MAX_TIME}s"
  ((bytes > 0)) && emit "conc_cpu_s_per_GiB_$img" "$(awk -v c=$((c1 - c0)) -v t="$CLK_TCK" -v b="$bytes" 'BEGIN{printf "%.3f", c/t/(b/1073741824)}')"
  return 0
}

m_blob() {
  local img=$1 digest size i r code got speed c0 c1 nbytes=0
  read -r digest size < <(layer_of "$img")
  # shellcheck disable=SC2046
  c0=$(cpu_ticks $(pids))
  for ((i = 0; i < RUNS; i++)); do
    r=$({ rc=0; curl -s "${AUTH[@]}" --max-time "$MAX_TIME" -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "$URL/v2/bench/$img/blobs/$digest" || rc=$?; echo " $rc"; })
    read -r code got secs rc <<<"$r"
    # a transfer still streaming at the $MAX_TIME cap counts (MB/s = bytes so far / time)
    if [[ $code == 200 && (($got == "$size" && $rc == 0) || ($rc == 28 && ${got:-0} -gt 0)) ]]; then
      emit "blob_MBps_$img" "$(awk -v b="$got" -v s="$secs" 'BEGIN{printf "%.1f", b/s/1e6}')"
      [[ $rc == 28 ]] && emit "blob_capped_$img" "stopped at ${MAX_TIME}s"
      nbytes=$((nbytes + got))
    else
      emit "blob_err_$img" "$code/$got/exit$rc"
    fi
  done
  # shellcheck disable=SC2046
  c1=$(cpu_ticks $(pids))
  ((nbytes > 0)) && emit "blob_cpu_s_per_GiB_$img" "$(awk -v c=$((c1 - c0)) -v t="$CLK_TCK" -v b="$nbytes" 'BEGIN{printf "%.3f", c/t/(b/1073741824)}')"
  return 0
}

toms() {
  awk '{v=$1; u=v; sub(/[0-9.]+/,"",u); sub(/[a-z]+$/,"",v);
        if(u=="us")v/=1000; else if(u=="s")v*=1000; else if(u=="m")v*=60000; printf "%.3f", v}'
}
m_get() {
  local out c0 c1 nreq non2xx sockerr
  # shellcheck disable=SC2046
  c0=$(cpu_ticks $(pids))
  out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONN" -d"$WRK_DUR" --timeout 5s --latency \
    -H "Accept: $MANIFEST_ACCEPT" "${AUTH[@]}" "$(manifest_url "$MANIFEST_IMAGE")" 2>&1) || true
  # shellcheck disable=SC2046
  c1=$(cpu_ticks $(pids))
  echo "$out" >"$BENCH/logs/wrk-$NAME.txt"
  nreq=$(awk '/requests in/{print $1}' <<<"$out")
  emit get_rps "$(awk '/^Requests\/sec:/{print $2}' <<<"$out")"
  emit get_p50_ms "$(awk '$1=="50%"{print $2}' <<<"$out" | toms)"
  emit get_p99_ms "$(awk '$1=="99%"{print $2}' <<<"$out" | toms)"
  emit get_reqs "${nreq:-0}"
  ((${nreq:-0} > 0)) && emit get_cpu_us_per_req "$(awk -v c=$((c1 - c0)) -v t="$CLK_TCK" -v n="$nreq" 'BEGIN{printf "%.1f", c/t/n*1e6}')"
  non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' <<<"$out")
  sockerr=$(awk -F'Socket errors: ' '/Socket errors:/{print $2}' <<<"$out" | tr -d ' ')
  [[ -n $non2xx ]] && emit get_non2xx "$non2xx"
  [[ -n $sockerr ]] && emit get_sockerr "$sockerr"
  return 0
}

m_head() {
  local csv=$TMPD/ab.csv out c0 c1 nreq failed non2xx
  # shellcheck disable=SC2046
  c0=$(cpu_ticks $(pids))
  out=$(ab -r -i -k -q -c "$WRK_CONN" -t "${WRK_DUR%s}" -n 100000000 -e "$csv" -s 5 \
    -H "Accept: $MANIFEST_ACCEPT" "${AUTH[@]}" "$(manifest_url "$MANIFEST_IMAGE")" 2>&1) || true
  # shellcheck disable=SC2046
  c1=$(cpu_ticks $(pids))
  echo "$out" >"$BENCH/logs/ab-head-$NAME.txt"
  nreq=$(awk '/^Complete requests:/{print $3}' <<<"$out")
  emit head_rps "$(awk '/^Requests per second:/{print $4}' <<<"$out")"
  emit head_p50_ms "$(awk -F, '$1=="50"{printf "%.3f", $2}' "$csv" 2>/dev/null)"
  emit head_p99_ms "$(awk -F, '$1=="99"{printf "%.3f", $2}' "$csv" 2>/dev/null)"
  ((${nreq:-0} > 0)) && emit head_cpu_us_per_req "$(awk -v c=$((c1 - c0)) -v t="$CLK_TCK" -v n="$nreq" 'BEGIN{printf "%.1f", c/t/n*1e6}')"
  failed=$(awk '/^Failed requests:/{print $3}' <<<"$out"); non2xx=$(awk '/^Non-2xx responses:/{print $3}' <<<"$out")
  [[ ${failed:-0} != 0 || -n $non2xx ]] && emit head_errors "failed:${failed:-0},non2xx:${non2xx:-0}"
  return 0
}

m_cold() {
  local cmd=$1 port=$2 line kv
  line=$(COLD_HEADER="Authorization: $AUTH_HEADER" COLD_LOG="$BENCH/logs/cold-$NAME.log" node "$BENCH_DIR/coldstart.mjs" "$COLD_RUNS" "$port" "$cmd" 2>>"$BENCH/logs/cold-$NAME.log") || line='coldstart_ms=FAIL'
  for kv in $line; do emit "${kv%%=*}" "${kv#*=}"; done
}

# ---- correctness ----
OKS=0 TOTAL=0 FAILS=()
check() { # NAME GOT WANT
  TOTAL=$((TOTAL + 1))
  if [[ $2 == "$3" ]]; then OKS=$((OKS + 1)); else FAILS+=("$1:got[${2:0:60}]want[${3:0:60}]"); log "$NAME check $1: got '${2:0:200}', want '$3'"; fi
}
hdr() { tr -d '\r' <"$1" | awk -F': ' -v h="$2" 'tolower($1)==h{print $2}' | tail -1; }
code() { curl -s "${AUTH[@]}" -o /dev/null -w '%{http_code}' "$@"; }
m_check() {
  local img=$MANIFEST_IMAGE want_dg body=$TMPD/body h=$TMPD/h d size r dir i f n
  want_dg=$(curl -s -D - -o /dev/null -H "Accept: $MANIFEST_ACCEPT" "http://127.0.0.1:$PORT_REGISTRY/v2/bench/$img/manifests/v1" | hdr /dev/stdin docker-content-digest)
  check v2 "$(code "$URL/v2/")" 200
  # manifest GET: status, digest header, body digest
  r=$(curl -s "${AUTH[@]}" -D "$h" -o "$body" -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "$(manifest_url "$img")")
  check manifest_get "$r" 200
  check manifest_get_body "sha256:$(sha256sum "$body" | cut -d' ' -f1)" "$want_dg"
  check manifest_get_digest "$(hdr "$h" docker-content-digest)" "$want_dg"
  check manifest_get_type "$(hdr "$h" content-type)" application/vnd.oci.image.manifest.v1+json
  # manifest HEAD: Content-Length (= GET body size) and Docker-Content-Digest
  r=$(curl -s "${AUTH[@]}" -I -D "$h" -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "$(manifest_url "$img")")
  check manifest_head "$r" 200
  check manifest_head_length "$(hdr "$h" content-length)" "$(stat -c %s "$body")"
  check manifest_head_digest "$(hdr "$h" docker-content-digest)" "$want_dg"
  check manifest_by_digest "$(code -H "Accept: $MANIFEST_ACCEPT" "$URL/v2/bench/$img/manifests/$want_dg")" 200
  check manifest_missing "$(code -H "Accept: $MANIFEST_ACCEPT" "$URL/v2/bench/$img/manifests/nope")" 404
  check tags_list "$(curl -s "${AUTH[@]}" "$URL/v2/bench/$img/tags/list" | jq -r .name 2>/dev/null)" "bench/$img"
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT_REGISTRY/v2/bench/multi/manifests/v1" -H "Accept: $MANIFEST_ACCEPT"; then
    check index_get "$(curl -s "${AUTH[@]}" -H "Accept: $MANIFEST_ACCEPT" "$(manifest_url multi)" | jq -r .mediaType 2>/dev/null)" application/vnd.oci.image.index.v1+json
  fi
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT_REGISTRY/v2/bench/$img/manifests/v1-v2s2" -H "Accept: $MANIFEST_ACCEPT"; then
    check v2s2_get "$(code -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "$URL/v2/bench/$img/manifests/v1-v2s2")" 200
  fi
  # blob HEAD / GET / Range / 404
  read -r d size < <(layer_of "$img")
  r=$(curl -s "${AUTH[@]}" -I -D "$h" -o /dev/null -w '%{http_code}' "$URL/v2/bench/$img/blobs/$d")
  check blob_head "$r" 200
  check blob_head_length "$(hdr "$h" content-length)" "$size"
  check blob_head_digest "$(hdr "$h" docker-content-digest)" "$d"
  r=$(curl -s "${AUTH[@]}" -o "$body" -w '%{http_code}' "$URL/v2/bench/$img/blobs/$d")
  check blob_get "$r sha256:$(sha256sum "$body" | cut -d' ' -f1)" "200 $d"
  check blob_range "$(curl -s "${AUTH[@]}" -o /dev/null -w '%{http_code} %{size_download}' -H 'Range: bytes=100-199' "$URL/v2/bench/$img/blobs/$d")" "206 100"
  check blob_missing "$(code "$URL/v2/bench/$img/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")" 404
  # fixed-count manifest GET, 16 at a time over HTTP/1.1 keep-alive: every one answers 200
  { echo "header = \"Accept: $MANIFEST_ACCEPT\""; echo "header = \"Authorization: $AUTH_HEADER\""
    for ((i = 0; i < COUNT_REQS; i++)); do echo "url = \"$(manifest_url "$img")\""; echo 'output = "/dev/null"'; done; } >"$TMPD/count.cfg"
  r=$(curl -s --parallel --parallel-max 16 --max-time 120 -K "$TMPD/count.cfg" -w '%{http_code}\n' 2>/dev/null | sort | uniq -c | awk '{printf "%s%s:%s", (NR>1 ? "," : ""), $2, $1}' || true)
  check get_count_all_200 "$r" "200:$COUNT_REQS"
  # skopeo copy through the target (anonymous: a private upstream means the token dance), then
  # every blob must be byte-identical to the image that was built
  for i in $SKOPEO_IMAGES; do
    dir=$TMPD/pull-$i; rm -rf "$dir"
    if skopeo copy -q --retry-times 0 --src-tls-verify=false "docker://$HOSTPORT/bench/$i:v1" "dir:$dir" >"$TMPD/skopeo.out" 2>&1; then
      n=0
      for f in "$dir"/*; do
        case ${f##*/} in manifest.json | version) continue ;; esac
        if cmp -s "$f" "$BENCH/oci/$i/blobs/sha256/${f##*/}"; then n=$((n + 1)); else log "$NAME skopeo $i: ${f##*/} differs"; fi
      done
      check "skopeo_copy_$i" "$n identical" "$(jq '.layers | length + 1' "$BENCH/oci/$i/blobs/sha256/$(jq -r '.manifests[0].digest' "$BENCH/oci/$i/index.json" | cut -d: -f2)") identical"
    else
      check "skopeo_copy_$i" "fail:$(tail -1 "$TMPD/skopeo.out" | cut -c1-160 | tr ' ' _)" ok
    fi
    rm -rf "$dir"
  done
  emit check_ok "$OKS"; emit check_total "$TOTAL"
  [[ ${#FAILS[@]} -gt 0 ]] && emit check_fail "$(IFS=,; echo "${FAILS[*]}" | tr ' ' _)"
  return 0
}

case $METRIC in
  idle) m_idle ;; conc) m_conc "$1" ;; blob) m_blob "$1" ;; get) m_get ;; head) m_head ;;
  cold) m_cold "$1" "$2" ;; check) m_check ;;
  *) die "unknown metric $METRIC" ;;
esac
[[ $METRIC == cold ]] && set -- "${2:-}"
log "$NAME $METRIC${1:+ $1}:${OUT:0:400}"
