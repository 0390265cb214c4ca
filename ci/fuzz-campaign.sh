#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A long fuzz campaign with a merged corpus (see README, "Fuzzing").
#
#   ci/fuzz-campaign.sh [-m MINUTES | -s SECONDS] [-e both|libfuzzer|afl]
#                       [-j JOBS] [--save] [TARGET...]
#
# e.g. 20 minutes per sequence target on both engines:
#   ci/fuzz-campaign.sh -m 20 fuzz_pipe_seq fuzz_shm_seq fuzz_chan
#
# For each target (default: every fuzz/fuzz_*.c) it runs libFuzzer and AFL++
# side by side for MINUTES (default 60; -s gives the time in seconds):
# libFuzzer with -fork over half the JOBS (default: all cores), AFL++ as one
# main instance with the cmplog twin plus secondaries on the other half.
# -e runs one engine only, on all the JOBS. Both start from the merged corpus of the
# last campaign (build/fuzz-campaign/<target>/merged) and the checked-in seeds.
# Afterwards the pool of everything found is merged twice - libFuzzer
# -merge=1 (its coverage) and afl-cmin (AFL++ edges) - and the union becomes
# the new merged corpus. A minimisation that fails is a warning (with its
# log), never the end of the campaign: what the other one kept, or else the
# whole unminimised pool, becomes the merged corpus, so nothing found is
# lost. afl-cmin refuses to run under /tmp (its fixed file names are unsafe
# in a directory others can write); the campaign's files all live in the
# checkout's own build/ directory, which is ours, so it tells afl-cmin so
# (AFL_ALLOW_TMP) and works wherever the checkout is. Crashes are copied to build/fuzz-campaign/<target>/
# crashes/ and make the script fail; turn each into a named regression input
# (fuzz/corpus/<target>/regress-<what>.bin) once it is fixed.
#
# --save also copies the merged corpus into fuzz/corpus/<target>/ (as
# min-<sha1>), for a commit that grows the checked-in seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
. fuzz/engines.sh

secs=3600
engine=both
jobs=$hipc_fuzz_jobs
save=0
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    -m) secs=$(($2 * 60)); shift 2 ;;
    -s) secs=$2; shift 2 ;;
    -e) engine=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --save) save=1; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    -*) echo "$0: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(hipc_fuzz_targets)
for t in "${targets[@]}"; do
  [ -f "fuzz/$t.c" ] || { echo "$0: no target $t (fuzz/$t.c)" >&2; exit 2; }
done
case $engine in
  both) lf_jobs=$(( (jobs + 1) / 2 )); afl_jobs=$(( jobs / 2 > 0 ? jobs / 2 : 1 )) ;;
  libfuzzer) lf_jobs=$jobs; afl_jobs=0 ;;
  afl) lf_jobs=0; afl_jobs=$jobs ;;
  *) echo "$0: -e takes both, libfuzzer or afl" >&2; exit 2 ;;
esac

hipc_fuzz_build_libfuzzer
hipc_fuzz_build_afl

afl_env=(AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
         AFL_NO_AFFINITY=1 AFL_ALLOW_TMP=1)

# AFL++: one main instance with cmplog, the rest secondaries, all in one
# PID + IPC namespace so nothing they leave outlives the campaign.
run_afl() { # <target> <work> <seed dir>
  local t=$1 work=$2 seeds=$3 i
  local bin=build/fuzz-afl/fuzz/$t cmplog=build/fuzz-cmplog/fuzz/$t
  local dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-x "fuzz/$t.dict")
  # The last campaign's queue is in the merged corpus already; a long one
  # left in place would make afl-fuzz refuse to start.
  rm -rf "$work/afl"
  env "${afl_env[@]}" HIPC_FUZZ_FAIL_LOG="$work/afl-failures.log" \
    unshare --pid --ipc --fork --kill-child bash -c '
    t=$1 secs=$2 n=$3 seeds=$4 out=$5 bin=$6 cmplog=$7; shift 7
    afl-fuzz -M main -V "$secs" -t 2000 -i "$seeds" -o "$out" "$@" \
      -c "$cmplog" -- "$bin" >"$out.main.log" 2>&1 &
    for i in $(seq 2 "$n"); do
      afl-fuzz -S "s$i" -V "$secs" -t 2000 -i "$seeds" -o "$out" "$@" \
        -- "$bin" >"$out.s$i.log" 2>&1 &
    done
    wait' _ "$t" "$secs" "$afl_jobs" "$seeds" "$work/afl" "$bin" "$cmplog" \
    "${dict[@]}"
}

