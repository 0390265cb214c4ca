#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# README: every ```sh, ```c and ```cmake block of README.md is run or built
# exactly as written (ci/readme/extract.py takes them out), in file order:
# - sh: run by bash -euo pipefail in a scratch directory that holds the
#   checkout as hipc/ (a link), so install prefixes land in the scratch
#   directory;
# - c: a whole program, compiled against an installed hipc (found through
#   its hipc.pc) with -std=c11 -Wall -Wextra -Werror, then run in a private
#   IPC namespace, which must hold no segment when it ends;
# - cmake: the tail of a consumer project whose head declares the
#   executable `firmware` (tests/consumers/app.c); configured, built against
#   the installed prefix, the checkout as third_party/hipc and an archive
#   of it in HIPC_ARCHIVE/HIPC_ARCHIVE_SHA256, and run.
# A block marked <!-- readme-stage: skip: <reason> --> is reported with its
# reason and not run. HIPC_README_OUT overrides the work directory
# (default build/readme).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=${HIPC_README_OUT:-build/readme}
case "$out" in /*) ;; *) out=$root/$out ;; esac
rm -rf "$out"
mkdir -p "$out/blocks" "$out/scratch/third_party"
scratch=$out/scratch
ln -s "$root" "$scratch/hipc"
ln -s "$root" "$scratch/third_party/hipc"
jobs=$(nproc 2>/dev/null || echo 2)
quiet() { "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log"; return 1; }; }

echo "-- install the library alone into $out/prefix"
quiet cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
  -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF \
  -DHIPC_BUILD_TOOLS=OFF -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_INSTALL_INCLUDEDIR=include
quiet cmake --build "$out/build" -j "$jobs"
quiet cmake --install "$out/build" --prefix "$out/prefix"
prefix=$out/prefix
mapfile -t hipc_flags < <(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
  pkg-config --cflags --libs --static hipc | tr ' ' '\n' | grep .)

# FetchContent blocks take hipc as an archive of what git would ship.
archive=$out/hipc-src.tar.gz
if git rev-parse --show-toplevel >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --transform 's,^,hipc/,' -czf "$archive"
else
  tar --exclude=./build --transform 's,^\./,hipc/,' -czf "$archive" .
fi
sha=$(sha256sum "$archive" | cut -d' ' -f1)

python3 ci/readme/extract.py README.md "$out/blocks"

# A private IPC namespace: plain as root, inside a user namespace otherwise.
ipcns=(unshare --ipc)
[ "$(id -u)" -eq 0 ] || ipcns=(unshare --user --map-root-user --ipc)

run_sh() { # n
  (cd "$scratch" && bash -euo pipefail "$out/blocks/$1.sh") >"$out/$1.log" 2>&1
}

run_c() { # n: build, then run with a check of the namespace it leaves
  cc -std=c11 -Wall -Wextra -Werror -o "$out/$1" "$out/blocks/$1.c" \
    "${hipc_flags[@]}" >"$out/$1.log" 2>&1 || return 1
  # shellcheck disable=SC2016 # expanded by the inner shell
  "${ipcns[@]}" sh -c '"$1"; rc=$?
    left=$(tail -n +2 /proc/sysvipc/shm)
    [ -z "$left" ] || { echo "segments left behind:"; echo "$left"; exit 1; }
    exit $rc' sh "$out/$1" >>"$out/$1.log" 2>&1
}

run_cmake() { # n
  local dir=$scratch/cmake-$1
  mkdir -p "$dir"
  cp tests/consumers/app.c "$dir/firmware.c"
  {
    echo 'cmake_minimum_required(VERSION 3.20)'
    echo 'project(readme_firmware LANGUAGES C)'
    echo 'add_executable(firmware firmware.c)'
    echo "# README.md block $1 from here on, as written:"
    cat "$out/blocks/$1.cmake"
  } >"$dir/CMakeLists.txt"
  # third_party/hipc resolves against the project: link it there too.
  mkdir -p "$dir/third_party" && ln -s "$root" "$dir/third_party/hipc"
  { cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DHIPC_ARCHIVE="$archive" -DHIPC_ARCHIVE_SHA256="$sha" &&
      cmake --build "$dir/build" -j "$jobs" && "$dir/build/firmware"; } \
    >"$out/$1.log" 2>&1
}

ran=0
skipped=0
failed=0
while IFS=$'\t' read -r n lang line skip; do
  what="README.md:$line ($lang)"
  if [ "$skip" != - ]; then
    echo "readme: SKIP $what: $skip"
    skipped=$((skipped + 1))
    continue
  fi
  if "run_$lang" "$n"; then
    echo "readme: ok   $what"
    ran=$((ran + 1))
  else
    echo "readme: FAIL $what; the block:" >&2
    sed 's/^/    | /' "$out/blocks/$n.$lang" >&2
    echo "  its output:" >&2
    tail -n 40 "$out/$n.log" | sed 's/^/    /' >&2
    failed=$((failed + 1))
  fi
done <"$out/blocks/blocks.tsv"

# Names in the prose are claims too: every hipc_* the README mentions is
# declared in an installed header (or is a man page in man/, or a CMake
# target, like hipc_bench),
# and every HIPC_* is in an installed header or used by the build, CI or
# fuzz scripts (options and environment variables).
names=0
undefined=0
while read -r name; do
  names=$((names + 1))
  grep -rqw -- "$name" "$prefix/include/hipc" && continue
  # A man page (hipc_frame(3)) is named as a page, and the page must exist.
  compgen -G "man/$name.[0-9]" >/dev/null && continue
  case "$name" in
    hipc_*) grep -rqw --exclude-dir=build --include=CMakeLists.txt -- "$name" . &&
      continue ;;
    *) grep -rqw --exclude-dir=build --exclude=README.md -- "$name" \
      CMakeLists.txt cmake ci fuzz lib tests && continue ;;
  esac
  echo "readme: FAIL README.md names $name, which nothing defines" >&2
  undefined=$((undefined + 1))
done < <(grep -ow 'hipc_[a-z0-9_]*[a-z0-9]\|HIPC_[A-Z0-9_]*[A-Z0-9]' README.md |
  LC_ALL=C sort -u)
echo "readme: $names hipc_*/HIPC_* names in README.md, $undefined undefined"
[ "$undefined" -eq 0 ] || failed=$((failed + 1))

echo "readme: $ran passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
