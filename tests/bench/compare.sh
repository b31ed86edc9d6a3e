#!/usr/bin/env bash
# tests/bench/compare.sh -- every figure of the performance targets, measured in one run, with
# the same load generators on both sides of each ratio; prints one table (figure, reference,
# ratio, target, met / falls short) and then the raw figures. A benchmark, not a test: exit 0
# whatever the figures; 1 when a measurement could not be taken, 2 for bad usage or a missing
# tool. docs/benchmarks.md says what each line measures and why its reference is fair.
#
# Usage: tests/bench/compare.sh [--quick | --smoke] [--keep] [--no-build]
#   (default)   load runs of 8 s, latency over 9 s, 2,000 runs, a 1,000,000-run backlog
#               (about 3 minutes here; filling the backlog takes about a minute)
#   --quick     2 s runs, latency over 3 s, 500 runs, a 100,000-run backlog (under a minute)
#   --smoke     1 s runs, tiny counts: only checks that every line gets a figure
#   --keep      keep the work directory (servers' output, every tool's report)
#   --no-build  do not run cmake --build first
# Environment: BUILD_DIR (default build/ in the repository), COMPARE_DURATION (seconds per load
# run), COMPARE_BACKLOG (runs in the memory line's backlog).
# The data directories live in build-compare.XXXXXX at the top of the repository (same disk as
# the repository, not /tmp, which may be tmpfs); its filesystem is printed. Traffic goes to
# 127.0.0.1 only. Needs: h2load (nghttp2-client), wrk, node with tests/js/node_modules (npm ci),
# protoc, curl, python3.
set -u
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$top/build}
# shellcheck disable=SC2034 # lib.sh's bench_event_body reads it
proto_dir=$top/proto
python=${KE_PYTHON:-python3}
mode=default
keep=no
do_build=yes

usage() { sed -n '/^# Usage:/,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "compare.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --keep) keep=yes ;;
    --no-build) do_build=no ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

# Per mode: D load-run seconds, W kedro-events bench warm-up, LAT_D latency-run seconds,
# RUNS runner events, BACKLOG READY runs, PROBE fdatasync samples, PAGES list pages of 1000.
case $mode in
default) D=8 W=1 LAT_D=9 RUNS=2000 BACKLOG=1000000 PROBE=2000 PAGES=20 WARM=yes ;;
quick) D=2 W=0.5 LAT_D=3 RUNS=500 BACKLOG=100000 PROBE=1000 PAGES=5 WARM=yes ;;
smoke) D=1 W=0.2 LAT_D=1 RUNS=100 BACKLOG=2000 PROBE=100 PAGES=2 WARM=no ;;
esac
D=${COMPARE_DURATION:-$D}
BACKLOG=${COMPARE_BACKLOG:-$BACKLOG}
case $D in '' | *[!0-9]* | 0*) die "COMPARE_DURATION must be whole seconds >= 1, got '$D'" ;; esac
case $BACKLOG in '' | *[!0-9]* | 0*) die "COMPARE_BACKLOG must be a count, got '$BACKLOG'" ;; esac

for tool in h2load wrk node protoc curl awk "$python"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: tests/deps.sh installs it)"
done
[ -d "$top/tests/js/node_modules/cloudevents" ] ||
    die "tests/js/node_modules is absent: run 'npm ci' in tests/js (tests/deps.sh does)"
targets="kedro-eventd kedro-eventd-supervisor kedro-events kedro-event-shim noop_server
    fsync_probe bench_store"
if [ "$do_build" = yes ]; then
    # shellcheck disable=SC2086
    cmake --build "$build" -j2 --target $targets >/dev/null || die "cmake --build $build failed"
fi
for t in $targets; do
    [ -x "$build/$t" ] || die "no $build/$t (build it, or drop --no-build)"
done
eventd=$build/kedro-eventd
cli=$build/kedro-events

work=$(mktemp -d "$top/build-compare.XXXXXX")
pids=()
# shellcheck disable=SC2317 # called through trap
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "$keep" = yes ]; then
        echo "work directory kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0 # measurements that could not be taken
