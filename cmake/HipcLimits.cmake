# SPDX-License-Identifier: MIT
# Build-time limits, decided once: each is a cache variable checked here,
# written into <build>/include/hipc/config.h (from cmake/config.h.in) and
# installed with the library. A consumer compiles against the same values
# the library enforces; defining one itself is an #error in that header.
#
#   cmake -DHIPC_MAX_MSG_BYTES=65536 ...        (top level)
#   set(HIPC_MAX_MSG_BYTES 65536)               (parent project, before
#                                                add_subdirectory/FetchContent)

# hipc_limit(<name> <default> <min> <max> <doc>): a decimal integer in
# [min, max]. A normal variable set by a parent project wins over the cache,
# whatever policy CMP0126 says.
function(hipc_limit name default min max doc)
  if(NOT DEFINED ${name})
    set(${name} ${default} CACHE STRING "${doc} [${min}, ${max}]")
  endif()
  set(v "${${name}}")
  # Decimal only (a leading 0 would make the C literal octal), and short
  # enough that the comparisons below stay exact.
  string(LENGTH "${v}" digits)
  if(NOT v MATCHES "^[1-9][0-9]*$" OR digits GREATER 10)
    message(FATAL_ERROR "${name}=${v}: must be a decimal integer from ${min} to ${max}")
  endif()
  if(v LESS min OR v GREATER max)
    message(FATAL_ERROR "${name}=${v}: must be from ${min} to ${max} (${doc})")
  endif()
endfunction()

# A frame or message length is returned as an int by the one-message calls.
hipc_limit(HIPC_MAX_MSG_BYTES 16777216 1 2147483647
           "Largest message a frame or channel carries, in bytes")
# Each try is one shmget(); more tries than the kernel has segment ids
# (IPCMNI, 32768) cannot find a free key that fewer would not.
hipc_limit(HIPC_SHM_CREATE_RETRIES 64 1 32768
           "Fresh keys hipc_shm_create_fresh() tries before HIPC_E_RETRIES")
# Ring offsets are 32-bit and a ring must hold the smallest one
# (HIPC_CHAN_MIN_CAPACITY, 64).
hipc_limit(HIPC_CHAN_MAX_CAPACITY 1073741824 64 2147483648
           "Largest channel ring in bytes, a power of two")
math(EXPR hipc_cap_low_bits "${HIPC_CHAN_MAX_CAPACITY} & (${HIPC_CHAN_MAX_CAPACITY} - 1)")
if(NOT hipc_cap_low_bits EQUAL 0)
  message(FATAL_ERROR "HIPC_CHAN_MAX_CAPACITY=${HIPC_CHAN_MAX_CAPACITY}: must be a power of two")
endif()
# The longest line the kernel writes to /proc/sysvipc/shm, every field at
# its widest, is 242 characters; the buffer sits in hipc_seg_iter.
hipc_limit(HIPC_INSPECT_LINE_MAX 512 256 65536
           "Longest line accepted from /proc/sysvipc/shm")

set(HIPC_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
configure_file(${PROJECT_SOURCE_DIR}/cmake/config.h.in
               ${HIPC_GENERATED_INCLUDE_DIR}/hipc/config.h @ONLY)
message(STATUS "hipc: HIPC_MAX_MSG_BYTES=${HIPC_MAX_MSG_BYTES} "
        "HIPC_SHM_CREATE_RETRIES=${HIPC_SHM_CREATE_RETRIES} "
        "HIPC_CHAN_MAX_CAPACITY=${HIPC_CHAN_MAX_CAPACITY} "
        "HIPC_INSPECT_LINE_MAX=${HIPC_INSPECT_LINE_MAX}")
