#!/bin/sh
# SPDX-License-Identifier: MIT
# hipc CI — the launcher ctest puts in front of every test program of the
# hostile stage's build (configured as CMAKE_CROSSCOMPILING_EMULATOR, which
# tests/CMakeLists.txt and fuzz/CMakeLists.txt put before each command).
# HIPC_HOSTILE_WRAP, when set, is a command prefix for the one environment
# that needs it per program (a pending signal does not survive a fork, and
# a limit is meant for the tests, not for ctest); empty runs it as it is.
# shellcheck disable=SC2086  # the prefix is a command line: split it
exec ${HIPC_HOSTILE_WRAP:-} "$@"
