#!/bin/sh
# Installs what kedro-events needs to build and test on Debian 12 (bookworm).
# Runs apt-get as root, or through sudo otherwise.
set -eu

packages="build-essential cmake pkg-config
  libgrpc-dev grpc-proto libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
  nanopb libnanopb-dev libcjson-dev uuid-dev libsqlite3-dev libyaml-dev liburiparser-dev
  libcmocka-dev clang-format valgrind clang libclang-rt-14-dev
  python3 python3-grpcio python3-protobuf protobuf-compiler-grpc python3-omegaconf python3-yaml
  nghttp2-client curl openssl
  libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev wrk python3-requests nodejs
  python3-prometheus-client libsystemd-dev systemd dpkg-dev file debootstrap
  chromium chromium-driver python3-selenium fonts-dejavu-core"

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
else
    as_root="sudo"
fi
$as_root apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends $packages

# npm: Debian 12 packages it apart from nodejs; NodeSource's nodejs bundles it (and conflicts
# with Debian's npm), so it is installed only when nodejs did not bring it.
if ! command -v npm >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends npm
fi
# The CloudEvents JavaScript SDK for tests/integration/test_shim_js.py, as locked.
(cd "$(dirname "$0")/js" && npm ci --no-audit --no-fund --loglevel=error)
