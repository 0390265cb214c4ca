#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: builds hipcctl and runs its demo (shared memory and a pipe
# across a fork), then shows the segment table.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/deps.sh min
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DHIPC_BUILD_TESTS=OFF \
  -DHIPC_BUILD_FUZZ=OFF -DHIPC_BUILD_BENCH=OFF >/dev/null
cmake --build build/demo -j "$(nproc 2>/dev/null || echo 2)" --target hipcctl
./build/demo/tools/hipcctl demo
