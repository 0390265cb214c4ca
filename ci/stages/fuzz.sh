#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzz smoke: builds every fuzz/fuzz_*.c for libFuzzer and for AFL++ (ASan +
# UBSan, with a cmplog twin) and fuzzes each for a bounded time on both
# engines. Fails on any crash, sanitizer report or leak, and when a segment
# is left on the machine. HIPC_FUZZ_SECONDS sets the time per target and
# engine (default 10). The replay of the checked-in corpora runs under CTest.
set -euo pipefail
cd "$(dirname "$0")/../.."
. fuzz/engines.sh

secs=${HIPC_FUZZ_SECONDS:-10}
work=build/fuzz-smoke
rm -rf "$work"
mkdir -p "$work"
segments_before=$(ipcs -m | grep -c '^0x' || true)

echo "fuzz: building libFuzzer and AFL++ variants"
hipc_fuzz_build_libfuzzer
hipc_fuzz_build_afl

failed=0
printf '%-22s %12s %8s %12s %8s\n' target lf-exec/s lf-cov afl-exec/s afl-edges
for t in $(hipc_fuzz_targets); do
  lf=0
  hipc_fuzz_run_libfuzzer "$t" "$secs" "$work/$t" || lf=$?
  afl=0
  hipc_fuzz_run_afl "$t" "$secs" "$work/$t" || afl=$?
  crashes=$(hipc_fuzz_afl_crashes "$work/$t/afl")
  lf_rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t/libfuzzer.log")
  # A run that stopped before its first report has no coverage line: the
  # failure below says why, so the table must not end the stage first.
  lf_cov=$(grep -o 'cov: [0-9]*' "$work/$t/libfuzzer.log" | tail -n1 | cut -d' ' -f2 || true)
  printf '%-22s %12s %8s %12s %8s\n' "$t" "${lf_rate:-?}" "${lf_cov:-?}" \
    "$(hipc_fuzz_afl_stat "$work/$t/afl" execs_per_sec)" \
    "$(hipc_fuzz_afl_stat "$work/$t/afl" edges_found)"
  hangs=$(find "$work/$t/afl" -path '*/hangs/id:*' -type f 2>/dev/null | wc -l)
  # A 2 s hang on a loaded machine is a warning; libFuzzer's 10 s timeout
  # above is the one that fails the stage.
  [ "$hangs" -eq 0 ] || echo "fuzz: warning: AFL++ saw $hangs hang(s) on $t" >&2
  if [ "$lf" -ne 0 ]; then
    echo "fuzz: libFuzzer failed on $t (exit $lf):" >&2
    tail -n 40 "$work/$t/libfuzzer.log" >&2
    failed=1
  fi
  if [ "$afl" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    echo "fuzz: AFL++ failed on $t (exit $afl, $crashes crash(es)):" >&2
    tail -n 20 "$work/$t/afl.log" >&2
    find "$work/$t/afl" -path '*/crashes/id:*' -type f >&2
    [ -f "$work/$t/afl-failures.log" ] && sort "$work/$t/afl-failures.log" | uniq -c >&2
    failed=1
  fi
done

segments_after=$(ipcs -m | grep -c '^0x' || true)
if [ "$segments_after" -gt "$segments_before" ]; then
  echo "fuzz: segments left on the machine ($segments_before -> $segments_after)" >&2
  ipcs -m >&2
  failed=1
fi
[ "$failed" -eq 0 ] || exit 1
echo "fuzz: every target survived both engines"