: >"$work/raw.txt"
raw() { echo "$*" >>"$work/raw.txt"; }
note() { echo "compare.sh: $*" >&2; }
not_taken() {
    note "$*"
    raw "NOT MEASURED: $*"
    failed=$((failed + 1))
}

# ---- processes ------------------------------------------------------------------------------

# launch NAME CMD...: starts CMD in $work (output in $work/NAME.out, NAME.err) and waits for
# its "listening on ... port N"; sets pid and port. Exits 1 when it reports no port.
launch() {
    local name=$1 i
    shift
    (cd "$work" && exec "$@") >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids+=("$pid")
    port=
    for i in $(seq 1 300); do
        port=$(sed -n 's/.*listening on .* port \([0-9][0-9]*\).*/\1/p' "$work/$name.out")
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    note "$name did not report its port; its output:"
    cat "$work/$name.out" "$work/$name.err" >&2
    exit 1
}

# stop PID: SIGTERM, then SIGKILL after 15 s; it is no longer ours to kill on exit.
stop() {
    local i p rest=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
    pids=("${rest[@]}")
    kill -TERM "$1" 2>/dev/null
    for i in $(seq 1 150); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

config='{"event00": {"source": "example.com", "type": "com.example.event"}}'
data='{"message": "hello from h2load", "n": 1}'

# start_eventd NAME DATA_DIR [FLAGS...]: kedro-eventd (default --threads: one per CPU).
start_eventd() {
    local name=$1 dir=$2
    shift 2
    launch "$name" "$eventd" --listen 127.0.0.1:0 --data-dir "$dir" --dotenv "$work/none.env" \
        --events-config "$config" "$@"
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# cpu_begin PID...: notes the CPU time of the watched processes and of this shell's children
# (the load generators); cpu_mark notes them again right after the run; cpu_report CALLS adds
# each one's CPU per call to the raw figures.
cpu_begin() {
    local p
    watch=("$@")
    watch_t0=()
    for p in "$@"; do watch_t0+=("$(ticks "$p")"); done
    times >"$work/times0"
}
cpu_mark() {
    local p
    times >"$work/times1"
    watch_t1=()
    for p in "${watch[@]}"; do watch_t1+=("$(ticks "$p")"); done
}
children_s() { awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/)
                                 t += a[1] * 60 + a[2] } print t }' "$1"; }
cpu_report() {
    local calls=$1 i line=""
    for i in "${!watch[@]}"; do
        line="$line$(awk -v t=$((watch_t1[i] - watch_t0[i])) -v h="$hz" -v n="$calls" \
            -v w="$(tr -d '\0' <"/proc/${watch[$i]}/comm" 2>/dev/null)" \
            'BEGIN { printf "%s %.1f us, ", w, (n > 0 ? t / h * 1e6 / n : 0) }')"
    done
    line="$line$(awk -v a="$(children_s "$work/times0")" -v b="$(children_s "$work/times1")" \
        -v n="$calls" 'BEGIN { printf "load generator %.1f us", (n > 0 ? (b - a) * 1e6 / n : 0) }')"
    raw "    CPU per call ($calls calls): $line"
}

# jnum FILE KEY.PATH: a number from a JSON report ("" when absent or null).
jnum() {
    "$python" - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None or isinstance(v, bool) else v)
PY
}

# ---- load runs (each sets fig[KEY], events or requests per second) ------------------------

declare -A fig
on=() # the server processes of the current line, whose CPU per call is reported

