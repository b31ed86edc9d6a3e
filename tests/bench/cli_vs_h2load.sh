#!/usr/bin/env bash
# tests/bench/cli_vs_h2load.sh -- `kedro-events bench` against h2load on the same server.
#
# A benchmark, not a test: it prints figures and exits non-zero only when something fails to
# run (the server does not start, a tool is missing, a load run exits non-zero or has failed
# calls), never because of the figures.
#
# What it does
#   Starts one kedro-eventd (--runner none, a temporary data dir, the event00 route of
#   tests/bench/h2load.sh) and then, in turn:
#     1. h2load: N Dispatch calls of one pre-encoded CloudEvent (protoc-encoded, the event of
#        tests/bench/h2load.sh), 4 connections x 16 streams = 64 in flight, 1 h2load thread;
#     2. kedro-events bench --same-id --connections 4 --concurrency 64 --requests N with the
#        same source, type, datacontenttype and data, so, like h2load's fixed body, every call
#        after the first takes the server's duplicate path;
#     3. kedro-events bench (distinct ids: every event is a new durable insert) with the same
#        connections, concurrency and N.
#   Before them, an unmeasured h2load run of N/10 calls warms the server up. With --rounds R,
#   runs 1 and 2 alternate R times (h2load first in odd rounds, kedro-events bench first in
#   even ones) and the summary uses the median of each. For each run it prints
#   dispatches/s, latency and the CPU time per call of the load generator and of the server;
#   then the ratio of 2 to 1. The load generator and the server share this machine's CPUs, so
#   one that costs more CPU per call leaves less to the server.
#
# Usage: tests/bench/cli_vs_h2load.sh [options]
#   -n, --requests N     calls per run (BENCH_REQUESTS, default 50000)
#   -r, --rounds R       repeat runs 1 and 2 R times, alternating (BENCH_ROUNDS, default 1)
#   -t, --threads N      kedro-eventd --threads (BENCH_THREADS, default: nproc)
#       --no-distinct    skip run 3
#       --server PATH    kedro-eventd (KEDRO_EVENTD, default build/kedro-eventd)
#       --cli PATH       kedro-events (KEDRO_EVENTS, default: beside the server)
#       --keep           keep the work directory (data dir, outputs)
#       --pin            run the server on all CPUs but the last and the load generators on
#                        the last (taskset), so neither generator takes CPU from the server:
#                        the comparison then measures the server, not the generators' cost
# Traffic goes to 127.0.0.1 only. Needs: h2load, protoc, awk.
set -eu
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
proto_dir="$root/proto"

requests=${BENCH_REQUESTS:-50000}
rounds=${BENCH_ROUNDS:-1}
server_threads=${BENCH_THREADS:-$(nproc 2>/dev/null || echo 2)}
server=${KEDRO_EVENTD:-$root/build/kedro-eventd}
cli=${KEDRO_EVENTS:-}
distinct=yes
keep=no
pin=no

usage() { sed -n '/^# Usage:/,/^# Traffic/p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "cli_vs_h2load.sh: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
    case $1 in
    -n | --requests) need_arg "$@"; requests=$2; shift 2 ;;
    -r | --rounds) need_arg "$@"; rounds=$2; shift 2 ;;
    -t | --threads) need_arg "$@"; server_threads=$2; shift 2 ;;
    --no-distinct) distinct=no; shift ;;
    --server) need_arg "$@"; server=$2; shift 2 ;;
    --cli) need_arg "$@"; cli=$2; shift 2 ;;
    --keep) keep=yes; shift ;;
    --pin) pin=yes; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
    esac
done

is_count() { case $1 in '' | *[!0-9]* | 0*) return 1 ;; *) return 0 ;; esac; }
for v in requests rounds server_threads; do
    is_count "${!v}" || die "$v must be a positive integer, got '${!v}'"
done
[ -n "$cli" ] || cli=$(dirname "$server")/kedro-events
# with --pin: taskset prefixes for the server and the load generators
server_cpus=
gen_cpus=
if [ "$pin" = yes ]; then
    ncpu=$(nproc)
    [ "$ncpu" -ge 2 ] || die "--pin needs at least 2 CPUs"
    command -v taskset >/dev/null || die "--pin needs taskset (util-linux)"
    server_cpus="taskset -c 0-$((ncpu - 2))"
    gen_cpus="taskset -c $((ncpu - 1))"
