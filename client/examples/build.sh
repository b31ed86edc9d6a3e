#!/bin/sh
# Builds send_event.c the way a user of an installed libkedroevents would: with a C compiler
# and pkg-config only. Usage: build.sh PREFIX OUTPUT [EXTRA_CFLAGS]
# (PREFIX is where `cmake --install` put the library; EXTRA_CFLAGS e.g. the sanitizer flags
# the library was built with.)
set -eu
prefix=$1
out=$2
extra=${3:-}
pc=$(find "$prefix" -name kedroevents.pc | head -n 1)
[ -n "$pc" ] || { echo "build.sh: no kedroevents.pc under $prefix" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir kedroevents)
# shellcheck disable=SC2046,SC2086
${CC:-cc} -std=c11 -Wall -Wextra -Werror $extra -o "$out" "$(dirname "$0")/send_event.c" \
    $(pkg-config --cflags --libs kedroevents) -Wl,-rpath,"$libdir"
