/* Fault injection over process identity (lib/proc.c): every syscall it
 * makes fails in turn with every errno it can meet. */
#include "hipc/error.h"
#include "proc.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

static int identity_run(void *ctx, int *sys_errno)
{
    (void)ctx;
    uint64_t start = 0;
    int rc = hipc__proc_start_time(getpid(), &start, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    int alive = hipc__proc_alive(getpid(), start, sys_errno);
    if (alive < 0)
        return alive;
    /* Our own process not found alive: what an ENOENT from open means. */
    return alive == 1 ? HIPC_OK : HIPC_E_NOT_FOUND;
}

static void nothing_to_release(void *ctx)
{
    (void)ctx;
}

static void own_identity_survives_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario s = {
        "proc: own start time and liveness", identity_run, nothing_to_release,
        NULL};
    unsigned long total = 0;
    assert_int_equal(fault_drive(&s, &total), 0);
    assert_true(total > 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(own_identity_survives_every_syscall_failure),
};
#else
static void fault_driver_needs_the_fault_build(void **state)
{
    (void)state;
    skip();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(fault_driver_needs_the_fault_build),
};
#endif

HIPC_TEST_MAIN(tests)
