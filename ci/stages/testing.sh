#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fault plan for users' tests (include/hipc/testing.h, CMake option
# HIPC_FAULT_INJECTION): it never reaches a shipped library, and it works
# where it is asked for.
#   1. A default build and a Release build install no hipc/testing.h, say
#      nothing of HIPC_TESTING in hipc/config.h, and their libhipc.a has no
#      fault-plan symbol (hipc_testing_*, hipc_fault_*, the simulated
#      kernel's hipc__sim_*); a program that
#      includes <hipc/testing.h> against them stops at its #error.
#   2. Release (and MinSizeRel) with the option is refused at configure.
#   3. A build with the option (RelWithDebInfo) installs the header and
#      defines every function it declares, and the simulated kernel (so
#      the pattern of 1. is not vacuous).
#   4. The firmware daemon example (examples/daemon/), built against that
#      install the way a user builds it: its cmocka test (the fault plan)
#      runs in a private IPC namespace, and its libFuzzer target (the
#      hostile-peer hook, built with hipc instrumented, seeded from
#      examples/daemon/corpus/) runs for HIPC_TESTING_FUZZ_SECONDS (default 20).
# HIPC_TESTING_OUT overrides the build directory (default build/testing).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${HIPC_TESTING_OUT:-build/testing}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
secs=${HIPC_TESTING_FUZZ_SECONDS:-20}
rm -rf "$out"
mkdir -p "$out"
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2
fail() { echo "testing: $*" >&2; exit 1; }
quiet() { "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log"; return 1; }; }
plan_symbols='^(hipc_testing_|hipc_fault_|hipc__sim_|hipc__state_step_hook)'

install_lib() { # <name> [cmake args...]
  local name=$1
  shift
  quiet cmake -S . -B "$out/$name" -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF \
    -DHIPC_BUILD_BENCH=OFF -DHIPC_BUILD_TOOLS=OFF -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_INSTALL_INCLUDEDIR=include "$@"
  quiet cmake --build "$out/$name" -j "$jobs" --target hipc
  quiet cmake --install "$out/$name" --prefix "$out/$name-prefix"
}

# Every defined symbol of the archive that belongs to the fault plan.
plan_in() { nm -g --defined-only "$1" | awk '{print $3}' | grep -E "$plan_symbols" || true; }

for kind in default Release; do
  echo "-- a $kind build carries no fault plan"
  args=()
  [ "$kind" = default ] || args=(-DCMAKE_BUILD_TYPE="$kind")
  install_lib "$kind" "${args[@]}"
  prefix=$out/$kind-prefix
  found=$(plan_in "$prefix/lib/libhipc.a")
  [ -z "$found" ] || fail "$kind libhipc.a defines fault-plan symbols: $found"
  [ ! -e "$prefix/include/hipc/testing.h" ] || fail "$kind installs hipc/testing.h"
  ! grep -q '^#define HIPC_TESTING' "$prefix/include/hipc/config.h" ||
    fail "$kind's hipc/config.h defines HIPC_TESTING"
  # The header from the source tree against this install: the #error.
  printf '#include <hipc/testing.h>\nint main(void) { return 0; }\n' >"$out/uses.c"
  if cc -std=c11 -I"$prefix/include" -Iinclude -c -o "$out/uses.o" "$out/uses.c" \
    2>"$out/uses.log"; then
    fail "hipc/testing.h compiled against a $kind build"
  fi
  grep -q 'needs a hipc built with -DHIPC_FAULT_INJECTION=ON' "$out/uses.log" ||
    { cat "$out/uses.log"; fail "no clear #error from hipc/testing.h against a $kind build"; }
  echo "   no fault-plan symbol, no hipc/testing.h, and including it stops at its #error"
done

