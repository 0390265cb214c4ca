#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Size budget: builds libhipc.a as shipped (Release, default options) for
# x86_64, armhf, aarch64 and x86_64-musl, and reports per target
#   text, data  of the archive (binutils size, summed over its objects),
#   stack       the worst stack depth reachable from a public entry point
#               (hipc_* minus the internal hipc__* (the syscall seam included) and
#               hipc_fault_*): gcc -fcallgraph-info=su gives every frame and
#               call edge, and the deepest chain inside the library counts.
#               Calls into libc and through function pointers count as 0
#               (they are listed), recursion fails the check.
# Each figure must stay within ci/size-budget.txt; see that file for how
# to raise a limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mkdir -p build
jobs=$(nproc 2>/dev/null || echo 2)
budget=ci/size-budget.txt
declare -A tool=([armhf]=cmake/toolchains/armhf.cmake
                 [aarch64]=cmake/toolchains/aarch64.cmake [musl]=cmake/toolchains/musl.cmake)
declare -A binutils=([x86_64]="" [armhf]=arm-linux-gnueabihf- [aarch64]=aarch64-linux-gnu- [musl]="")

report=build/size-report.txt
: >"$report"
for t in x86_64 armhf aarch64 musl; do
  out=build/size-$t
  args=()
  [ "$t" = x86_64 ] || args=(-DCMAKE_TOOLCHAIN_FILE="$root/${tool[$t]}")
  cmake -S . -B "$out" "${args[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="-fcallgraph-info=su" -DHIPC_BUILD_TESTS=OFF \
    -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF \
    -DHIPC_INSTALL=OFF >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }
  cmake --build "$out" -j "$jobs" --target hipc >"$out.log" 2>&1 ||
    { cat "$out.log"; exit 1; }
  read -r text data _ < <("${binutils[$t]}size" -t "$out/lib/libhipc.a" | tail -n1)
  stack=$(python3 ci/stack_depth.py "${binutils[$t]}nm" "$out/lib/libhipc.a" \
          "$out/lib/CMakeFiles/hipc.dir" "$out/stack.txt")
  echo "$t text $text data $data stack $stack" | tee -a "$report"
done

fail=0
while read -r t _ text _ data _ stack; do
  limits=$(awk -v t="$t" '$1 == t { print $2, $3, $4 }' "$budget")
  [ -n "$limits" ] || { echo "size: no budget for $t in $budget" >&2; fail=1; continue; }
  read -r max_text max_data max_stack <<<"$limits"
  for what in text data stack; do
    eval "v=\$$what max=\$max_$what"
    # shellcheck disable=SC2154
    if [ "$v" -gt "$max" ]; then
      echo "size: $t $what $v exceeds the budget of $max ($budget)" >&2
      fail=1
    fi
  done
done <"$report"
[ $fail -eq 0 ] || { echo "size: deepest chains are in build/size-*/stack.txt" >&2; exit 1; }
echo "size: every target within $budget"
