/* SPDX-License-Identifier: MIT */
/* Fault injection over the safe header read (lib/shm.c header_present:
 * MADV_POPULATE_READ, then mincore, both at the MADVISE fault point), the
 * identity checks taken while an attach pins a segment, and
 * hipc__shm_peek_header. Each case fails one chosen call and checks the
 * code, the kept errno and that nothing stays attached or behind. */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "shm_priv.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault.h"
#include "fault/driver.h"

static int nattch(int id)
{
    struct shmid_ds ds;
    return shmctl(id, IPC_STAT, &ds) == 0 ? (int)ds.shm_nattch : -1;
}

/* A hipc segment, header written, nobody attached. */
static int hipc_segment(void)
{
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 100, .flags = HIPC_SHM_NO_ATTACH};
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    return shm.id;
}

/* A segment whose first page nobody ever touched: not in memory. */
static int untouched_segment(void)
{
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    return id;
}

static void fail_nth(enum hipc__sys_call call, unsigned long nth, int err)
{
    hipc_fault_reset();
    hipc_fault_fail_nth(call, nth, err);
}

/* Opens `id` with the nth MADVISE failing; the code and errno must be
 * `want` and `want_errno`, and nothing may stay attached. */
static void open_with_madvise_fault(int id, unsigned long nth, int err,
                                    int want, int want_errno)
{
    hipc_shm h;
    fail_nth(HIPC_SYS_MADVISE, nth, err);
    int rc = hipc_shm_open_id(&h, id, 0, 0);
    assert_true(hipc_fault_fired());
    hipc_fault_reset();
    assert_int_equal(rc, want);
    if (rc == HIPC_OK) {
        assert_int_equal(nattch(id), 1);
        assert_int_equal(hipc_shm_close(&h), HIPC_OK);
    } else {
        assert_int_equal(h.sys_errno, want_errno);
    }
    assert_int_equal(nattch(id), 0);
}

/* A kernel without MADV_POPULATE_READ (EINVAL): a written header is in
 * memory, mincore shows it, the open succeeds. */
