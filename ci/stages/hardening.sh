#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening: builds the library and the programs the way a release is built
# (gcc, -O2) and proves on the binaries, with readelf, that
#   every library object  has -fstack-protector-strong, -fstack-clash-protection
#                         and -fcf-protection=full (DW_AT_producer), was compiled
#                         with _FORTIFY_SOURCE=3 (-g3 macro table) and carries
#                         the x86 IBT+SHSTK property note;
#   the library           calls __stack_chk_fail somewhere (the protector is live);
#   every program         is PIE, has a GNU_RELRO segment and BIND_NOW (full RELRO).
# Debian's crt files carry no CET note, so linked programs lose IBT/SHSTK;
# that is checked on the library objects only.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/hardening
mkdir -p build
jobs=$(nproc 2>/dev/null || echo 2)
fail() { echo "hardening: $*" >&2; exit 1; }

cmake -S . -B "$out" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g3" -DHIPC_WERROR=ON \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF \
  -DHIPC_BUILD_TOOLS=ON -DHIPC_HARDEN=ON >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }
cmake --build "$out" -j "$jobs" >"$out.log" 2>&1 || { cat "$out.log"; exit 1; }

objs=$out/objs
rm -rf "$objs" && mkdir -p "$objs"
(cd "$objs" && ar x ../lib/libhipc.a)
n=0
for o in "$objs"/*.o; do
  name=$(basename "$o")
  # A module compiled out in this configuration (fault.c outside the
  # fault-injection build) is an empty object with nothing to check.
  if [ -z "$(nm --defined-only "$o")" ]; then
    echo "hardening: $name is empty in this build, skipped"
    continue
  fi
  # readelf's output is kept whole: grep -q closing the pipe early would
  # make readelf fail under pipefail.
  info=$(readelf --debug-dump=info "$o")
  producer=$(grep -m1 DW_AT_producer <<<"$info")
  for flag in -fstack-protector-strong -fstack-clash-protection -fcf-protection=full; do
    grep -q -- "$flag" <<<"$producer" || fail "$name: built without $flag"
  done
  macros=$(readelf --debug-dump=macro "$o")
  grep -q 'macro : _FORTIFY_SOURCE 3 *$' <<<"$macros" ||
    fail "$name: built without _FORTIFY_SOURCE=3"
  notes=$(readelf -n "$o")
  grep -q 'x86 feature: IBT, SHSTK' <<<"$notes" ||
    fail "$name: no IBT/SHSTK property note"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "libhipc.a has no objects"
syms=$(nm "$out/lib/libhipc.a")
grep -q ' U __stack_chk_fail$' <<<"$syms" ||
  fail "no library function is stack-protected"
fortified=$(grep -c ' U __.*_chk$' <<<"$syms" || true)
echo "hardening: $n library objects checked ($fortified fortified libc calls)"

programs=()
for dir in "$out/tools" "$out/examples"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' p; do programs+=("$p"); done < <(
    find "$dir" -maxdepth 1 -type f -perm -u+x -print0)
done
if [ -n "$(ls tools/*.c 2>/dev/null)" ] && [ ! -x "$out/tools/hipcctl" ]; then
  fail "tools/ has sources but hipcctl was not built"
fi
for p in "${programs[@]}"; do
  name=$(basename "$p")
  hdr=$(readelf -h "$p") dyn=$(readelf -d "$p") seg=$(readelf -lW "$p")
  grep -q 'Type: *DYN' <<<"$hdr" || fail "$name: not PIE"
  grep -q 'FLAGS_1.*PIE' <<<"$dyn" || fail "$name: not PIE"
  grep -q GNU_RELRO <<<"$seg" || fail "$name: no RELRO segment"
  grep -Eq 'BIND_NOW|FLAGS_1.* NOW' <<<"$dyn" ||
    fail "$name: lazy binding (RELRO is partial)"
  echo "hardening: $name is PIE with full RELRO"
done
[ ${#programs[@]} -gt 0 ] || echo "hardening: no programs built yet (tools/ and examples/ are empty)"
echo "hardening: passed"
