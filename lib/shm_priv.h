/* SPDX-License-Identifier: MIT */
/* hipc — what lib/shm.c offers the library's other modules, never
 * installed. */
#ifndef HIPC_SHM_PRIV_H
#define HIPC_SHM_PRIV_H

#include <errno.h>
#include <stddef.h>

#include "hipc/shm.h"
#include "internal.h"

/* What the kernel means for a segment *id*: EINVAL or EIDRM say that no
 * segment has that id (any more), which a handle calls HIPC_E_REMOVED and
 * a bare id HIPC_E_NOT_FOUND (`gone`); any other errno maps as usual.
 * Records the errno into the optional sink. Shared by shm.c and
 * inspect.c, so that every call on an id answers the same way. */
static inline int hipc__shm_id_gone(long neg)
{
    return neg == -EINVAL || neg == -EIDRM;
}

static inline int hipc__shm_id_fail(int *sink, long neg, int gone)
{
    return hipc__shm_id_gone(neg) ? hipc__fail_as(sink, neg, gone)
                                  : hipc__fail(sink, neg);
}

/* Makes the first page of the mapping at `base` present before anything
 * touches it, with madvise `advice` (MADV_POPULATE_READ, or
 * MADV_POPULATE_WRITE for a page about to be written): a page the kernel
 * cannot provide (a SHM_HUGETLB|SHM_NORESERVE segment with no free huge
 * page, or one passed off as something smaller) would be a SIGBUS at the
 * first access; populating turns that into EFAULT (HIPC_E_NOMEM).
 * Kernels before 5.14 lack the advice (EINVAL): then mincore must show
 * the page present (one someone wrote is), and a page not shown present
 * is never touched: HIPC_E_UNSUPPORTED (*err EINVAL). HIPC_OK sets *err
 * to 0. `err` may be NULL. */
int hipc__shm_page_present(void *base, int advice, int *err);

/* Reads the hipc header of segment `id` without ever risking a SIGBUS:
 * attaches it read-only for a moment, makes the header page present with
 * MADV_POPULATE_READ (or, where the kernel lacks it, proves it present
 * with mincore()) before reading one byte, checks the header exactly as hipc_shm_open() does (acquire load
 * of the magic, one copy into a local, hipc_shm_header_check()), and
 * detaches again. The size is the kernel's (IPC_STAT taken while attached,
 * so it belongs to the mapping read), never the caller's.
 *
 * *seg_size (may be NULL) receives the segment's size once the IPC_STAT
 * succeeded; *out (required) is filled only on HIPC_OK; *sys_errno (may be
 * NULL) receives the kernel's errno of the failing call, 0 otherwise.
 *
 * Returns HIPC_OK: a valid hipc header, *out filled. Nothing could be read:
 *   HIPC_E_NULL        out is NULL
 *   HIPC_E_BAD_ID      id < 0
 *   HIPC_E_NOT_FOUND   no segment has that id (EINVAL, EIDRM)
 *   HIPC_E_PERM        no read permission (EACCES)
 *   HIPC_E_NOMEM       the header page cannot be made present (EFAULT:
 *                      e.g. a SHM_HUGETLB|SHM_NORESERVE segment with no
 *                      free huge page, which a read would turn into
 *                      SIGBUS; ENOMEM), or shmat found no address space
 *   HIPC_E_UNSUPPORTED the kernel cannot populate pages (before Linux
 *                      5.14: madvise says EINVAL, kept in *sys_errno) and
 *                      mincore does not show the header page in memory.
 *                      Not read: it could SIGBUS. (An emulator that
 *                      ignores MADV_POPULATE_READ and says 0 is trusted
 *                      like the kernel: hipc is not hardened for that.)
 *   hipc__from_errno() of any other errno (HIPC_E_SYS for the unexpected).
 * The segment was read and is not a valid hipc header (hipc_shm_header_
 * check's codes): HIPC_E_FOREIGN, HIPC_E_AGAIN (zero magic: a creator may
 * still be writing; the caller decides from nattch, as hipc_shm_open does),
 * HIPC_E_LAYOUT, HIPC_E_VERSION, HIPC_E_CORRUPT.
 *
 * Touches nothing in the segment; the attach and detach update its
 * shm_atime, shm_dtime and shm_lpid, as any shmat does. */
int hipc__shm_peek_header(int id, size_t *seg_size, hipc_shm_header_info *out,
                          int *sys_errno);

#endif
