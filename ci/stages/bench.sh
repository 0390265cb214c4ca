#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark smoke: hipc_bench --quick must run to the end and print valid
# JSON, and `hipcctl bench --quick` must succeed. Timings are never
# asserted here (shared CI machines make them meaningless); the figures
# go to the log for a human to read.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build/dev
[ -f "$build/CMakeCache.txt" ] || cmake --preset dev >/dev/null
cmake --build --preset dev -j2 >/dev/null
"$build/bench/hipc_bench" --quick --json | python3 -m json.tool >/dev/null
"$build/tools/hipcctl" bench --quick
# The module benches (bench/bench_<x>.c): each must finish and print JSON.
for b in "$build"/bench/hipc_bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b") --quick"
    "$b" --quick --json | python3 -m json.tool >/dev/null
done
