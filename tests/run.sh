#!/bin/sh
# Sets up and runs every test: installs the Debian packages, builds with
# warnings as errors, and runs ctest (unit, gen/ freshness, format,
# integration). `--sanitize` does the same in a separate AddressSanitizer +
# UndefinedBehaviorSanitizer build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build=build
sanitize=OFF
if [ "${1:-}" = "--sanitize" ]; then
    build=build-asan
    sanitize=ON
fi

tests/deps.sh
cmake -S . -B "$build" -DKE_SANITIZE="$sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKE_WERROR=ON \
    -DCMAKE_INSTALL_PREFIX=/usr
cmake --build "$build" -j"$(nproc)"
cd "$build"
# LeakSanitizer needs ptrace-like access that some sandboxes lack; ASan's
# other checks and UBSan stay on.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ctest --output-on-failure -j2
