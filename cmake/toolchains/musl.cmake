# SPDX-License-Identifier: MIT
# Toolchain: the host's architecture with musl libc through Debian's
# musl-gcc wrapper (package musl-tools).
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/musl.cmake ...
#
# musl-gcc sees only musl's headers (-nostdinc), but hipc's syscall seam
# needs the kernel's UAPI headers (linux/futex.h), which musl does not ship
# (Alpine keeps them in linux-headers). They are libc-neutral, so a small
# directory of links to Debian's copies (linux-libc-dev) stands in for that
# package; glibc's own headers stay out of the search path.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER musl-gcc)

if(NOT HIPC_MUSL_KERNEL_HEADERS)
  set(HIPC_MUSL_KERNEL_HEADERS ${CMAKE_BINARY_DIR}/musl-kernel-headers)
endif()
# try_compile() projects read this file again; hand them the same path.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HIPC_MUSL_KERNEL_HEADERS)
execute_process(COMMAND ${CMAKE_C_COMPILER} -dumpmachine
                OUTPUT_VARIABLE _hipc_gnu_triplet OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "-musl" "-gnu" _hipc_gnu_triplet "${_hipc_gnu_triplet}")
if(NOT EXISTS ${HIPC_MUSL_KERNEL_HEADERS}/asm)
  file(MAKE_DIRECTORY ${HIPC_MUSL_KERNEL_HEADERS})
  file(CREATE_LINK /usr/include/linux ${HIPC_MUSL_KERNEL_HEADERS}/linux SYMBOLIC)
  file(CREATE_LINK /usr/include/asm-generic ${HIPC_MUSL_KERNEL_HEADERS}/asm-generic SYMBOLIC)
  file(CREATE_LINK /usr/include/${_hipc_gnu_triplet}/asm ${HIPC_MUSL_KERNEL_HEADERS}/asm SYMBOLIC)
endif()
# A standard include directory, so it survives a CMAKE_C_FLAGS set on the
# command line. musl has no linux/ or asm/ of its own for it to shadow.
set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES ${HIPC_MUSL_KERNEL_HEADERS})
