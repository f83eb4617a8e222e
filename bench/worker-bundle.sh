#!/usr/bin/env bash
# Size of the Workers bundle (issue 14): the example worker bundled with the command of
# docs/workers.md (esbuild --splitting), split into what the worker loads at start and what it
# only loads on first use (jose, for the proxy's own client auth), beside the same worker as one
# file (esbuild without --splitting, which is what `wrangler deploy` does by default).
# Prints one markdown table. Usage: bash bench/worker-bundle.sh [entry.ts]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENTRY=${1:-examples/cloudflare-worker.ts}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cd "$ROOT"
FLAGS=(--bundle --minify --platform=neutral --format=esm --conditions=workerd,worker,browser --log-level=warning)
node_modules/.bin/esbuild "$ENTRY" "${FLAGS[@]}" --splitting --outdir="$OUT/split" --metafile="$OUT/meta.json"
node_modules/.bin/esbuild "$ENTRY" "${FLAGS[@]}" --outfile="$OUT/single/worker.js"

# The entry and the chunks it imports statically are loaded at start; the rest on import().
start=$(node -e '
  const meta = require(process.argv[1]);
  const path = require("node:path");
  const entry = Object.keys(meta.outputs).find((key) => meta.outputs[key].entryPoint);
  const seen = new Set();
  const visit = (key) => { if (seen.has(key)) return; seen.add(key); for (const i of meta.outputs[key].imports) if (i.kind === "import-statement") visit(i.path); };
  visit(entry);
  console.log([...seen].map((key) => path.basename(key)).join(" "));
' "$OUT/meta.json")

size() { cat "$@" | wc -c | tr -d ' '; }
gz() { cat "$@" | gzip -9 | wc -c | tr -d ' '; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }
start_files=()
lazy_files=()
for file in "$OUT"/split/*.js; do
  if [[ " $start " == *" $(basename "$file") "* ]]; then start_files+=("$file"); else lazy_files+=("$file"); fi
done

echo "Worker bundle of \`$ENTRY\` (esbuild $(node_modules/.bin/esbuild --version), minified):"
echo
echo "| part | modules | size | gzip |"
echo "|---|---|---|---|"
echo "| loaded at start | ${#start_files[@]} | $(kb "$(size "${start_files[@]}")") | $(kb "$(gz "${start_files[@]}")") |"
if [[ ${#lazy_files[@]} -gt 0 ]]; then
  echo "| loaded on first use (client auth: jose) | ${#lazy_files[@]} | $(kb "$(size "${lazy_files[@]}")") | $(kb "$(gz "${lazy_files[@]}")") |"
fi
echo "| one file, no splitting (wrangler's default) | 1 | $(kb "$(size "$OUT/single/worker.js")") | $(kb "$(gz "$OUT/single/worker.js")") |"
