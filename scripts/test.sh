#!/usr/bin/env bash
# The whole test suite: every store and API test on SQLite and on PostgreSQL.
# The browser tests of the account pages run in headless Chromium when it and node are installed.
# PostgreSQL comes from TEST_DATABASE_URL, or a throwaway server started here when its binaries are
# installed. Without it the PostgreSQL half is skipped, loudly; PINBRIDGE_REQUIRE_POSTGRES=1 (CI)
# turns that skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

pgdir=""
cleanup() { [ -n "$pgdir" ] && scripts/pg.sh stop "$pgdir"; [ -n "$pgdir" ] && rm -rf "$pgdir"; return 0; }
trap cleanup EXIT

if [ -z "${TEST_DATABASE_URL:-}" ] && scripts/pg.sh available; then
  pgdir=$(mktemp -d /tmp/pinbridge-test-pg.XXXXXX)
  for try in 1 2 3 4 5; do
    port=$(( 40000 + (RANDOM % 20000) ))
    if url=$(scripts/pg.sh start "$pgdir" "$port" 2>"$pgdir/start.err"); then
      export TEST_DATABASE_URL="$url"
      break
    fi
  done
  [ -n "${TEST_DATABASE_URL:-}" ] || { cat "$pgdir/start.err" >&2; echo "could not start PostgreSQL" >&2; exit 1; }
fi

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "==> PostgreSQL: ${TEST_DATABASE_URL%%\?*} (and the end-to-end tests of internal/e2e)"
  export PINBRIDGE_E2E=1
elif [ "${PINBRIDGE_REQUIRE_POSTGRES:-}" = 1 ]; then
  echo "PostgreSQL is required (PINBRIDGE_REQUIRE_POSTGRES=1) but not installed: apt-get install postgresql" >&2
  exit 1
else
  echo "################################################################################"
  echo "## SKIPPING the PostgreSQL half of the suite: no PostgreSQL server binaries."   
  echo "## Install them (apt-get install postgresql) or set TEST_DATABASE_URL."           
  echo "################################################################################"
fi

# Browser tests need node, Chromium and playwright-core (scripts/js).
if command -v node >/dev/null 2>&1 && [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ ! -d scripts/js/node_modules/playwright-core ]; then
    echo "==> npm ci (scripts/js)"
    (cd scripts/js && npm ci --no-audit --no-fund --silent)
  fi
  export PINBRIDGE_BROWSER_TESTS=1
  echo "==> browser tests: on (Chromium at ${CHROMIUM:-/usr/bin/chromium})"
elif [ "${PINBRIDGE_REQUIRE_BROWSER:-}" = 1 ]; then
  echo "Browser tests are required (PINBRIDGE_REQUIRE_BROWSER=1) but node or Chromium is missing: apt-get install chromium" >&2
  exit 1
else
  echo "################################################################################"
  echo "## SKIPPING the browser tests of the account pages: node or Chromium missing."
  echo "## Install them (apt-get install chromium nodejs npm) to run them."
  echo "################################################################################"
fi

if [ "${PINBRIDGE_E2E_ONLY:-}" = 1 ]; then
  [ -n "${TEST_DATABASE_URL:-}" ] || { echo "e2e needs PostgreSQL" >&2; exit 1; }
  echo "==> go test ./internal/e2e"
  exec go test -count=1 -v ./internal/e2e/
fi

echo "==> go test -race ./..."
go test -race -count=1 ./...
