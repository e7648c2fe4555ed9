#!/usr/bin/env bash
# make bench: builds the binary, starts a throwaway PostgreSQL and the server on it, seeds an
# account, a sandbox and keys, and drives each scenario with wrk at BENCH_CONNECTIONS connections for
# BENCH_DURATION. In the same run it measures the ceiling (scripts/bench/ceiling: an Echo handler
# that verifies an HS256 JWT and does one primary-key SELECT on the same PostgreSQL) and the hash
# bound (production argon2id hashes per second on a password pool with a worker per core, nothing
# else running; one hash's time is reported beside it). Both services get the same PostgreSQL pool
# size. The measured user's organization gets BENCH_ACTIVITY_EVENTS (1,000,000) activity-log entries,
# inserted straight into PostgreSQL, for the first-page and deep-page reads of the log. Next to
# /healthz it measures a bare Echo hello (the ceiling program's /hello), the floor of any request.
# The reads and /healthz take turns with their yardstick in BENCH_ROUNDS (3) slices. It reports the
# server's resident memory idle after start and at its peak in each scenario.
#
# BENCH_SCALE=1 also measures how costs grow with the data: the reads, login and register at 1,000
# accounts (seeded by scripts/bench/scale.sql next to the bench's own), then again after the same
# script brings the database to 1,000,000 accounts (organizations, projects, memberships) and
# 1,000,000 API keys, and prints the two side by side. BENCH_BINARY measures another build of the
# server (A/B comparisons). Prints tables; writes JSON to BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-15s}
# The reads and /healthz are measured in BENCH_ROUNDS slices each, taking turns with their yardstick
# (ceiling, key read, me, ceiling, ...; hello, /healthz, hello, ...), so that the machine's drift
# over minutes moves a scenario and its yardstick alike; each slice lasts DURATION / ROUNDS, rounded
# up to whole seconds.
ROUNDS=${BENCH_ROUNDS:-3}
dur_s=${DURATION%s}
case "$dur_s" in ''|*[!0-9]*) echo "bench: BENCH_DURATION must be whole seconds such as 15s, not $DURATION" >&2; exit 1 ;; esac
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench: BENCH_ROUNDS must be a positive whole number, not $ROUNDS" >&2; exit 1 ;; esac
SLICE="$(( dur_s > 0 ? (dur_s + ROUNDS - 1) / ROUNDS : 1 ))s"
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
EVENTS=${BENCH_ACTIVITY_EVENTS:-1000000}
OUT=${BENCH_OUT:-bin/bench.json}
SCALE=${BENCH_SCALE:-0}
SCALE_ACCOUNTS=${BENCH_SCALE_ACCOUNTS:-1000000}
CORES=$(nproc)
# The server's default pool (store.DefaultMaxOpenConns: 2 per CPU, at least 4); the ceiling gets the same.
POOL=${BENCH_DB_CONNS:-$(( CORES * 2 > 4 ? CORES * 2 : 4 ))}

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing wrk"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "bench: wrk is missing (apt-get install wrk)" >&2
    exit 1
  fi
fi

echo "==> build"
mkdir -p bin
# BENCH_BINARY measures another build of the server (an A/B comparison); the default is this tree's.
server_bin=${BENCH_BINARY:-bin/pinbridge}
[ -n "${BENCH_BINARY:-}" ] || CGO_ENABLED=0 go build -trimpath -o bin/pinbridge .
CGO_ENABLED=0 go build -trimpath -o bin/bench-ceiling ./scripts/bench/ceiling

work=$(mktemp -d /tmp/pinbridge-bench.XXXXXX)
chmod 755 "$work" # the PostgreSQL user must reach its data directory inside
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

