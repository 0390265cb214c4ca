#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Consumers: installs hipc into a prefix, moves the prefix (installs must be
# relocatable), then builds and runs tests/consumers/app.c against it with
# find_package and with pkg-config, and against the source tree with
# add_subdirectory and with FetchContent (from a local archive: no network).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/consumers
rm -rf "$out"
mkdir -p "$out"
jobs=$(nproc 2>/dev/null || echo 2)
strict=(-DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror")
quiet() { "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log"; return 1; }; }

echo "-- install hipc into a staging prefix"
quiet cmake -S . -B "$out/hipc" -DCMAKE_BUILD_TYPE=Release \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$out/staged" \
  -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_INCLUDEDIR=include
quiet cmake --build "$out/hipc" -j "$jobs"
quiet cmake --install "$out/hipc"
# A prefix that is moved after installation must still work.
mv "$out/staged" "$out/prefix"
prefix=$out/prefix

for f in lib/libhipc.a include/hipc/hipc.h include/hipc/error.h \
         lib/cmake/hipc/hipcConfig.cmake lib/cmake/hipc/hipcConfigVersion.cmake \
         lib/cmake/hipc/hipcTargets.cmake lib/pkgconfig/hipc.pc; do
  [ -f "$prefix/$f" ] || { echo "consumers: $f not installed" >&2; exit 1; }
done
# Private headers (lib/*.h) must never be installed.
if find "$prefix" -name sys.h -o -name internal.h -o -name fault.h | grep -q .; then
  echo "consumers: a private header was installed" >&2; exit 1
fi

echo "-- find_package(hipc CONFIG)"
quiet cmake -S tests/consumers/find_package -B "$out/find_package" \
  -DCMAKE_PREFIX_PATH="$prefix" "${strict[@]}"
quiet cmake --build "$out/find_package"
"$out/find_package/app"

echo "-- find_package refuses another major version"
if cmake -S tests/consumers/find_package -B "$out/find_package_v1" \
     -DCMAKE_PREFIX_PATH="$prefix" -DHIPC_WANT=1.0 >"$out/v1.log" 2>&1; then
  echo "consumers: find_package(hipc 1.0) accepted version 0.x" >&2; exit 1
fi
grep -q "considered but not accepted" "$out/v1.log" ||
  { cat "$out/v1.log"; exit 1; }

echo "-- pkg-config"
mkdir -p "$out/pkgconfig"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
  quiet make -C tests/consumers/pkgconfig OUT="$out/pkgconfig"
"$out/pkgconfig/app"

echo "-- add_subdirectory"
quiet cmake -S tests/consumers/subdirectory -B "$out/subdirectory" \
  -DHIPC_SOURCE_DIR="$root" "${strict[@]}"
quiet cmake --build "$out/subdirectory" -j "$jobs"
"$out/subdirectory/app"

echo "-- FetchContent from a local archive"
# The archive holds what git would ship (tracked and new, not ignored files).
archive=$out/hipc-src.tar.gz
if git rev-parse --show-toplevel >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --transform 's,^,hipc/,' -czf "$archive"
else
  tar --exclude=./build --transform 's,^\./,hipc/,' -czf "$archive" .
fi
sha=$(sha256sum "$archive" | cut -d' ' -f1)
quiet cmake -S tests/consumers/fetchcontent -B "$out/fetchcontent" \
  -DHIPC_ARCHIVE="$archive" -DHIPC_ARCHIVE_SHA256="$sha" "${strict[@]}"
quiet cmake --build "$out/fetchcontent" -j "$jobs"
"$out/fetchcontent/app"

echo "consumers: find_package, pkg-config, add_subdirectory and FetchContent passed"
