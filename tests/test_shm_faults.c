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

static void a_fresh_create_needs_its_config(void **state)
{
    (void)state;
    hipc_shm h;
    assert_int_equal(hipc_shm_create_fresh(&h, HIPC_SHM_KEY_PRIVATE, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_shm_create_fresh(NULL, 0x1234, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_test_shm_count(), 0);
}

#ifdef HIPC_FAULT_INJECTION
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
    cmocka_unit_test(a_fresh_create_needs_its_config),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_path_refused_with_eperm_is_perm),
#endif
};

HIPC_TEST_MAIN(tests)
