#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OSS-Fuzz style build of every fuzz/fuzz_*.c.
#
# Honours the variables OSS-Fuzz sets: $CC and $CFLAGS (compiler and its
# sanitizer + coverage flags, used for the library and the targets alike),
# $LIB_FUZZING_ENGINE (the engine to link, e.g. -fsanitize=fuzzer or an
# AFL++ driver library) and $OUT (where targets go). $SRC/$WORK are not
# needed. Without them it makes a local libFuzzer + ASan + UBSan build.
#
# $OUT receives, per target: the binary, <target>_seed_corpus.zip (the
# checked-in corpus) and <target>.dict when there is one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

export CC=${CC:-clang}
export CFLAGS=${CFLAGS:--O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all}
export LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer,address,undefined}
OUT=${OUT:-$root/build/oss-fuzz/out}
work=${WORK:-$root/build/oss-fuzz}/cmake
mkdir -p "$OUT" "$work"

# CMAKE_BUILD_TYPE stays empty so that $CFLAGS alone decides optimisation;
# with $LIB_FUZZING_ENGINE in the environment fuzz/CMakeLists.txt links it.
cmake -S "$root" -B "$work" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
  -DCMAKE_BUILD_TYPE= -DHIPC_FUZZ_ENGINE=libfuzzer -DHIPC_BUILD_TESTS=OFF \
  -DHIPC_BUILD_TOOLS=OFF -DHIPC_BUILD_BENCH=OFF -DHIPC_INSTALL=OFF >/dev/null
cmake --build "$work" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

for src in "$root"/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  cp "$work/fuzz/$t" "$OUT/"
  if [ -d "$root/fuzz/corpus/$t" ]; then
    rm -f "$OUT/${t}_seed_corpus.zip"
    # OSS-Fuzz images have zip; elsewhere Python's zipfile does the same.
    if command -v zip >/dev/null; then
      (cd "$root/fuzz/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
    else
      (cd "$root/fuzz/corpus/$t" && python3 -m zipfile -c "$OUT/${t}_seed_corpus.zip" ./*)
    fi
  fi
  [ -f "$root/fuzz/$t.dict" ] && cp "$root/fuzz/$t.dict" "$OUT/"
done
echo "fuzz/build.sh: $(ls "$root"/fuzz/fuzz_*.c | wc -l) target(s) in $OUT"