# bench_cli KEY LABEL FLAGS...: kedro-events bench at $target, 64 in flight over 4 connections
# unless FLAGS say otherwise, for D seconds after a W-second warm-up.
bench_cli() {
    local key=$1 label=$2 out=$work/$1.json rc calls
    shift 2
    cpu_begin "${on[@]}"
    "$cli" bench --target "$target" --source example.com --type com.example.event \
        --data "$data" --duration "$D" --warmup "$W" --json-out "$@" >"$out" 2>"$work/$key.err"
    rc=$?
    cpu_mark
    if [ "$rc" != 0 ] || [ -z "$(jnum "$out" dispatches_per_s)" ]; then
        not_taken "$label: kedro-events bench exited $rc: $(head -c 400 "$out" "$work/$key.err")"
        return 1
    fi
    fig[$key]=$(jnum "$out" dispatches_per_s)
    calls=$(("$(jnum "$out" calls)" + "$(jnum "$out" warmup_calls)" + "$(jnum "$out" drained_calls)"))
    raw "$label: $(printf '%.0f' "${fig[$key]}") events/s ($(jnum "$out" calls_per_s) calls/s)," \
        "latency p50 $(jnum "$out" latency_ms.p50) ms p99 $(jnum "$out" latency_ms.p99) ms"
    cpu_report $((calls * $(jnum "$out" batch)))
}

# h2load_run KEY LABEL: h2load, 4 connections x 16 streams, the one pre-encoded event, D s.
h2load_run() {
    local key=$1 label=$2 out=$work/$1.h2load rc ndone ok bad bytes
    cpu_begin "${on[@]}"
    h2load -D "$D" -c 4 -m 16 -t 1 -p h2c -H 'content-type: application/grpc' \
        -H 'te: trailers' -d "$work/body.bin" \
        "http://127.0.0.1:$port/kedro.events.v1.EventService/Dispatch" >"$out" 2>&1
    rc=$?
    cpu_mark
    ndone=$(sed -n 's/^requests: .* \([0-9]*\) done,.*/\1/p' "$out")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded,.*/\1/p' "$out")
    bad=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1 \2/p' "$out")
    bytes=$(sed -n 's/^traffic: .*(\([0-9]*\)) data$/\1/p' "$out")
    # a gRPC error is trailers-only (no DATA): every success carried at least a 5-byte frame
    if [ "$rc" != 0 ] || [ -z "$ok" ] || [ "$bad" != "0 0" ] || [ "$ok" != "$ndone" ] ||
        [ "${bytes:-0}" -lt $((ok * 5)) ]; then
        not_taken "$label: h2load exited $rc: $(grep -E '^(requests|traffic|status codes)' "$out")"
        return 1
    fi
    fig[$key]=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
    raw "$label: $(printf '%.0f' "${fig[$key]}") requests/s," \
        "time for request: $(sed -n 's/^time for request: *//p' "$out" | awk '{ print "mean " $3 }')"
    cpu_report "$ndone"
}

# wrk_run KEY LABEL URL: one checked POST /event/, then wrk -c 64 -t 2 with distinct ids.
wrk_run() {
    local key=$1 label=$2 url=$3 out=$work/$1.wrk status n
    status=$(curl -s -o "$work/$key.first" -w '%{http_code}' -X POST "$url/event/" \
        -H 'ce-specversion: 1.0' -H "ce-id: compare-$key" -H 'ce-source: example.com' \
        -H 'ce-type: com.example.event' -H 'Content-Type: application/json' -d "$data")
    if [ "$status" != 200 ]; then
        not_taken "$label: one POST /event/ answered $status: $(head -c 300 "$work/$key.first")"
        return 1
    fi
    if [ "$WARM" = yes ]; then # connections, JIT and caches, unmeasured
        WRK_EVENT_MODE=unique wrk -c 64 -t 2 -d 1s -s "$here/wrk_event.lua" "$url" >/dev/null 2>&1
    fi
    cpu_begin "${on[@]}"
    WRK_EVENT_MODE=unique wrk -c 64 -t 2 -d "${D}s" --latency -s "$here/wrk_event.lua" "$url" \
        >"$out" 2>&1
    cpu_mark
    n=$(awk '/requests in/ { print $1 }' "$out")
    if [ -z "$n" ] || grep -q 'Non-2xx' "$out"; then
        not_taken "$label: wrk: $(grep -E 'requests in|Non-2xx|errors' "$out" | tr '\n' ' ')"
        return 1
    fi
    fig[$key]=$(awk '/^Requests\/sec/ { print $2 }' "$out")
    raw "$label: $(printf '%.0f' "${fig[$key]}") requests/s, latency" \
        "$(awk '/Latency Distribution/ { on = 1; next } on && /%/ { printf "p%s %s ", $1, $2 }
                on && !/%/ { on = 0 }' "$out" | sed 's/%//g')$(grep -h 'Socket errors' "$out")"
    cpu_report "$n"
}

