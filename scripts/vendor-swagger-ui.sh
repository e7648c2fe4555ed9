#!/usr/bin/env bash
# Copies the pinned swagger-ui-dist (scripts/js/package.json) into server/docs/swagger-ui, which the
# binary embeds: /docs works offline and nothing is fetched from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d scripts/js/node_modules/swagger-ui-dist ] || (cd scripts/js && npm ci --no-audit --no-fund --silent)
src=scripts/js/node_modules/swagger-ui-dist
dst=server/docs/swagger-ui
rm -rf "$dst" && mkdir -p "$dst"
cp "$src/swagger-ui-bundle.js" "$src/swagger-ui.css" "$src/favicon-32x32.png" "$src/LICENSE" "$dst/"
echo "swagger-ui-dist $(node -p "require('./$src/package.json').version") -> $dst"
