#!/bin/sh
# tests/bench/durable.sh -- benchmarks (not tests) of the durable store, printing figures:
#  1. durable accepts/s through the store's group commit (tests/bench/bench_store.c) at 1, 8
#     and 64 requests in flight: each answer waits for its commit (WAL, synchronous=FULL);
#  2. kedro-eventd's RSS with a backlog of N READY runs (default 1,000,000), idle and after
#     2,000 Dispatch calls and 20 ListPipelines pages, with --runner none.
# The data lives in a temporary directory beside the repository (not /tmp, which may be
# tmpfs: fsync costs differ); the filesystem is printed. Usage: tests/bench/durable.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
backlog=${1:-1000000}
work=$(mktemp -d -p "$(dirname "$top")" ke-bench-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

echo "filesystem: $(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')"
for c in 1 8 64; do
    rm -rf "$work/accept" && mkdir -p "$work/accept"
    "$build/bench_store" accept "$work/accept" 20000 "$c"
done

mkdir -p "$work/backlog"
"$build/bench_store" fill "$work/backlog" "$backlog"
"$build/kedro-eventd" --listen 127.0.0.1:0 --runner none --data-dir "$work/backlog" \
    --events-config '{"event00": {"source": "example.com", "type": "com.example.event"}}' \
    >"$work/out" 2>"$work/err" &
pid=$!
i=0
until grep -q 'port [0-9]' "$work/out" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$work/err"; exit 1; }; sleep 0.1
done
port=$(grep -o 'port [0-9]*' "$work/out" | awk '{print $2}')
echo "kedro-eventd with $backlog READY runs, idle: $(grep -E 'VmRSS' /proc/$pid/status | tr -s ' \t' ' ')"
(cd "$top/tests/integration" && KE_SOURCE_DIR=$top /usr/bin/python3 - "$port" <<'PY'
import sys, time
import harness
harness.load_stubs()
import grpc
from cloudevents.v1 import cloudevents_pb2 as ce
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc
stub = rpc.EventServiceStub(grpc.insecure_channel("127.0.0.1:" + sys.argv[1]))
t = time.time()
for i in range(2000):
    stub.Dispatch(ce.CloudEvent(id="rss-%d" % i, source="example.com", spec_version="1.0",
                                type="com.example.event", text_data="{}"), timeout=30)
n, token = 0, ""
for _ in range(20):
    page = stub.ListPipelines(pb.ListPipelinesRequest(
        page_size=1000, state=pb.PipelineStatus.READY, page_token=token), timeout=30)
    n, token = n + len(page.pipelines), page.next_page_token
print("2000 Dispatch (one client, one at a time) + %d listed in %.2f s" % (n, time.time() - t))
PY
)
echo "after: $(grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
kill "$pid"
wait "$pid"
pid=""