fi
[ -x "$server" ] || die "no server binary at $server (build it, or pass --server PATH)"
[ -x "$cli" ] || die "no kedro-events at $cli (build it, or pass --cli PATH)"
case $server in /*) ;; *) server="$PWD/$server" ;; esac # it runs in the work directory
case $cli in /*) ;; *) cli="$PWD/$cli" ;; esac
for tool in h2load protoc awk timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: tests/deps.sh installs it)"
done

connections=4
streams=16
concurrency=$((connections * streams))
source=example.com
type=com.example.event
data='{"message": "hello from h2load", "n": 1}'
run_limit=300 # seconds any one load run may take

bench_workdir cli-vs-h2load

# ---- the h2load request body: gRPC frame header + protoc-encoded CloudEvent ---------------
bench_event_body "$work/body.bin" "$source" "$type" "$data"

# ---- the server ----------------------------------------------------------------------------
config="{\"event00\": {\"source\": \"$source\", \"type\": \"$type\"}}"
# shellcheck disable=SC2086 # server_cpus is a word list or empty
bench_start_eventd "$config" "$server_threads" $server_cpus
target=127.0.0.1:$port

server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
tck=$(getconf CLK_TCK)
# json_num FILE KEY: a number member of kedro-events bench --json-out's object.
json_num() { sed -n "s/.*\"$2\":\([0-9.][0-9.]*\).*/\1/p" "$1"; }

echo "$("$server" --version 2>/dev/null | head -n 1): $target, --threads $server_threads," \
    "--runner none, data on $(df -T "$work" | awk 'NR == 2 { print $2 }')"
echo "$(h2load --version | head -n 1); $("$cli" --version)"
if [ "$pin" = yes ]; then
    cpus="server on CPUs ${server_cpus#taskset -c }, load generators on CPU ${gen_cpus#taskset -c }"
else
    cpus="$(nproc) CPUs shared by the load generator and the server"
fi
echo "$requests calls per run, $connections connections x $streams streams = $concurrency in" \
    "flight; $cpus"
echo

h2_rates=()
cli_rates=()

# run_h2load: one h2load run; prints its figures, sets last_h2_rate.
run_h2load() {
    local out=$work/h2load.out rc s0 s1 rate ok failed lat
    s0=$(server_ticks)
    set +e
    times >"$work/cpu0"
    # shellcheck disable=SC2086 # gen_cpus is a word list or empty
    timeout "$run_limit" $gen_cpus \
        h2load -n "$requests" -c "$connections" -m "$streams" -t 1 -p h2c \
        -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/body.bin" \
        "http://$target/kedro.events.v1.EventService/Dispatch" >"$out" 2>&1
    rc=$?
    times >"$work/cpu1"
    set -e
    s1=$(server_ticks)
    ok=$(sed -n 's/^requests: .* \([0-9][0-9]*\) succeeded.*/\1/p' "$out")
    failed=$(sed -n 's/^requests: .* \([0-9][0-9]*\) failed.*/\1/p' "$out")
    if [ "$rc" != 0 ] || [ "$ok" != "$requests" ] || [ "$failed" != 0 ]; then
        echo "h2load failed (exit $rc, ${ok:-?} succeeded, ${failed:-?} failed):" >&2
        grep -v '^progress: ' "$out" >&2
        exit 1
    fi
    rate=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
    lat=$(sed -n 's/^time for request: *//p' "$out" | awk '{ print "min " $1 "  max " $2 "  mean " $3 }')
    last_h2_rate=$rate
    printf '  %-34s %9.0f dispatches/s  latency %s\n' "h2load" "$rate" "$lat"
    cpu_line $((s1 - s0))
}