# warm_up: an unmeasured kedro-events bench of 2,000 calls, so h2load meets a warm server.
warm_up() {
    [ "$WARM" = yes ] || return 0
    "$cli" bench --target "$target" --connections 4 --requests 2000 >/dev/null 2>&1
}

# ---- a-d: Dispatch against the no-op server, the batch, the shim and the Node receiver ------
# ABC|CBA: the no-op server's runs, then kedro-eventd's in the reverse order, so each pair of a
# ratio is taken back to back or symmetric around the switch (a drift in the machine's load
# weighs on both sides alike).

note "filesystem of the data: $(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }'); mode $mode"
bench_event_body "$work/body.bin" example.com com.example.event "$data"

note "a, b: the no-op server"
launch noop "$build/noop_server"
on=("$pid")
target=127.0.0.1:$port
warm_up
h2load_run b2_ref "noop_server, h2load (one body)"
bench_cli b1_ref "noop_server, kedro-events bench --same-id" --connections 4 --concurrency 64 \
    --same-id
bench_cli a_ref "noop_server, kedro-events bench (distinct ids)" --connections 4 \
    --concurrency 64
# Not a line of the table: the gRPC round trip alone at line e's rate, which kedro-eventd pays
# on top of its commit (the table compares kedro-eventd with fdatasync alone).
if "$cli" bench --help 2>&1 | grep -q -- '--rate' &&
    "$cli" bench --target "$target" --rate 1000 --duration "$LAT_D" --warmup "$W" \
        --json-out >"$work/noop_latency.json" 2>/dev/null; then
    raw "noop_server, kedro-events bench --rate 1000 (the gRPC round trip alone): latency p50" \
        "$(jnum "$work/noop_latency.json" latency_ms.p50) ms p99" \
        "$(jnum "$work/noop_latency.json" latency_ms.p99) ms"
fi
stop "$pid"

note "a, b, c, d: kedro-eventd --runner none"
mkdir -p "$work/d1"
start_eventd eventd1 "$work/d1/data" --runner none
eventd_pid=$pid
eventd_port=$port
on=("$pid")
target=127.0.0.1:$port
bench_cli a "kedro-eventd, kedro-events bench (distinct ids: durable)" --connections 4 \
    --concurrency 64
bench_cli b1 "kedro-eventd, kedro-events bench --same-id (duplicates)" --connections 4 \
    --concurrency 64 --same-id
h2load_run b2 "kedro-eventd, h2load (one body: duplicates)"
bench_cli c "kedro-eventd, kedro-events bench --batch 100 --concurrency 8" --batch 100 \
    --concurrency 8
launch shim "$build/kedro-event-shim" --listen 127.0.0.1:0 --target "127.0.0.1:$eventd_port"
shim_pid=$pid
on=("$shim_pid" "$eventd_pid")
wrk_run d1 "kedro-event-shim + kedro-eventd, wrk (distinct ids)" "http://127.0.0.1:$port"
stop "$shim_pid"
stop "$eventd_pid"

note "d: the Node CloudEvents SDK receiver"
launch node node "$top/tests/js/receiver.js"
on=("$pid")
wrk_run d2_ref "tests/js/receiver.js (Node, cloudevents SDK), wrk" "http://127.0.0.1:$port"
stop "$pid"

