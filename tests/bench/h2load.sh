#!/usr/bin/env bash
# tests/bench/h2load.sh -- load benchmark of kedro-eventd's Dispatch RPC with h2load.
#
# What it measures
#   Unary gRPC calls kedro.events.v1.EventService/Dispatch(io.cloudevents.v1.CloudEvent)
#   over cleartext HTTP/2 (h2c, prior knowledge) on 127.0.0.1, driven by Debian's h2load
#   (package nghttp2-client) with a fixed, pre-encoded request: one ~120-byte CloudEvent
#   (id, source "example.com", spec_version "1.0", type "com.example.event", a
#   datacontenttype attribute, a small JSON text_data) behind the 5-byte gRPC frame header.
#   The protobuf bytes come from `protoc --encode` on a text-format message.
#
#   The server runs with --runner none (runs are recorded, never started, so the answers keep
#   one size). Every request carries the SAME event id, so the server deduplicates: the first request
#   creates one pipeline per matching route, and every other request takes the duplicate
#   path (decode and validation, then the key and its original pipelines are read on a read
#   connection on the thread that decoded the call -- server/store_lookup.c; no JSON
#   rendering, no building, no writer -- and the answer is the original pipelines with
#   duplicate: true).  With --no-match the configured route does not match
#   the event, so no pipeline is built and the answer is an empty DispatchResponse.
#
# How to read the output
#   - "throughput" is h2load's req/s for the whole run (requests / wall time).  h2load and
#     the server share this machine's CPUs, so on a small machine it is a lower bound.
#   - "latency" is h2load's "time for request" (min / max / mean / sd): from sending a
#     request to the end of its response, with `concurrency` requests kept in flight.
#     h2load (1.52) prints no percentiles; p50/p90/p99/p99.9 are computed from its
#     --log-file (third column: microseconds until the end of the response).
#   - "verified" lines prove the answers were gRPC successes, not just HTTP 200s (gRPC
#     errors are HTTP 200 with a grpc-status trailer and no body): h2load's DATA byte count
#     must equal requests x the size of a real DispatchResponse; one more Dispatch of the
#     same body with curl must answer grpc-status 0; ListPipelines must show exactly the
#     pipelines one event creates (1 when matching, 0 with --no-match).
#   - "server RSS" is VmHWM (peak) and VmRSS (now) from /proc/PID/status after the run,
#     plus VmRSS before the run; "server CPU" is user+system time spent during the run.
#   - Exit status 0 only when every check passed and the server exited 0 after SIGTERM.
#
# Usage: tests/bench/h2load.sh [options]   (each option also has an environment variable)
#   -n, --requests N        total requests (BENCH_REQUESTS, default 200000); bounds the run
#   -c, --clients N         h2load clients = HTTP/2 connections (BENCH_CLIENTS, default 4)
#   -m, --streams N         max concurrent streams per client (BENCH_STREAMS, default 16)
#   -C, --concurrency N     total streams in flight = clients x streams; sets streams to
#                           N / clients (BENCH_CONCURRENCY, default 64)
#   -t, --threads N         kedro-eventd --threads (BENCH_THREADS, default: nproc)
#       --h2load-threads N  h2load -t (BENCH_H2LOAD_THREADS, default 1)
#       --server PATH       kedro-eventd binary (KEDRO_EVENTD, default build/kedro-eventd
#                           relative to the repository root)
#       --match | --no-match  whether the event matches the configured route
#                           (BENCH_MATCH=yes|no, default yes: "matching on")
#       --timeout SECONDS   hard limit on the h2load run (BENCH_TIMEOUT, default 600)
#       --keep              keep the work directory (request body, h2load log, server output)
# Traffic goes to 127.0.0.1 only.  Needs: h2load, protoc, curl, awk, sort.
set -eu
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
proto_dir="$root/proto"

requests=${BENCH_REQUESTS:-200000}
clients=${BENCH_CLIENTS:-4}
streams=${BENCH_STREAMS:-}
concurrency=${BENCH_CONCURRENCY:-}
server_threads=${BENCH_THREADS:-$(nproc 2>/dev/null || echo 2)}
h2load_threads=${BENCH_H2LOAD_THREADS:-1}
server=${KEDRO_EVENTD:-$root/build/kedro-eventd}
match=${BENCH_MATCH:-yes}
run_timeout=${BENCH_TIMEOUT:-600}
keep=no

