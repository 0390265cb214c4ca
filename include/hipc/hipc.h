/* SPDX-License-Identifier: MIT */
/* hipc — hardened System V shared memory, pipes, FIFOs, child processes,
 * a shared-memory channel, state blocks and broadcast rings for Linux.
 * This umbrella header includes every module. */
#ifndef HIPC_HIPC_H
#define HIPC_HIPC_H

/* API version. The layout of shared segments has its own version
 * (HIPC_SHM_LAYOUT_VERSION), so the two can move independently. */
#define HIPC_VERSION_MAJOR 1
#define HIPC_VERSION_MINOR 1
#define HIPC_VERSION_PATCH 0
#define HIPC_VERSION                                                           \
    ((HIPC_VERSION_MAJOR << 16) | (HIPC_VERSION_MINOR << 8) |                  \
     HIPC_VERSION_PATCH)
#define HIPC_VERSION_STRING "1.1.0"

#include "hipc/config.h"
#include "hipc/types.h"
#include "hipc/error.h"
#include "hipc/shm.h"
#include "hipc/inspect.h"
#include "hipc/pipe.h"
#include "hipc/frame.h"
#include "hipc/chan.h"
#include "hipc/process.h"
#include "hipc/fifo.h"
#include "hipc/state.h"
#include "hipc/bcast.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version the library was built as; compare with HIPC_VERSION to catch
 * a header/library mismatch. */
unsigned hipc_version(void);
const char *hipc_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