for kind in Release MinSizeRel; do
  echo "-- $kind with HIPC_FAULT_INJECTION=ON is refused"
  if cmake -S . -B "$out/refused-$kind" -DCMAKE_BUILD_TYPE="$kind" \
    -DHIPC_FAULT_INJECTION=ON -DHIPC_BUILD_TESTS=OFF >"$out/refused.log" 2>&1; then
    fail "$kind accepted HIPC_FAULT_INJECTION=ON"
  fi
  grep -q 'HIPC_FAULT_INJECTION=ON is for test and fuzz builds' "$out/refused.log" ||
    { cat "$out/refused.log"; fail "$kind refused for another reason"; }
done

echo "-- a build with HIPC_FAULT_INJECTION=ON has it all"
install_lib option -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHIPC_FAULT_INJECTION=ON
prefix=$out/option-prefix
[ -f "$prefix/include/hipc/testing.h" ] || fail "the option build does not install hipc/testing.h"
grep -q '^#define HIPC_TESTING 1' "$prefix/include/hipc/config.h" ||
  fail "the option build's hipc/config.h does not define HIPC_TESTING"
mapfile -t declared < <(grep -oE '\bhipc_testing_[a-z_]+ *\(' include/hipc/testing.h |
  tr -d ' (' | LC_ALL=C sort -u)
[ ${#declared[@]} -gt 0 ] || fail "no function found in hipc/testing.h"
defined=$(plan_in "$prefix/lib/libhipc.a")
for f in "${declared[@]}"; do
  grep -qx "$f" <<<"$defined" || fail "$f is declared but not in libhipc.a"
done
for f in hipc__sim_begin hipc__sim_on; do
  grep -qx "$f" <<<"$defined" || fail "the simulated kernel ($f) is not in libhipc.a"
done
echo "   hipc/testing.h installed; its ${#declared[@]} functions and the simulated kernel are in libhipc.a"

echo "-- the firmware daemon example, against that install"
if [ "$(id -u)" -eq 0 ]; then
  ns=(unshare --ipc)
else
  ns=(unshare --user --map-root-user --ipc)
fi
quiet cmake -S examples/daemon -B "$out/daemon" -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix"
quiet cmake --build "$out/daemon" -j "$jobs"
[ -x "$out/daemon/test_daemon" ] || fail "test_daemon was not built (cmocka missing? ci/deps.sh)"
"${ns[@]}" "$out/daemon/test_daemon" >"$out/test_daemon.log" 2>&1 ||
  { cat "$out/test_daemon.log"; fail "test_daemon failed"; }
grep -E 'PASSED' "$out/test_daemon.log" | sed 's/^/   /'
# The fuzzer steers by the coverage of hipc too: a second install of the
# option build, instrumented as a user's fuzz build would be.
echo "-- fuzz_daemon against an instrumented build with the option"
san=-fsanitize=fuzzer-no-link,address,undefined
install_lib option-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHIPC_FAULT_INJECTION=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_C_FLAGS="$san -fno-omit-frame-pointer"
quiet cmake -S examples/daemon -B "$out/daemon-fuzz" -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$out/option-fuzz-prefix" \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san"
quiet cmake --build "$out/daemon-fuzz" -j "$jobs" --target fuzz_daemon
mkdir -p "$out/fuzz/corpus" "$out/fuzz/artifacts"
cp examples/daemon/corpus/* "$out/fuzz/corpus/"
if ! "${ns[@]}" "$out/daemon-fuzz/fuzz_daemon" -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/fuzz/artifacts/" \
  "$out/fuzz/corpus" >"$out/fuzz.log" 2>&1; then
  tail -40 "$out/fuzz.log"
  fail "fuzz_daemon found a crash (see $out/fuzz/artifacts)"
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/fuzz.log")
cov=$(grep -oE 'cov: [0-9]+' "$out/fuzz.log" | tail -1)
echo "   fuzz_daemon: ${runs:-?} inputs in ${secs}s (${rate:-?}/s, ${cov:-cov: ?}), no crash"
echo "testing: release builds are clean; the option build and the daemon example work"
