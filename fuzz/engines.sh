# SPDX-License-Identifier: MIT
# hipc fuzz — shared by ci/stages/fuzz.sh and ci/fuzz-campaign.sh (sourced).
# Builds the engine variants of every fuzz/fuzz_*.c into build/fuzz-*/ and
# runs one target for a bounded time on either engine.
#
#   build/fuzz-libfuzzer/fuzz/<t>   clang -fsanitize=fuzzer,address,undefined
#   build/fuzz-afl/fuzz/<t>         afl-clang-fast, AFL_USE_ASAN + AFL_USE_UBSAN
#   build/fuzz-cmplog/fuzz/<t>      afl-clang-fast, AFL_LLVM_CMPLOG (for -c)

hipc_fuzz_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hipc_fuzz_jobs=$(nproc 2>/dev/null || echo 2)

# Only the library and the fuzz targets: tests, tools and benchmarks are
# built by the presets.
hipc_fuzz_configure() { # <build dir> <engine> [cmake args...]
  local dir=$1 engine=$2
  shift 2
  cmake -S "$hipc_fuzz_root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHIPC_FUZZ_ENGINE="$engine" -DHIPC_BUILD_TESTS=OFF -DHIPC_BUILD_TOOLS=OFF \
    -DHIPC_BUILD_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$hipc_fuzz_jobs" >/dev/null
}

hipc_fuzz_build_libfuzzer() {
  hipc_fuzz_configure "$hipc_fuzz_root/build/fuzz-libfuzzer" libfuzzer \
    -DCMAKE_C_COMPILER=clang
}

# afl-clang-fast reads its instrumentation choices from the environment at
# compile time; each variant gets a build directory of its own.
hipc_fuzz_build_afl() {
  AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 CC=afl-clang-fast \
    hipc_fuzz_configure "$hipc_fuzz_root/build/fuzz-afl" afl
  AFL_QUIET=1 AFL_LLVM_CMPLOG=1 CC=afl-clang-fast \
    hipc_fuzz_configure "$hipc_fuzz_root/build/fuzz-cmplog" afl
}

hipc_fuzz_targets() {
  local f
  for f in "$hipc_fuzz_root"/fuzz/fuzz_*.c; do
    basename "$f" .c
  done
}

# The checked-in dictionary, as an engine argument, when there is one.
hipc_fuzz_dict() { # <target> <flag>
  local d="$hipc_fuzz_root/fuzz/$1.dict"
  [ -f "$d" ] && printf '%s%s\n' "$2" "$d"
  return 0
}

# libFuzzer on <target> for <seconds>, new inputs into <corpus dir> (seeded
# from the checked-in corpus). Extra arguments (flags, more corpus
# directories) go to libFuzzer after those two. Non-zero when
# it found a crash, leak, timeout or out-of-memory.
hipc_fuzz_run_libfuzzer() { # <target> <seconds> <work dir> [args...]
  local t=$1 secs=$2 work=$3
  shift 3
  mkdir -p "$work/corpus" "$work/artifacts"
  # shellcheck disable=SC2046
  "$hipc_fuzz_root/build/fuzz-libfuzzer/fuzz/$t" -max_total_time="$secs" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" $(hipc_fuzz_dict "$t" -dict=) \
    "$work/corpus" "$hipc_fuzz_root/fuzz/corpus/$t" "$@" >"$work/libfuzzer.log" 2>&1
}

# AFL++ on <target> for <seconds> with the cmplog binary beside it. Its
# output directory is <work dir>/afl. Non-zero when it could not run; the
# caller checks for crashes.
hipc_fuzz_run_afl() { # <target> <seconds> <work dir> [afl-fuzz args...]
  local t=$1 secs=$2 work=$3
  shift 3
  rm -rf "$work/afl" "$work/afl-failures.log"
  mkdir -p "$work"
  # afl-fuzz runs as init of its own PID and IPC namespaces: its coverage
  # segments and any forkserver it leaves behind (the cmplog one can linger,
  # stopped) vanish with it.
  # shellcheck disable=SC2046
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    AFL_NO_AFFINITY=1 HIPC_FUZZ_FAIL_LOG="$work/afl-failures.log" \
    unshare --pid --ipc --fork --kill-child afl-fuzz -V "$secs" -t 2000 -i "$hipc_fuzz_root/fuzz/corpus/$t" \
    -o "$work/afl" $(hipc_fuzz_dict "$t" "-x ") \
    -c "$hipc_fuzz_root/build/fuzz-cmplog/fuzz/$t" "$@" \
    -- "$hipc_fuzz_root/build/fuzz-afl/fuzz/$t" >"$work/afl.log" 2>&1
}

# Crash files AFL++ saved (its README.txt does not count).
hipc_fuzz_afl_crashes() { # <afl output dir>
  find "$1" -path '*/crashes/id:*' -type f 2>/dev/null | wc -l
}

hipc_fuzz_afl_stat() { # <afl output dir> <field>
  sed -n "s/^$2 *: *//p" "$1"/*/fuzzer_stats 2>/dev/null | head -n1
}