# pick_port: a port nothing uses, below the kernel's ephemeral range, so that no outgoing connection
# can hold it between the pick and the bind (a PostgreSQL that lost that race failed to start).
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${ephemeral_low:-0}" -gt 11000 ] 2>/dev/null || ephemeral_low=32768
pick_port() {
  local p
  while :; do
    p=$(( 10000 + RANDOM % (ephemeral_low - 10000) ))
    ss -tan 2>/dev/null | awk '{print $4}' | grep -q ":$p\$" || { echo "$p"; return; }
  done
}
wait_http() {
  for _ in $(seq 1 600); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "bench: $1 did not come up" >&2; return 1
}

echo "==> PostgreSQL"
dburl=$(scripts/pg.sh start "$work/pg" "$(pick_port)")

port=$(pick_port)
base="http://127.0.0.1:$port"
# Rate limits off the way (every request comes from one address): this measures throughput.
PINBRIDGE_RATE_LIMIT_SCALE=1000000 PINBRIDGE_DB_MAX_OPEN_CONNS="$POOL" PINBRIDGE_ENV=development PINBRIDGE_ADDR="127.0.0.1:$port" PINBRIDGE_DATABASE_URL="$dburl" \
  PINBRIDGE_DATA_DIR="$work/data" PINBRIDGE_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" PINBRIDGE_HASH_QUEUE="${BENCH_HASH_QUEUE:-256}" \
  "$server_bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_http "$base/readyz" || { cat "$work/server.log" >&2; exit 1; }
# Idle after start: resident memory once the server answers, before any load.
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

echo "==> seed"
for i in $(seq 1 50); do
  curl -fs -o /dev/null -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"full_name\":\"Seed $i\",\"email\":\"seed$i@example.com\",\"password\":\"bench password $i\"}"
done
# The login flood signs in to LOGIN_ACCOUNTS accounts in turn: one account's attempts sent at once
# beyond its free failures take turns (the backoff), as an attacker's would.
LOGIN_ACCOUNTS=64
for i in $(seq 0 $((LOGIN_ACCOUNTS - 1))); do
  curl -fs -o /dev/null -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"full_name\":\"Login $i\",\"email\":\"login$i@bench.example.com\",\"password\":\"a benchmark password\"}"
done
reg=$(curl -fs -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"full_name":"Bench User","email":"bench@example.com","password":"a benchmark password"}')
token=$(echo "$reg" | json 'd["access_token"]')
user_id=$(echo "$reg" | json 'd["user"]["id"]')
org_id=$(echo "$reg" | json 'd["organization"]["id"]')
sandbox=$(curl -fs -X POST "$base/v1/projects/sandbox" -H "Authorization: Bearer $token" | json '[p["id"] for p in d["projects"] if p["environment"]=="sandbox"][0]')
sbtoken=$(curl -fs -X POST "$base/v1/projects/switch" -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d "{\"project_id\":\"$sandbox\"}" | json 'd["access_token"]')
for i in $(seq 1 20); do
  curl -fs -o /dev/null -X POST "$base/v1/api-keys" -H 'Content-Type: application/json' -H "Authorization: Bearer $sbtoken" -d "{\"name\":\"seed $i\"}"
done
key=$(curl -fs -X POST "$base/v1/api-keys" -H 'Content-Type: application/json' -H "Authorization: Bearer $sbtoken" \
  -d '{"name":"bench","scopes":["read"]}' | json 'd["api_key"]')
# The measured user belongs to 3 organizations: their own and two that invite them (every session
# answer lists them all, and authentication loads them on every request).
invite_link() { # the accept-invitation link of the newest .eml to $1 in the development outbox
  python3 - "$work/data/outbox" "$1" <<'PY'
import email, glob, os, re, sys, time
for _ in range(200):
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.eml")), key=os.path.getmtime, reverse=True):
        m = email.message_from_binary_file(open(path, "rb"))
        if m["To"] and sys.argv[2] in m["To"] and "invited" in (m["Subject"] or ""):
            for part in m.walk():
                if part.get_content_type() == "text/plain":
                    found = re.search(r"token=([A-Za-z0-9_-]+)", part.get_payload(decode=True).decode())
                    if found:
                        print(found.group(1)); os.remove(path); sys.exit(0)
    time.sleep(0.05)
sys.exit("bench: no invitation mail for " + sys.argv[2])
PY
}
for i in 1 2; do
  other=$(curl -fs -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"full_name\":\"Team $i\",\"email\":\"team$i@example.com\",\"password\":\"bench password team $i\"}" | json 'd["access_token"]')
  curl -fs -o /dev/null -X POST "$base/v1/team/invitations" -H 'Content-Type: application/json' -H "Authorization: Bearer $other" \
    -d '{"email":"bench@example.com","role":"editor"}'
  invite=$(invite_link bench@example.com)
  curl -fs -o /dev/null -X POST "$base/v1/team/invitations/accept" -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    -d "{\"token\":\"$invite\"}"
