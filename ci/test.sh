#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The full test command: installs what it needs, then builds and runs every
# suite. README and .ci/run both call exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/deps.sh full

jobs=$(nproc 2>/dev/null || echo 2)
for preset in dev asan-ubsan; do
  echo "== $preset: build and test"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs"
done

# Further stages (sanitizers, valgrind, fuzz smoke, consumers, cross...)
# live one per file so each concern stays separate.
for stage in ci/stages/*.sh; do
  [ -e "$stage" ] || continue
  echo "== stage $(basename "$stage" .sh)"
  bash "$stage"
done
echo "ci/test.sh: all stages passed"