usage() { sed -n '/^# Usage:/,/^# Traffic/p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "h2load.sh: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
    case $1 in
    -n | --requests) need_arg "$@"; requests=$2; shift 2 ;;
    -c | --clients) need_arg "$@"; clients=$2; shift 2 ;;
    -m | --streams) need_arg "$@"; streams=$2; shift 2 ;;
    -C | --concurrency) need_arg "$@"; concurrency=$2; shift 2 ;;
    -t | --threads) need_arg "$@"; server_threads=$2; shift 2 ;;
    --h2load-threads) need_arg "$@"; h2load_threads=$2; shift 2 ;;
    --server) need_arg "$@"; server=$2; shift 2 ;;
    --match) match=yes; shift ;;
    --no-match) match=no; shift ;;
    --timeout) need_arg "$@"; run_timeout=$2; shift 2 ;;
    --keep) keep=yes; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
    esac
done

is_count() { case $1 in '' | *[!0-9]* | 0*) return 1 ;; *) return 0 ;; esac; }
for v in requests clients server_threads h2load_threads run_timeout; do
    is_count "${!v}" || die "$v must be a positive integer, got '${!v}'"
done
if [ -n "$concurrency" ]; then
    is_count "$concurrency" || die "concurrency must be a positive integer"
    if [ -n "$streams" ]; then
        [ $((clients * streams)) -eq "$concurrency" ] ||
            die "concurrency $concurrency != clients $clients x streams $streams"
    else
        [ $((concurrency % clients)) -eq 0 ] ||
            die "concurrency $concurrency is not a multiple of clients $clients (use -c)"
        streams=$((concurrency / clients))
    fi
fi
[ -n "$streams" ] || streams=16
is_count "$streams" || die "streams must be a positive integer"
concurrency=$((clients * streams))
[ "$h2load_threads" -le "$clients" ] || die "h2load threads ($h2load_threads) > clients ($clients)"
case $match in
yes | on | 1 | true) match=yes ;;
no | off | 0 | false) match=no ;;
*) die "match must be yes or no, got '$match'" ;;
esac
[ -x "$server" ] || die "no server binary at $server (build it, or pass --server PATH)"
case $server in /*) ;; *) server="$PWD/$server" ;; esac # it runs in the work directory
for tool in h2load protoc curl awk sort timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: tests/deps.sh installs it)"
done

bench_workdir h2load

failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
ok() { echo "verified: $*"; }

# ---- the request body: gRPC frame header + protoc-encoded CloudEvent --------------------
bench_event_body "$work/body.bin" example.com com.example.event \
    '{"message": "hello from h2load", "n": 1}'
body="$work/body.bin"

if [ "$match" = yes ]; then
    config='{"event00": {"source": "example.com", "type": "com.example.event"}}'
    expect_pipelines=1
else
    config='{"event00": {"source": "example.com", "type": "com.example.other"}}'
    expect_pipelines=0
fi

# ---- start the server on a free loopback port --------------------------------------------
bench_start_eventd "$config" "$server_threads"
base="http://127.0.0.1:$port/kedro.events.v1.EventService"

# grpc_call METHOD REQUEST_FILE(framed) NAME: POSTs with curl (h2c prior knowledge), leaves
# $work/NAME.hdr (headers + trailers), $work/NAME.msg (the response message, unframed);
# prints the grpc-status.
grpc_call() {
    curl -sS --max-time 10 --http2-prior-knowledge -X POST \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        --data-binary "@$2" -D "$work/$3.hdr" -o "$work/$3.resp" "$base/$1"
    tail -c +6 "$work/$3.resp" >"$work/$3.msg"
    tr -d '\r' <"$work/$3.hdr" | sed -n 's/^grpc-status: *//p' | tail -n 1
}
decode() { protoc --decode="kedro.events.v1.$1" -I "$proto_dir" kedro/events/v1/events.proto; }
list_pipelines() { # prints the number of pipelines the server holds, or "error"
    local st
    echo 'page_size: 1000' | protoc --encode=kedro.events.v1.ListPipelinesRequest \
        -I "$proto_dir" kedro/events/v1/events.proto >"$work/list.pb"
    bench_grpc_frame "$work/list.pb" "$work/list.bin"
    st=$(grpc_call ListPipelines "$work/list.bin" list)
    if [ "$st" != 0 ]; then
        echo error
        return
    fi
    decode ListPipelinesResponse <"$work/list.msg" >"$work/list.txt"
    if grep -q '^next_page_token:' "$work/list.txt"; then
        echo "more than 1000"
        return
    fi
    grep -c '^pipelines {' "$work/list.txt" || true
}
proc_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