done
orgs=$(curl -fs "$base/v1/auth/me" -H "Authorization: Bearer $token" | json 'len(d["available_organizations"])')
[ "$orgs" = 3 ] || { echo "bench: the measured user belongs to $orgs organizations, want 3" >&2; exit 1; }

# The activity log of the measured user's organization: EVENTS entries over the last EVENTS
# milliseconds, generated by PostgreSQL itself (one INSERT ... SELECT), then vacuumed and analysed
# and a checkpoint taken: what autovacuum and the checkpointer would otherwise do for so many new
# rows in the middle of the measurement.
psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | head -n 1)
[ -x "$psql_bin" ] || { echo "bench: psql is missing (apt-get install postgresql-client)" >&2; exit 1; }
echo "==> activity log: $EVENTS entries"
seed_start=$(date +%s.%N)
"$psql_bin" -q -v ON_ERROR_STOP=1 "$dburl" <<SQL
INSERT INTO activity_logs (id, organization_id, created_at, actor_type, actor_id, actor_label, action, category, status,
  resource_type, resource_id, message, metadata, request_id, source_address, retention_days, expires_at)
SELECT gen_random_uuid()::text, '$org_id', now() - g * interval '1 millisecond', 'user', '$user_id', 'bench@example.com',
  'auth.login', 'security', CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'success' END, 'user', '$user_id',
  CASE WHEN g % 10 = 0 THEN 'Sign-in refused: wrong password' ELSE 'Signed in' END, '{}', md5(g::text), '127.0.0.1',
  7, now() - g * interval '1 millisecond' + interval '7 days'
FROM generate_series(1, $EVENTS) AS g;
VACUUM (ANALYZE) activity_logs;
CHECKPOINT;
SQL
seed_s=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$seed_start" "$(date +%s.%N)")
echo "    $EVENTS entries in ${seed_s}s"
# seed_accounts FIRST LAST: accounts FIRST..LAST as registration makes them, each with an API key,
# all with the bench user's stored hash (one argon2id hash reused: only the bench's own account logs in).
seed_accounts() {
  local hash
  hash=$("$psql_bin" -Atq "$dburl" -c "SELECT password_hash FROM users WHERE email_key = 'bench@example.com'")
  "$psql_bin" -q "$dburl" -v first="$1" -v last="$2" -v hash="$hash" -f scripts/bench/scale.sql
}
if [ "$SCALE" = 1 ]; then
  echo "==> scale: accounts 1-1,000"
  seed_accounts 1 1000
fi
# The page 10,000 entries deep: walk 50 pages of 200 for its cursor.
cursor=""
for _ in $(seq 1 50); do
  cursor=$(curl -fs "$base/v1/activity-logs?limit=200${cursor:+&cursor=$cursor}" -H "Authorization: Bearer $token" | json 'd["next_cursor"]')
done
deep="$base/v1/activity-logs?limit=50&cursor=$cursor"
first="$base/v1/activity-logs?limit=50"
[ "$(curl -fs "$deep" -H "Authorization: Bearer $token" | json 'len(d["items"])')" = 50 ] || { echo "bench: the deep page is not full" >&2; exit 1; }

