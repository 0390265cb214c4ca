# SPDX-License-Identifier: MIT
# Toolchain: Linux on arm (armhf) with Debian's cross compiler
# (gcc-arm-linux-gnueabihf, libc6-dev-armhf-cross). Programs
# run under qemu-user, so ctest runs the whole suite for this target:
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/armhf.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)

# Libraries, headers and packages come from the target's sysroot (add a
# staging prefix to CMAKE_FIND_ROOT_PATH to find hipc installed there);
# programs the build runs come from the host.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: the target's dynamic loader and libc live under the sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L /usr/arm-linux-gnueabihf)
