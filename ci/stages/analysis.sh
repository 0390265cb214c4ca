#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Static analysis of lib/ and tools/: clang-tidy (.clang-tidy), cppcheck
# (ci/cppcheck.supp) and gcc -fanalyzer (as errors). Any finding fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build
jobs=$(nproc 2>/dev/null || echo 2)
out=build/analysis
fail=0

cmake -S . -B "$out" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DHIPC_BUILD_TESTS=OFF \
  -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF -DHIPC_BUILD_TOOLS=ON \
  >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }

echo "-- clang-tidy $(clang-tidy --version | grep -o 'version [0-9.]*')"
# Three checks are off for tools/ only, for the reasons in .clang-tidy; the
# library gets every check.
tidy() {
  clang-tidy -p "$out" --quiet "$@" 2>/dev/null
}
export -f tidy
export out
{
  printf '%s\n' lib/*.c | xargs -P "$jobs" -n 2 bash -c 'tidy "$@"' _
  printf '%s\n' tools/*.c | xargs -P "$jobs" -n 2 bash -c \
    'tidy --checks=-cert-err33-c,-bugprone-suspicious-include,-clang-analyzer-valist.Uninitialized "$@"' _
} >"$out-tidy.txt" || true
if grep -q 'warning:\|error:' "$out-tidy.txt"; then
  cat "$out-tidy.txt"
  fail=1
fi

echo "-- cppcheck $(cppcheck --version | cut -d' ' -f2)"
cppcheck --project="$out/compile_commands.json" -j "$jobs" --quiet \
  --enable=warning,style,performance,portability --inline-suppr \
  --suppress=missingIncludeSystem --suppressions-list=ci/cppcheck.supp \
  --error-exitcode=1 \
  --template='{file}:{line}: {severity}: {message} [{id}]' || fail=1

echo "-- gcc -fanalyzer"
cmake -S . -B "$out-gcc" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS=-fanalyzer -DHIPC_WERROR=ON -DHIPC_BUILD_TESTS=OFF \
  -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF -DHIPC_BUILD_TOOLS=ON \
  >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }
cmake --build "$out-gcc" -j "$jobs" >"$out.log" 2>&1 || { grep -A8 'warning:\|error:' "$out.log"; fail=1; }

[ $fail -eq 0 ] || { echo "analysis: findings above" >&2; exit 1; }
echo "analysis: clang-tidy, cppcheck and gcc -fanalyzer found nothing"