cport=$(pick_port)
while [ "$cport" = "$port" ]; do cport=$(pick_port); done
bin/bench-ceiling serve -addr "127.0.0.1:$cport" -db "$dburl" -conns "$POOL" >"$work/ceiling.log" 2>&1 &
ceiling_pid=$!
pids+=("$ceiling_pid")
ctoken=$(bin/bench-ceiling token "$user_id")
ceiling_up=0
for _ in $(seq 1 200); do curl -fs -o /dev/null -H "Authorization: Bearer $ctoken" "http://127.0.0.1:$cport/me" && { ceiling_up=1; break; }; sleep 0.05; done
[ "$ceiling_up" = 1 ] || { echo "bench: the ceiling did not come up on port $cport" >&2; cat "$work/ceiling.log" >&2; exit 1; }

results="$work/results.jsonl"
: >"$results"
phase=base
# run NAME URL PID METHOD BODY HEADER [DURATION]
run() {
  local name=$1 url=$2 pid=$3 method=$4 body=$5 header=$6 duration=${7:-$DURATION}
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
  local line
  line=$(BENCH_METHOD="$method" BENCH_BODY="$body" BENCH_HEADER="$header" BENCH_ROTATE="$LOGIN_ACCOUNTS" BENCH_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"$duration" --timeout 10s -s scripts/bench/report.lua "$url" | tail -n 1)
  local rss_kb
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  echo "{\"scenario\":\"$name\",\"phase\":\"$phase\",\"rss_kb\":$rss_kb,\"wrk\":$line}" >>"$results"
  echo "    $name done"
}

# A shared machine's speed drifts by tens of percent within minutes, so each yardstick is measured
# on both sides of what it judges: the ceiling and the hello in turns with the reads and /healthz
# (ROUNDS slices each, the yardstick first and last), the hash bound before and after login and
# register.
echo "==> warm-up (2s per service, not measured)"
wrk -t"$THREADS" -c"$CONNS" -d2s -H "Authorization: Bearer $ctoken" "http://127.0.0.1:$cport/me" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s -H "Authorization: Bearer $token" "$base/v1/auth/me" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $key" "$base/v1/pinterest/accounts" >/dev/null

