#!/usr/bin/env bash
# HTTP load benchmark (`make bench-http`).
#
# Builds release, seeds a data directory (ORGS orgs x PER_ORG dashboards x
# CELLS cells whose views are the community-template views), starts Tessera
# pinned to core SERVER_CPU and drives it with wrk pinned to core LOAD_CPU.
# In the same run, the trivial baseline (benches/http_tools.rs: one actix
# worker answering a dashboard's GET with Tessera's own answer for that ID,
# and every other request kind with a same-size JSON body, from memory)
# gets the same load, and Tessera's throughput is reported as a
# ratio of it. Prints a summary table, the load average before and after
# (NOISY when the 1-minute load was above 0.5 at the start: the figures are
# then not comparable with a quiet run) and, on its last lines, PASS/FAIL per
# target of issue 13. The raw wrk output stays in $WORK.
#
# Scenarios: get, get_props, list (a page of 20 at a random offset),
# list_first / list_deep (offset 0 / offset PER_ORG-20: a deep page must
# cost at most 1.5x the first), mixed, and org: the Influx UI's list of a
# whole org (`?orgID=…&limit=100` on a server started without
# --enforce-org-dashboard-limits, which answers every dashboard of the org,
# as InfluxDB does), against a baseline serving the same bytes.
#
# Knobs (environment): DURATION (s per run, default 10; 2-3 s is enough for
# a development run), ONLY (comma-separated scenario names, e.g.
# ONLY=list_first,list_deep,org), PERF=<scenario> records `perf record -g`
# of Tessera during that scenario into $WORK/perf-<scenario>.data (with
# KEEP=1 to keep it), TESSERA_BIN (a prebuilt tessera to measure instead of
# building this tree, e.g. the previous commit's), TOOLS_BIN (a prebuilt
# http_tools), ORGS (10),
# PER_ORG (1000), CELLS (10), OVERWRITES (100000 view updates after the seed,
# then the disk is measured again; 0 skips them), SERVER_CPU (0), LOAD_CPU (1), KEEP=1 keeps the
# work directory, TESSERA_ARGS (extra flags for Tessera, e.g.
# "--store-cache-bytes 33554432" to try cache budgets), STORE=postgres runs Tessera on a throw-away PostgreSQL
# cluster (tests/pg/start.sh) holding the same seed, copied there with
# `tessera migrate`; PostgreSQL is pinned to the server's core too.
# INSTANCES=2 (PostgreSQL only) starts a second Tessera on the same database,
# pinned to the same core, and wrk spreads its connections over both (two
# threads, one per instance); the baseline gets the same two threads.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
DURATION=${DURATION:-10}
ORGS=${ORGS:-10}
PER_ORG=${PER_ORG:-1000}
CELLS=${CELLS:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TOKEN="bench-operator-token-$$"
INSTANCES=${INSTANCES:-1}
if [ "$INSTANCES" -gt 1 ] && [ "${STORE:-sled}" != postgres ]; then
    echo "INSTANCES > 1 needs STORE=postgres (instances share one database)" >&2
    exit 1
fi

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk (Debian package)"
    if command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
    fi
fi
command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed and could not be installed" >&2; exit 1; }
command -v taskset >/dev/null 2>&1 || { echo "taskset (util-linux) is needed" >&2; exit 1; }

executable() { # name, cargo args… → path of that executable as cargo built it
    local name=$1
    shift
    "$CARGO" "$@" --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*"' | sed 's/"executable":"//; s/"$//' |
        grep "/$name[^/]*\$" | tail -1
}
echo "== building release"
if [ -n "${TESSERA_BIN:-}" ]; then
    TESSERA=$TESSERA_BIN
else
    "$CARGO" build --release --bin tessera
    TESSERA=$(executable tessera build --release --bin tessera)
fi
if [ -n "${TOOLS_BIN:-}" ]; then
    TOOLS=$TOOLS_BIN
else
    "$CARGO" bench --bench http_tools --no-run
    TOOLS=$(executable http_tools bench --bench http_tools --no-run)
fi
[ -x "$TESSERA" ] && [ -x "$TOOLS" ] || { echo "cannot find the built executables" >&2; exit 1; }

WORK=$(mktemp -d /tmp/tessera-bench-http.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
NOISY=$(awk -v l="${LOAD_BEFORE%% *}" 'BEGIN{print (l > 0.5) ? "NOISY" : "quiet"}')
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $LOAD_BEFORE ($NOISY)"
echo "== seeding $ORGS orgs x $PER_ORG dashboards x $CELLS cells"
"$TOOLS" seed "$WORK/data" "$ORGS" "$PER_ORG" "$CELLS" "$TOKEN" "$WORK/ids.txt"
STORE_BYTES=$(du -sb "$WORK/data" | cut -f1)
LOGICAL_BYTES=$(cat "$WORK/ids.logical")
# Disk after OVERWRITES view updates spread over a copy of the seed (sled):
# the load below runs on the seed itself, so its figures, RSS included,
# stay those of the 10k seed.
OVERWRITES=${OVERWRITES:-100000}
OVERWRITTEN_BYTES=
if [ "${STORE:-sled}" != postgres ] && [ "$OVERWRITES" -gt 0 ]; then
    cp -r "$WORK/data" "$WORK/overwritten"
    "$TOOLS" overwrite "$WORK/overwritten" "$TOKEN" "$WORK/ids.txt" "$OVERWRITES"
    OVERWRITTEN_BYTES=$(du -sb "$WORK/overwritten" | cut -f1)
    rm -rf "$WORK/overwritten"
fi

STORE_ARGS=(--data-dir "$WORK/data")
if [ "${STORE:-sled}" = postgres ]; then
    eval "$(tests/pg/start.sh)"
    PG_DIR=$TESSERA_PG_DIR
    trap 'cleanup; tests/pg/stop.sh "$PG_DIR"' EXIT
    for p in $(pgrep -u postgres -f "$PG_DIR" || true); do taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null; done
    "$TESSERA_PG_BIN/psql" -q "$TESSERA_TEST_STORE_URL" -c "CREATE DATABASE bench"
    PG_URL="${TESSERA_TEST_STORE_URL%/*}/bench"
    echo "== copying the seed to PostgreSQL ($PG_URL)"
    "$TESSERA" migrate --from "$WORK/data" --to "$PG_URL" | tail -3
    STORE_BYTES=$("$TESSERA_PG_BIN/psql" -At "$PG_URL" -c "SELECT pg_database_size('bench')")
    STORE_ARGS=(--data-dir "$WORK/unused" --store-url "$PG_URL")
fi

start() { # name cmd… → sets URL and PID; the first stdout line names the address
    local name=$1; shift
    taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 600); do
        if grep -q "listening on" "$WORK/$name.out" 2>/dev/null; then break; fi
        kill -0 "$PID" 2>/dev/null || { echo "$name exited:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
        sleep 0.1
    done
    URL=$(grep -o 'http://[0-9.:]*' "$WORK/$name.out" | head -1)
    [ -n "$URL" ] || { echo "$name did not start" >&2; exit 1; }
}

stop() { # pid: ends a server and waits until it let go of the store
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Access logs at info level cost a formatted stderr line per request; the
# run measures the request path itself. The whole-org list needs a server
# without --enforce-org-dashboard-limits (the default, as InfluxDB): it
# answers the UI's `?orgID=…&limit=100` with all of the org's dashboards.
start tessera-org "$TESSERA" --http-bind-address 127.0.0.1:0 "${STORE_ARGS[@]}" ${TESSERA_ARGS:-} --log-level warn
read -r ORG DASH CELLIDS < <(sed -n '500p' "$WORK/ids.txt")
mkdir -p "$WORK/bodies"
AUTH=(-H "Authorization: Token $TOKEN" -H "Content-Type: application/json")
curl -sf "${AUTH[@]}" "$URL/api/v2/dashboards?orgID=$ORG&limit=100" >"$WORK/bodies/org.json"
# Every dashboard's own answers too, so that the baseline's GETs serve the
# bytes Tessera serves for the same ID (read from this server, so that the
# one measured starts as cold as before): the answers with properties range
# from about 9 to 24 KB, and one probed answer made the get_props ratio
# depend on which one the seed happened to put at line 500.
mkdir -p "$WORK/bodies/dashboards"
awk -v u="$URL" -v d="$WORK/bodies/dashboards" '{
    printf "url = \"%s/api/v2/dashboards/%s\"\noutput = \"%s/%s.json\"\n", u, $2, d, $2
    printf "url = \"%s/api/v2/dashboards/%s?include=properties\"\noutput = \"%s/%s.props.json\"\n", u, $2, d, $2
}' "$WORK/ids.txt" >"$WORK/dashboards.curl"
curl -sf "${AUTH[@]}" -K "$WORK/dashboards.curl"
stop "$PID"

start tessera "$TESSERA" --http-bind-address 127.0.0.1:0 "${STORE_ARGS[@]}" ${TESSERA_ARGS:-} \
    --enforce-org-dashboard-limits --log-level warn
T_URL=$URL T_PID=$PID
ADDRS=${T_URL#http://}
for n in $(seq 2 "$INSTANCES"); do
    start "tessera$n" "$TESSERA" --http-bind-address 127.0.0.1:0 "${STORE_ARGS[@]}" ${TESSERA_ARGS:-} \
        --enforce-org-dashboard-limits --log-level warn
    ADDRS="$ADDRS,${URL#http://}"
done
[ "$INSTANCES" -gt 1 ] || ADDRS=""

# Same-size bodies for the baseline: Tessera's own answers, one per kind.
CELL=${CELLIDS%%,*}
curl -sf "${AUTH[@]}" "$T_URL/api/v2/dashboards?orgID=$ORG&limit=20&offset=500" >"$WORK/bodies/list.json"
curl -sf "${AUTH[@]}" "$T_URL/api/v2/dashboards/$DASH" >"$WORK/bodies/dashboard.json"
curl -sf "${AUTH[@]}" "$T_URL/api/v2/dashboards/$DASH?include=properties" >"$WORK/bodies/dashboard_props.json"
VIEW_FILE=tests/fixtures/views/xy.json
printf '{"name":"patched under load","properties":%s}' "$(cat "$VIEW_FILE")" >"$WORK/view_body.json"
curl -sf -X PATCH "${AUTH[@]}" --data-binary @"$WORK/view_body.json" \
    "$T_URL/api/v2/dashboards/$DASH/cells/$CELL/view" >"$WORK/bodies/view.json"
PUT_BODY=$(echo "$CELLIDS" | tr ',' '\n' | awk '{printf "%s{\"id\":\"%s\",\"x\":%d,\"y\":%d,\"w\":4,\"h\":4}", (NR>1?",":"["), $1, ((NR-1)%3)*4, int((NR-1)/3)*4} END {print "]"}')
curl -sf -X PUT "${AUTH[@]}" --data-binary "$PUT_BODY" \
    "$T_URL/api/v2/dashboards/$DASH/cells" >"$WORK/bodies/cells.json"

start baseline "$TOOLS" baseline 127.0.0.1:0 "$WORK/bodies"
B_URL=$URL B_PID=$PID

run() { # label mode conns url seconds [pid to profile] → RESULT line
    local perf_pid=""
    if [ -n "${6:-}" ]; then
        perf record -g -F 499 -o "$WORK/perf-$2.data" -p "$6" -- sleep "$5" >"$WORK/perf-$2.log" 2>&1 &
        perf_pid=$!
    fi
    local addrs=""
    [ "$4" = "$T_URL" ] && addrs=$ADDRS
    MODE=$2 IDS="$WORK/ids.txt" TOKEN=$TOKEN VIEW=$VIEW_FILE PER_ORG=$PER_ORG ADDRS=$addrs \
        taskset -c "$LOAD_CPU" wrk -t"$INSTANCES" -c"$3" -d"$5"s --timeout 5s -s benches/http_load.lua "$4" \
        >"$WORK/wrk-$1.txt" 2>&1 || true
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
    grep '^RESULT' "$WORK/wrk-$1.txt" || echo "RESULT rps=0 p50_us=0 p99_us=0 p999_us=0 max_us=0 requests=0 errors=-1 status_errors=0 bytes=0"
}
field() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }

echo "== warming up both servers"
run warm-t get_props 16 "$T_URL" 3 >/dev/null
run warm-b get_props 16 "$B_URL" 3 >/dev/null

SCENARIOS=("get 16" "get 64" "get_props 16" "get_props 64" "list 16" "list_first 16" "list_deep 16" "mixed 16" "mixed 64")
wanted() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
ROWS=()
scenario() { # mode conns tessera-url tessera-pid
    echo "== $1 with $2 connections, ${DURATION}s each"
    local profiled=""
    [ "${PERF:-}" = "$1" ] && profiled=$4
    t=$(run "$1-$2-tessera" "$1" "$2" "$3" "$DURATION" "$profiled")
    b=$(run "$1-$2-baseline" "$1" "$2" "$B_URL" "$DURATION")
    ROWS+=("$1|$2|$t|$b")
}
for s in "${SCENARIOS[@]}"; do
    set -- $s
    if wanted "$1"; then scenario "$1" "$2" "$T_URL" "$T_PID"; fi
done

hwm() { grep VmHWM "/proc/$1/status" 2>/dev/null | awk '{printf "%.1f", $2/1024}'; }
T_HWM=$(hwm "$T_PID")
B_HWM=$(hwm "$B_PID")

if wanted org; then
    stop "$T_PID"
    start tessera-org "$TESSERA" --http-bind-address 127.0.0.1:0 "${STORE_ARGS[@]}" ${TESSERA_ARGS:-} --log-level warn
    run warm-org org 16 "$URL" 2 >/dev/null
    scenario org 16 "$URL" "$PID"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
sizes() { wc -c <"$WORK/bodies/$1"; }
# Mean size of every dashboard's answers: bare, or with properties (props).
mean_size() {
    local sel=(! -name '*.props.json')
    [ "$1" = props ] && sel=(-name '*.props.json')
    find "$WORK/bodies/dashboards" -name '*.json' "${sel[@]}" -printf '%s\n' |
        awk '{ s += $1; n++ } END { printf "%.0f", (n ? s / n : 0) }'
}

echo
echo "Tessera (${STORE:-sled}, $INSTANCES instance(s)) vs trivial baseline — $(date -u '+%Y-%m-%d %H:%M UTC'), server on core $SERVER_CPU, wrk -t1 on core $LOAD_CPU, ${DURATION}s per run"
echo "data: $ORGS orgs x $PER_ORG dashboards x $CELLS cells, store $(awk -v b="$STORE_BYTES" 'BEGIN{printf "%.0f MB", b/1e6}') on disk; answer sizes: dashboard $(mean_size bare) B, with properties $(mean_size props) B (means over every dashboard, served by both), list page $(sizes list.json) B, whole org $(sizes org.json) B"
mb() { awk -v b="$1" 'BEGIN{printf "%.0f MB", b/1e6}'; }
echo "disk: logical JSON (dashboards and views as GET shows them) $(mb "$LOGICAL_BYTES"), store after the seed $(mb "$STORE_BYTES")${OVERWRITTEN_BYTES:+, after $OVERWRITES view overwrites $(mb "$OVERWRITTEN_BYTES")}"
echo "load average: $LOAD_BEFORE at start ($NOISY), $LOAD_AFTER at the end"
printf '%-10s %5s | %10s %8s %8s %9s %6s | %10s %8s %8s %9s %6s | %7s %9s\n' \
    scenario conns "T req/s" "T p50" "T p99" "T p99.9" "T err" "B req/s" "B p50" "B p99" "B p99.9" "B err" "ratio" "p99 ratio"
for row in "${ROWS[@]}"; do
    IFS='|' read -r mode conns t b <<<"$row"
    ms() { awk -v u="$1" 'BEGIN{printf "%.2fms", u/1000}'; }
    tr_=$(field "$t" rps); br=$(field "$b" rps)
    tp99=$(field "$t" p99_us); bp99=$(field "$b" p99_us)
    printf '%-10s %5s | %10.0f %8s %8s %9s %6s | %10.0f %8s %8s %9s %6s | %6.0f%% %8.2fx\n' \
        "$mode" "$conns" \
        "$tr_" "$(ms "$(field "$t" p50_us)")" "$(ms "$tp99")" "$(ms "$(field "$t" p999_us)")" "$(field "$t" errors)" \
        "$br" "$(ms "$(field "$b" p50_us)")" "$(ms "$bp99")" "$(ms "$(field "$b" p999_us)")" "$(field "$b" errors)" \
        "$(awk -v a="$tr_" -v b="$br" 'BEGIN{print (b>0? 100*a/b : 0)}')" \
        "$(awk -v a="$tp99" -v b="$bp99" 'BEGIN{print (b>0? a/b : 0)}')"
done
echo "peak RSS (VmHWM): tessera ${T_HWM:-?} MB, baseline ${B_HWM:-?} MB"
echo "(T = Tessera, B = baseline; ratio = Tessera req/s as a share of the baseline's; errors = socket errors + non-2xx answers)"

# Targets (issue 13), one line each: PASS/FAIL, the figure, the target.
row_of() { # mode conns → "t|b" of that scenario, empty when it did not run
    for r in "${ROWS[@]}"; do
        IFS='|' read -r m c t b <<<"$r"
        if [ "$m" = "$1" ] && [ "$c" = "$2" ]; then echo "$t|$b"; return; fi
    done
}
verdict() { # description value op limit unit
    local ok
    ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN{print ((op == ">=" && v >= l) || (op == "<=" && v <= l)) ? "PASS" : "FAIL"}')
    printf '%s  %-44s %8.2f%s (target %s %s%s)\n' "$ok" "$1" "$2" "$5" "$3" "$4" "$5"
}
share() { # mode conns target%
    local r t b
    r=$(row_of "$1" "$2"); [ -n "$r" ] || return 0
    IFS='|' read -r t b <<<"$r"
    verdict "$1 $2 conns: req/s share of baseline" \
        "$(awk -v a="$(field "$t" rps)" -v b="$(field "$b" rps)" 'BEGIN{print (b>0? 100*a/b : 0)}')" ">=" "$3" " %"
}
p99() { # mode conns target×
    local r t b
    r=$(row_of "$1" "$2"); [ -n "$r" ] || return 0
    IFS='|' read -r t b <<<"$r"
    verdict "$1 $2 conns: p99 / baseline p99" \
        "$(awk -v a="$(field "$t" p99_us)" -v b="$(field "$b" p99_us)" 'BEGIN{print (b>0? a/b : 0)}')" "<=" "$3" "x"
}
echo
echo "targets ($NOISY run: load average $LOAD_BEFORE at start, $LOAD_AFTER at the end)"
share get 16 80; share get 64 80; p99 get 16 1.5; p99 get 64 1.5
share get_props 16 60; share get_props 64 60
share list 16 50; share list_first 16 50; share list_deep 16 50
FIRST=$(row_of list_first 16); DEEP=$(row_of list_deep 16)
if [ -n "$FIRST" ] && [ -n "$DEEP" ]; then
    verdict "page at offset $((PER_ORG - 20)): cost / page 1 (Tessera)" \
        "$(awk -v a="$(field "${FIRST%%|*}" rps)" -v b="$(field "${DEEP%%|*}" rps)" 'BEGIN{print (b>0? a/b : 99)}')" "<=" 1.5 "x"
fi
share org 16 50
share mixed 16 50; share mixed 64 50; p99 mixed 16 3; p99 mixed 64 3
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{print (b>0? a/b : 99)}'; }
verdict "disk after the seed / logical JSON" "$(ratio "$STORE_BYTES" "$LOGICAL_BYTES")" "<=" 3 "x"
[ -n "$OVERWRITTEN_BYTES" ] && verdict "disk after $OVERWRITES view overwrites / logical" \
    "$(ratio "$OVERWRITTEN_BYTES" "$LOGICAL_BYTES")" "<=" 3 "x"
[ -n "${T_HWM:-}" ] && verdict "peak RSS of Tessera (sled page cache + caches)" "$T_HWM" "<=" 150 " MB"
true
