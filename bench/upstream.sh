#!/usr/bin/env bash
# Start/stop what the bench measures against (all on 127.0.0.1, state in $BENCH):
#
#   upstream.sh start [all|tls|registry|issuer|static|nginx]   (all = every one, in order)
#   upstream.sh stop  [all|registry|issuer|static|nginx]
#   upstream.sh status
#
#   registry  $PORT_REGISTRY: CNCF distribution 2.8 (Debian's docker-registry), http, no auth.
#             Images are pushed here (make-images.sh); the static upstream exports its content.
#   issuer    $PORT_ISSUER: token-issuer.mjs, the realm of the static https upstream's challenge.
#   static    $PORT_STATIC http / $PORT_STATIC_TLS https (ALPN h2 + http/1.1) / $PORT_STATIC_TLS_H1
#             https (http/1.1 only): nginx serving a read-only static export of the registry
#             (manifests, blobs, tags/list). A fast upstream, so that req/s measure the proxy
#             rather than distribution's ~1 ms of CPU per manifest. The https ports answer 401 + a
#             Bearer challenge unless an Authorization header is present (any value).
#             $PORT_STATIC is the "direct" row. Re-export after pushing: stop static, start static.
#   nginx     $PORT_NGINX: nginx proxy_pass -> https $PORT_STATIC_TLS (keep-alive pool, buffering
#             off, 256k buffers, sets Authorization): the "nginx" reference row.
# Ports are picked free per state folder ($BENCH/ports.env, see lib.sh). Used alone, pass the
# state folder a run left with --keep: `BENCH=/tmp/registry-proxy-bench.XXXX bash bench/upstream.sh stop`.
# TLS: a CA made here, $BENCH/tls/ca.crt (Node/Bun: NODE_EXTRA_CA_CERTS; Deno: DENO_CERT).
# Adapted from shared/bench/upstream.sh + proxies.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

