# shellcheck shell=bash disable=SC2154 # keep, server, proto_dir come from the sourcing script
# tests/bench/lib.sh -- what the h2load benchmarks share (sourced by bash scripts): a work
# directory cleaned up on exit, the gRPC-framed CloudEvent h2load replays, and starting
# kedro-eventd on a free loopback port.
#
# The sourcing script sets keep (yes|no) before bench_workdir, and server (the kedro-eventd
# binary) and proto_dir before the others; they set work, server_pid and port.

# bench_workdir NAME: a new $work directory, removed on exit (kept with keep=yes), and the
# server started by bench_start_eventd killed on exit.
bench_workdir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/ke-$1.XXXXXX")
    server_pid=
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# shellcheck disable=SC2317 # called through trap
bench_cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    if [ "$keep" = yes ]; then
        echo "work directory kept: $work"
    else
        rm -rf "$work"
    fi
}

# bench_event_body OUT SOURCE TYPE DATA: OUT = one CloudEvent (id "bench-0001", the source and
# type, datacontenttype application/json, DATA as text_data), encoded by protoc from its text
# format, behind the 5-byte gRPC frame header (0 = uncompressed, big-endian length).
bench_event_body() {
    local out=$1
    cat >"$work/event.txtpb" <<EOT
id: "bench-0001"
source: "$2"
spec_version: "1.0"
type: "$3"
attributes {
  key: "datacontenttype"
  value { ce_string: "application/json" }
}
text_data: "$(printf '%s' "$4" | sed 's/["\\]/\\&/g')"
EOT
    protoc --encode=io.cloudevents.v1.CloudEvent -I "$proto_dir" cloudevents/v1/cloudevents.proto \
        <"$work/event.txtpb" >"$work/event.pb"
    bench_grpc_frame "$work/event.pb" "$out"
}

# bench_grpc_frame IN OUT: OUT = 0x00 (uncompressed) + IN's length (4 bytes, big-endian) + IN.
bench_grpc_frame() {
    local n
    n=$(wc -c <"$1")
    {
        printf '\000'
        # shellcheck disable=SC2059
        printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((n >> 24 & 255)) $((n >> 16 & 255)) \
            $((n >> 8 & 255)) $((n & 255)))"
        cat "$1"
    } >"$2"
}

# bench_start_eventd CONFIG THREADS [PREFIX...]: starts $server (--runner none: runs are
# recorded, never started) in $work/run with the event configuration CONFIG, run through
# PREFIX (e.g. taskset -c 0) when given; sets server_pid and port, or exits 1 with the
# server's output when it reports no port.
bench_start_eventd() {
    local config=$1 threads=$2
    shift 2
    mkdir -p "$work/run"
    (cd "$work/run" && exec "$@" "$server" --listen 127.0.0.1:0 --runner none \
        --events-config "$config" --threads "$threads" --dotenv "$work/run/none.env" \
        --data-dir "$work/run/data" >"$work/server.out" 2>"$work/server.err") &
    server_pid=$!
    port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^kedro-eventd: listening on .* port \([0-9][0-9]*\)$/\1/p' \
            "$work/server.out")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "kedro-eventd did not report its port; its output:" >&2
        cat "$work/server.out" "$work/server.err" >&2
        exit 1
    fi
}