# cpu_line SERVER_TICKS: the load generator's CPU per call (the user+system time of this
# shell's children between the `times` snapshots cpu0 and cpu1) and the server's.
cpu_line() {
    printf '  %-34s CPU per call: load generator %s us, server %s us\n' "" \
        "$(awk -v n="$requests" '
            FNR == 2 { split($1 " " $2, f, /[ms ]+/); t = f[1] * 60 + f[2] + f[3] * 60 + f[4]
                       if (FILENAME ~ /cpu0$/) a = t; else b = t }
            END { printf "%.1f", (b - a) * 1e6 / n }' "$work/cpu0" "$work/cpu1")" \
        "$(awk -v t="$1" -v h="$tck" -v n="$requests" 'BEGIN { printf "%.1f", t / h * 1e6 / n }')"
}

# run_cli LABEL FLAGS...: one kedro-events bench run; prints its figures, sets last_cli_rate.
run_cli() {
    local label=$1 out=$work/cli.json rc s0 s1 rate
    shift
    s0=$(server_ticks)
    set +e
    times >"$work/cpu0"
    # shellcheck disable=SC2086 # gen_cpus is a word list or empty
    timeout "$run_limit" $gen_cpus \
        "$cli" bench --target "$target" --connections "$connections" \
        --concurrency "$concurrency" --requests "$requests" --source "$source" --type "$type" \
        --data "$data" --json-out "$@" >"$out" 2>"$work/cli.err"
    rc=$?
    times >"$work/cpu1"
    set -e
    s1=$(server_ticks)
    if [ "$rc" != 0 ]; then
        echo "kedro-events bench $* failed (exit $rc):" >&2
        cat "$out" "$work/cli.err" >&2
        exit 1
    fi
    rate=$(json_num "$out" dispatches_per_s)
    last_cli_rate=$rate
    printf '  %-34s %9.0f dispatches/s  latency p50 %sms  p90 %sms  p99 %sms  max %sms\n' \
        "$label" "$rate" "$(json_num "$out" p50)" "$(json_num "$out" p90)" \
        "$(json_num "$out" p99)" "$(json_num "$out" max)"
    cpu_line $((s1 - s0))
}

# warm-up (not reported): connections, the server's caches and allocator
timeout "$run_limit" h2load -n $((requests / 10 + 1)) -c "$connections" -m "$streams" -t 1 \
    -p h2c -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/body.bin" \
    "http://$target/kedro.events.v1.EventService/Dispatch" >"$work/warmup.out" 2>&1 || {
    echo "the warm-up h2load run failed:" >&2
    grep -v '^progress: ' "$work/warmup.out" >&2
    exit 1
}

echo "== the duplicate path (the same event id every call) =="
for r in $(seq 1 "$rounds"); do
    [ "$rounds" = 1 ] || echo " round $r"
    if [ $((r % 2)) = 1 ]; then
        run_h2load
        run_cli "kedro-events bench --same-id" --same-id
    else
        run_cli "kedro-events bench --same-id" --same-id
        run_h2load
    fi
    h2_rates+=("$last_h2_rate")
    cli_rates+=("$last_cli_rate")
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
h2_med=$(median "${h2_rates[@]}")
cli_med=$(median "${cli_rates[@]}")
of=$([ "$rounds" = 1 ] || echo " (median of $rounds)")
echo
echo "  h2load                       $h2_med dispatches/s$of"
echo "  kedro-events bench --same-id $cli_med dispatches/s$of"
echo "  ratio kedro-events / h2load  $(awk -v a="$cli_med" -v b="$h2_med" \
    'BEGIN { printf "%.2f (%+.0f%%)", a / b, (a / b - 1) * 100 }')"

if [ "$distinct" = yes ]; then
    echo
    echo "== the durable insert path (a distinct event id every call) =="
    run_cli "kedro-events bench (distinct ids)"
fi

# ---- stop the server -------------------------------------------------------------------------
kill -TERM "$server_pid"
for _ in $(seq 1 150); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
    echo "kedro-eventd did not exit within 15 s of SIGTERM" >&2
    exit 1
fi
set +e
wait "$server_pid"
server_rc=$?
set -e
server_pid=
if [ "$server_rc" != 0 ]; then
    echo "kedro-eventd exited $server_rc after SIGTERM; its stderr:" >&2
    cat "$work/server.err" >&2
    exit 1
fi
exit 0
