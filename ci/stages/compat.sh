#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compatibility: the shared-memory layouts are an interface, because
# programs built with two different hipc versions may share a segment.
# For every release in RELEASES this stage builds that release's library
# (its source taken from this clone's history with git archive) and this
# tree's, each library-only, and a small peer program against each
# (tests/compat/). The peers then create and open each other's objects in
# every pairing, old creates / new opens and new creates / old opens:
#   a plain hipc segment (a pattern written by each side, checked by the
#   other), a channel whose creator produces and one whose creator
#   consumes (a few messages each way, then the end-of-peer signal).
# Each pairing must work, or be refused with HIPC_E_VERSION or
# HIPC_E_LAYOUT; any other code, a crash, a hang or wrong data fails.
# Same-version pairings must work (they prove the harness). The stage runs
# in a private IPC namespace and proves that no segment is left.
#
# A release's peer: tests/compat/peer_<major>.<minor>.c of this tree when
# there is one (peer_0.2.c: 0.2's API), else the release's own
# tests/compat/peer_current.c, which was written against its API.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${HIPC_COMPAT_IN_NS:-}" ]; then
  ns=(unshare --ipc)
  [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --ipc)
  exec env HIPC_COMPAT_IN_NS=1 "${ns[@]}" bash "$0" "$@"
fi
root=$PWD
out=build/compat
jobs=$(nproc 2>/dev/null || echo 2)
fail() { echo "compat: $*" >&2; exit 1; }
quiet() { "$@" >"$out/step.log" 2>&1 || { cat "$out/step.log"; return 1; }; }
segments() { echo $(($(wc -l </proc/sysvipc/shm) - 1)); }
rm -rf "$out/run"
mkdir -p "$out"
[ "$(segments)" -eq 0 ] || fail "the private IPC namespace is not empty"

# build_peer NAME SOURCE PEER_C: the library of SOURCE, installed into
# $out/NAME/prefix, and PEER_C linked against it as $out/NAME/peer.
build_peer() {
  local name=$1 src=$2 peer=$3 dir=$out/$1 lib
  rm -rf "$dir"
  quiet cmake -S "$src" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_FUZZ=OFF \
    -DHIPC_BUILD_BENCH=OFF -DHIPC_INSTALL=ON \
    -DCMAKE_INSTALL_PREFIX="$root/$dir/prefix"
  quiet cmake --build "$dir/build" -j "$jobs"
  quiet cmake --install "$dir/build"
  lib=$(find "$dir/prefix" -name libhipc.a | head -n 1)
  [ -n "$lib" ] || fail "$name: no libhipc.a installed"
  quiet "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -I "$dir/prefix/include" \
    "$peer" "$lib" -o "$dir/peer"
  echo "-- $name: library and $(basename "$peer") built"
}

releases=()
[ -f RELEASES ] || fail "RELEASES is missing"
while read -r version commit rest; do
  case $version in '' | '#'*) continue ;; esac
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && $commit =~ ^[0-9a-f]{40}$ &&
    -z $rest ]] || fail "RELEASES: bad line: $version $commit $rest"
  if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    shallow=$(git rev-parse --is-shallow-repository 2>/dev/null || echo unknown)
    fail "release $version: commit $commit is not in this clone's history" \
      "(shallow clone: $shallow; the stage needs the full history: git fetch --unshallow)"
  fi
  src=$out/src-$version
  rm -rf "$src" && mkdir -p "$src"
  git archive "$commit" | tar -x -C "$src"
  peer=tests/compat/peer_${version%.*}.c
  [ -f "$peer" ] || peer=$src/tests/compat/peer_current.c
  [ -f "$peer" ] || fail "release $version: no peer (tests/compat/peer_${version%.*}.c" \
    "here, nor tests/compat/peer_current.c in the release)"
  build_peer "$version" "$src" "$peer"
  releases+=("$version")
