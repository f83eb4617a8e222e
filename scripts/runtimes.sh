#!/usr/bin/env bash
# Installs the runtimes the end-to-end suite runs on (Node 24, Deno, Bun, workerd) from npm into
# .runtimes/ (gitignored) when missing, and prints their paths as shell assignments:
#
#   REGISTRY_PROXY_NODE24=/…/.runtimes/node_modules/node/bin/node
#   DENO_BIN=/…
#   BUN_BIN=/…
#   WORKERD_BIN=/…
#
# `eval "$(bash scripts/runtimes.sh)"` exports them. The suite also finds them in .runtimes/ by
# itself, so running this once is enough.
#
# The four npm packages put their real binary in place with an install script (node's
# preinstall fetches node-linux-<arch> from npm; deno's, bun's and workerd's postinstall link the
# binary out of an optional platform package). npm 11 warns that such scripts are "not covered by
# allowScripts" and may stop running them, so each binary is checked and the script run by hand
# when it did not run. None of them downloads anything from outside the npm registry.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${REGISTRY_PROXY_RUNTIMES_DIR:-$ROOT/.runtimes}
NODE24_VERSION=24.9.0
DENO_VERSION=2.9.6
BUN_VERSION=1.4.5
# workerd's npm version is 1.<compatibility date>.<patch>; the binary reports the date.
WORKERD_VERSION=1.20261117.1
WORKERD_DATE=$(echo "$WORKERD_VERSION" | sed -E 's/^1\.([0-9]{4})([0-9]{2})([0-9]{2})\..*/\1-\2-\3/')
MODULES=$DIR/node_modules

log() { echo "runtimes.sh: $*" >&2; }

# version_of BIN -> the version the binary reports, or nothing when it does not run
version_of() {
  [[ -x $1 ]] || return 0
  "$1" --version 2>/dev/null | head -n1 | grep -oE '[0-9]+[.-][0-9]+[.-][0-9]+' | head -n1 || true
}

node_bin() { echo "$MODULES/node/bin/node"; }
deno_bin() { echo "$MODULES/deno/deno"; }
bun_bin() { echo "$MODULES/bun/bin/bun.exe"; }
workerd_bin() { echo "$MODULES/workerd/bin/workerd"; }

# wanted: packages whose binary is missing or of another version
wanted=()
[[ $(version_of "$(node_bin)") == "$NODE24_VERSION" ]] || wanted+=("node@$NODE24_VERSION")
[[ $(version_of "$(deno_bin)") == "$DENO_VERSION" ]] || wanted+=("deno@$DENO_VERSION")
[[ $(version_of "$(bun_bin)") == "$BUN_VERSION" ]] || wanted+=("bun@$BUN_VERSION")
[[ $(version_of "$(workerd_bin)") == "$WORKERD_DATE" ]] || wanted+=("workerd@$WORKERD_VERSION")

if [[ ${#wanted[@]} -gt 0 ]]; then
  log "installing ${wanted[*]} into $DIR"
  mkdir -p "$DIR"
  # A package.json of its own keeps npm from walking up to the repo's.
  [[ -f $DIR/package.json ]] || echo '{"name":"registry-proxy-runtimes","private":true}' >"$DIR/package.json"
  # All of them every time: npm removes installed packages it was not asked for.
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --loglevel=error \
    "node@$NODE24_VERSION" "deno@$DENO_VERSION" "bun@$BUN_VERSION" "workerd@$WORKERD_VERSION" >&2

  # Run each install script by hand when npm skipped it.
  if [[ -z $(version_of "$(node_bin)") ]]; then
    log "running node's preinstall (npm skipped it)"
    (cd "$MODULES/node" && node installArchSpecificPackage) >&2
  fi
  if [[ -z $(version_of "$(deno_bin)") ]]; then
    log "running deno's postinstall (npm skipped it)"
    (cd "$MODULES/deno" && node ./install.cjs) >&2
  fi
  if [[ -z $(version_of "$(bun_bin)") ]]; then
    log "running bun's postinstall (npm skipped it)"
    (cd "$MODULES/bun" && node install.js) >&2
  fi
  if [[ -z $(version_of "$(workerd_bin)") ]]; then
    log "running workerd's postinstall (npm skipped it)"
    (cd "$MODULES/workerd" && node install.js) >&2
  fi
fi

status=0
for pair in "REGISTRY_PROXY_NODE24:$(node_bin):$NODE24_VERSION" "DENO_BIN:$(deno_bin):$DENO_VERSION" "BUN_BIN:$(bun_bin):$BUN_VERSION" "WORKERD_BIN:$(workerd_bin):$WORKERD_DATE"; do
  IFS=: read -r name bin version <<<"$pair"
  if [[ $(version_of "$bin") == "$version" ]]; then
    echo "$name=$bin"
  else
    log "$name: $bin does not run as version $version"
    status=1
  fi
done
exit $status
