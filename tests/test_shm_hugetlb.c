/* SPDX-License-Identifier: MIT */
/* A segment whose first page the kernel cannot provide: SHM_HUGETLB with
 * SHM_NORESERVE and no free huge page. shmget and shmat succeed, and the
 * first touch of any page is a SIGBUS. hipc must read no byte of it and
 * answer with an explicit code instead (shm.h: HIPC_E_NOMEM, sys_errno
 * EFAULT). Each case runs in a child, so the crash hipc must never cause
 * would show as a failed case (exit 135), not a dead suite. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "hipc/shm.h"
#include "shm_priv.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("huge-page segments, which a world refuses")

#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif
#ifndef SHM_NORESERVE
#define SHM_NORESERVE 010000
#endif

#define HUGE_BYTES (2u << 20)

/* What the kernel answers for a touch of the segment's first page, asked
 * in a child: 0 when it reads fine, else the signal that killed it. */
static int touch_verdict(int id)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* cmocka catches SIGBUS in the parent; the child must die of it. */
        signal(SIGBUS, SIG_DFL);
        const volatile char *p = shmat(id, NULL, SHM_RDONLY);
        if (p == (void *)-1)
            _exit(1);
        char c = p[0];
        (void)c;
        _exit(0);
    }
    int rc = hipc_test_wait_child(pid, 30);
    return rc > 128 ? rc - 128 : rc == 0 ? 0 : -1;
}

/* A huge-page segment that really SIGBUSes on a touch, or a skip that says
 * why the machine cannot give one. */
static int unbacked_segment(void)
{
    /* qemu-user ignores MADV_POPULATE_READ and says 0: what hipc trusts
     * the kernel to mean is not true there. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip("under an emulator that ignores MADV_POPULATE_READ");
    int id = shmget(IPC_PRIVATE, HUGE_BYTES,
                    IPC_CREAT | SHM_HUGETLB | SHM_NORESERVE | 0600);
    if (id < 0)
        hipc_test_skip("the kernel refuses a SHM_HUGETLB|SHM_NORESERVE "
                       "segment here (no hugetlbfs, or not permitted)");
    int sig = touch_verdict(id);
    if (sig != SIGBUS) {
        (void)shmctl(id, IPC_RMID, NULL);
        hipc_test_skip(sig == 0
                           ? "a huge page is free: the segment is readable, "
                             "nothing to prove"
                           : "a touch of the segment did not end in SIGBUS");
    }
    return id;
}

/* Runs `body` on the segment in a child; the child's exit code is the
 * number of the first check that failed, 0 when all held. */
static void in_child(int (*body)(int id), int id)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        _exit(body(id));
    }
    int rc = hipc_test_wait_child(pid, 30);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
    assert_int_equal(rc, 0);
}

/* The explicit code: the kernel said the page cannot be had (EFAULT), or
 * on an emulator that ignores MADV_POPULATE_READ, mincore showed it
 * absent. Either way nothing was read and nothing stays attached. */
static int refused(int rc, int err)
{
    return (rc == HIPC_E_NOMEM && err == EFAULT) ||
           (rc == HIPC_E_UNSUPPORTED && (err == 0 || err == EINVAL));
}

static int nattch(int id)
{
    struct shmid_ds ds;
    return shmctl(id, IPC_STAT, &ds) == 0 ? (int)ds.shm_nattch : -1;
}

static int open_body(int id)
{
    hipc_shm h;
    static const unsigned flags[] = {0, HIPC_SHM_RDONLY, HIPC_SHM_NO_ATTACH,
                                     HIPC_SHM_PREFAULT,
                                     HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        int rc = hipc_shm_open_id(&h, id, 0, flags[i]);
        if (!refused(rc, h.sys_errno) || nattch(id) != 0)
            return 1 + (int)i;
        if (hipc_shm_close(&h) != HIPC_E_BAD_HANDLE)
            return 10 + (int)i;
    }
    return 0;
}

static void
open_of_an_unbacked_huge_page_segment_is_nomem_not_sigbus(void **state)
{
    (void)state;
    in_child(open_body, unbacked_segment());
}

static int peek_body(int id)
{
    hipc_shm_header_info info;
    size_t size = 0;
    int err = -1;
    int rc = hipc__shm_peek_header(id, &size, &info, &err);
    if (!refused(rc, err))
        return 1;
    if (size != HUGE_BYTES || nattch(id) != 0)
        return 2;
    return 0;
}

static void peeking_at_an_unbacked_huge_page_segment_is_nomem(void **state)
{
    (void)state;
    in_child(peek_body, unbacked_segment());
}

/* A raw open reads nothing, so it succeeds; attaching again with a
 * prefault is the explicit code, and the handle stays detached. */
static int raw_body(int id)
{
    hipc_shm h;
    if (hipc_shm_open_id(&h, id, 0, HIPC_SHM_RAW | HIPC_SHM_NO_ATTACH) !=
        HIPC_OK)
        return 1;
    int rc = hipc_shm_attach(&h, HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT);
    if (!refused(rc, h.sys_errno))
        return 2;
    if (h.data != NULL || nattch(id) != 0)
        return 3;
    if (hipc_shm_attach(&h, HIPC_SHM_RDONLY) != HIPC_OK || nattch(id) != 1)
        return 4;
    return hipc_shm_close(&h) == HIPC_OK ? 0 : 5;
}

static void
a_raw_handle_attaches_without_reading_and_prefault_is_nomem(void **state)
{
    (void)state;
    in_child(raw_body, unbacked_segment());
}

/* The inspector (what `hipcctl ls/stat/gc` run) lists, finds and
 * collects around it without a SIGBUS: unreadable, with the code. */
static int inspect_body(int id)
{
    hipc_seg_entry e;
    size_t total = 0, found = 9;
    if (hipc_inspect_list(&e, 1, &total, 0, NULL) != 1 || e.id != id)
        return 1;
    if (e.kind != HIPC_SEG_UNREADABLE ||
        (e.kind_code != HIPC_E_NOMEM && e.kind_code != HIPC_E_UNSUPPORTED))
        return 2;
    if (hipc_inspect_find_id(id, &e, 0, NULL) != HIPC_OK ||
        e.kind != HIPC_SEG_UNREADABLE)
        return 3;
    /* We made it and we run: nothing to collect. */
    if (hipc_inspect_gc(&e, 1, &found, 0, NULL) != 0 || found != 0)
        return 4;
    return nattch(id) == 0 ? 0 : 5;
}

static void
the_inspector_lists_an_unbacked_huge_page_segment_as_unreadable(void **state)
{
    (void)state;
    in_child(inspect_body, unbacked_segment());
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(open_of_an_unbacked_huge_page_segment_is_nomem_not_sigbus),
    cmocka_unit_test(peeking_at_an_unbacked_huge_page_segment_is_nomem),
    cmocka_unit_test(
        a_raw_handle_attaches_without_reading_and_prefault_is_nomem),
    cmocka_unit_test(
        the_inspector_lists_an_unbacked_huge_page_segment_as_unreadable),
};
HIPC_TEST_MAIN(tests)
