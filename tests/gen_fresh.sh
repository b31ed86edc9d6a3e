#!/bin/sh
# Fails when gen/ differs from what proto/generate.sh makes now: gen/ is
# never edited by hand, and a .proto change must come with regenerated code.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$top/proto/generate.sh" "$tmp/gen"
if ! diff -r "$top/gen" "$tmp/gen" >"$tmp/diff"; then
    echo "gen/ is stale: run 'cmake --build build --target regen' and commit gen/" >&2
    head -40 "$tmp/diff" >&2
    exit 1
fi
echo "gen/ matches proto/"
