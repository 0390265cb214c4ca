# SPDX-License-Identifier: MIT
# Warning flags for hipc's own targets (never forced on a consumer).
set(HIPC_WARNINGS
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
    -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef
    -Wcast-qual -Wpointer-arith -Wvla -Wnull-dereference)

function(hipc_target_warnings target)
  target_compile_options(${target} PRIVATE ${HIPC_WARNINGS})
  if(HIPC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
