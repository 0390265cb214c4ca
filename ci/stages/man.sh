#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Man pages (man/*.1, man/*.3): mandoc -T lint and man --warnings (groff)
# pass with no warning; the pages agree with the public headers as
# installed (man/check-pages.py: every public function is in some page's
# SYNOPSIS with the header's prototype, no page names a function or
# constant that is gone, every error code is documented); hipcctl(1) names
# every command and option that `hipcctl help` and `hipcctl bench --help`
# print; every example program in a page compiles and links against the
# installed library and runs in a private IPC namespace, exiting 0 and
# leaving no segment; and the install puts the pages under share/man with a
# link page per function, so `man hipc_chan_send` works.
# HIPC_MAN_OUT overrides the build directory (default build/man).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${HIPC_MAN_OUT:-build/man}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
rm -rf "$out"
mkdir -p "$out/gen"
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2
quiet() { "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log"; return 1; }; }

if ! command -v mandoc >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "-- man: installing mandoc"
  quiet "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive quiet "${sudo[@]}" apt-get install -y -qq \
    --no-install-recommends mandoc
fi

mapfile -t pages < <(ls man/*.1 man/*.3)
echo "-- man: mandoc -T lint -W warning over ${#pages[@]} pages"
if ! mandoc -T lint -W warning "${pages[@]}" >"$out/lint.log" 2>&1 ||
  [ -s "$out/lint.log" ]; then
  cat "$out/lint.log"
  echo "man: mandoc lint reported warnings" >&2
  exit 1
fi

# Debian's man renders with groff, which warns about other things. ci/deps.sh
# installs both; a machine without them fails here rather than skipping.
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
  echo "man: man and groff are needed (apt-get install man-db groff)" >&2
  exit 1
fi
echo "-- man: man --warnings (groff) over ${#pages[@]} pages"
for p in "${pages[@]}"; do
  MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>"$out/groff.log" >/dev/null
  if [ -s "$out/groff.log" ]; then
    cat "$out/groff.log"
    echo "man: groff warns about $p" >&2
    exit 1
  fi
done

echo "-- man: the library and its pages, installed into $out/prefix"
# With the fault plan, so that <hipc/testing.h> is installed and checked
# too (a Release build refuses it; RelWithDebInfo is as optimised).
quiet cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHIPC_FAULT_INJECTION=ON -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF \
  -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_INCLUDEDIR=include \
  -DCMAKE_INSTALL_MANDIR=share/man
# The library and hipcctl only: what is installed (the examples have a
# stage of their own).
quiet cmake --build "$out/build" -j "$jobs" --target hipc hipcctl
quiet cmake --install "$out/build" --prefix "$out/prefix"
inc=$out/prefix/include
lib=$out/prefix/lib/libhipc.a

# Until the top level adds man/ to its install rules, a scratch project
# that adds it proves the rules install what they should.
man_prefix=$out/prefix
if [ ! -d "$out/prefix/share/man/man3" ]; then
  echo "   (the top level does not install man/ yet: checked from a scratch project)"
  mkdir -p "$out/scratch"
  cat >"$out/scratch/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(hipc_man_install C)
add_subdirectory("$PWD/man" man)
add_executable(hipcctl "$out/scratch/main.c")
EOF
  echo 'int main(void) { return 0; }' >"$out/scratch/main.c"
  quiet cmake -S "$out/scratch" -B "$out/scratch/build"
  quiet cmake --install "$out/scratch/build" --prefix "$out/scratch/prefix"
  man_prefix=$out/scratch/prefix
fi
missing=0
for p in "${pages[@]}"; do
  sec=${p##*.}
  [ -f "$man_prefix/share/man/man$sec/$(basename "$p")" ] ||
    { echo "man: $(basename "$p") is not installed under share/man/man$sec" >&2; missing=1; }
done
nlinks=0
for l in "$man_prefix"/share/man/man3/*.3; do
  if head -n 1 "$l" | grep -q '^\.so man3/'; then
    target=$man_prefix/share/man/$(sed -n 's/^\.so //p' "$l")
    [ -f "$target" ] || { echo "man: $(basename "$l") points at a missing page" >&2; missing=1; }
    nlinks=$((nlinks + 1))
  fi
done
[ "$missing" -eq 0 ] || exit 1
[ "$nlinks" -gt 0 ] || { echo "man: no link pages installed" >&2; exit 1; }
echo "   ${#pages[@]} pages and $nlinks link pages installed"

echo "-- man: pages against the installed headers"
{
  for h in "$inc"/hipc/*.h; do echo "#include <hipc/$(basename "$h")>"; done
} >"$out/all.c"
gcc -std=c11 -I"$inc" -fsyntax-only -aux-info "$out/protos.all" "$out/all.c"
grep -F "$inc/hipc/" "$out/protos.all" | grep -E '\bhipc_[A-Za-z0-9_]+ \(' \
  >"$out/protos.txt" || true
python3 man/check-pages.py man "$inc" "$out/protos.txt" "$out/gen"

echo "-- man: hipcctl(1) against hipcctl's own help"
hipcctl=$out/build/tools/hipcctl
if [ -x "$hipcctl" ]; then
  "$hipcctl" help >"$out/hipcctl.help"
  "$hipcctl" bench --help >>"$out/hipcctl.help"
  mapfile -t cmds < <(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$out/hipcctl.help")
  mapfile -t opts < <(grep -o -- '--[a-z][a-z-]*' "$out/hipcctl.help" | sort -u)
  bad=0
  for c in "${cmds[@]}"; do
    grep -q "^\.Cm $c\b" man/hipcctl.1 ||
      { echo "man: hipcctl.1 does not document the command '$c'" >&2; bad=1; }
  done
  for o in "${opts[@]}"; do
    grep -q "Fl Fl ${o#--}\b" man/hipcctl.1 ||
      { echo "man: hipcctl.1 does not document the option '$o'" >&2; bad=1; }
  done
  [ "$bad" -eq 0 ] || exit 1
  echo "   ${#cmds[@]} commands and ${#opts[@]} options of hipcctl are in hipcctl.1"
else
  echo "   hipcctl not built: skipped"
fi

echo "-- man: SYNOPSIS prototypes redeclared after the headers"
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic-errors -I"$inc")
for f in "$out"/gen/synopsis_*.c; do
  gcc "${cflags[@]}" -fsyntax-only "$f"
done

echo "-- man: example programs compile and link"
nex=0
for f in "$out"/gen/example_*.c; do
  [ -e "$f" ] || continue
  gcc "${cflags[@]}" -o "${f%.c}" "$f" "$lib"
  nex=$((nex + 1))
done

echo "-- man: example programs run in a private IPC namespace"
if [ "$(id -u)" -eq 0 ]; then
  ns=(unshare --ipc)
else
  ns=(unshare --user --map-root-user --ipc)
fi
cat >"$out/run-examples.sh" <<'RUN'
set -u
fails=0
for exe in "$1"/example_*; do
  case "$exe" in *.c | *.out) continue ;; esac
  rc=0
  timeout 30 "$exe" >"$exe.out" 2>&1 </dev/null || rc=$?
  left=$(tail -n +2 /proc/sysvipc/shm | grep -c . || true)
  if [ "$rc" -ne 0 ] || [ "$left" -ne 0 ]; then
    echo "man: $(basename "$exe") exited $rc and left $left segment(s):" >&2
    cat "$exe.out" >&2
    fails=$((fails + 1))
  fi
done
exit "$fails"
RUN
"${ns[@]}" bash "$out/run-examples.sh" "$out/gen"
echo "man: ${#pages[@]} pages lint clean, match the headers; $nex examples build and run"
