# SPDX-License-Identifier: MIT
# Install rules: the static library, the public headers (with the generated
# hipc/config.h), a CMake package (find_package(hipc CONFIG) -> hipc::hipc),
# a pkg-config file, hipcctl when it was built, and the licence, so a
# firmware build can take an installed or staged hipc either way.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HIPC_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/hipc CACHE STRING
    "Where the CMake package files go, relative to the prefix")
set(HIPC_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig CACHE STRING
    "Where hipc.pc goes, relative to the prefix")

install(TARGETS hipc EXPORT hipcTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Only the public headers: lib/*.h are private and never leave the tree.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hipc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h"
        # The fault plan's header goes only with a library that has it.
        PATTERN "testing.h" EXCLUDE)
if(HIPC_FAULT_INJECTION)
  install(FILES ${PROJECT_SOURCE_DIR}/include/hipc/testing.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hipc)
endif()
# The limits this library was built with (cmake/HipcLimits.cmake).
install(FILES ${HIPC_GENERATED_INCLUDE_DIR}/hipc/config.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hipc)
# hipcctl, when this build made it (HIPC_BUILD_TOOLS, on at top level).
if(TARGET hipcctl)
  install(TARGETS hipcctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
# The licence travels with the package: share/doc/hipc/LICENSE.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(EXPORT hipcTargets NAMESPACE hipc::
        DESTINATION ${HIPC_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hipcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hipcConfig.cmake
  INSTALL_DESTINATION ${HIPC_INSTALL_CMAKEDIR})
# The API is stable within a major version. The version file also refuses a
# package built for another pointer width, so a 32-bit firmware build never
# picks up a 64-bit host install by mistake.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hipcConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hipcConfig.cmake
              ${PROJECT_BINARY_DIR}/hipcConfigVersion.cmake
        DESTINATION ${HIPC_INSTALL_CMAKEDIR})

# hipc.pc finds its prefix relative to itself (${pcfiledir}), so a staged
# install (DESTDIR, a firmware sysroot) works without rewriting the file.
file(RELATIVE_PATH HIPC_PC_TO_PREFIX
     /prefix/${HIPC_INSTALL_PKGCONFIGDIR} /prefix)
string(REGEX REPLACE "/$" "" HIPC_PC_TO_PREFIX "${HIPC_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/hipc.pc.in
               ${PROJECT_BINARY_DIR}/hipc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hipc.pc
        DESTINATION ${HIPC_INSTALL_PKGCONFIGDIR})
