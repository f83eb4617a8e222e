#!/usr/bin/env bash
# Makes sure the system tools the integration tests drive are installed:
#   docker-registry (CNCF distribution), skopeo, htpasswd (apache2-utils), curl, openssl,
#   containerd and ctr (the README's containerd mirror recipe is run with them).
# Idempotent and quiet when everything is present. When something is missing it installs it
# with apt-get (as root, or through sudo when available); otherwise it prints exactly what to
# install and exits 1. Called by `npm test` (pretest) and by .ci/run.
set -euo pipefail

# command -> Debian package
declare -A PACKAGE=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [htpasswd]=apache2-utils
  [curl]=curl
  [openssl]=openssl
  [containerd]=containerd
  [ctr]=containerd
)
ORDER=(docker-registry skopeo htpasswd curl openssl containerd ctr)

missing_packages() {
  local cmd
  for cmd in "${ORDER[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || printf '%s\n' "${PACKAGE[$cmd]}"
  done | sort -u
}

mapfile -t missing < <(missing_packages)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "system-deps: missing packages: ${missing[*]}" >&2

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here; install these yourself: ${missing[*]} (commands: ${ORDER[*]})" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "system-deps: not root and no passwordless sudo. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

mapfile -t still < <(missing_packages)
if [[ ${#still[@]} -gt 0 ]]; then
  echo "system-deps: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "system-deps: installed ${missing[*]}" >&2
