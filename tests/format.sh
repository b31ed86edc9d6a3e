#!/bin/sh
# Fails when C sources drift from .clang-format (generated gen/ is exempt).
set -eu
cd "$(dirname "$0")/.."
files=$(find server client tests -name '*.[ch]' 2>/dev/null | sort)
clang-format --dry-run --Werror $files
echo "format: $(echo "$files" | wc -w) files match .clang-format"