gen_tls() {
  local d=$BENCH/tls
  mkdir -p "$d"
  if [[ ! -f $d/server.crt ]]; then
    log "making CA + server certificate in $d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=registry-proxy bench CA' \
      -keyout "$d/ca.key" -out "$d/ca.crt" \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=127.0.0.1' \
      -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
      -days 3650 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
  fi
  if [[ ! -f $d/token.crt ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj '/CN=bench-issuer' -keyout "$d/token.key" -out "$d/token.crt" \
      -addext 'keyUsage=critical,digitalSignature' 2>/dev/null
  fi
}

start_registry() {
  local f=$BENCH/config/registry.yml
  if running_pidfile registry; then log "registry already running"; return; fi
  port_busy "$PORT_REGISTRY" && die "port $PORT_REGISTRY is taken by something else"
  mkdir -p "$BENCH/config" "$BENCH/data"
  cat >"$f" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $BENCH/data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$PORT_REGISTRY
  secret: registry-proxy-bench-secret
YAML
  start_bg registry "$BENCH/logs/registry.log" "$REGISTRY_BIN" serve "$f"
  wait_http "http://127.0.0.1:$PORT_REGISTRY/v2/" 20 200 || die "registry did not start (see $BENCH/logs/registry.log)"
  log "distribution up on http://127.0.0.1:$PORT_REGISTRY (pid $(cat "$BENCH/run/registry.pid"))"
}

start_issuer() {
  if running_pidfile issuer; then log "token issuer already running"; return; fi
  port_busy "$PORT_ISSUER" && die "port $PORT_ISSUER is taken by something else"
  ISSUER_PORT=$PORT_ISSUER ISSUER_KEY=$BENCH/tls/token.key ISSUER_CERT=$BENCH/tls/token.crt \
    start_bg issuer "$BENCH/logs/issuer.log" node "$BENCH_DIR/token-issuer.mjs"
  wait_http "http://127.0.0.1:$PORT_ISSUER/token" 10 200 || die "token issuer did not start (see $BENCH/logs/issuer.log)"
}

# ---- static upstream: nginx over an export of the registry's content ----
manifest_ext() {
  case $1 in
    application/vnd.oci.image.manifest.v1+json*) echo ocim ;;
    application/vnd.oci.image.index.v1+json*) echo ocii ;;
    application/vnd.docker.distribution.manifest.v2+json*) echo d2m ;;
    application/vnd.docker.distribution.manifest.list.v2+json*) echo d2l ;;
    *) echo unknown ;;
  esac
}
save_manifest() { # OUT REPO REF
  local out=$1 repo=$2 ref=$3 d=$1/v2/$2 ct dg ext hex b
  curl -sf -D "$out/.hdr" -o "$out/.body" -H "Accept: $MANIFEST_ACCEPT" "http://127.0.0.1:$PORT_REGISTRY/v2/$repo/manifests/$ref" ||
    die "export: cannot GET $repo:$ref"
  ct=$(tr -d '\r' <"$out/.hdr" | awk -F': ' 'tolower($1)=="content-type"{print $2}')
  dg=$(tr -d '\r' <"$out/.hdr" | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
  ext=$(manifest_ext "$ct")
  mkdir -p "$d/manifests" "$d/blobs"
  cp "$out/.body" "$d/manifests/$dg.$ext"
  if [[ $ref != "$dg" ]]; then
    ln -sfn "$dg.$ext" "$d/manifests/$ref.$ext"
    echo "  /v2/$repo/manifests/$ref.$ext $dg;" >>"$out/digests.map"
  fi
  if [[ $ext == ocii || $ext == d2l ]]; then
    for b in $(jq -r '.manifests[].digest' "$d/manifests/$dg.$ext"); do save_manifest "$out" "$repo" "$b"; done
  else
    for b in $(jq -r '.config.digest, .layers[].digest' "$d/manifests/$dg.$ext"); do
      hex=${b#sha256:}
      ln -sfn "$BENCH/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" "$d/blobs/$b"
    done
  fi
}
export_static() {
  local out=$BENCH/static repo tag
  wait_http "http://127.0.0.1:$PORT_REGISTRY/v2/" 5 200 || die "static export needs the registry running"
  rm -rf "$out"; mkdir -p "$out/v2"; : >"$out/digests.map"
  for repo in $(curl -s "http://127.0.0.1:$PORT_REGISTRY/v2/_catalog?n=1000" | jq -r '.repositories[]'); do
    mkdir -p "$out/v2/$repo/tags"
    curl -s "http://127.0.0.1:$PORT_REGISTRY/v2/$repo/tags/list" >"$out/v2/$repo/tags/list"
    for tag in $(jq -r '.tags[]?' "$out/v2/$repo/tags/list"); do save_manifest "$out" "$repo" "$tag"; done
  done
  rm -f "$out/.hdr" "$out/.body"
  log "exported $(grep -c . "$out/digests.map") tags to $out"
}
start_static() {
  local pfx=$BENCH/nginx/static conf deny401
  if running_pidfile static; then log "static upstream already running"; return; fi
  for p in "$PORT_STATIC" "$PORT_STATIC_TLS" "$PORT_STATIC_TLS_H1"; do port_busy "$p" && die "port $p is taken"; done
  export_static
  mkdir -p "$pfx/tmp" "$pfx/logs"
  conf=$pfx/nginx.conf
  deny401='if ($deny) { add_header WWW-Authenticate $challenge always; add_header Docker-Distribution-API-Version registry/2.0 always; return 401 '"'"'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'"'"'; }'
  cat >"$pfx/locations.conf" <<LOCATIONS
    location = /v2/ {
      $deny401
      add_header Docker-Distribution-API-Version registry/2.0 always;
      default_type application/json;
      return 200 '{}';
    }
    location ~ ^/v2/.+/manifests/[^/]+\$ {
      $deny401
      add_header Docker-Distribution-API-Version registry/2.0 always;
      add_header Docker-Content-Digest \$dcd;
      try_files \$uri.ocim \$uri.ocii \$uri.d2m \$uri.d2l =404;
    }
    location ~ "^/v2/.+/blobs/(sha256:[0-9a-f]{64})\$" {
      $deny401
      add_header Docker-Distribution-API-Version registry/2.0 always;
      add_header Docker-Content-Digest \$1;
      try_files \$uri =404;
    }
    location ~ ^/v2/.+/tags/list\$ {
      $deny401
      default_type application/json;
      try_files \$uri =404;
    }
    location / { return 404 '{"errors":[{"code":"UNSUPPORTED","message":"static upstream"}]}'; }
LOCATIONS
  cat >"$conf" <<NGINXCONF
worker_processes ${NGINX_WORKERS:-auto};
pid $pfx/nginx.pid;
error_log $pfx/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile ${STATIC_SENDFILE:-off};   # off: the upstream copies file data to user space like distribution
  output_buffers 2 256k;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $pfx/tmp/body;
  proxy_temp_path $pfx/tmp/proxy;
  fastcgi_temp_path $pfx/tmp/fastcgi;
  uwsgi_temp_path $pfx/tmp/uwsgi;
  scgi_temp_path $pfx/tmp/scgi;
  types {
    application/vnd.oci.image.manifest.v1+json ocim;
    application/vnd.oci.image.index.v1+json ocii;
    application/vnd.docker.distribution.manifest.v2+json d2m;
    application/vnd.docker.distribution.manifest.list.v2+json d2l;
  }
  default_type application/octet-stream;
  map \$uri \$dcd {
    default "";
    "~^/v2/.+/manifests/(?<d>sha256:[0-9a-f]{64})\\.[a-z0-9]+\$" \$d;
    include $BENCH/static/digests.map;
  }
  # private-registry look-alike on the https ports: no Authorization -> 401 + Bearer challenge
  map "\$private:\$http_authorization" \$deny { "1:" 1; default 0; }
  map \$private \$challenge { default 'Bearer realm="http://127.0.0.1:$PORT_ISSUER/token",service="bench-registry"'; }
  server {
    listen 127.0.0.1:$PORT_STATIC backlog=4096;
    root $BENCH/static;
    set \$private 0;
    include $pfx/locations.conf;
  }
  server {   # https, ALPN h2 + http/1.1 like distribution's Go server and public registries
    listen 127.0.0.1:$PORT_STATIC_TLS ssl http2 backlog=4096;
    ssl_certificate $BENCH/tls/server.crt;
    ssl_certificate_key $BENCH/tls/server.key;
    root $BENCH/static;
    set \$private 1;
    include $pfx/locations.conf;
  }
  server {   # https, http/1.1 only
    listen 127.0.0.1:$PORT_STATIC_TLS_H1 ssl backlog=4096;
    ssl_certificate $BENCH/tls/server.crt;
    ssl_certificate_key $BENCH/tls/server.key;
    root $BENCH/static;
    set \$private 1;
    include $pfx/locations.conf;
  }
}
NGINXCONF
  nginx -t -q -p "$pfx" -c "$conf" 2>"$pfx/logs/test.log" || die "bad static nginx config $conf: $(cat "$pfx/logs/test.log")"
  start_bg static "$BENCH/logs/static.log" nginx -p "$pfx" -c "$conf" -g 'daemon off;'
  wait_http "http://127.0.0.1:$PORT_STATIC/v2/" 10 200 || die "static upstream did not start"
  log "static upstream up: http :$PORT_STATIC, https :$PORT_STATIC_TLS (h2), :$PORT_STATIC_TLS_H1 (h1)"
}

# nginx_ref_conf NAME PORT: nginx proxy_pass -> https static upstream (the "physical limit")
nginx_ref_conf() {
  local pfx=$BENCH/nginx/$1 port=$2
  mkdir -p "$pfx/tmp" "$pfx/logs"
  cat >"$pfx/nginx.conf" <<NGINXCONF
worker_processes ${NGINX_WORKERS:-auto};
pid $pfx/nginx.pid;
error_log $pfx/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $pfx/tmp/body;
  proxy_temp_path $pfx/tmp/proxy;
  fastcgi_temp_path $pfx/tmp/fastcgi;
  uwsgi_temp_path $pfx/tmp/uwsgi;
  scgi_temp_path $pfx/tmp/scgi;
  upstream registry { server 127.0.0.1:$PORT_STATIC_TLS; keepalive 128; keepalive_requests 100000; }
  server {
    listen 127.0.0.1:$port backlog=4096;
    client_max_body_size 0;
    keepalive_requests 100000;
    location / {
      proxy_pass https://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header Authorization "$AUTH_HEADER";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_buffer_size ${NGINX_BUF:-256k};   # with buffering off this is THE read/write chunk
      proxy_buffers 8 ${NGINX_BUF:-256k};
      proxy_busy_buffers_size ${NGINX_BUF:-256k};
      proxy_read_timeout 900s;
      proxy_send_timeout 900s;
      proxy_ssl_session_reuse on;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $BENCH/tls/ca.crt;
      proxy_ssl_name localhost;
    }
  }
}
NGINXCONF
  echo "$pfx/nginx.conf"
}
start_nginx_ref() {
  local conf
  if running_pidfile nginx; then log "nginx reference already running"; return; fi
  port_busy "$PORT_NGINX" && die "port $PORT_NGINX is taken"
  conf=$(nginx_ref_conf nginx "$PORT_NGINX")
  nginx -t -q -p "$BENCH/nginx/nginx" -c "$conf" 2>/dev/null || die "bad nginx config $conf"
  start_bg nginx "$BENCH/logs/nginx.log" nginx -p "$BENCH/nginx/nginx" -c "$conf" -g 'daemon off;'
  wait_http "http://127.0.0.1:$PORT_NGINX/v2/" 10 200 || die "nginx reference did not answer 200 on /v2/"
  log "nginx proxy_pass reference up on :$PORT_NGINX -> https :$PORT_STATIC_TLS"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  cmd=${1:-status}; what=${2:-all}
  case $cmd in
    start)
      [[ $what == all ]] && set -- tls registry issuer static nginx || set -- "$what"
      for n in "$@"; do
        case $n in
          tls) gen_tls ;; registry) start_registry ;; issuer) gen_tls; start_issuer ;;
          static) gen_tls; start_static ;; nginx) gen_tls; start_nginx_ref ;;
          *) die "unknown: $n" ;;
        esac
      done ;;
    conf) nginx_ref_conf "$what" "$3" ;; # conf NAME PORT: write an nginx reference config listening on PORT, print its path
    stop)
      [[ $what == all ]] && set -- nginx static issuer registry || set -- "$what"
      for n in "$@"; do stop_pidfile "$n"; done ;;
    status)
      echo "state in $BENCH"
      for n in registry issuer static nginx; do
        if running_pidfile "$n"; then echo "$n running pid $(cat "$BENCH/run/$n.pid")"; else echo "$n stopped"; fi
      done ;;
    *) die "usage: $0 start|stop|status [all|tls|registry|issuer|static|nginx]" ;;
  esac
fi
