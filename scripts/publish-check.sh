#!/usr/bin/env bash
# Checks that the package can be published where people install it from, without publishing:
#   npm:  the built package passes `publint --strict`, and `npm pack` packs LICENSE, README and dist/;
#   JSR:  `deno publish --dry-run` (license, exports, slow types) with deno.json's publish.include.
# Run by .ci/run after the tests; needs the runtimes from scripts/runtimes.sh (Deno).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/runtimes.sh)"

npm run build --silent
npx publint --strict

packed=$(npm pack --dry-run --json --silent)
for file in LICENSE README.md package.json dist/index.js dist/index.d.ts dist/cli.js; do
  if ! grep -q "\"path\": \"$file\"" <<<"$packed"; then
    echo "publish-check: npm pack leaves out $file" >&2
    exit 1
  fi
done

NO_COLOR=1 "$DENO_BIN" publish --dry-run --allow-dirty 2>&1 | tail -n 3
echo "publish-check: npm (publint --strict, npm pack) and JSR (deno publish --dry-run) are ready"