done <RELEASES
[ ${#releases[@]} -gt 0 ] || fail "RELEASES lists no release"
build_peer current . tests/compat/peer_current.c

# run_pair CREATOR OPENER KIND: one creator process holds its object while
# one opener process opens it. Sets c_res and o_res to "step CODE" (or
# what went wrong instead: a crash, a hang, no answer).
run_pair() {
  local creator=$1 opener=$2 kind=$3 d=$out/run/$1-$2-$3 cargs oargs word id st
  case $kind in
    shm) cargs=(shm-create) oargs=(shm-open) ;;
    chan-p) cargs=(chan-create producer) oargs=(chan-open consumer) ;;
    chan-c) cargs=(chan-create consumer) oargs=(chan-open producer) ;;
  esac
  rm -rf "$d" && mkdir -p "$d" && mkfifo "$d/in" "$d/out"
  timeout 60 "$out/$creator/peer" "${cargs[@]}" <"$d/in" >"$d/out" 2>"$d/cerr" &
  local pid=$!
  exec {to}>"$d/in" {from}<"$d/out"
  o_res="not run"
  if read -r -t 60 -u "$from" word id && [ "$word" = READY ]; then
    st=0
    o_res=$(timeout 60 "$out/$opener/peer" "${oargs[@]}" "$id" 2>"$d/oerr") || st=$?
    o_res=$(explain "$st" "${o_res#RESULT }")
    case $o_res in *' HIPC_OK') echo CHECK >&"$to" ;; *) echo SKIP >&"$to" ;; esac
    word=""
    read -r -t 60 -u "$from" word id || true
  fi
  exec {to}>&- {from}<&-
  st=0
  wait "$pid" || st=$?
  c_res=$(explain "$st" "$id")
  [ "$word" = RESULT ] || c_res=$(explain "$st" "")
}

# explain STATUS "step CODE": the result, or how the process ended.
explain() {
  case $1 in
    0) [ -n "$2" ] && echo "$2" || echo "no-answer (exit 0)" ;;
    124) echo "hang (timeout)" ;;
    *) [ "$1" -gt 128 ] && echo "crash (signal $(($1 - 128)))" || echo "exit $1${2:+ ($2)}" ;;
  esac
}

verdict() { # verdict SAME-BUILD C_RES O_RES
  local r codes=()
  for r in "$2" "$3"; do
    case $r in
      *' HIPC_OK') ;;
      *' HIPC_E_VERSION' | *' HIPC_E_LAYOUT') [ "$1" = no ] || { echo FAIL; return; }
        codes+=("${r##* }") ;;
      *) echo FAIL; return ;;
    esac
  done
  [ ${#codes[@]} -eq 0 ] && echo works || echo "refused (${codes[0]})"
}

declare -A what=([shm]="shm segment" [chan-p]="chan, creator produces"
  [chan-c]="chan, creator consumes")
pairs=("current current")
for v in "${releases[@]}"; do pairs+=("$v $v" "$v current" "current $v"); done
failed=0 works=0 refused=0
table=$(printf '%-8s %-8s %-23s %-24s %-24s %s' creator opener object \
  "opener: step code" "creator: step code" verdict)
for pair in "${pairs[@]}"; do
  read -r c o <<<"$pair"
  same=no
  [ "$c" != "$o" ] || same=yes
  for kind in shm chan-p chan-c; do
    run_pair "$c" "$o" "$kind"
    v=$(verdict "$same" "$c_res" "$o_res")
    left=$(segments)
    [ "$left" -eq 0 ] || v="FAIL ($left segment(s) left)"
    case $v in works) works=$((works + 1)) ;; refused*) refused=$((refused + 1)) ;;
      *) failed=$((failed + 1)) ;; esac
    table+=$'\n'$(printf '%-8s %-8s %-23s %-24s %-24s %s' "$c" "$o" \
      "${what[$kind]}" "$o_res" "$c_res" "$v")
    ipcrm --all=shm 2>/dev/null || true
  done
done
echo "$table"
echo "compat: segments left in the namespace: $(segments)"
total=$((works + refused + failed))
echo "compat: $total pairings: $works work, $refused refused with HIPC_E_VERSION/LAYOUT, $failed failed"
[ "$failed" -eq 0 ] || fail "a pairing failed: see the table (each run's stderr: $out/run/)"