# ---- e, g1: a fresh kedro-eventd idle, fdatasync on its disk, latency at 1,000 events/s -----
note "e: latency at 1,000 events/s; g: idle memory"
mkdir -p "$work/e"
start_eventd eventd_e "$work/e/data" --runner none
on=("$pid")
target=127.0.0.1:$port
sleep 1
fig[g1]=$(kib "$pid" VmRSS)
raw "kedro-eventd idle (fresh, empty store): VmRSS $(kib "$pid" VmRSS) kB, VmHWM $(kib "$pid" VmHWM) kB"
if "$build/fsync_probe" --json "$work/e/data" "$PROBE" >"$work/fsync.json" 2>"$work/fsync.err"; then
    fig[e_fsync_p50]=$(printf "%.3f" "$(jnum "$work/fsync.json" p50_ms)")
    fig[e_fsync_p99]=$(printf "%.3f" "$(jnum "$work/fsync.json" p99_ms)")
    raw "fsync_probe, $PROBE x (8 KiB append + fdatasync) in the data dir: p50" \
        "${fig[e_fsync_p50]} ms, p99 ${fig[e_fsync_p99]} ms, max $(jnum "$work/fsync.json" max_ms)" \
        "ms, mean $(jnum "$work/fsync.json" mean_ms) ms"
else
    not_taken "fsync_probe: $(cat "$work/fsync.err")"
fi
if "$cli" bench --help 2>&1 | grep -q -- '--rate'; then
    out=$work/latency.json
    cpu_begin "${on[@]}"
    if "$cli" bench --target "$target" --rate 1000 --duration "$LAT_D" --warmup "$W" \
        --data "$data" --json-out >"$out" 2>"$work/latency.err" && cpu_mark &&
        [ -n "$(jnum "$out" latency_ms.p50)" ]; then
        fig[e_p50]=$(jnum "$out" latency_ms.p50)
        fig[e_p99]=$(jnum "$out" latency_ms.p99)
        raw "kedro-eventd, kedro-events bench --rate 1000 (distinct ids, open loop):" \
            "$(jnum "$out" rate.sent_per_s) calls/s sent, latency p50 ${fig[e_p50]} ms p99" \
            "${fig[e_p99]} ms max $(jnum "$out" latency_ms.max) ms"
        cpu_report $(("$(jnum "$out" calls)" + "$(jnum "$out" warmup_calls)"))
    else
        not_taken "kedro-events bench --rate 1000: $(head -c 400 "$out" "$work/latency.err")"
    fi
else
    fig[e_p50]="needs --rate"
    fig[e_p99]="needs --rate"
    raw "latency: this kedro-events bench has no --rate (the open-loop mode): not measured"
fi
stop "$pid"

# ---- f: runs per second of the local runner ---------------------------------------------------
note "f: runs per second ($RUNS runs of /bin/true, --max-runs 4)"
mkdir -p "$work/f/project"
start_eventd eventd_f "$work/f/data" --runner local --kedro-bin /bin/true \
    --kedro-project "$work/f/project" --max-runs 4
target=127.0.0.1:$port
f_pid=$pid
f_t0=$(awk '{ print $14 + $15, $16 + $17 }' "/proc/$f_pid/stat")
if ! "$cli" bench --target "$target" --batch 100 --requests $(((RUNS + 99) / 100)) \
    --concurrency 1 --warmup 0 --data "$data" >"$work/f.out" 2>&1; then
    not_taken "f: dispatching $RUNS events failed: $(head -c 400 "$work/f.out")"
else
    left=1
    end=$((SECONDS + RUNS / 20 + 60))
    while [ "$left" != 0 ] && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.3
        left=$(("$("$cli" list --target "$target" --state READY --limit 1 | wc -l)" +
            "$("$cli" list --target "$target" --state STARTED --limit 1 | wc -l)"))
    done
    f_t1=$(awk '{ print $14 + $15, $16 + $17 }' "/proc/$f_pid/stat")
    n=$(((RUNS + 99) / 100 * 100))
    "$cli" list --target "$target" --state SUCCESS --limit "$n" --json-out >"$work/f.json"
    read -r ok secs <<<"$("$python" - "$work/f.json" <<'PY'
