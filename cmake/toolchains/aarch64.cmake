# SPDX-License-Identifier: MIT
# Toolchain: Linux on aarch64 (aarch64) with Debian's cross compiler
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross). Programs
# run under qemu-user, so ctest runs the whole suite for this target:
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# Libraries, headers and packages come from the target's sysroot (add a
# staging prefix to CMAKE_FIND_ROOT_PATH to find hipc installed there);
# programs the build runs come from the host.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: the target's dynamic loader and libc live under the sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