echo "==> scenarios ($DURATION each, the reads and /healthz in $ROUNDS slices of $SLICE; $CONNS connections)"
# in_turns YARDSTICK SCENARIO...: ROUNDS rounds of a slice of the yardstick, then a slice of each
# scenario; then the yardstick once more (each argument a function measuring one slice).
in_turns() {
  local yardstick=$1 scenario
  shift
  for _ in $(seq 1 "$ROUNDS"); do
    "$yardstick"
    for scenario in "$@"; do "$scenario"; done
  done
  "$yardstick"
}
ceiling() { run "ceiling (JWT + 1 SELECT)" "http://127.0.0.1:$cport/me" "$ceiling_pid" GET "" "Authorization: Bearer $ctoken" "$SLICE"; }
key_read() { run "GET /v1/pinterest/accounts (X-API-Key)" "$base/v1/pinterest/accounts" "$server_pid" GET "" "X-API-Key: $key" "$SLICE"; }
me_read() { run "GET /v1/auth/me (JWT)" "$base/v1/auth/me" "$server_pid" GET "" "Authorization: Bearer $token" "$SLICE"; }
in_turns ceiling key_read me_read
run "GET /v1/activity-logs first page (JWT)" "$first" "$server_pid" GET "" "Authorization: Bearer $token"
run "GET /v1/activity-logs 10,000 deep (JWT)" "$deep" "$server_pid" GET "" "Authorization: Bearer $token"
hello() { run "GET /hello (bare Echo)" "http://127.0.0.1:$cport/hello" "$ceiling_pid" GET "" "" "$SLICE"; }
healthz() { run "GET /healthz" "$base/healthz" "$server_pid" GET "" "" "$SLICE"; }
in_turns hello healthz
hash_before=$(bin/bench-ceiling hash)
rate_before=$(bin/bench-ceiling hash-rate)
run "POST /v1/auth/login" "$base/v1/auth/login" "$server_pid" POST '{"email":"loginROTATE@bench.example.com","password":"a benchmark password"}' ""
run "POST /v1/auth/register" "$base/v1/auth/register" "$server_pid" POST '{"full_name":"Bench","email":"UNIQUE@bench.example.com","password":"a benchmark password"}' ""
hash_after=$(bin/bench-ceiling hash)
hash_ns="$hash_before,$hash_after"
hash_rate="$rate_before,$(bin/bench-ceiling hash-rate)"
scale_seed_s=0
hash_big_ns=0
hash_big_rate=0
if [ "$SCALE" = 1 ]; then
  echo "==> scale: accounts 1,001-$SCALE_ACCOUNTS, an API key each"
  seed_start=$(date +%s.%N)
  seed_accounts 1001 "$SCALE_ACCOUNTS"
  scale_seed_s=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$seed_start" "$(date +%s.%N)")
  echo "    in ${scale_seed_s}s"
  phase=scale
  echo "==> warm-up at $SCALE_ACCOUNTS accounts (2s per read, not measured)"
  wrk -t"$THREADS" -c"$CONNS" -d2s -H "Authorization: Bearer $token" "$base/v1/auth/me" >/dev/null
  wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $key" "$base/v1/pinterest/accounts" >/dev/null
  echo "==> scenarios again at $SCALE_ACCOUNTS accounts"
  in_turns ceiling key_read me_read
  hash_big_before=$(bin/bench-ceiling hash)
  rate_big_before=$(bin/bench-ceiling hash-rate)
  run "POST /v1/auth/login" "$base/v1/auth/login" "$server_pid" POST '{"email":"loginROTATE@bench.example.com","password":"a benchmark password"}' ""
  run "POST /v1/auth/register" "$base/v1/auth/register" "$server_pid" POST '{"full_name":"Bench","email":"UNIQUE@bench.example.com","password":"a benchmark password"}' ""
  hash_big_ns="$hash_big_before,$(bin/bench-ceiling hash)"
  hash_big_rate="$rate_big_before,$(bin/bench-ceiling hash-rate)"
fi

python3 - "$results" "$OUT" "$hash_ns" "$CORES" "$DURATION" "$CONNS" "$POOL" "$EVENTS" "$seed_s" "$idle_rss_kb" "$SCALE_ACCOUNTS" "$scale_seed_s" "$hash_big_ns" "$hash_rate" "$hash_big_rate" <<'PY'
import json, sys, platform
results_path, out_path, hash_ns, cores, duration, conns, pool, events, seed_s, idle_rss_kb, scale_accounts, scale_seed_s, hash_big_ns, hash_rate, hash_big_rate = sys.argv[1:]
rows = [json.loads(l) for l in open(results_path)]
scale_rows = [r for r in rows if r.get("phase") == "scale"]
rows = [r for r in rows if r.get("phase") != "scale"]
def hash_of(samples, rates):
    # The mean of a run's hash timings (ns), the hash bound (the mean of its measured hashes per
    # second on every core) and what cores divided by one hash's time would promise.
    ns = [int(x) for x in samples.split(",")]
    mean = sum(ns) / len(ns)
    rate = [float(x) for x in rates.split(",")]
    return ns, mean, sum(rate) / len(rate), int(cores) * 1e9 / mean, rate
hash_samples, hash_mean, hash_bound, one_hash_bound, hash_rates = hash_of(hash_ns, hash_rate)
def row_of(r):
    w = r["wrk"]
    rps = w["requests"] / (w["duration_us"] / 1e6)
    return {"scenario": r["scenario"], "req_per_s": round(rps, 1), "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
            "errors": w["errors"], "requests": w["requests"], "seconds": w["duration_us"] / 1e6,
            "peak_rss_mb": round(r["rss_kb"] / 1024, 1)}
