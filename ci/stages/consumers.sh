#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Consumers: what a user of hipc does first, on a machine that has a C
# compiler and CMake and nothing else.
#
#  1. The README's install recipe, word for word, with cmocka hidden and a
#     PATH that holds only cmake, make, the C compiler and the binutils it
#     drives. It must build and install the library, hipcctl, the headers
#     (with the generated hipc/config.h), the CMake and pkg-config packages
#     and the licence, and say how to get the tests; -DHIPC_BUILD_TESTS=ON
#     must then stop with the package to install.
#     cmocka is hidden by a private mount namespace (unshare --mount): every
#     directory under /usr and /usr/local that holds a cmocka file gets an
#     overlay whose upper layer (a tmpfs) deletes those files, so neither
#     the compiler, the linker nor CMake can see them; the stage checks that
#     cc cannot include <cmocka.h> nor link -lcmocka before it goes on.
#  2. Limits are fixed at the library's build: a consumer that defines one
#     fails to compile with the header's message, a bad value fails at
#     configure time, and a library built with -DHIPC_MAX_MSG_BYTES=1024
#     shows 1024 to its consumers and enforces it.
#  3. The prefix of step 1, moved elsewhere (installs are relocatable), is
#     used with find_package and pkg-config; the source tree with
#     add_subdirectory (the parent choosing a limit, which the embedded
#     library then has); and a release archive made here with FetchContent,
#     in the README's exact form (URL + URL_HASH).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
if [ -z "${HIPC_CONSUMERS_IN_NS:-}" ]; then
  ns=(unshare --mount --propagation private)
  [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --mount --propagation private)
  exec env HIPC_CONSUMERS_IN_NS=1 "${ns[@]}" bash "$0" "$@"