before=$(list_pipelines)
[ "$before" = 0 ] || fail "ListPipelines before the run: expected 0 pipelines, got $before"
rss_before=$(proc_kb VmRSS)
cpu_before=$(proc_cpu_ticks)

echo "$("$server" --version 2>/dev/null | head -n 1) ($server)"
echo "  pid $server_pid, 127.0.0.1:$port, --threads $server_threads, route matching:" \
    "$([ "$match" = yes ] && echo on || echo off)"
echo "$(h2load --version | head -n 1): $requests requests, $clients clients x $streams" \
    "streams = $concurrency in flight, $h2load_threads h2load thread(s)," \
    "request body $(wc -c <"$body") bytes; $(nproc) CPUs shared by client and server"
echo

# ---- the run -----------------------------------------------------------------------------
set +e
timeout "$run_timeout" h2load -n "$requests" -c "$clients" -m "$streams" -t "$h2load_threads" \
    -p h2c -H 'content-type: application/grpc' -H 'te: trailers' -d "$body" \
    --log-file="$work/h2load.log" "$base/Dispatch" >"$work/h2load.out" 2>&1
h2_rc=$?
set -e
grep -v '^progress: ' "$work/h2load.out"
[ "$h2_rc" = 0 ] || fail "h2load exited $h2_rc$([ "$h2_rc" = 124 ] && echo " (timed out after ${run_timeout}s)")"

cpu_after=$(proc_cpu_ticks)
rss_hwm=$(proc_kb VmHWM)
rss_after=$(proc_kb VmRSS)

# ---- verify the answers were gRPC successes ----------------------------------------------
echo
out=$work/h2load.out
field() { sed -n "s/^requests: .* \([0-9][0-9]*\) $1.*/\1/p" "$out"; }
succeeded=$(field succeeded)
failed=$(sed -n 's/^requests: .* \([0-9][0-9]*\) failed.*/\1/p' "$out")
data_bytes=$(sed -n 's/^traffic: .*(\([0-9][0-9]*\)) data$/\1/p' "$out")
if [ "$succeeded" = "$requests" ] && [ "$failed" = 0 ]; then
    ok "h2load: $succeeded/$requests requests succeeded (HTTP 2xx), 0 failed"
else
    fail "h2load: ${succeeded:-?}/$requests succeeded, ${failed:-?} failed"
fi
log_lines=$(wc -l <"$work/h2load.log")
log_not200=$(awk -F'\t' '$2 != 200' "$work/h2load.log" | wc -l)
if [ "$log_lines" != "$requests" ] || [ "$log_not200" != 0 ]; then
    fail "h2load log: $log_lines rows, $log_not200 not HTTP 200"
fi

# One more Dispatch of the same body: must be grpc-status 0 (and a duplicate).
status=$(grpc_call Dispatch "$body" dispatch)
resp_len=$(wc -c <"$work/dispatch.resp")
decode DispatchResponse <"$work/dispatch.msg" >"$work/dispatch.txt" 2>&1 || true
n_resp=$(grep -c '^pipelines {' "$work/dispatch.txt" || true)
if [ "$status" = 0 ]; then
    ok "Dispatch of the same body with curl: grpc-status 0, $n_resp pipeline(s)," \
        "duplicate: $(grep -q '^duplicate: true' "$work/dispatch.txt" && echo true || echo false)," \
        "$resp_len-byte gRPC response"
else
    fail "Dispatch of the same body with curl: grpc-status '${status:-none}'" \
        "($(tr -d '\r' <"$work/dispatch.hdr" | sed -n 's/^grpc-message: *//p'))"
fi
[ "$n_resp" = "$expect_pipelines" ] ||
    fail "Dispatch answered $n_resp pipelines, expected $expect_pipelines"