merge() { # <target> <work>
  local t=$1 work=$2 f
  local pool=$work/pool lfm=$work/lf-merged aflm=$work/afl-merged
  rm -rf "$pool" "$lfm" "$aflm" "$work/merged.new"
  mkdir -p "$pool" "$lfm" "$work/merged.new"
  for f in "$work/merged"/* "fuzz/corpus/$t"/* "$work/corpus"/* \
           "$work"/afl/*/queue/id:*; do
    [ -f "$f" ] && cp "$f" "$pool/$(sha1sum "$f" | cut -c1-40)"
  done
  local kept=0
  if "build/fuzz-libfuzzer/fuzz/$t" -merge=1 "$lfm" "$pool" >"$work/merge-libfuzzer.log" 2>&1; then
    kept=1
  else
    warn "$t: libFuzzer -merge failed; see $work/merge-libfuzzer.log" "$work/merge-libfuzzer.log"
    rm -rf "$lfm"
  fi
  if env "${afl_env[@]}" AFL_QUIET=1 unshare --pid --ipc --fork --kill-child \
       afl-cmin -i "$pool" -o "$aflm" -t 5000 -- "build/fuzz-afl/fuzz/$t" \
       >"$work/merge-afl.log" 2>&1; then
    kept=1
  else
    warn "$t: afl-cmin failed; see $work/merge-afl.log" "$work/merge-afl.log"
    rm -rf "$aflm"
  fi
  # Neither could minimise: keep everything rather than lose it.
  [ "$kept" -eq 1 ] || lfm=$pool
  for f in "$lfm"/* "$aflm"/*; do
    [ -f "$f" ] && cp "$f" "$work/merged.new/$(sha1sum "$f" | cut -c1-40)"
  done
  rm -rf "$work/merged" "$pool"
  mv "$work/merged.new" "$work/merged"
}

warnings=()
warn() { # <message> [log]
  echo "warning: $1" >&2
  [ -z "${2:-}" ] || tail -n 5 "$2" | sed 's/^/  /' >&2
  warnings+=("$1")
}

failed=0
for t in "${targets[@]}"; do
  work=build/fuzz-campaign/$t
  mkdir -p "$work/corpus" "$work/merged" "$work/crashes"
  seeds=$work/seeds
  rm -rf "$seeds" && mkdir -p "$seeds"
  cp "fuzz/corpus/$t"/* "$seeds/" 2>/dev/null || true
  cp "$work/merged"/* "$seeds/" 2>/dev/null || true
  echo "== $t: ${secs} s, libFuzzer x$lf_jobs + AFL++ x$afl_jobs, $(ls "$seeds" | wc -l) seeds"
  lf=0
  rm -rf "$work/libfuzzer.log" "$work/artifacts" "$work/afl"
  if [ "$lf_jobs" -gt 0 ]; then
    hipc_fuzz_run_libfuzzer "$t" "$secs" "$work" -fork="$lf_jobs" \
      -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 "$work/merged" &
    lf_pid=$!
  fi
  if [ "$afl_jobs" -gt 0 ]; then
    run_afl "$t" "$work" "$seeds" ||
      warn "$t: AFL++ ended with an error; see $work/afl.main.log" "$work/afl.main.log"
  fi
  [ "$lf_jobs" -eq 0 ] || wait "$lf_pid" || lf=$?
  cp "$work"/artifacts/* "$work/crashes/" 2>/dev/null || true
  [ ! -d "$work/afl" ] ||
    find "$work/afl" -path '*/crashes/id:*' -type f -exec cp {} "$work/crashes/" \;
  merge "$t" "$work"
  crashes=$(ls "$work/crashes" | wc -l)
  lf_stat=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/libfuzzer.log" 2>/dev/null | tail -n1 || true)
  # -fork prints no final stats; its last status line has the rate.
  lf_rate=$(grep -o 'exec/s [0-9]*' "$work/libfuzzer.log" 2>/dev/null | tail -n1 | cut -d' ' -f2 || true)
  afl_edges=$(hipc_fuzz_afl_stat "$work/afl" edges_found || true)
  afl_rate=$(hipc_fuzz_afl_stat "$work/afl" execs_per_sec || true)
  printf '%s: libFuzzer %s (%s exec/s), AFL++ edges %s (%s exec/s), merged corpus %s inputs, %s crash(es)\n' \
    "$t" "${lf_stat:--}" "${lf_rate:--}" "${afl_edges:--}" "${afl_rate:--}" \
    "$(ls "$work/merged" | wc -l)" "$crashes"
  if [ "$crashes" -gt 0 ] || [ "$lf" -ne 0 ]; then
    echo "$t: see $work/crashes, $work/libfuzzer.log and $work/afl-failures.log" >&2
    failed=1
  fi
  if [ "$save" -eq 1 ]; then
    for f in "$work/merged"/*; do
      cp "$f" "fuzz/corpus/$t/min-$(basename "$f")"
    done
  fi
done
for w in "${warnings[@]}"; do echo "warning: $w" >&2; done
[ "$failed" -eq 0 ]
