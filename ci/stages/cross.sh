#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross: the library and the whole test suite for armhf (32-bit) and
# aarch64, built with Debian's cross compilers and run by ctest under
# qemu-user (CMAKE_CROSSCOMPILING_EMULATOR in cmake/toolchains/*.cmake).
# cmocka for the targets is built from Debian's source package (ci/cmocka.sh).
#
# Then the cross-ABI check: tests/abi/abi_peer built for the host (x86_64),
# armhf and aarch64 shares real System V segments between ABIs. A segment
# made by a 64-bit process must be refused by the 32-bit one with
# HIPC_E_LAYOUT and the other way round, while x86_64 and aarch64 (same
# width and endianness) must read each other's segments.
#
# Last, a firmware-style consumer: find_package(hipc) in an armhf staging
# sysroot, run under qemu; and the same build must refuse an x86_64 package.
#
# The stage runs in a private IPC namespace, so nothing it creates can
# outlive it or meet another process's segments.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${HIPC_CROSS_IN_NS:-}" ]; then
  ns=(unshare --ipc)
  [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --ipc)
  exec env HIPC_CROSS_IN_NS=1 "${ns[@]}" bash "$0" "$@"
fi
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
targets=(armhf aarch64)
declare -A run=(
  [host]=""
  [armhf]="qemu-arm -L /usr/arm-linux-gnueabihf"
  [aarch64]="qemu-aarch64 -L /usr/aarch64-linux-gnu"
)
fail() { echo "cross: $*" >&2; exit 1; }
quiet() { "$@" >"$root/build/cross.log" 2>&1 || { cat "$root/build/cross.log"; return 1; }; }
mkdir -p build

for t in "${targets[@]}"; do
  echo "-- $t: build and test under qemu-user"
  tc=cmake/toolchains/$t.cmake
  bash ci/cmocka.sh "$tc" "build/cmocka-$t"
  quiet cmake -S . -B "build/cross-$t" -DCMAKE_TOOLCHAIN_FILE="$tc" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHIPC_WERROR=ON \
    -DHIPC_BUILD_TESTS=ON -DHIPC_BUILD_TOOLS=ON -DHIPC_BUILD_FUZZ=OFF \
    -DHIPC_BUILD_BENCH=OFF \
    -DCMOCKA_INCLUDE_DIR="$root/build/cmocka-$t/include" \
    -DCMOCKA_LIBRARY="$root/build/cmocka-$t/lib/libcmocka.a"
  quiet cmake --build "build/cross-$t" -j "$jobs"
  ctest --test-dir "build/cross-$t" -j "$jobs" --output-on-failure --no-tests=error
done

echo "-- cross-ABI segments"
for t in host "${targets[@]}"; do
  args=()
  [ "$t" = host ] || args=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$t.cmake")
  quiet cmake -S tests/abi -B "build/abi-$t" "${args[@]}"
  quiet cmake --build "build/abi-$t" -j "$jobs"
done

peer() {
  local t=$1
  shift
  # ${run[$t]} is a command line: word splitting is wanted here.
  # shellcheck disable=SC2086
  ${run[$t]} "build/abi-$t/abi_peer" "$@"
}

# One creator holds a segment while one opener tries it.
share() {
  local creator=$1 opener=$2 want=$3 id bits rc=0
  coproc CREATOR { peer "$creator" create; }
  read -r id bits <&"${CREATOR[0]}" || fail "$creator could not create a segment"
  peer "$opener" open "$id" "$want" || rc=1
  eval "exec ${CREATOR[1]}>&-"
  wait "$CREATOR_PID" || fail "$creator ($bits-bit) could not remove its segment"
  [ $rc -eq 0 ] || fail "$opener opening $creator's segment: expected $want"
}

share host armhf HIPC_E_LAYOUT
share armhf host HIPC_E_LAYOUT
share aarch64 armhf HIPC_E_LAYOUT
share armhf aarch64 HIPC_E_LAYOUT
share host aarch64 HIPC_OK
share aarch64 host HIPC_OK
share armhf armhf HIPC_OK

echo "-- find_package consumer in an armhf sysroot"
# A firmware build finds hipc installed in its staging sysroot through
# CMAKE_FIND_ROOT_PATH, and runs the result on the target (here qemu).
rm -rf build/cross-prefix-armhf build/cross-prefix-host
quiet cmake --install build/cross-armhf --prefix build/cross-prefix-armhf
quiet cmake -S tests/consumers/find_package -B build/cross-consumer-armhf \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/armhf.cmake" \
  -DCMAKE_FIND_ROOT_PATH="$root/build/cross-prefix-armhf"
quiet cmake --build build/cross-consumer-armhf
${run[armhf]} build/cross-consumer-armhf/app
# The same build must refuse a 64-bit hipc (the package's version file
# compares pointer widths) instead of linking the wrong library.
quiet cmake -S . -B build/cross-host-lib -DCMAKE_BUILD_TYPE=Release \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$root/build/cross-prefix-host"
quiet cmake --build build/cross-host-lib -j "$jobs"
quiet cmake --install build/cross-host-lib
if cmake -S tests/consumers/find_package -B build/cross-consumer-wrong \
     -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/armhf.cmake" \
     -DCMAKE_FIND_ROOT_PATH="$root/build/cross-prefix-host" \
     >build/cross-wrong.log 2>&1; then
  fail "an armhf build accepted an x86_64 hipc package"
fi
grep -q "considered but not accepted" build/cross-wrong.log ||
  { cat build/cross-wrong.log; fail "the x86_64 package was not even found"; }
echo "cross: the armhf build refused the 64-bit package"

left=$(($(wc -l </proc/sysvipc/shm) - 1))
[ "$left" -eq 0 ] || fail "$left segment(s) left behind"
echo "cross: armhf and aarch64 suites passed; 32-bit and 64-bit peers refuse each other's segments"