# gRPC errors are trailers-only (no DATA), so the run's DATA bytes must be requests x a
# full response; the first (original, non-duplicate) answer may lack the 2-byte
# "duplicate: true" field.
if [ "$status" = 0 ] && [ -n "$data_bytes" ]; then
    full=$((requests * resp_len))
    if [ "$data_bytes" -le "$full" ] && [ "$data_bytes" -ge $((full - 2)) ]; then
        ok "h2load received $data_bytes DATA bytes = $requests x $resp_len-byte DispatchResponse" \
            "$([ "$data_bytes" -ne "$full" ] && echo "- $((full - data_bytes)) (the first, non-duplicate answer)"):" \
            "every response was a real answer, none a trailers-only gRPC error"
    else
        fail "h2load received $data_bytes DATA bytes, expected $requests x $resp_len = $full:" \
            "about $(((full - data_bytes) / resp_len)) responses carried no DispatchResponse (gRPC errors)"
    fi
fi

after=$(list_pipelines)
if [ "$after" = "$expect_pipelines" ]; then
    ok "ListPipelines: $after pipeline(s) after $((requests + 1)) Dispatch calls"
else
    fail "ListPipelines after the run: expected $expect_pipelines pipeline(s), got $after"
fi
if [ "$match" = yes ]; then
    echo "note: every request carries the same event id (bench-0001), so the server dedupes:" \
        "the first request created the pipeline and all others took the duplicate path" \
        "(decode, validation and a read of the originals; no rendering, building or writer)."
else
    echo "note: matching off: the route does not match, so each request is decoded, validated" \
        "and matched, and answers an empty DispatchResponse; no pipeline is built (the event id is still" \
        "recorded, so all but the first answer duplicate: true)."
fi

# ---- stop the server ---------------------------------------------------------------------
kill -TERM "$server_pid"
server_rc=
for _ in $(seq 1 150); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        set +e
        wait "$server_pid"
        server_rc=$?
        set -e
        break
    fi
    sleep 0.1
done
if [ -z "$server_rc" ]; then
    fail "kedro-eventd did not exit within 15 s of SIGTERM; killing it"
    kill -KILL "$server_pid" 2>/dev/null || true
elif [ "$server_rc" = 0 ]; then
    ok "kedro-eventd exited 0 after SIGTERM"
else
    fail "kedro-eventd exited $server_rc after SIGTERM; its stderr:"
    sed 's/^/  /' "$work/server.err"
fi
server_pid=

# ---- summary -----------------------------------------------------------------------------
req_s=$(sed -n 's/^finished in \([^,]*\), \([0-9.]*\) req\/s.*/\2/p' "$out")
wall=$(sed -n 's/^finished in \([^,]*\),.*/\1/p' "$out")
read -r lmin lmax lmean lsd _ <<EOF
$(sed -n 's/^time for request: *//p' "$out")
EOF
pcts=$(awk -F'\t' '$2 == 200 { print $3 }' "$work/h2load.log" | sort -n | awk '
    { v[NR] = $1 }
    function at(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] }
    function fmt(us) { return us >= 1000 ? sprintf("%.2fms", us / 1000) : us "us" }
    END { if (NR) printf "p50 %s  p90 %s  p99 %s  p99.9 %s", fmt(at(.5)), fmt(at(.9)), fmt(at(.99)), fmt(at(.999)) }')
tck=$(getconf CLK_TCK)
cpu_s=$(awk -v t=$((cpu_after - cpu_before)) -v h="$tck" 'BEGIN { printf "%.2f", t / h }')
cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v h="$tck" -v n="$requests" \
    'BEGIN { printf "%.1f", t / h * 1e6 / n }')

echo
echo "== kedro-eventd Dispatch, h2c, $concurrency in flight ($clients x $streams)," \
    "server --threads $server_threads, matching $([ "$match" = yes ] && echo on || echo off) =="
printf '  throughput   %s req/s  (%s requests in %s)\n' "${req_s:-?}" "$requests" "${wall:-?}"
printf '  latency      min %s  mean %s  sd %s  max %s  (h2load "time for request")\n' \
    "${lmin:-?}" "${lmean:-?}" "${lsd:-?}" "${lmax:-?}"
printf '  percentiles  %s  (from the h2load log)\n' "${pcts:-?}"
printf '  server RSS   VmHWM %s kB peak, VmRSS %s kB after the run (%s kB before)\n' \
    "$rss_hwm" "$rss_after" "$rss_before"
printf '  server CPU   %s s user+system during the run = %s us per request\n' "$cpu_s" "$cpu_us"
if [ "$failures" -eq 0 ]; then
    echo "  checks       all passed"
    exit 0
fi
echo "  checks       $failures FAILED"
exit 1