def merged(rows):
    # One row per scenario, in the order each first ran, its slices merged.
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    return [slices_row([row_of(r) for r in rows if r["scenario"] == n]) for n in names]
def slices_row(runs):
    # A scenario measured in slices: its requests over its time, the mean of its slices' p50 and p99,
    # and each slice's req/s.
    row = dict(runs[0])
    row["seconds"] = sum(c["seconds"] for c in runs)
    row["requests"] = sum(c["requests"] for c in runs)
    row["req_per_s"] = round(row["requests"] / row["seconds"], 3)
    for k in ("p50_ms", "p99_ms"):
        row[k] = round(sum(c[k] for c in runs) / len(runs), 3)
    row["errors"] = sum(c["errors"] for c in runs)
    row["peak_rss_mb"] = max(c["peak_rss_mb"] for c in runs)
    row["runs"] = [c["req_per_s"] for c in runs]
    row["p99_runs"] = [c["p99_ms"] for c in runs]
    return row
yardsticks = ("ceiling", "GET /hello")
all_rows = merged(rows)
crow = next(r for r in all_rows if r["scenario"].startswith("ceiling"))
hello = next(r for r in all_rows if r["scenario"].startswith("GET /hello"))
ceiling = crow["req_per_s"]
table = [r for r in all_rows if not r["scenario"].startswith(yardsticks)]
# The ceiling heads the table; the hello stands just before /healthz, which it judges.
table.insert(next(i for i, t in enumerate(table) if t["scenario"] == "GET /healthz"), hello)
table.insert(0, crow)
for row in table:
    s = row["scenario"]
    if s.startswith("POST"):
        row["ratio"], row["ratio_to"] = round(row["req_per_s"] / hash_bound, 3), "hash"
        row["ratio_to_one_hash_bound"] = round(row["req_per_s"] / one_hash_bound, 3)
    elif s.startswith("GET /v1"):
        row["ratio"], row["ratio_to"] = round(row["req_per_s"] / ceiling, 3), "ceil"
        row["p99_over_ceiling_p99"] = round(row["p99_ms"] / crow["p99_ms"], 2)
    elif s.startswith("GET /healthz"):
        row["ratio"], row["ratio_to"] = round(row["req_per_s"] / hello["req_per_s"], 3), "hello"
    row["p99_over_p50"] = round(row["p99_ms"] / row["p50_ms"], 2) if row["p50_ms"] else None
pages = {r["scenario"]: r for r in table if r["scenario"].startswith("GET /v1/activity-logs")}
first_page = next(r for s, r in pages.items() if "first" in s)
deep_page = next(r for s, r in pages.items() if "deep" in s)
login_row = next(r for r in table if r["scenario"] == "POST /v1/auth/login")
server_rows = [r for r in table if not r["scenario"].startswith(("ceiling", "GET /hello"))]
report = {"machine": {"cores": int(cores), "cpu": platform.processor() or platform.machine()},
          "duration": duration, "connections": int(conns), "db_pool": int(pool),
          "activity_events": int(events), "activity_seed_s": float(seed_s),
          "activity_deep_over_first_p99": round(deep_page["p99_ms"] / first_page["p99_ms"], 3),
          "hash_ms": round(hash_mean / 1e6, 2), "hash_ms_runs": [round(h / 1e6, 2) for h in hash_samples],
          "hash_bound_req_per_s": round(hash_bound, 1), "hash_bound_runs": hash_rates,
          "one_hash_bound_req_per_s": round(one_hash_bound, 1),
          "idle_rss_mb": round(int(idle_rss_kb) / 1024, 1), "login_peak_rss_mb": login_row["peak_rss_mb"],
          "peak_rss_mb": max(r["peak_rss_mb"] for r in server_rows), "results": table}
