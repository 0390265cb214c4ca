# SPDX-License-Identifier: MIT
# hipc embedded in another project must bring its library and nothing else:
# no tests, tools, fuzzers or install rules unless the parent asks.
foreach(opt HIPC_BUILD_TESTS HIPC_BUILD_TOOLS HIPC_BUILD_FUZZ HIPC_BUILD_BENCH
            HIPC_INSTALL)
  if(${opt})
    message(FATAL_ERROR "${opt} is on in an embedded hipc")
  endif()
endforeach()
foreach(tgt hipcctl hipc_test_support test_error)
  if(TARGET ${tgt})
    message(FATAL_ERROR "embedded hipc defined target ${tgt}")
  endif()
endforeach()
if(NOT TARGET hipc::hipc)
  message(FATAL_ERROR "embedded hipc did not define hipc::hipc")
endif()
