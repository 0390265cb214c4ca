/* SPDX-License-Identifier: MIT */
/* Segments (lib/shm.c) where their own tests do not go: handles whose
 * private fields contradict each other, a fresh create without config,
 * and a path that may not be looked at (EPERM from stat). */
#include <errno.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"
#ifdef HIPC_FAULT_INJECTION
#include "fault.h"
#endif

/* A detached handle with a mapping, or an attached one without an id,
 * was not made by hipc: every call refuses it. */
static void handles_that_contradict_themselves_are_bad(void **state)
{
    (void)state;
    hipc_shm h, bad;
    hipc_shm_config cfg = {.size = 64, .flags = HIPC_SHM_NO_ATTACH};
    hipc_shm_info info;
    assert_int_equal(hipc_shm_create(&h, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
    bad = h;
    bad.base_ = &bad;
    assert_int_equal(hipc_shm_stat(&bad, &info), HIPC_E_BAD_HANDLE);
    bad = h;
    bad.id = -1;
    assert_int_equal(hipc_shm_stat(&bad, &info), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_remove(&h), HIPC_OK);
    assert_int_equal(hipc_shm_close(&h), HIPC_OK);
}

/* A NULL config is all defaults, so what a fresh create still refuses
 * is the private key and a missing handle. */
static void a_fresh_create_needs_a_handle_and_a_key(void **state)
{
    (void)state;
    hipc_shm h;
    assert_int_equal(hipc_shm_create_fresh(&h, HIPC_SHM_KEY_PRIVATE, NULL),
                     HIPC_E_BAD_KEY);
    assert_int_equal(hipc_shm_create_fresh(NULL, 0x1234, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_test_shm_count(), 0);
}

#ifdef HIPC_FAULT_INJECTION
/* A reader that takes a sysctl file one byte at a time gets the first
 * digit and then end of file: the value is known to be cut (no newline)
 * and each limit counts as unknown, never as "1". */
static void limits_read_in_pieces_count_as_unknown(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's /proc/sys limits read in pieces");
    hipc_shm_limits lim;
    hipc_fault_reset();
    hipc_fault_short_io(1);
    hipc_fault_short_files(1);
    assert_int_equal(hipc_shm_get_limits(&lim, NULL), HIPC_OK);
    hipc_fault_reset();
    assert_true(lim.shmmax == UINT64_MAX && lim.shmall == UINT64_MAX &&
                lim.shmmni == UINT64_MAX);
    /* A create still works: the kernel enforces the limits itself. */
    hipc_shm h;
    hipc_shm_config cfg = {.size = 64};
    hipc_fault_short_io(1);
    hipc_fault_short_files(1);
    int rc = hipc_shm_create(&h, HIPC_SHM_KEY_PRIVATE, &cfg);
    hipc_fault_reset();
    assert_int_equal(rc, HIPC_OK);
    assert_int_equal(hipc_shm_remove(&h), HIPC_OK);
    assert_int_equal(hipc_shm_close(&h), HIPC_OK);
}

/* EPERM from stat (a path a security module hides) is a permission
 * problem, like EACCES. */
static void a_path_refused_with_eperm_is_perm(void **state)
{
    (void)state;
    key_t key = 0;
    int err = 0;
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_STAT, 1, EPERM);
    assert_int_equal(hipc_shm_key_from_path("/", 1, &key, &err), HIPC_E_PERM);
    assert_int_equal(err, EPERM);
    hipc_fault_reset();
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(handles_that_contradict_themselves_are_bad),
    cmocka_unit_test(a_fresh_create_needs_a_handle_and_a_key),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_path_refused_with_eperm_is_perm),
    cmocka_unit_test(limits_read_in_pieces_count_as_unknown),
#endif
};

HIPC_TEST_MAIN(tests)
