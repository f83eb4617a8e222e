#!/usr/bin/env bash
# CPU-profile registry-proxy on Node under one load and summarise where the time goes.
#
#   bash bench/profile.sh get|blob [SECONDS=10]
#     get   wrk -t2 -c64 manifest GET of bench/l1m:v1
#     blob  4 parallel pulls of the bench/l1g:v1 layer (capped at SECONDS)
#   env: NODE_BIN (node), RP_ARGS (--log off), PROF_DIR ($BENCH/prof)
# Needs the images (run bench/run.sh once); starts the upstream if it is not running and stops
# what it started. Writes PROF_DIR/<load>.cpuprofile (open in Chrome DevTools / speedscope).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BENCH_DIR/upstream.sh"
LOAD=${1:-get} SECS=${2:-10}
NODE_BIN=${NODE_BIN:-node} RP_ARGS=${RP_ARGS---log off} PROF_DIR=${PROF_DIR:-$BENCH/prof}
PORT=${PORT:-$(free_ports 1)}
STARTED=()
cleanup() { local n; stop_pidfile profile-target; for n in "${STARTED[@]}"; do stop_pidfile "$n"; done; }
trap cleanup EXIT
gen_tls
running_pidfile registry || { start_registry; STARTED+=(registry); }
running_pidfile issuer || { start_issuer; STARTED+=(issuer); }
running_pidfile static || { start_static; STARTED+=(static); }
[[ -f $REPO_DIR/dist/cli.js ]] || (cd "$REPO_DIR" && npm run build --silent)
rm -rf "$PROF_DIR/$LOAD.tmp"; mkdir -p "$PROF_DIR/$LOAD.tmp"
# shellcheck disable=SC2086
start_bg profile-target "$BENCH/logs/profile-$LOAD.log" env NODE_EXTRA_CA_CERTS="$BENCH/tls/ca.crt" \
  "$NODE_BIN" --cpu-prof --cpu-prof-dir="$PROF_DIR/$LOAD.tmp" "$REPO_DIR/dist/cli.js" \
  --upstream "https://127.0.0.1:$PORT_STATIC_TLS" --port "$PORT" --host 127.0.0.1 $RP_ARGS
PID=$(cat "$BENCH/run/profile-target.pid")
wait_http "http://127.0.0.1:$PORT/v2/" 20 200 -H "Authorization: $AUTH_HEADER" || die "proxy did not start (see $BENCH/logs/profile-$LOAD.log)"
ticks() { awk '{sub(/^.*\) /,""); print $12+$13}' /proc/"$PID"/stat; }
c0=$(ticks)
case $LOAD in
  get)
    out=$(wrk -t2 -c64 -d"${SECS}s" -H "Accept: $MANIFEST_ACCEPT" -H "Authorization: $AUTH_HEADER" \
      "http://127.0.0.1:$PORT/v2/bench/l1m/manifests/v1")
    n=$(awk '/requests in/{print $1}' <<<"$out")
    echo "$out" | grep -E 'Requests/sec|requests in|Non-2xx'
    echo "proxy CPU: $(awk -v c=$(($(ticks) - c0)) -v t="$(getconf CLK_TCK)" -v n="$n" 'BEGIN{printf "%.1f", c/t/n*1e6}') µs per GET" ;;
  blob)
    d=$(curl -s -H "Accept: $MANIFEST_ACCEPT" "http://127.0.0.1:$PORT_REGISTRY/v2/bench/l1g/manifests/v1" | jq -r '.layers[0].digest')
    pids=()
    for i in 1 2 3 4; do
      curl -s --max-time "$SECS" -H "Authorization: $AUTH_HEADER" -o /dev/null -w '%{size_download}\n' \
        "http://127.0.0.1:$PORT/v2/bench/l1g/blobs/$d" >"$PROF_DIR/$LOAD.tmp/c$i.txt" &
      pids+=($!)
    done
    wait "${pids[@]}" || true   # (not a bare wait: the proxy is a background job of this shell too)
    b=$(cat "$PROF_DIR/$LOAD.tmp"/c*.txt | awk '{s+=$1} END{print s}')
    echo "moved $(awk -v b="$b" 'BEGIN{printf "%.2f GiB, %.0f MB/s", b/1073741824, b/1e6/'"$SECS"'}')"
    echo "proxy CPU: $(awk -v c=$(($(ticks) - c0)) -v t="$(getconf CLK_TCK)" -v b="$b" 'BEGIN{printf "%.2f", c/t/(b/1073741824)}') s per GiB" ;;
  *) die "load is get or blob" ;;
esac
kill -INT "$PID"   # the CLI exits on SIGINT; node writes the profile at exit
for ((i = 0; i < 400; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && die "proxy still running 40 s after SIGINT (draining?)"
f=$(ls -t "$PROF_DIR/$LOAD.tmp"/*.cpuprofile | head -1)
mv "$f" "$PROF_DIR/$LOAD.cpuprofile"; rm -rf "$PROF_DIR/$LOAD.tmp"
log "profile: $PROF_DIR/$LOAD.cpuprofile"
node "$BENCH_DIR/cpuprofile-top.mjs" "$PROF_DIR/$LOAD.cpuprofile" 25
