# shellcheck shell=bash disable=SC2034
# The runtimes registry-proxy is benchmarked on: one line each, pluggable. Add a runtime by
# adding a line; a runtime whose binary or entry file is missing is reported as skipped.
#
#   NAME | BINARY | ENTRY (relative to the repo) | NPM PACKAGE providing BINARY (or -) | COMMAND | FLOOR
#
# BINARY: a name looked up in $PATH (then in $RUNTIMES_DIR/node_modules/.bin), or a path with
# {RT} = $RUNTIMES_DIR. COMMAND is run by bash in the repo directory with PORT set; it must
# serve in the foreground. {BIN} {ENTRY} {CA} {UPSTREAM} {ARGS} are substituted; {ARGS} is
# "--upstream {UPSTREAM} --port $PORT --host 127.0.0.1" plus $RP_ARGS. FLOOR is the same for the
# runtime's floor row NAME-floor: the smallest passthrough on that runtime (UPSTREAM, PORT and
# AUTH_HEADER come from the environment).
RUNTIME_TABLE='
node   | node                   | dist/cli.js          | -       | NODE_EXTRA_CA_CERTS={CA} exec {BIN} {ENTRY} {ARGS} | NODE_EXTRA_CA_CERTS={CA} exec {BIN} bench/node-passthrough.mjs
node24 | {RT}/node_modules/.bin/node | dist/cli.js     | node@24 | NODE_EXTRA_CA_CERTS={CA} exec {BIN} {ENTRY} {ARGS} | NODE_EXTRA_CA_CERTS={CA} exec {BIN} bench/node-passthrough.mjs
deno   | deno                   | adapters/cli/deno.ts | deno    | DENO_CERT={CA} exec {BIN} run -A {ENTRY} {ARGS}    | DENO_CERT={CA} exec {BIN} run -A bench/fetch-passthrough.mjs
bun    | bun                    | adapters/cli/bun.ts  | bun     | NODE_EXTRA_CA_CERTS={CA} exec {BIN} {ENTRY} {ARGS} | NODE_EXTRA_CA_CERTS={CA} exec {BIN} bench/fetch-passthrough.mjs
'
# The same runtimes the test suite installs (scripts/runtimes.sh), in the repo's .runtimes/.
RUNTIMES_DIR=${RUNTIMES_DIR:-$(cd "$BENCH_DIR/.." && pwd)/.runtimes}

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }

# runtime_field NAME INDEX (1=binary 2=entry 3=npm package 4=command 5=floor command)
runtime_field() {
  local line n
  while IFS= read -r line; do
    [[ -n ${line// /} ]] || continue
    IFS='|' read -ra f <<<"$line"
    n=$(trim "${f[0]}")
    [[ $n == "$1" ]] && { trim "${f[$2]}"; return 0; }
  done <<<"$RUNTIME_TABLE"
  return 1
}
runtime_names() { awk -F'|' 'NF>=6{gsub(/ /,"",$1); print $1}' <<<"$RUNTIME_TABLE"; }

# runtime_bin NAME -> absolute path of the binary, or nothing
runtime_bin() {
  local b; b=$(runtime_field "$1" 1) || return 0
  b=${b//\{RT\}/$RUNTIMES_DIR}
  if [[ $b == */* ]]; then [[ -x $b ]] && echo "$b"; return 0; fi
  if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  [[ -x $RUNTIMES_DIR/node_modules/.bin/$b ]] && echo "$RUNTIMES_DIR/node_modules/.bin/$b"
  return 0
}

# runtime_install NAMES...: npm-install the packages of runtimes whose binary is missing
runtime_install() {
  local n pkg pkgs=()
  for n in "$@"; do
    [[ -n $(runtime_bin "$n") ]] && continue
    pkg=$(runtime_field "$n" 3) || continue
    [[ $pkg != - ]] && pkgs+=("$pkg")
  done
  [[ ${#pkgs[@]} -gt 0 ]] || return 0
  log "installing runtimes from npm into $RUNTIMES_DIR: ${pkgs[*]}"
  # scripts/runtimes.sh pins the versions the suite tests and runs install scripts npm skipped.
  REGISTRY_PROXY_RUNTIMES_DIR=$RUNTIMES_DIR bash "$BENCH_DIR/../scripts/runtimes.sh" >"$BENCH/logs/npm-runtimes.log" 2>&1 ||
    log "installing runtimes failed (see $BENCH/logs/npm-runtimes.log); those runtimes will be skipped"
}

# runtime_skip NAME -> reason it cannot run (empty when it can)
runtime_skip() {
  local entry
  runtime_field "$1" 1 >/dev/null || { echo "unknown runtime (not in bench/runtimes.sh)"; return; }
  entry=$(runtime_field "$1" 2)
  [[ -n $(runtime_bin "$1") ]] || { echo "no $(runtime_field "$1" 1) binary"; return; }
  [[ -f $REPO_DIR/$entry ]] || { echo "no $entry"; return; }
}

runtime_version() {
  local b; b=$(runtime_bin "$1")
  [[ -n $b ]] || return 0
  case $1 in deno*) "$b" --version 2>/dev/null | head -1 ;; bun*) echo "bun $("$b" --version 2>/dev/null)" ;; *) echo "node $("$b" --version 2>/dev/null)" ;; esac
}

# runtime_cmd NAME UPSTREAM CA [floor] -> the shell command (PORT comes from the environment)
runtime_cmd() {
  local c args
  c=$(runtime_field "$1" "$([[ ${4:-} == floor ]] && echo 5 || echo 4)")
  args="--upstream $2 --port \$PORT --host 127.0.0.1${RP_ARGS:+ $RP_ARGS}"
  c=${c//\{BIN\}/$(runtime_bin "$1")}
  c=${c//\{ENTRY\}/$(runtime_field "$1" 2)}
  c=${c//\{CA\}/$3}
  c=${c//\{ARGS\}/$args}
  c=${c//\{UPSTREAM\}/$2}
  [[ ${4:-} == floor ]] && c="UPSTREAM=$2 AUTH_HEADER=$(printf '%q' "$AUTH_HEADER") $c"
  echo "cd $(printf '%q' "$REPO_DIR") && $c"
}
