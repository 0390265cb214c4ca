#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault-injection build (preset `fault`): the whole suite runs plain, then
# unchanged under transparent faults that a correct library must absorb —
# EINTR on every first try of an interruptible call with 1-byte transfers,
# then EAGAIN on every first try of a non-blocking transfer. The fault
# drivers (every test built on tests/fault/driver.h) fail every syscall of
# each scenario in turn; their count of injected cases is summed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build/fault
log=$(mktemp)
trap 'rm -f "$log" "$log.drv"' EXIT

cmake --preset fault >/dev/null
cmake --build --preset fault -j2 >/dev/null
for mode in none eintr,short eagain,short; do
  echo "-- fault: ctest with HIPC_FAULT_MODE=$mode"
  HIPC_FAULT_MODE=$mode ctest --test-dir "$build" -j2 -V >"$log" 2>&1 || {
    grep -E 'Failed|FAILED|ERROR|LEAK|failing with' "$log" | head -60
    exit 1
  }
  grep -E '(tests passed|Total Test time)' "$log" | sed 's/^/   /'
  if [ "$mode" = none ]; then
    grep -h 'fault driver:' "$log" | sed 's/^[0-9]*: //' | sort >"$log.drv"
  fi
done
cat "$log.drv"
awk '{for (i = 1; i < NF; i++) if ($(i+1) == "injected") n += $i} END {
  print "fault: " n " injected-fault cases run, every one checked"}' "$log.drv"