import datetime, json, sys
ps = json.load(open(sys.argv[1]))["pipelines"]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
if ps:
    print(len(ps), max(t(p["status"][-1]["finished_at"]) for p in ps)
          - min(t(p["created_at"]) for p in ps))
PY
)"
    if [ "$left" != 0 ] || [ "${ok:-0}" != "$n" ]; then
        not_taken "f: ${ok:-0} of $n runs ended in SUCCESS ($left still READY or STARTED)"
    else
        fig[f]=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
        raw "kedro-eventd --runner local --kedro-bin /bin/true --max-runs 4: $n runs (all" \
            "SUCCESS) in $(printf '%.2f' "$secs") s from the first accept to the last end"
        read -r a0 c0 <<<"$f_t0"
        read -r a1 c1 <<<"$f_t1"
        raw "    CPU per run: kedro-eventd $(awk -v t=$((a1 - a0)) -v h="$hz" -v n="$n" \
            'BEGIN { printf "%.0f", t / h * 1e6 / n }') us, its children (supervisor, /bin/true)" \
            "$(awk -v t=$((c1 - c0)) -v h="$hz" -v n="$n" 'BEGIN { printf "%.0f", t / h * 1e6 / n }') us"
    fi
fi
stop "$f_pid"

# ---- g2: memory with a backlog of READY runs ----------------------------------------------------
note "g: memory with a backlog of $BACKLOG READY runs (filling it)"
mkdir -p "$work/g/data"
t0=$SECONDS
if ! "$build/bench_store" fill "$work/g/data" "$BACKLOG" >"$work/fill.out" 2>&1; then
    not_taken "g: bench_store fill: $(tail -n 3 "$work/fill.out")"
else
    raw "bench_store fill: $BACKLOG READY runs in $((SECONDS - t0)) s;" \
        "$(sed -n 's/^database .*: //p' "$work/fill.out") database"
    start_eventd eventd_g "$work/g/data" --runner none
    g_pid=$pid
    target=127.0.0.1:$port
    sleep 1
    raw "kedro-eventd with the backlog, idle: VmRSS $(kib "$g_pid" VmRSS) kB"
    if "$cli" bench --target "$target" --connections 4 --concurrency 64 --requests 2000 \
        --data "$data" >"$work/g.out" 2>&1; then
        listed=$("$cli" list --target "$target" --state READY --limit $((PAGES * 1000)) | wc -l)
        fig[g2]=$(kib "$g_pid" VmHWM)
        raw "  after 2,000 Dispatch (64 in flight) and $PAGES ListPipelines pages of 1,000" \
            "($listed READY listed): VmRSS $(kib "$g_pid" VmRSS) kB, VmHWM ${fig[g2]} kB"
    else
        not_taken "g: 2,000 Dispatch on the backlog failed: $(tail -n 3 "$work/g.out")"
    fi
    stop "$g_pid"
fi

# ---- the table ------------------------------------------------------------------------------

rows=()
# row LINE FIGURE REFERENCE RATIO TARGET VERDICT
row() { rows+=("$1|$2|$3|$4|$5|$6"); }
isnum() { case $1 in '' | *[!0-9.]*) return 1 ;; *) return 0 ;; esac; }
# cmp_ok A OP B: whether A OP B (OP: ge or le), numerically.
cmp_ok() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { exit !(op == "ge" ? a >= b : a <= b) }'; }
verdict() { if cmp_ok "$@"; then echo met; else echo "falls short"; fi; }
per_s() { printf '%.0f/s' "$1"; }

