#!/usr/bin/env bash
# Build OCI images with random (incompressible, deterministic) layers by hand -- no Docker:
# openssl AES-CTR keystream -> tar -> sha256sum -> jq manifests -> OCI layout -- and push
# them with skopeo to the bench's distribution registry.
#
#   make-images.sh [SPEC...]
#     SPEC = NAME=SIZE[+SIZE...]   one image bench/NAME:v1, one layer per SIZE (numfmt IEC: 1M, 64M, 1G)
#          | NAME=multi            an OCI index with linux/amd64 + linux/arm64 images (1 MiB layer each)
#   env: V2S2="NAME..."  also push bench/NAME:v1-v2s2 (Docker schema2) for these images
# Pushed with --preserve-digests (else skopeo gzips the layers on the way). Layer content
# depends only on (NAME, layer index, size), so digests are reproducible and a layout that
# is already built is reused. Adapted from shared/bench/make-images.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

REGISTRY=127.0.0.1:$PORT_REGISTRY
TAG=v1
OCI_DIR=${OCI_DIR:-$BENCH/oci}
V2S2=${V2S2-}

add_blob() { # LAYOUT FILE -> "sha256:HEX SIZE"
  local layout=$1 f=$2 hex size
  hex=$(sha256sum "$f" | cut -d' ' -f1)
  size=$(stat -c %s "$f")
  mkdir -p "$layout/blobs/sha256"
  mv -f "$f" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}
add_json() {
  local tmp; tmp=$(mktemp "$1/.tmp.XXXXXX")
  printf '%s' "$2" >"$tmp"
  add_blob "$1" "$tmp"
}
make_layer() { # LAYOUT SEED BYTES -> "sha256:HEX SIZE" (uncompressed tar holding one random file)
  local layout=$1 seed=$2 bytes=$3 key work
  key=$(printf '%s' "$seed" | sha256sum | cut -c1-32)
  work=$(mktemp -d "$layout/.layer.XXXXXX")
  { openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null || true; } |
    head -c "$bytes" >"$work/data.bin"
  [[ $(stat -c %s "$work/data.bin") == "$bytes" ]] || die "short random data for $seed"
  tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -cf "$work/layer.tar" -C "$work" data.bin
  rm -f "$work/data.bin"
  add_blob "$layout" "$work/layer.tar"
  rmdir "$work"
}
make_manifest() { # LAYOUT NAME ARCH SIZES... -> "sha256:HEX SIZE"
  local layout=$1 name=$2 arch=$3; shift 3
  local i=0 layers='[]' diffids='[]' d s cfg cd cs sz
  for sz in "$@"; do
    read -r d s < <(make_layer "$layout" "$name-$arch-$i-$sz" "$(numfmt --from=iec "$sz")")
    layers=$(jq -c --arg d "$d" --argjson s "$s" '. + [{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$d,size:$s}]' <<<"$layers")
    diffids=$(jq -c --arg d "$d" '. + [$d]' <<<"$diffids")
    i=$((i + 1))
  done
  cfg=$(jq -cn --arg a "$arch" --argjson ids "$diffids" \
    '{architecture:$a,os:"linux",created:"1970-01-01T00:00:00Z",config:{Cmd:["/data.bin"]},rootfs:{type:"layers",diff_ids:$ids},history:[]}')
  read -r cd cs < <(add_json "$layout" "$cfg")
  add_json "$layout" "$(jq -cn --arg cd "$cd" --argjson cs "$cs" --argjson l "$layers" \
    '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$cd,size:$cs},layers:$l}')"
}
build() {
  local name=$1 spec=$2 d s d2 s2 top mt layout=$OCI_DIR/$1
  if [[ -f $layout/.spec && $(cat "$layout/.spec") == "$spec:$TAG" ]]; then return; fi
  rm -rf "$layout"; mkdir -p "$layout"
  log "building $name ($spec) in $layout"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  if [[ $spec == multi ]]; then
    read -r d s < <(make_manifest "$layout" "$name" amd64 1M)
    read -r d2 s2 < <(make_manifest "$layout" "$name" arm64 1M)
    read -r top mt < <(add_json "$layout" "$(jq -cn --arg d "$d" --argjson s "$s" --arg d2 "$d2" --argjson s2 "$s2" \
      '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:[
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,platform:{architecture:"amd64",os:"linux"}},
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d2,size:$s2,platform:{architecture:"arm64",os:"linux"}}]}')")
    jq -n --arg d "$top" --argjson s "$mt" --arg t "$TAG" \
      '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":$t}}]}' >"$layout/index.json"
  else
    # shellcheck disable=SC2086
    read -r d s < <(make_manifest "$layout" "$name" amd64 ${spec//+/ })
    jq -n --arg d "$d" --argjson s "$s" --arg t "$TAG" \
      '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":$t}}]}' >"$layout/index.json"
  fi
  echo "$spec:$TAG" >"$layout/.spec"
}
push() {
  local name=$1 spec=$2 all=() layout=$OCI_DIR/$1
  [[ $spec == multi ]] && all=(--all)
  if [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "http://$REGISTRY/v2/bench/$name/manifests/$TAG") == 200 &&
    -f $BENCH/data/.pushed-$name && $(cat "$BENCH/data/.pushed-$name") == "$spec" ]]; then
    return
  fi
  log "pushing oci:$layout:$TAG -> docker://$REGISTRY/bench/$name:$TAG"
  skopeo copy -q "${all[@]}" --preserve-digests --dest-tls-verify=false "oci:$layout:$TAG" "docker://$REGISTRY/bench/$name:$TAG" >/dev/null
  if [[ " $V2S2 " == *" $name "* && $spec != multi ]]; then
    skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$layout:$TAG" "docker://$REGISTRY/bench/$name:$TAG-v2s2" >/dev/null
  fi
  echo "$spec" >"$BENCH/data/.pushed-$name"
}

wait_http "http://$REGISTRY/v2/" 5 200 || die "registry http://$REGISTRY not reachable (upstream.sh start registry)"
for arg in "$@"; do
  name=${arg%%=*}; spec=${arg#*=}
  [[ $name != "$arg" && -n $spec ]] || die "bad spec '$arg' (want NAME=SIZE[+SIZE..] or NAME=multi)"
  build "$name" "$spec"
  push "$name" "$spec"
done
