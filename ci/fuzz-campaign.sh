#!/usr/bin/env bash
# A long fuzz campaign with a merged corpus (see README, "Fuzzing").
#
#   ci/fuzz-campaign.sh [-m MINUTES] [-j JOBS] [--save] [TARGET...]
#
# For each target (default: every fuzz/fuzz_*.c) it runs libFuzzer and AFL++
# side by side for MINUTES (default 60): libFuzzer with -fork over half the
# JOBS (default: all cores), AFL++ as one main instance with the cmplog twin
# plus secondaries on the other half. Both start from the merged corpus of the
# last campaign (build/fuzz-campaign/<target>/merged) and the checked-in seeds.
# Afterwards the pool of everything found is merged twice - libFuzzer
# -merge=1 (its coverage) and afl-cmin (AFL++ edges) - and the union becomes
# the new merged corpus. Crashes are copied to build/fuzz-campaign/<target>/
# crashes/ and make the script fail; turn each into a named regression input
# (fuzz/corpus/<target>/regress-<what>.bin) once it is fixed.
#
# --save also copies the merged corpus into fuzz/corpus/<target>/ (as
# min-<sha1>), for a commit that grows the checked-in seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
. fuzz/engines.sh

minutes=60
jobs=$hipc_fuzz_jobs
save=0
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    -m) minutes=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --save) save=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(hipc_fuzz_targets)
secs=$((minutes * 60))
lf_jobs=$(( (jobs + 1) / 2 ))
afl_jobs=$(( jobs / 2 > 0 ? jobs / 2 : 1 ))

hipc_fuzz_build_libfuzzer
hipc_fuzz_build_afl

afl_env=(AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
         AFL_NO_AFFINITY=1)

# AFL++: one main instance with cmplog, the rest secondaries, all in one
# PID + IPC namespace so nothing they leave outlives the campaign.
run_afl() { # <target> <work> <seed dir>
  local t=$1 work=$2 seeds=$3 i
  local bin=build/fuzz-afl/fuzz/$t cmplog=build/fuzz-cmplog/fuzz/$t
  local dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-x "fuzz/$t.dict")
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
  "build/fuzz-libfuzzer/fuzz/$t" -merge=1 "$lfm" "$pool" >"$work/merge.log" 2>&1
  env "${afl_env[@]}" AFL_QUIET=1 unshare --pid --ipc --fork --kill-child \
    afl-cmin -i "$pool" -o "$aflm" -t 5000 -- "build/fuzz-afl/fuzz/$t" \
    >>"$work/merge.log" 2>&1
  for f in "$lfm"/* "$aflm"/*; do
    [ -f "$f" ] && cp "$f" "$work/merged.new/$(sha1sum "$f" | cut -c1-40)"
  done
  rm -rf "$work/merged" "$pool"
  mv "$work/merged.new" "$work/merged"
}

failed=0
for t in "${targets[@]}"; do
  work=build/fuzz-campaign/$t
  mkdir -p "$work/corpus" "$work/merged" "$work/crashes"
  seeds=$work/seeds
  rm -rf "$seeds" && mkdir -p "$seeds"
  cp "fuzz/corpus/$t"/* "$seeds/" 2>/dev/null || true
  cp "$work/merged"/* "$seeds/" 2>/dev/null || true
  echo "== $t: ${minutes} min, libFuzzer x$lf_jobs + AFL++ x$afl_jobs, $(ls "$seeds" | wc -l) seeds"
  lf=0
  hipc_fuzz_run_libfuzzer "$t" "$secs" "$work" -fork="$lf_jobs" \
    -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 "$work/merged" &
  lf_pid=$!
  run_afl "$t" "$work" "$seeds" || true
  wait "$lf_pid" || lf=$?
  cp "$work"/artifacts/* "$work/crashes/" 2>/dev/null || true
  find "$work/afl" -path '*/crashes/id:*' -type f -exec cp {} "$work/crashes/" \;
  merge "$t" "$work"
  crashes=$(ls "$work/crashes" | wc -l)
  printf '%s: libFuzzer %s, AFL++ edges %s, merged corpus %s inputs, %s crash(es)\n' \
    "$t" "$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/libfuzzer.log" | tail -n1)" \
    "$(hipc_fuzz_afl_stat "$work/afl" edges_found)" "$(ls "$work/merged" | wc -l)" "$crashes"
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
[ "$failed" -eq 0 ]