static void without_populate_a_written_header_still_opens(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own shmctl on hipc's segments");
    int id = hipc_segment();
    open_with_madvise_fault(id, 1, EINVAL, HIPC_OK, 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* The same kernel and a page nobody wrote: not shown present, not read. */
static void without_populate_an_absent_page_is_unsupported(void **state)
{
    (void)state;
    hipc_test_needs_kernel("page presence (mincore) on a kernel segment");
    int id = untouched_segment();
    open_with_madvise_fault(id, 1, EINVAL, HIPC_E_UNSUPPORTED, EINVAL);
    hipc_shm_header_info info;
    int err = 0;
    fail_nth(HIPC_SYS_MADVISE, 1, EINVAL);
    assert_int_equal(hipc__shm_peek_header(id, NULL, &info, &err),
                     HIPC_E_UNSUPPORTED);
    hipc_fault_reset();
    assert_int_equal(err, EINVAL);
    assert_int_equal(nattch(id), 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* The page cannot be had (EFAULT: what a huge-page segment without a free
 * huge page answers) or memory is short: HIPC_E_NOMEM, errno kept. */
static void a_page_the_kernel_cannot_provide_is_nomem(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own shmctl on hipc's segments");
    int id = hipc_segment();
    open_with_madvise_fault(id, 1, EFAULT, HIPC_E_NOMEM, EFAULT);
    open_with_madvise_fault(id, 1, ENOMEM, HIPC_E_NOMEM, ENOMEM);
    open_with_madvise_fault(id, 1, EAGAIN, HIPC_E_AGAIN, EAGAIN);
    hipc_shm_header_info info;
    int err = 0;
    fail_nth(HIPC_SYS_MADVISE, 1, EFAULT);
    assert_int_equal(hipc__shm_peek_header(id, NULL, &info, &err),
                     HIPC_E_NOMEM);
    hipc_fault_reset();
    assert_int_equal(err, EFAULT);
    assert_int_equal(nattch(id), 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* peek: shmat refused, or the IPC_STAT after it failing, leaves nothing
 * attached and says why. */
static void peek_failures_leave_nothing_attached(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own shmctl on hipc's segments");
    int id = hipc_segment();
    hipc_shm_header_info info;
    size_t size = 3;
    int err = 0;
    fail_nth(HIPC_SYS_SHMAT, 1, EACCES);
    assert_int_equal(hipc__shm_peek_header(id, &size, &info, &err),
                     HIPC_E_PERM);
    assert_int_equal(err, EACCES);
    fail_nth(HIPC_SYS_SHMAT, 1, EIDRM);
    assert_int_equal(hipc__shm_peek_header(id, &size, &info, &err),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(err, EIDRM);
    fail_nth(HIPC_SYS_SHMCTL, 1, EACCES);
    assert_int_equal(hipc__shm_peek_header(id, &size, &info, &err),
                     HIPC_E_PERM);
    assert_int_equal(err, EACCES);
    hipc_fault_reset();
    assert_int_equal(size, 3);
    assert_int_equal(nattch(id), 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* remove on a detached handle pins the segment with a read-only attach;
 * when that attach is refused (no read permission) the remove still
 * happens, checked but unpinned; when the kernel says the segment is gone
 * it is HIPC_E_REMOVED and nothing else is tried. */
static void remove_without_a_pin_still_checks_and_removes(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 10, .flags = HIPC_SHM_NO_ATTACH};
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    fail_nth(HIPC_SYS_SHMAT, 1, EIDRM);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_E_REMOVED);
    assert_int_equal(shm.sys_errno, EIDRM);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_SHMCTL), 0);
    hipc_fault_reset();
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(shm.id, NULL), HIPC_OK);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    fail_nth(HIPC_SYS_SHMAT, 1, EACCES);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_SHMDT), 0);
    hipc_fault_reset();
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(nattch(shm.id), -1);
}

/* The identity IPC_STAT taken while attached fails: the create removes
 * its segment, the attach stays detached. */
static void a_failed_identity_stat_undoes_the_attach(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own shmctl on hipc's segments");
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 10};
    fail_nth(HIPC_SYS_SHMCTL, 1, EACCES);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_PERM);
    assert_int_equal(shm.sys_errno, EACCES);
    hipc_fault_reset();
    assert_int_equal(hipc_test_shm_count(), 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    fail_nth(HIPC_SYS_SHMCTL, 1, EACCES);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_PERM);
    hipc_fault_reset();
    assert_null(shm.data);
    assert_int_equal(nattch(shm.id), 0);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* ---- The sweep: every call of a peek fails in turn ------------------- */

struct peek_ctx {
    int id;
};

static void peek_cleanup(void *p)
{
    struct peek_ctx *c = p;
    if (c->id > 0)
        (void)hipc_shm_remove_id(c->id - 1, NULL);
}

static int peek_run(void *p, int *sys_errno)
{
    struct peek_ctx *c = p;
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 64, .flags = HIPC_SHM_NO_ATTACH};
    int rc = hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc != HIPC_OK) {
        *sys_errno = shm.sys_errno;
        return rc;
    }
    c->id = shm.id + 1;
    hipc_shm_header_info info;
    rc = hipc__shm_peek_header(shm.id, NULL, &info, sys_errno);
    if (rc == HIPC_OK && info.requested != 64)
        return HIPC_E_CORRUPT;
    return rc;
}

/* A creator's limits it cannot read are left to the kernel; EINVAL from
 * madvise is a kernel without MADV_POPULATE_*, where the written header
 * is still shown present; EFAULT from populating is memory that cannot be
 * had; a peek's mapping is dropped without looking at shmdt's answer; an
 * id gone under shmat or IPC_STAT is not found. */
static int peek_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK)
        return call == HIPC_SYS_OPEN || call == HIPC_SYS_READ ||
               call == HIPC_SYS_SHMDT ||
               (call == HIPC_SYS_MADVISE && err == EINVAL);
    if (call == HIPC_SYS_MADVISE && err == EFAULT)
        return rc == HIPC_E_NOMEM;
    return err == EIDRM && rc == HIPC_E_NOT_FOUND;
}

static void a_peek_survives_every_syscall_failure(void **state)
{
    (void)state;
    const struct fault_scenario s = {"shm: create, peek", peek_run,
                                     peek_cleanup, peek_accepts};
    fault_drive_all(&s, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(
        without_populate_a_written_header_still_opens, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(
        without_populate_an_absent_page_is_unsupported, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(a_page_the_kernel_cannot_provide_is_nomem,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(peek_failures_leave_nothing_attached,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(
        remove_without_a_pin_still_checks_and_removes, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(a_failed_identity_stat_undoes_the_attach,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test(a_peek_survives_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
