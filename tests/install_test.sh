#!/bin/sh
#  Install zeb from a build tree into a temporary prefix, then build and
#  run a program that uses it, three ways: CMake's find_package(zeb) with
#  zeb::zeb (shared) and zeb::zeb-static, and pkg-config's libzeb.
#  usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
work=$(mktemp -d /tmp/zeb-install-XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
test -f "$work/prefix/include/zeb/zeb.h"

#  find_package (zeb)
cmake -S "$source/tests/install" -B "$work/consumer" \
      -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log"
cmake --build "$work/consumer" >"$work/build.log"
libdir=$(dirname "$(find "$work/prefix" -name 'libzeb.so' | head -1)")
LD_LIBRARY_PATH=$libdir "$work/consumer/consumer" "$work/data-shared"
"$work/consumer/consumer-static" "$work/data-static"
if ldd "$work/consumer/consumer-static" | grep -q libzeb; then
    echo "install_test: consumer-static is linked to the shared libzeb" >&2
    exit 1
fi

#  pkg-config libzeb
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cc -o "$work/consumer-pc" "$source/tests/install/consumer.c" \
   $(pkg-config --cflags --libs libzeb)
LD_LIBRARY_PATH=$libdir "$work/consumer-pc" "$work/data-pc"
echo "install_test: OK"
