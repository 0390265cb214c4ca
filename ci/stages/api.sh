#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# API record: a later unintended change to hipc's public interface fails
# here. The library is built alone and installed, and ci/api/api.py
# describes what a program sees of it: the exported symbols of libhipc.a,
# every public function's type, and (per architecture) the size and field
# offsets of every public struct and the values of the public enums and
# macros. That description must equal the one recorded in ci/api/.
#
#   bash ci/stages/api.sh            compare (CI)
#   bash ci/stages/api.sh --update   accept the current API into ci/api/
#
# Layouts are recorded per architecture: this machine's (uname -m, x86_64
# in CI) and, on x86_64, armhf's and aarch64's, whose programs are built
# with Debian's cross compilers and run under qemu-user (skipped, saying
# so, where those are not installed). On another machine the stage fails
# until its layout is recorded with --update.
set -euo pipefail
cd "$(dirname "$0")/../.."
update=no
case "${1:-}" in
  --update) update=yes ;;
  "") ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac
out=build/api
arch=$(uname -m)
jobs=$(nproc 2>/dev/null || echo 2)
fail() { echo "api: $*" >&2; exit 1; }
quiet() { "$@" >"$out.log" 2>&1 || { cat "$out.log"; return 1; }; }
mkdir -p build
rm -rf "$out"

quiet cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF -DHIPC_INSTALL=ON -DCMAKE_INSTALL_PREFIX="$PWD/$out/prefix"
quiet cmake --build "$out/build" -j "$jobs"
quiet cmake --install "$out/build"
python3 ci/api/api.py "$out/prefix" "$out/now" "$arch"
files=(symbols.txt functions.txt "layout-$arch.txt")

# The 32-bit and the other 64-bit layout, from the same headers, compiled
# by Debian's cross compilers and run under qemu-user (as cross.sh does).
declare -A cross=(
  [armhf]="arm-linux-gnueabihf-gcc qemu-arm -L /usr/arm-linux-gnueabihf"
  [aarch64]="aarch64-linux-gnu-gcc qemu-aarch64 -L /usr/aarch64-linux-gnu"
)
if [ "$arch" = x86_64 ]; then
  for t in armhf aarch64; do
    read -r cc emu <<<"${cross[$t]}"
    if ! command -v "$cc" >/dev/null || ! command -v "${emu%% *}" >/dev/null; then
      echo "api: SKIPPED the $t layout: $cc or ${emu%% *} is not installed (ci/deps.sh full)"
      continue
    fi
    CC=$cc HIPC_API_RUN=$emu python3 ci/api/api.py "$out/prefix" "$out/$t" "$t"
    cp "$out/$t/layout-$t.txt" "$out/now/"
    files+=("layout-$t.txt")
  done
fi

# A declared function the library does not define fails a user's link.
cut -d: -f1 "$out/now/functions.txt" | LC_ALL=C sort >"$out/declared"
awk '$2 == "func" {print $1}' "$out/now/symbols.txt" | LC_ALL=C sort >"$out/defined"
missing=$(LC_ALL=C comm -23 "$out/declared" "$out/defined")
[ -z "$missing" ] || fail "declared in a public header but not defined: $missing"
extra=$(LC_ALL=C comm -13 "$out/declared" "$out/defined" | tr '\n' ' ')
[ -z "$extra" ] || echo "api: note: exported but declared in no public header: $extra"

if [ "$update" = yes ]; then
  for f in "${files[@]}"; do cp "$out/now/$f" "ci/api/$f"; done
  echo "api: recorded ${files[*]} in ci/api/; commit them with the change"
  exit 0
fi
changed=0
for f in "${files[@]}"; do
  if [ ! -f "ci/api/$f" ]; then
    echo "api: ci/api/$f is not recorded yet"
    changed=1
  elif ! diff -u "ci/api/$f" "$out/now/$f"; then
    changed=1
  fi
done
if [ "$changed" -ne 0 ]; then
  echo "api: the public API differs from the record in ci/api/ (- recorded, + now)."
  echo "api: if the change is intended, accept it and commit ci/api/ with it:"
  echo "api:     bash ci/stages/api.sh --update"
  exit 1
fi
echo "api: $(wc -l <"$out/now/symbols.txt") symbols, $(wc -l <"$out/now/functions.txt") functions" \
  "and the layouts (${files[*]:2}) match ci/api/"