fi
out=$root/build/consumers
rm -rf "$out"
mkdir -p "$out"
jobs=$(nproc 2>/dev/null || echo 2)
strict=(-DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror")
fail() { echo "consumers: $*" >&2; exit 1; }
quiet() { "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log"; return 1; }; }
version=$(sed -n 's/^project(hipc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
major=${version%%.*}
[ -n "$version" ] || fail "no version in CMakeLists.txt's project()"

echo "-- hide cmocka (mount namespace, overlays over its directories)"
hide=$out/hide
mkdir -p "$hide"
mount -t tmpfs hipc-consumers "$hide"
mapfile -t found < <(find /usr/include /usr/local/include /usr/lib /usr/lib64 \
  /usr/local/lib -maxdepth 3 \( -name 'cmocka*' -o -name 'libcmocka*' \) \
  2>/dev/null | LC_ALL=C sort)
# Parents before children: an overlay mounted over a directory that already
# holds one would shadow it (overlayfs does not see mounts below its lower
# directory), and a child inside an overlaid parent needs none of its own.
mapfile -t dirs < <(for f in "${found[@]}"; do dirname "$f"; done | LC_ALL=C sort -u |
  awk '{ print length($0), $0 }' | sort -n -s | cut -d' ' -f2-)
mounted=()
for d in "${dirs[@]}"; do
  inside=
  for m in "${mounted[@]}"; do
    case "$d/" in "$m"/*) inside=1 ;; esac
  done
  [ -z "$inside" ] || continue
  n=${#mounted[@]}
  mkdir -p "$hide/up$n" "$hide/work$n"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$hide/up$n,workdir=$hide/work$n" "$d"
  mounted+=("$d")
done
# Deleted in the overlays' upper layers only: the real files stay.
for f in "${found[@]}"; do rm -rf "$f"; done
echo 'int main(void) { return 0; }' >"$out/empty.c"
if echo '#include <cmocka.h>' | cc -E -x c - >/dev/null 2>&1 ||
  cc -o "$out/empty" "$out/empty.c" -lcmocka >/dev/null 2>&1; then
  fail "cmocka is still visible to cc after hiding ${#found[@]} file(s)"
fi
echo "consumers: ${#found[@]} cmocka file(s) hidden in ${#mounted[@]} director(y/ies)"

# Only what the README says is needed: CMake, a make, the C compiler and
# the binutils gcc runs (as, ld) and CMake uses for a static library.
tools=$out/tools
mkdir -p "$tools"
for t in cmake make cc as ld ar ranlib; do
  p=$(command -v "$t") || fail "$t not found"
  ln -s "$p" "$tools/$t"
done
bare() { env -i HOME="$out" PATH="$tools" "$@"; }

echo "-- README install recipe (library, hipcctl, no cmocka, PATH=cmake make cc binutils)"
recipe=$out/recipe
mkdir -p "$recipe"
ln -s "$root" "$recipe/hipc"
staged=$recipe/staged
(
  cd "$recipe"
  bare cmake -S hipc -B build/hipc -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$staged"
  bare cmake --build build/hipc && bare cmake --install build/hipc
) >"$out/recipe.log" 2>&1 || { cat "$out/recipe.log"; fail "the README recipe failed"; }
grep -q 'cmocka not found.*libcmocka-dev' "$out/recipe.log" ||
  { cat "$out/recipe.log"; fail "the recipe did not say why the tests were skipped"; }
[ ! -e "$recipe/build/hipc/tests" ] || fail "tests were configured without cmocka"
libdir=lib
[ -f "$staged/lib/libhipc.a" ] || libdir=$(cd "$staged" && dirname "$(find . -name libhipc.a | head -n1)")
for f in $libdir/libhipc.a include/hipc/hipc.h include/hipc/error.h \
  include/hipc/config.h bin/hipcctl share/doc/hipc/LICENSE \
  $libdir/cmake/hipc/hipcConfig.cmake $libdir/cmake/hipc/hipcConfigVersion.cmake \
  $libdir/cmake/hipc/hipcTargets.cmake $libdir/pkgconfig/hipc.pc; do
  [ -f "$staged/$f" ] || fail "$f not installed"
done
if [ -f man/hipcctl.1 ]; then
  [ -f "$staged/share/man/man1/hipcctl.1" ] || fail "share/man/man1/hipcctl.1 not installed"
fi
cmp -s LICENSE "$staged/share/doc/hipc/LICENSE" || fail "the installed LICENSE differs"
# Private headers (lib/*.h) must never be installed.
if find "$staged" -name sys.h -o -name internal.h -o -name fault.h | grep -q .; then
  fail "a private header was installed"
fi
"$staged/bin/hipcctl" ls >/dev/null || fail "the installed hipcctl does not run"
echo "consumers: installed $(cd "$staged" && find . -type f | wc -l) files, hipcctl runs"

echo "-- -DHIPC_BUILD_TESTS=ON without cmocka stops and names the package"
if bare cmake -S . -B "$out/tests-on" -DHIPC_BUILD_TESTS=ON >"$out/tests-on.log" 2>&1; then
  fail "HIPC_BUILD_TESTS=ON configured without cmocka"
fi
grep -q 'libcmocka-dev' "$out/tests-on.log" || { cat "$out/tests-on.log"; fail "no package named"; }

# A prefix that is moved after installation must still work.
mv "$staged" "$out/prefix"
prefix=$out/prefix

echo "-- a consumer cannot redefine a limit"
for limit in HIPC_MAX_MSG_BYTES HIPC_SHM_CREATE_RETRIES HIPC_CHAN_MAX_CAPACITY \
  HIPC_INSPECT_LINE_MAX; do
  if cc -std=c11 -I "$prefix/include" "-D$limit=1024" -c tests/consumers/app.c \
    -o "$out/redefined.o" >"$out/redefined.log" 2>&1; then
    fail "a consumer compiled with -D$limit=1024"
  fi
  grep -q "#error \"$limit is fixed when hipc is built" "$out/redefined.log" ||
    { cat "$out/redefined.log"; fail "-D$limit failed without the header's message"; }
done
grep -m1 'error:' "$out/redefined.log" | sed 's/^/consumers: as expected: /'

echo "-- limits are checked at configure time"
for bad in HIPC_MAX_MSG_BYTES=0 HIPC_MAX_MSG_BYTES=2147483648 HIPC_MAX_MSG_BYTES=0x400 \
  HIPC_CHAN_MAX_CAPACITY=1000 HIPC_CHAN_MAX_CAPACITY=32 HIPC_CHAN_MAX_CAPACITY=4294967296 \
  HIPC_SHM_CREATE_RETRIES=0 HIPC_INSPECT_LINE_MAX=100; do
  if cmake -S . -B "$out/bad" "-D$bad" -DHIPC_BUILD_TESTS=OFF \
    >"$out/bad.log" 2>&1; then
    fail "-D$bad was accepted"
  fi
  grep -q "${bad%%=*}=${bad#*=}: must" "$out/bad.log" || { cat "$out/bad.log"; fail "-D$bad: no reason given"; }
  rm -rf "$out/bad"
done

echo "-- a library built with -DHIPC_MAX_MSG_BYTES=1024 says and enforces 1024"
quiet cmake -S . -B "$out/small" -DCMAKE_BUILD_TYPE=Release -DHIPC_MAX_MSG_BYTES=1024 \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_INCLUDEDIR=include
quiet cmake --build "$out/small" -j "$jobs"
quiet cmake --install "$out/small" --prefix "$out/small-prefix"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I "$out/small-prefix/include" \
  -DHIPC_EXPECT_MAX_MSG_BYTES=1024 -o "$out/limits" tests/consumers/limits/limits.c \
  "$out/small-prefix/lib/libhipc.a"
"$out/limits"
# And the default build says its own default, not 1024.
cc -std=c11 -I "$prefix/include" -DHIPC_EXPECT_MAX_MSG_BYTES=16777216 \
  -o "$out/limits-default" tests/consumers/limits/limits.c "$prefix/$libdir/libhipc.a"
"$out/limits-default"

echo "-- find_package(hipc $major.0 CONFIG)"
quiet cmake -S tests/consumers/find_package -B "$out/find_package" \
  -DCMAKE_PREFIX_PATH="$prefix" -DHIPC_WANT="$major.0" "${strict[@]}"
quiet cmake --build "$out/find_package"
"$out/find_package/app"

echo "-- find_package refuses another major version ($((major + 1)).0)"
if cmake -S tests/consumers/find_package -B "$out/find_package_next" \
  -DCMAKE_PREFIX_PATH="$prefix" -DHIPC_WANT="$((major + 1)).0" >"$out/next.log" 2>&1; then
  fail "find_package(hipc $((major + 1)).0) accepted version $version"
fi
grep -q "considered but not accepted" "$out/next.log" || { cat "$out/next.log"; exit 1; }

echo "-- pkg-config"
mkdir -p "$out/pkgconfig"
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" \
  quiet make -C tests/consumers/pkgconfig OUT="$out/pkgconfig"
"$out/pkgconfig/app"

echo "-- add_subdirectory, the parent choosing HIPC_MAX_MSG_BYTES=4096"
quiet cmake -S tests/consumers/subdirectory -B "$out/subdirectory" \
  -DHIPC_SOURCE_DIR="$root" -DHIPC_MAX_MSG_BYTES=4096 "${strict[@]}"
quiet cmake --build "$out/subdirectory" -j "$jobs"
"$out/subdirectory/app"
"$out/subdirectory/limits"

echo "-- FetchContent: URL + URL_HASH of a release archive"
# The archive holds what git would ship (tracked and new, not ignored
# files) under one top directory, as `git archive --prefix` makes it.
top=hipc-$version
archive=$out/$top.tar.gz
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$root" ]; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - --transform "s,^,$top/," -czf "$archive"
else
  tar --exclude=./build --transform "s,^\./,$top/," -czf "$archive" .
fi
sha=$(sha256sum "$archive" | cut -d' ' -f1)
fc=$out/fetchcontent-src
mkdir -p "$fc"
sed -e "s|@HIPC_URL@|file://$archive|" -e "s|@HIPC_SHA256@|$sha|" \
  -e "s|@HIPC_CONSUMERS@|$root/tests/consumers|" \
  tests/consumers/fetchcontent/CMakeLists.txt.in >"$fc/CMakeLists.txt"
! grep -q '@HIPC_' "$fc/CMakeLists.txt" || fail "fetchcontent: a placeholder was left"
sed -n '/^# --- README ---$/,/^# --- end ---$/p' "$fc/CMakeLists.txt" | sed '1d;$d' |
  sed 's/^/    /'
quiet cmake -S "$fc" -B "$out/fetchcontent" "${strict[@]}"
! grep -q 'CMake Warning' "$out/last.log" || { cat "$out/last.log"; fail "fetchcontent: CMake warned"; }
quiet cmake --build "$out/fetchcontent" -j "$jobs"
"$out/fetchcontent/firmware"

echo "consumers: README recipe without cmocka, limits, find_package, pkg-config, add_subdirectory and FetchContent passed"
