#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time as a ctest (tests/tests.cmake). Assumes tests/deps.sh ran.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-fuzz -DKE_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKE_WERROR=ON
cmake --build build-fuzz -j"$(nproc)" --target fuzzers
cd build-fuzz
ctest --output-on-failure -R '^fuzz_'
