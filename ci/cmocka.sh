#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds cmocka, the test suite's only dependency, as a static library for
# a target Debian has no libcmocka-dev for in this setup (musl; armhf and
# aarch64 without multiarch), from Debian's own source package: cmocka's
# code is never copied into this repository.
# Usage: ci/cmocka.sh <toolchain file> <install prefix>
# The prefix then holds include/cmocka.h and lib/libcmocka.a (kept between
# runs: a second call with the same prefix returns at once).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
toolchain=$(realpath "$1")
prefix=$(realpath -m "$2")
[ -f "$prefix/lib/libcmocka.a" ] && [ -f "$prefix/include/cmocka.h" ] && exit 0

src=$root/build/cmocka-src
if ! ls -d "$src"/cmocka-*/ >/dev/null 2>&1; then
  # apt-get source needs deb-src entries, which Debian's images leave out.
  if ! apt-get source --print-uris -qq cmocka >/dev/null 2>&1; then
    . /etc/os-release
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$VERSION_CODENAME" | "${sudo[@]}" tee /etc/apt/sources.list.d/hipc-deb-src.sources >/dev/null
    "${sudo[@]}" apt-get update -qq
  fi
  rm -rf "$src" && mkdir -p "$src"
  (cd "$src" && apt-get source -qq cmocka >apt-source.log 2>&1) ||
    { cat "$src/apt-source.log"; exit 1; }
fi
cmocka_src=$(ls -d "$src"/cmocka-*/ | head -n1)

build=$prefix.build
rm -rf "$build"
cmake -S "$cmocka_src" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
  >"$build.log" 2>&1 || { cat "$build.log"; exit 1; }
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
  >>"$build.log" 2>&1 || { cat "$build.log"; exit 1; }
mkdir -p "$prefix/lib" "$prefix/include"
cp "$cmocka_src/include/cmocka.h" "$prefix/include/"
cp "$(find "$build" -name 'libcmocka*.a' | head -n1)" "$prefix/lib/libcmocka.a"
echo "cmocka: built $(basename "$cmocka_src") for $(basename "$1" .cmake) in $prefix"