if scale_rows:
    # The machine's speed drifts between the two runs, so each run's numbers are also taken against
    # the yardsticks measured in that run: the reads against its ceiling, login and register against
    # its hash bound.
    big_rows = merged(scale_rows)
    big_ceiling = next(r for r in big_rows if r["scenario"].startswith("ceiling"))["req_per_s"]
    _, _, big_hash_bound, _, _ = hash_of(hash_big_ns, hash_big_rate)
    flat = []
    for big in big_rows:
        if big["scenario"].startswith("ceiling"):
            continue
        small = next(t for t in table if t["scenario"] == big["scenario"])
        yard_small, yard_big = (ceiling, big_ceiling) if big["scenario"].startswith("GET") else (hash_bound, big_hash_bound)
        flat.append({"scenario": big["scenario"], "small_req_per_s": small["req_per_s"], "large_req_per_s": big["req_per_s"],
                     "large_over_small": round(big["req_per_s"] / small["req_per_s"], 3),
                     "large_over_small_vs_yardstick": round((big["req_per_s"] / yard_big) / (small["req_per_s"] / yard_small), 3),
                     "small_p99_ms": small["p99_ms"], "large_p99_ms": big["p99_ms"], "large_errors": big["errors"]})
    report["scale"] = {"accounts": int(scale_accounts), "api_keys": int(scale_accounts), "seed_s": float(scale_seed_s),
                       "ceiling_req_per_s": round(big_ceiling, 1), "hash_bound_req_per_s": round(big_hash_bound, 1), "results": flat}
json.dump(report, open(out_path, "w"), indent=2)
print(f"\nhash bound: {hash_bound:.1f} req/s (argon2id m=19456,t=2,p=1 on a pool with a worker per core, {cores} cores; runs {hash_rates}); "
      f"one hash alone {report['hash_ms']} ms (runs {report['hash_ms_runs']}), cores / one hash = {one_hash_bound:.1f} req/s")
print(f"ceiling: slices at {crow['runs']} req/s, taking turns with the reads; PostgreSQL pool {pool} connections for both services")
print(f"bare Echo hello: slices at {hello['runs']} req/s, taking turns with /healthz")
print(f"{'scenario':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>8} {'errors':>7} {'ratio':>12} {'p99/ceil':>9} {'peak RSS':>9}")
for r in table:
    ratio = f"{r['ratio']:.2f}x {r['ratio_to']}" if "ratio" in r else "-"
    p99c = f"{r['p99_over_ceiling_p99']:.2f}x" if "p99_over_ceiling_p99" in r else "-"
    print(f"{r['scenario']:<42} {r['req_per_s']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['p99_over_p50'] or 0:>8.2f} {r['errors']:>7} {ratio:>12} {p99c:>9} {r['peak_rss_mb']:>7.1f}MB")
print(f"\nserver memory: {report['idle_rss_mb']} MB idle after start; peak {report['login_peak_rss_mb']} MB through the login flood, {report['peak_rss_mb']} MB in any scenario")
print(f"activity log: {int(events):,} entries seeded in {seed_s}s; p99 of the page 10,000 deep / first page = "
      f"{deep_page['p99_ms']:.2f} / {first_page['p99_ms']:.2f} ms = {report['activity_deep_over_first_p99']:.2f}")
if scale_rows:
    sc = report["scale"]
    print(f"\nflat with size: 1,000 accounts, then {sc['accounts']:,} accounts and API keys (seeded in {sc['seed_s']}s)")
    print(f"yardsticks: ceiling {ceiling:.0f} req/s in the first run, {big_ceiling:.0f} in the second; "
          f"hash bound {hash_bound:.1f} and {sc['hash_bound_req_per_s']:.1f} req/s")
    print(f"{'scenario':<42} {'req/s 1k':>9} {'req/s big':>10} {'big/1k':>7} {'vs yardstick':>13} {'p99 1k':>8} {'p99 big':>8}")
    for f in sc["results"]:
        print(f"{f['scenario']:<42} {f['small_req_per_s']:>9.0f} {f['large_req_per_s']:>10.0f} {f['large_over_small']:>7.2f} {f['large_over_small_vs_yardstick']:>13.2f} {f['small_p99_ms']:>8.2f} {f['large_p99_ms']:>8.2f}")
print(f"\nJSON: {out_path}")
PY
