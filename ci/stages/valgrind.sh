#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test of the dev build under valgrind memcheck; a memory error
# or a definite leak makes the test exit 99 and fails the stage.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build/dev
[ -f "$build/CMakeCache.txt" ] || cmake --preset dev >/dev/null
cmake --build --preset dev -j2 >/dev/null

opts="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
opts+=" --show-leak-kinds=definite,indirect --child-silent-after-fork=yes --quiet"
ctest --test-dir "$build" -j2 --output-on-failure -T memcheck \
  --overwrite MemoryCheckCommand=/usr/bin/valgrind \
  --overwrite "MemoryCheckCommandOptions=$opts"
