#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Headers: every public header, as INSTALLED (config.h may be generated at
# the library's build), compiles alone and first in a translation unit,
# twice over (include guard), with no feature macro, as strict ISO C
# (gcc, clang, musl-gcc, arm-linux-gnueabihf-gcc, aarch64-linux-gnu-gcc at
# -std=c99, c11, c17) and as C++ (g++, clang++ at -std=c++11, c++17, c++20),
# with -pedantic-errors -Werror -Wall -Wextra. A C++ program then takes the
# address of every exported function a header declares and links against
# the installed library: a declaration outside extern "C" fails there. Last,
# a CMake consumer with C_STANDARD 11 and CMAKE_C_EXTENSIONS OFF builds and
# runs a program that includes <hipc/hipc.h>. hipc/testing.h, which only a
# build with -DHIPC_FAULT_INJECTION=ON installs, gets the same compiles and
# the C++ link against such an install.
# HIPC_HEADERS_OUT overrides the build directory (default build/headers).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${HIPC_HEADERS_OUT:-build/headers}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
rm -rf "$out"
mkdir -p "$out/tu"
jobs=$(nproc 2>/dev/null || echo 2)
quiet() { "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log"; return 1; }; }

echo "-- install the library alone into $out/prefix"
quiet cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF \
  -DHIPC_BUILD_TOOLS=OFF -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_INSTALL_INCLUDEDIR=include
