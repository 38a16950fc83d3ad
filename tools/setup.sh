#!/bin/sh
#  Installs what zeb needs to build and test on Debian 12, if it is missing
#  (clang and libclang-rt-14-dev, libFuzzer's runtime, for tools/fuzz.sh).
#  Usage: tools/setup.sh
set -e

packages="cmake make gcc pkg-config \
    libzmq3-dev libczmq-dev libmsgpack-dev liblmdb-dev \
    libcurl4-openssl-dev libssl-dev zlib1g-dev libjansson-dev libpcre2-dev \
    libhiredis-dev libnats-dev redis-server nats-server libcivetweb-dev \
    python3 python3-zmq python3-msgpack python3-prometheus-client python3-websocket chromium \
    clang libclang-rt-14-dev"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup: installing$missing" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
