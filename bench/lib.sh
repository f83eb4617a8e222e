# shellcheck shell=bash disable=SC2034
# Common settings and helpers for bench/. Sourced by run.sh, upstream.sh, make-images.sh and
# measure.sh. Everything listens on 127.0.0.1 only; nothing here talks to any other address.
# Adapted from shared/bench/lib.sh; every port is picked free, so several checkouts can run at once.

# State (configs, certs, registry data, images, logs, pids): a fresh temp folder unless BENCH
# names one. run.sh removes a folder it made itself at exit (not with --keep); a BENCH you name
# is kept, so its built images are reused by the next run.
if [[ -z ${BENCH:-} ]]; then
  BENCH=$(mktemp -d "${TMPDIR:-/tmp}/registry-proxy-bench.XXXXXX")
  chmod 755 "$BENCH" # nginx's workers run as another user and serve the static export from here
  BENCH_OWNED=1
fi
export BENCH BENCH_OWNED=${BENCH_OWNED:-0}
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}   # CNCF distribution 2.8 (Debian)

# free_ports N: N distinct TCP ports the kernel had free on 127.0.0.1 a moment ago
free_ports() {
  node -e '
    const net = require("node:net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", r)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      for (const s of servers) s.close();
    });' "$1"
}

# The fixed services' ports: picked free once per state folder ($BENCH/ports.env), so
# `upstream.sh stop` and a second run on the same BENCH find them; two checkouts never collide.
# Proxies under test and cold-start instances get free ports when they start.
if [[ ! -f $BENCH/ports.env ]]; then
  mkdir -p "$BENCH"
  read -r _p1 _p2 _p3 _p4 _p5 _p6 < <(free_ports 6)
  cat >"$BENCH/ports.env" <<PORTS
PORT_REGISTRY=${PORT_REGISTRY:-$_p1}        # distribution, http, no auth: push target, export source
PORT_ISSUER=${PORT_ISSUER:-$_p2}            # token-issuer.mjs (realm of the static upstream's challenge)
PORT_STATIC=${PORT_STATIC:-$_p3}            # static nginx upstream, http (the "direct" row)
PORT_STATIC_TLS=${PORT_STATIC_TLS:-$_p4}    # same, https h2 + http/1.1 (the proxies' upstream)
PORT_STATIC_TLS_H1=${PORT_STATIC_TLS_H1:-$_p5} # same, https http/1.1 only
PORT_NGINX=${PORT_NGINX:-$_p6}              # nginx proxy_pass -> the https upstream (the "nginx" row)
PORTS
fi
# shellcheck source=/dev/null
source "$BENCH/ports.env"

# Clients send this Authorization header to every target: the static https upstream answers 401
# without one (like a private registry), a pass-through proxy forwards it, nginx sets it.
AUTH_HEADER=${AUTH_HEADER:-Bearer bench}

# Accept header for manifest requests (distribution 2.8 404s OCI manifests without it)
MANIFEST_ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

# Never route loopback traffic through a proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_http URL [seconds] [want-status] [curl args...]: wait until URL answers (any status, or want)
wait_http() {
  local url=$1 t=${2:-20} want=${3:-any}; shift 3 2>/dev/null || shift $#
  local i code
  for ((i = 0; i < t * 20; i++)); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true)
    if [[ $want == any && $code != 000 ]] || [[ $code == "$want" ]]; then return 0; fi
    sleep 0.05
  done
  return 1
}

# pids_on_port PORT: pids holding a TCP listen socket on PORT
pids_on_port() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un
}

# pid_tree PID...: the pids and all their descendants (nginx master + workers, wrappers...)
pid_tree() {
  local p c
  for p in "$@"; do
    [[ -d /proc/$p ]] || continue
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do pid_tree "$c"; done
  done | sort -un
}

# start_bg NAME LOGFILE CMD...: start CMD in its own session, pid in $BENCH/run/NAME.pid
start_bg() {
  local name=$1 logf=$2; shift 2
  mkdir -p "$BENCH/run" "$(dirname "$logf")"
  setsid "$@" >>"$logf" 2>&1 </dev/null &
  echo $! >"$BENCH/run/$name.pid"
}

# stop_pidfile NAME: stop the process group started by start_bg (only ours, by pid)
stop_pidfile() {
  local f="$BENCH/run/$1.pid" pid i
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
  fi
  rm -f "$f"
}

running_pidfile() {
  local f="$BENCH/run/$1.pid"
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
