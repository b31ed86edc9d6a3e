#!/usr/bin/env bash
# tests/bench/wrk_shim.sh -- load benchmark of kedro-event-shim's POST /event/ with wrk.
#
# Starts kedro-eventd (--runner none: runs are recorded, never started) and kedro-event-shim
# on free loopback ports, checks one request answers 200, then runs
#   wrk -c 64 -t 2 -d 10s --latency -s tests/bench/wrk_event.lua http://127.0.0.1:PORT
# (a binary-mode CloudEvent, see wrk_event.lua for WRK_EVENT_MODE) and prints wrk's report,
# then "requests/s" and the latency percentiles on lines of their own. Everything shares this
# machine's CPUs (wrk, the shim, the server), so on a small machine the figure is a lower bound;
# "CPU per request" (each process's user + system time over the requests) is not skewed by
# other load on the machine.
#
# Usage: tests/bench/wrk_shim.sh [--build DIR] [--keep]
# Environment: BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (2), BENCH_DURATION (10s),
#   SHIM_THREADS (2, the shim's --threads), SHIM_ARGS (more shim flags), EVENTD_THREADS (2),
#   WRK_EVENT_MODE (duplicate | unique | nomatch).
# Exit status 0 when every request answered 200 and both processes exited 0 on SIGTERM.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
keep=no
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --keep) keep=yes; shift ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "wrk_shim.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
connections=${BENCH_CONNECTIONS:-64}
wrk_threads=${BENCH_WRK_THREADS:-2}
duration=${BENCH_DURATION:-10s}
for tool in wrk curl; do
    command -v $tool >/dev/null || { echo "wrk_shim.sh: $tool is not installed" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ke-wrk-shim.XXXXXX")
eventd_pid=""
shim_pid=""
cleanup() {
    [ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null || true
    [ -n "$eventd_pid" ] && kill "$eventd_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ "$keep" = yes ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Waits for "... listening on ... port N" in $1 and prints N.
port_of() {
    local i
    for i in $(seq 1 200); do
        if grep -q "listening on" "$1" 2>/dev/null; then
            sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$1"
            return 0
        fi
        sleep 0.05
    done
    echo "wrk_shim.sh: no 'listening on' in $1" >&2
    cat "$1" "$1.err" >&2 || true
    return 1
}

"$build/kedro-eventd" --listen 127.0.0.1:0 --runner none --data-dir "$work/data" \
    --threads "${EVENTD_THREADS:-2}" \
    --events-config '{"event00": {"source": "example.com", "type": "com.example.event"}}' \
    >"$work/eventd.out" 2>"$work/eventd.out.err" &
eventd_pid=$!
eventd_port=$(port_of "$work/eventd.out")

# shellcheck disable=SC2086
"$build/kedro-event-shim" --listen 127.0.0.1:0 --target "127.0.0.1:$eventd_port" \
    --threads "${SHIM_THREADS:-2}" ${SHIM_ARGS:-} >"$work/shim.out" 2>"$work/shim.out.err" &
shim_pid=$!
shim_port=$(port_of "$work/shim.out")
url="http://127.0.0.1:$shim_port"

status=$(curl -s -o "$work/first.json" -w '%{http_code}' -X POST "$url/event/" \
    -H 'ce-specversion: 1.0' -H 'ce-id: wrk-event-1' -H 'ce-source: example.com' \
    -H 'ce-type: com.example.event' -H 'Content-Type: application/json' -d '{"key": "value"}')
if [ "$status" != 200 ]; then
    echo "wrk_shim.sh: the first POST answered $status: $(cat "$work/first.json")" >&2
    exit 1
fi

echo "kedro-eventd --runner none --threads ${EVENTD_THREADS:-2} (port $eventd_port)," \
    "kedro-event-shim --threads ${SHIM_THREADS:-2} ${SHIM_ARGS:-}(port $shim_port)," \
    "mode ${WRK_EVENT_MODE:-duplicate}, $(nproc) CPUs"
# CPU time (user + system, clock ticks) a process has used so far.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}
shim_cpu0=$(cpu_ticks "$shim_pid")
eventd_cpu0=$(cpu_ticks "$eventd_pid")

echo "wrk -c $connections -t $wrk_threads -d $duration --latency -s tests/bench/wrk_event.lua $url"
wrk -c "$connections" -t "$wrk_threads" -d "$duration" --latency -s "$here/wrk_event.lua" \
    "$url" | tee "$work/wrk.out"

echo
awk '/Requests\/sec/ {print "requests/s: " $2}' "$work/wrk.out"
awk '/Latency Distribution/ {on = 1; next} on && /%/ {printf "latency p%s: %s\n", $1, $2} \
     on && !/%/ {on = 0}' "$work/wrk.out" | sed 's/%//'
# CPU per request: robust to other load on the machine, unlike requests/s.
hz=$(getconf CLK_TCK)
shim_cpu=$(($(cpu_ticks "$shim_pid") - shim_cpu0))
eventd_cpu=$(($(cpu_ticks "$eventd_pid") - eventd_cpu0))
awk -v s="$shim_cpu" -v e="$eventd_cpu" -v hz="$hz" '/requests in/ {n = $1}
    END {if (n > 0) printf "CPU per request: kedro-event-shim %.0f us, kedro-eventd %.0f us\n",
         s / hz / n * 1e6, e / hz / n * 1e6}' "$work/wrk.out"
rc=0
if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "wrk_shim.sh: some answers were not 200: $(grep Non-2xx "$work/wrk.out")" >&2
    rc=1
fi
if grep -q "Socket errors" "$work/wrk.out"; then
    echo "wrk_shim.sh: $(grep 'Socket errors' "$work/wrk.out")" >&2
fi

kill -TERM "$shim_pid"
if ! wait "$shim_pid"; then echo "wrk_shim.sh: kedro-event-shim did not exit 0" >&2; rc=1; fi
shim_pid=""
kill -TERM "$eventd_pid"
if ! wait "$eventd_pid"; then echo "wrk_shim.sh: kedro-eventd did not exit 0" >&2; rc=1; fi
eventd_pid=""
exit $rc
