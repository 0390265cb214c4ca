#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# musl: the library, the tools and the whole test suite built with musl-gcc
# (Debian musl-tools, -Werror) and run by CTest. cmocka for musl comes from
# Debian's source package (ci/cmocka.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/musl
mkdir -p build
jobs=$(nproc 2>/dev/null || echo 2)
toolchain=cmake/toolchains/musl.cmake

bash ci/cmocka.sh "$toolchain" build/cmocka-musl
cmake -S . -B "$out" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHIPC_WERROR=ON \
  -DHIPC_BUILD_TESTS=ON -DHIPC_BUILD_TOOLS=ON -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF \
  -DCMOCKA_INCLUDE_DIR="$PWD/build/cmocka-musl/include" \
  -DCMOCKA_LIBRARY="$PWD/build/cmocka-musl/lib/libcmocka.a" \
  >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }
cmake --build "$out" -j "$jobs" >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }

# Prove the programs really are musl programs, not glibc ones.
for t in "$out"/tests/test_*; do
  [ -x "$t" ] || continue
  interp=$(readelf -lW "$t" | grep -o 'interpreter: [^]]*' || true)
  case "$interp" in
    *ld-musl*) ;;
    *) echo "musl: $(basename "$t") is not linked against musl ($interp)" >&2; exit 1 ;;
  esac
done
ctest --test-dir "$out" -j "$jobs" --output-on-failure --no-tests=error