quiet cmake --build "$out/build" -j "$jobs"
quiet cmake --install "$out/build" --prefix "$out/prefix"
inc=$out/prefix/include
mapfile -t headers < <(cd "$inc" && find hipc -name '*.h' | LC_ALL=C sort)
[ ${#headers[@]} -gt 0 ] || { echo "headers: none installed" >&2; exit 1; }

for h in "${headers[@]}"; do
  tu=$out/tu/$(basename "$h" .h)
  # A header of macros alone leaves ISO C's translation unit empty: the
  # declaration after it is the unit's own.
  printf '#include <%s>\n#include <%s>\ntypedef int hipc_headers_tu;\n' \
    "$h" "$h" >"$tu.c"
  cp "$tu.c" "$tu.cpp"
done

warn=(-pedantic-errors -Werror -Wall -Wextra)
compilers=0
compiles=0
failed=0
check() { # compiler lang std...
  local cc=$1 lang=$2 ext=c
  shift 2
  [ "$lang" = c++ ] && ext=cpp
  if ! command -v "$cc" >/dev/null; then
    echo "headers: $cc not found (ci/deps.sh full installs it)" >&2
    failed=$((failed + 1))
    return
  fi
  compilers=$((compilers + 1))
  local std h
  for std in "$@"; do
    for h in "${headers[@]}"; do
      compiles=$((compiles + 1))
      if ! "$cc" -x "$lang" "-std=$std" "${warn[@]}" -I"$inc" -fsyntax-only \
        "$out/tu/$(basename "$h" .h).$ext" >"$out/last.log" 2>&1; then
        echo "headers: FAIL $cc -std=$std: $h" >&2
        sed 's/^/    /' "$out/last.log" >&2
        failed=$((failed + 1))
      fi
    done
  done
}

echo "-- each header alone, first in its translation unit"
for cc in gcc clang musl-gcc arm-linux-gnueabihf-gcc aarch64-linux-gnu-gcc; do
  check "$cc" c c99 c11 c17
done
for cxx in g++ clang++; do
  check "$cxx" c++ c++11 c++17 c++20
done
echo "headers: ${#headers[@]} headers x $compilers compilers: $compiles compiles, $failed failed"

# hipc/testing.h is installed only by a build with the fault plan (test
# and fuzz builds): the same checks, against such an install.
echo "-- hipc/testing.h alone, installed by a build with HIPC_FAULT_INJECTION=ON"
quiet cmake -S . -B "$out/build-testing" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHIPC_FAULT_INJECTION=ON -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF -DHIPC_BUILD_TOOLS=OFF -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_INSTALL_INCLUDEDIR=include
quiet cmake --build "$out/build-testing" -j "$jobs"
quiet cmake --install "$out/build-testing" --prefix "$out/prefix-testing"
[ -f "$out/prefix-testing/include/hipc/testing.h" ] ||
  { echo "headers: FAIL hipc/testing.h not installed with the option" >&2; exit 1; }
main_inc=$inc
main_headers=("${headers[@]}")
inc=$out/prefix-testing/include
headers=(hipc/testing.h)
printf '#include <%s>\n#include <%s>\ntypedef int hipc_headers_tu;\n' \
  hipc/testing.h hipc/testing.h >"$out/tu/testing.c"
cp "$out/tu/testing.c" "$out/tu/testing.cpp"
compilers=0 compiles=0 failed_before=$failed
for cc in gcc clang musl-gcc arm-linux-gnueabihf-gcc aarch64-linux-gnu-gcc; do
  check "$cc" c c99 c11 c17
done
for cxx in g++ clang++; do
  check "$cxx" c++ c++11 c++17 c++20
done
echo "headers: hipc/testing.h x $compilers compilers: $compiles compiles, $((failed - failed_before)) failed"
mapfile -t tfuncs < <(grep -oE '\bhipc_testing_[a-z_]+ *\(' "$inc/hipc/testing.h" |
  tr -d ' (' | LC_ALL=C sort -u)
{
  echo '#include <hipc/testing.h>'
  echo 'typedef void (*fn)(void);'
  echo 'static volatile fn table[] = {'
  printf '    reinterpret_cast<fn>(&%s),\n' "${tfuncs[@]}"
  echo '};'
  echo 'int main() { return table[0] == nullptr; }'
} >"$out/link-testing.cpp"
for cxx in g++ clang++; do
  command -v "$cxx" >/dev/null || continue
  if "$cxx" -std=c++11 "${warn[@]}" -I"$inc" -o "$out/link-testing-$cxx" \
    "$out/link-testing.cpp" "$out/prefix-testing/lib/libhipc.a" >"$out/last.log" 2>&1 &&
    "$out/link-testing-$cxx"; then
    echo "headers: $cxx linked the ${#tfuncs[@]} functions of hipc/testing.h"
  else
    echo "headers: FAIL $cxx: hipc/testing.h's functions from C++:" >&2
    sed 's/^/    /' "$out/last.log" >&2
    failed=$((failed + 1))
  fi
done
inc=$main_inc
headers=("${main_headers[@]}")

echo "-- C++ links every exported function a header declares (extern \"C\")"
lib=$out/prefix/lib/libhipc.a
mapfile -t exported < <(nm -g --defined-only "$lib" |
  awk '$2 == "T" && $3 ~ /^hipc_[a-z]/ { print $3 }' | LC_ALL=C sort -u)
declared=()
for f in "${exported[@]}"; do
  grep -qw "$f" "$inc"/hipc/*.h && declared+=("$f")
done
[ ${#declared[@]} -gt 0 ] || { echo "headers: no declared function found" >&2; exit 1; }
{
  echo '#include <hipc/hipc.h>'
  echo 'typedef void (*fn)(void);'
  echo 'static volatile fn table[] = {'
  printf '    reinterpret_cast<fn>(&%s),\n' "${declared[@]}"
  echo '};'
  echo 'int main() { return table[0] == nullptr; }'
} >"$out/link.cpp"
for cxx in g++ clang++; do
  command -v "$cxx" >/dev/null || continue
  if "$cxx" -std=c++11 "${warn[@]}" -I"$inc" -o "$out/link-$cxx" \
    "$out/link.cpp" "$lib" >"$out/last.log" 2>&1 && "$out/link-$cxx"; then
    echo "headers: $cxx linked ${#declared[@]} functions"
  else
    undefined=$(grep -o 'undefined reference to `[^(]*' "$out/last.log" |
      sed 's/undefined reference to `/    /' | sort -u || true)
    if [ -n "$undefined" ]; then
      echo "headers: FAIL $cxx: functions declared without C linkage:" >&2
      echo "$undefined" >&2
    else
      echo "headers: FAIL $cxx: the C++ program did not build or run:" >&2
      sed 's/^/    /' "$out/last.log" >&2
    fi
    failed=$((failed + 1))
  fi
done

echo "-- CMake consumer: C_STANDARD 11, CMAKE_C_EXTENSIONS OFF"
mkdir -p "$out/consumer"
cat >"$out/consumer/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(hipc_strict_consumer LANGUAGES C)
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)
find_package(hipc CONFIG REQUIRED)
add_executable(app app.c)
target_compile_options(app PRIVATE -pedantic-errors -Werror -Wall -Wextra)
target_link_libraries(app PRIVATE hipc::hipc)
EOF
cat >"$out/consumer/app.c" <<'EOF'
#include <hipc/hipc.h>
#include <stdio.h>

int main(void)
{
    printf("strict consumer: hipc %s\n", hipc_version_string());
    return hipc_version() == HIPC_VERSION ? 0 : 1;
}
EOF
if quiet cmake -S "$out/consumer" -B "$out/consumer/build" \
  -DCMAKE_PREFIX_PATH="$out/prefix" &&
  quiet cmake --build "$out/consumer/build" &&
  grep -q -- '-std=c11' "$out/consumer/build/CMakeFiles/app.dir/flags.make" &&
  "$out/consumer/build/app"; then
  :
else
  echo "headers: FAIL the strict CMake consumer (-std=c11, no extensions)" >&2
  failed=$((failed + 1))
fi

[ "$failed" -eq 0 ] || { echo "headers: $failed failure(s)" >&2; exit 1; }
echo "headers: all ${#headers[@]} installed headers passed"