# ratio_row LINE KEY REF_KEY REF_NAME MIN: FIGURE / REFERENCE >= MIN.
ratio_row() {
    local f=${fig[$2]:-} r=${fig[$3]:-} q
    if isnum "$f" && isnum "$r"; then
        q=$(awk -v a="$f" -v b="$r" 'BEGIN { printf "%.2f", a / b }')
        row "$1" "$(per_s "$f")" "$(per_s "$r") $4" "$q" ">= $5" "$(verdict "$q" ge "$5")"
    else
        row "$1" "${f:-none}" "${r:-none} $4" - ">= $5" "not measured"
    fi
}
ratio_row "a. Dispatch, distinct ids (durable)" a a_ref no-op 0.7
ratio_row "b. Dispatch, same id, kedro-events bench" b1 b1_ref no-op 0.8
ratio_row "b. Dispatch, same id, h2load" b2 b2_ref no-op 0.8
ratio_row "c. DispatchBatch x100, events/s" c a "Dispatch (a)" 3
ratio_row "d. POST /event/ via the shim (wrk)" d1 a "Dispatch (a)" 0.85
ratio_row "d. the shim against the Node SDK (wrk)" d1 d2_ref "Node SDK" 2
p50=${fig[e_p50]:-} p99=${fig[e_p99]:-} f50=${fig[e_fsync_p50]:-} f99=${fig[e_fsync_p99]:-}
if isnum "$p50" && isnum "$f50"; then
    q=$(awk -v a="$p50" -v b="$f50" 'BEGIN { printf "%+.3f ms", a - b }')
    row "e. latency p50 at 1,000/s, open loop" "$p50 ms" "$f50 ms fdatasync p50" "$q" \
        "<= +0.3 ms" "$(verdict "${q% ms}" le 0.3)"
else
    row "e. latency p50 at 1,000/s, open loop" "${p50:-none}" "${f50:-none} ms fdatasync p50" - \
        "<= +0.3 ms" "$([ "$p50" = "needs --rate" ] && echo "needs --rate" || echo "not measured")"
fi
if isnum "$p99" && isnum "$f99"; then
    q=$(awk -v a="$p99" -v b="$f99" 'BEGIN { printf "%.2f", a / b }')
    row "e. latency p99 at 1,000/s, open loop" "$p99 ms" "$f99 ms fdatasync p99" "$q" "<= 1.5" \
        "$(verdict "$q" le 1.5)"
else
    row "e. latency p99 at 1,000/s, open loop" "${p99:-none}" "${f99:-none} ms fdatasync p99" - \
        "<= 1.5" "$([ "$p99" = "needs --rate" ] && echo "needs --rate" || echo "not measured")"
fi
if isnum "${fig[f]:-}"; then
    row "f. runs/s, /bin/true, --max-runs 4" "${fig[f]}/s" - - ">= 300/s" \
        "$(verdict "${fig[f]}" ge 300)"
else
    row "f. runs/s, /bin/true, --max-runs 4" none - - ">= 300/s" "not measured"
fi
mib_row() { # LINE KEY MAX_MIB
    local v=${fig[$2]:-}
    if isnum "$v"; then
        v=$(awk -v k="$v" 'BEGIN { printf "%.1f", k / 1024 }')
        row "$1" "$v MiB" - - "<= $3 MiB" "$(verdict "$v" le "$3")"
    else
        row "$1" none - - "<= $3 MiB" "not measured"
    fi
}
mib_row "g. RSS idle (VmRSS, empty store)" g1 32
mib_row "g. RSS peak, $BACKLOG-run backlog (VmHWM)" g2 64

echo "compare.sh ($mode): $(nproc) CPUs shared by the servers and the load generators;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg); data on" \
    "$(df -T "$work" | awk 'NR == 2 { print $2 " (" $1 ")" }'); load runs of ${D} s"
printf '%s\n' "line|figure|reference|ratio|target|result" "${rows[@]}" | awk -F'|' '
    { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
    END { for (r = 1; r <= NR; r++) {
            s = ""
            for (i = 1; i <= 6; i++) s = s sprintf(i < 6 ? "%-" w[i] "s | " : "%s", c[r, i])
            print s
            if (r == 1) { s = ""; for (i = 1; i <= 6; i++) s = s sprintf("%s", substr("------------------------------------------------------------", 1, w[i])) (i < 6 ? "-+-" : ""); print s }
          } }'
echo
echo "raw figures:"
sed 's/^/  /' "$work/raw.txt"
if [ "$failed" -gt 0 ]; then
    echo "$failed measurement(s) could not be taken (see above)"
    exit 1
fi
exit 0
