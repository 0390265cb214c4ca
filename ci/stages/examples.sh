#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Examples: builds every examples/*.c and runs each the way its comment
# tells a user to, in a private IPC namespace (unshare --ipc; inside a user
# namespace when not root), as separate processes started from this shell:
# the channel producer and consumer in both orders (consumer first,
# producer first and done before the consumer starts, producer first and
# waiting for it), the configuration segment written by one process and
# read by two others, then removed, and the pipe supervisor. An example
# this stage has no recipe for runs without arguments and must exit 0.
# After each one the namespace must hold no segment, and no process of the
# run may be left.
# HIPC_EXAMPLES_OUT overrides the build directory (default build/examples).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" = --inside ]; then
  bin=$2
  fails=0
  segments() { tail -n +2 /proc/sysvipc/shm | grep -c . || true; }
  ok() { echo "   ok: $*"; }
  bad() { echo "   FAILED: $*" >&2; fails=$((fails + 1)); }
  none_left() {
    local n
    n=$(segments)
    [ "$n" -eq 0 ] && ok "$1: no segment left" ||
      { bad "$1: $n segment(s) left"; cat /proc/sysvipc/shm >&2; }
  }
  # run NAME EXPECTED_STATUS OUTFILE CMD...: one example, time-limited.
  run() {
    local name=$1 want=$2 log=$3 rc=0
    shift 3
    timeout 60 "$@" >"$log" 2>&1 || rc=$?
    sed 's/^/      /' "$log"
    [ "$rc" -eq "$want" ] && ok "$name exited $rc" ||
      bad "$name exited $rc, expected $want"
  }
  expect() { grep -qF -- "$2" "$3" && ok "$1: '$2'" || bad "$1: no '$2' in its output"; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  [ "$(segments)" -eq 0 ] || { echo "examples: the namespace is not empty" >&2; exit 1; }

  echo "-- chan: consumer started first, then the producer (20000 messages)"
  timeout 60 "$bin/example_chan_consumer" 0x4869a001 >"$tmp/c1" 2>&1 &
  cpid=$!
  run chan_producer 0 "$tmp/p1" "$bin/example_chan_producer" 0x4869a001 20000
  crc=0
  wait "$cpid" || crc=$?
  sed 's/^/      /' "$tmp/c1"
  [ "$crc" -eq 0 ] && ok "chan_consumer exited 0" || bad "chan_consumer exited $crc"
  expect chan_consumer "received 20000 messages" "$tmp/c1"
  none_left chan

  echo "-- chan: producer started first and done (10 messages fit the ring), then the consumer"
  run chan_producer 0 "$tmp/p2" "$bin/example_chan_producer" 0x4869a002 10
  [ "$(segments)" -eq 1 ] && ok "the channel waits for its consumer" ||
    bad "expected the channel's segment while no consumer came"
  run chan_consumer 0 "$tmp/c2" "$bin/example_chan_consumer" 0x4869a002
  expect chan_consumer "received 10 messages" "$tmp/c2"
  none_left chan

  echo "-- chan: producer started first and waiting for room, then the consumer"
  timeout 60 "$bin/example_chan_producer" 0x4869a003 5000 >"$tmp/p3" 2>&1 &
  ppid_=$!
  # Wait on real state: the producer's segment appears in the table.
  for _ in $(seq 1 600); do
    [ "$(segments)" -ge 1 ] && break
    kill -0 "$ppid_" 2>/dev/null || break
    sleep 0.05
  done
  run chan_consumer 0 "$tmp/c3" "$bin/example_chan_consumer" 0x4869a003
  prc=0
  wait "$ppid_" || prc=$?
  sed 's/^/      /' "$tmp/p3"
  [ "$prc" -eq 0 ] && ok "chan_producer exited 0" || bad "chan_producer exited $prc"
  expect chan_consumer "received 5000 messages" "$tmp/c3"
  none_left chan

  echo "-- config_segment: one process writes, two others read, one removes"
  run "config_segment write" 0 "$tmp/w" "$bin/example_config_segment" write 0x4869c0f1 pump-3 250
  [ "$(segments)" -eq 1 ] && ok "the segment outlives its writer" || bad "no segment after write"
  for i in 1 2; do
    run "config_segment read ($i)" 0 "$tmp/r$i" "$bin/example_config_segment" read 0x4869c0f1
    expect "config_segment read ($i)" 'name "pump-3", rate 250 Hz' "$tmp/r$i"
  done
  run "config_segment remove" 0 "$tmp/x" "$bin/example_config_segment" remove 0x4869c0f1
  run "config_segment read after remove" 1 "$tmp/r3" "$bin/example_config_segment" read 0x4869c0f1
  expect "config_segment read after remove" HIPC_E_NOT_FOUND "$tmp/r3"
  none_left config_segment

  echo "-- pipe_supervisor: 1000 requests, then a stalled worker that ignores SIGTERM stopped and reaped"
  run pipe_supervisor 0 "$tmp/s" "$bin/example_pipe_supervisor" 1000
  expect pipe_supervisor "1000 answers, all right" "$tmp/s"
  expect pipe_supervisor "killed by signal 9" "$tmp/s"
  none_left pipe_supervisor

  for exe in "$bin"/example_*; do
    name=${exe##*/example_}
    case "$name" in
      chan_producer | chan_consumer | config_segment | pipe_supervisor) continue ;;
    esac
    echo "-- $name (no recipe: run without arguments)"
    run "$name" 0 "$tmp/o" "$exe"
    none_left "$name"
  done

  left=$(jobs -p | wc -l)
  [ "$left" -eq 0 ] && ok "no process of the run is left" || bad "$left process(es) left"
  [ "$fails" -eq 0 ] || { echo "examples: $fails check(s) failed" >&2; exit 1; }
  exit 0
fi

out=${HIPC_EXAMPLES_OUT:-build/examples}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2
quiet() { "$@" >"$out.log" 2>&1 || { cat "$out.log"; return 1; }; }
mkdir -p "$(dirname "$out")"

echo "-- examples: build into $out"
quiet cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Debug -DHIPC_WERROR=ON \
  -DHIPC_BUILD_TOOLS=ON -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_FUZZ=OFF \
  -DHIPC_BUILD_BENCH=OFF
quiet cmake --build "$out" -j "$jobs"
mapfile -t srcs < <(ls examples/*.c)
for src in "${srcs[@]}"; do
  name=$(basename "$src" .c)
  [ -x "$out/examples/example_$name" ] ||
    { echo "examples: $src was not built" >&2; exit 1; }
done
echo "   ${#srcs[@]} examples built"

if [ "$(id -u)" -eq 0 ]; then
  ns=(unshare --ipc)
else
  ns=(unshare --user --map-root-user --ipc)
fi
if ! "${ns[@]}" true 2>/dev/null; then
  echo "examples: cannot make a private IPC namespace (${ns[*]}); the examples create segments and are not run in the machine's own" >&2
  exit 1
fi
echo "-- examples: run in a private IPC namespace (${ns[*]})"
"${ns[@]}" bash "$0" --inside "$out/examples"
echo "examples: all ${#srcs[@]} examples ran as documented and left nothing behind"
