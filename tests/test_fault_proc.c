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
    fault_drive_all(&s, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(own_identity_survives_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
