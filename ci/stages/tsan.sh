#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the threaded tests (tests/test_*_threads.c) under ThreadSanitizer:
# a missing acquire/release between the two ends of a channel shows up as
# a data race on the payload bytes. halt_on_error makes the first report
# fail the test; second_deadlock_stack helps when one does.
set -euo pipefail
cd "$(dirname "$0")/../.."

cmake --preset tsan >/dev/null
cmake --build --preset tsan -j2 >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  ctest --preset tsan
