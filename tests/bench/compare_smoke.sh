#!/bin/sh
# tests/bench/compare_smoke.sh -- the ctest bench_compare_smoke: runs tests/bench/compare.sh
# --smoke (tiny durations and counts) and checks that every line of its table has a figure,
# so the script does not rot. No speed is asserted. Skipped (77) in sanitizer and fuzz builds
# (KE_SANITIZED=1: the figures would be meaningless and the runs slow) and when h2load, wrk,
# node or tests/js/node_modules is missing.
set -u
top=${KE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${KE_BUILD_DIR:-$top/build}

if [ "${KE_SANITIZED:-0}" = 1 ]; then
    echo "skipped: a sanitizer or fuzz build"
    exit 77
fi
for tool in h2load wrk node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "skipped: $tool is not installed (tests/deps.sh installs it)"
        exit 77
    fi
done
if [ ! -d "$top/tests/js/node_modules/cloudevents" ]; then
    echo "skipped: $top/tests/js/node_modules is absent; run 'npm ci' there (tests/deps.sh does)"
    exit 77
fi

out=$(BUILD_DIR=$build "$top/tests/bench/compare.sh" --smoke --no-build 2>&1)
rc=$?
echo "$out"
if [ "$rc" != 0 ]; then
    echo "FAILED: compare.sh --smoke exited $rc"
    exit 1
fi
# The open-loop latency line may wait for `kedro-events bench --rate` only while it has none.
needs_rate_ok=no
"$build/kedro-events" bench --help 2>&1 | grep -q -- '--rate' || needs_rate_ok=yes
echo "$out" | awk -F' [|] ' -v needs_rate_ok="$needs_rate_ok" '
    /^line +[|] figure/ { table = 1; next }
    table && /^-+[+]/ { next }
    table && NF < 6 { table = 0 }
    table {
        for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i)
        rows++
        ok = $2 ~ /[0-9]/ && $NF !~ /not measured/
        if ($2 == "needs --rate" && needs_rate_ok == "yes") ok = 1
        if ($4 != "-" && $4 !~ /[0-9]/) ok = 0
        if (!ok) { bad++; print "FAILED: no figure on the line: " $0 }
    }
    END {
        if (rows != 11) { print "FAILED: the table has " rows " lines, expected 11"; exit 1 }
        if (bad) exit 1
        print "bench_compare_smoke: all " rows " lines of the table have a figure"
    }'
