#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for tests and benchmarks.
#   scripts/pg.sh start DIR [PORT]   initialise DIR if needed, start, print the connection URL
#   scripts/pg.sh stop DIR           stop it
#   scripts/pg.sh available          exit 0 when PostgreSQL's server binaries are installed
# PostgreSQL refuses to run as root, so as root it runs as the user pinbridge-pg.
set -euo pipefail

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u pinbridge-pg -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}
case "$cmd" in
  available)
    bindir >/dev/null
    ;;
  start)
    dir=${2:?usage: pg.sh start DIR [PORT]}
    port=${3:-54329}
    bin=$(bindir) || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
    if [ "$(id -u)" = 0 ] && ! id pinbridge-pg >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin pinbridge-pg
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown pinbridge-pg "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
  stop)
    dir=${2:?usage: pg.sh stop DIR}
    bin=$(bindir) || exit 0
    [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: pg.sh start DIR [PORT] | stop DIR | available" >&2
    exit 2
    ;;
esac
