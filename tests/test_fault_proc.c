/* SPDX-License-Identifier: MIT */
/* Fault injection over process identity (lib/proc.c): every syscall it
 * makes fails in turn with every errno it can meet. */
#include <errno.h>

#include "hipc/error.h"
#include "proc.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

static int identity_run(void *ctx, int *sys_errno)
{
    (void)ctx;
    uint64_t start = 0;
    int rc = hipc__proc_self_start(&start, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    int alive = hipc__proc_alive(getpid(), start, sys_errno);
    if (alive < 0)
        return alive;
    /* Our own process not seen: it cannot be gone, so hipc must say it
     * cannot tell (what a hidden /proc entry means), never "gone". */
    return alive == HIPC__PROC_ALIVE     ? HIPC_OK
           : alive == HIPC__PROC_UNKNOWN ? HIPC_E_PERM
                                         : HIPC_E_CORRUPT;
}

/* A stat file that cannot be opened (hidden by hidepid, as ENOENT or
 * EACCES) or a time namespace that cannot be looked at leaves the verdict
 * "unknown". The second run of the scenario asks about ourselves through
 * /proc/PID, whose ENOENT means hidden when kill(pid, 0) finds us. */
static int identity_accepts(enum hipc__sys_call call, int err, int rc)
{
    return rc == HIPC_E_PERM &&
           (call == HIPC_SYS_OPEN || call == HIPC_SYS_STAT) &&
           (err == ENOENT || err == EACCES || err == ENOTDIR);
}

static void nothing_to_release(void *ctx)
{
    (void)ctx;
}

static void own_identity_survives_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario s = {"proc: own start time and liveness",
                                            identity_run, nothing_to_release,
                                            identity_accepts};
    fault_drive_all(&s, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(own_identity_survives_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
