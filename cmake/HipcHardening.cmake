# SPDX-License-Identifier: MIT
# Hardening for the library and the programs hipc ships.
#
# Library objects: stack protector (strong), stack clash protection and
# control-flow protection (-fcf-protection on x86, branch protection on
# AArch64) wherever the compiler takes the flag, and _FORTIFY_SOURCE=3 in
# optimised builds (glibc refuses it without optimisation; musl ignores it).
# Programs (tools/, examples/): additionally PIE with full RELRO, so the
# GOT is read-only before main() runs.
# ci/stages/hardening.sh checks all of this on the built binaries.
include(CheckCCompilerFlag)
include(CheckPIESupported)

option(HIPC_HARDEN "Build hipc and its programs with hardening flags" ON)

set(HIPC_HARDEN_CANDIDATES -fstack-protector-strong -fstack-clash-protection)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|i.86)$")
  list(APPEND HIPC_HARDEN_CANDIDATES -fcf-protection=full)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  list(APPEND HIPC_HARDEN_CANDIDATES -mbranch-protection=standard)
endif()
# -Werror: clang accepts some target flags it then ignores with a warning,
# which would break a -Werror build later.
set(CMAKE_REQUIRED_FLAGS -Werror)
set(HIPC_HARDEN_FLAGS "")
foreach(flag ${HIPC_HARDEN_CANDIDATES})
  string(MAKE_C_IDENTIFIER "HIPC_CC_HAS${flag}" var)
  check_c_compiler_flag(${flag} ${var})
  if(${var})
    list(APPEND HIPC_HARDEN_FLAGS ${flag})
  endif()
endforeach()
unset(CMAKE_REQUIRED_FLAGS)
# Sanitizer builds keep their own interceptors; fortified wrappers would
# only hide what ASan is there to find.
if(NOT HIPC_SANITIZE)
  list(APPEND HIPC_HARDEN_FLAGS
       $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-U_FORTIFY_SOURCE>
       $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-D_FORTIFY_SOURCE=3>)
endif()

check_pie_supported(OUTPUT_VARIABLE HIPC_PIE_MESSAGE LANGUAGES C)
check_c_compiler_flag("-Wl,-z,relro,-z,now" HIPC_LD_HAS_RELRO_NOW)

function(hipc_harden_library target)
  target_compile_options(${target} PRIVATE ${HIPC_HARDEN_FLAGS})
  # Position-independent, so PIE programs and shared objects can link it.
  set_property(TARGET ${target} PROPERTY POSITION_INDEPENDENT_CODE ON)
endfunction()

function(hipc_harden_program target)
  target_compile_options(${target} PRIVATE ${HIPC_HARDEN_FLAGS})
  set_property(TARGET ${target} PROPERTY POSITION_INDEPENDENT_CODE ON)
  if(HIPC_LD_HAS_RELRO_NOW)
    target_link_options(${target} PRIVATE -Wl,-z,relro,-z,now)
  endif()
endfunction()

# Every executable defined in `dir`, a source directory the top level added.
function(hipc_harden_programs_in dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
      hipc_harden_program(${t})
    endif()
  endforeach()
endfunction()

if(HIPC_HARDEN)
  hipc_harden_library(hipc)
  # Same conditions as the add_subdirectory() calls in CMakeLists.txt.
  foreach(dir tools examples)
    if(HIPC_BUILD_TOOLS AND EXISTS ${PROJECT_SOURCE_DIR}/${dir}/CMakeLists.txt)
      hipc_harden_programs_in(${PROJECT_SOURCE_DIR}/${dir})
    endif()
  endforeach()
endif()
