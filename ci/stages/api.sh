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
# Layouts are recorded per architecture (uname -m); only x86_64's is today.
# On another machine the stage fails until its layout is recorded with
# --update; armhf and aarch64 could be added by running api.py's program
# under qemu-user as ci/stages/cross.sh does.
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

# A declared function the library does not define fails a user's link.
cut -d: -f1 "$out/now/functions.txt" | LC_ALL=C sort >"$out/declared"
awk '$2 == "func" {print $1}' "$out/now/symbols.txt" | LC_ALL=C sort >"$out/defined"
missing=$(LC_ALL=C comm -23 "$out/declared" "$out/defined")
[ -z "$missing" ] || fail "declared in a public header but not defined: $missing"
extra=$(LC_ALL=C comm -13 "$out/declared" "$out/defined" | tr '\n' ' ')
[ -z "$extra" ] || echo "api: note: exported but declared in no public header: $extra"

files=(symbols.txt functions.txt "layout-$arch.txt")
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
  "and the $arch layout ($(wc -l <"$out/now/layout-$arch.txt") lines) match ci/api/"
