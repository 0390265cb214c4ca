/* SPDX-License-Identifier: MIT */
/* Fault injection over state blocks (lib/state.c, lib/board.c): creating
 * a block and its board, reading, the tools' stat, a reader that attaches
 * the board and sleeps on the futex, and a successor writer. */
#include <string.h>

#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define KEY ((hipc_key)0x5a7e0004)
#define VSIZE 64u

struct state_ctx {
    hipc_state_writer w;
    hipc_state_reader r;
};

static void state_release(void *p)
{
    struct state_ctx *x = p;
    (void)hipc_state_close_reader(&x->r);
    (void)hipc_state_close_writer(&x->w);
    (void)hipc_shm_remove_key(KEY, NULL);
}

static int publish_and_read(void *p, int *sys_errno)
{
    struct state_ctx *x = p;
    unsigned char v[VSIZE], got[VSIZE];
    memset(v, 0x3c, sizeof v);
    hipc_state_config cfg = {.mode = 0644};
    FAULT_STEP(x->w, hipc_state_create(&x->w, KEY, VSIZE, &cfg));
    FAULT_STEP(x->r, hipc_state_open_reader(&x->r, KEY, NULL));
    FAULT_STEP(x->w, hipc_state_publish(&x->w, v, sizeof v));
    FAULT_STEP(x->r, hipc_state_read(&x->r, got, sizeof got, NULL));
    if (memcmp(v, got, VSIZE) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->r, hipc_state_get_writer(&x->r, NULL));
    hipc_state_stat st;
    int rc = hipc_state_stat_id(x->w.shm_.id, &st, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->w, hipc_state_remove(&x->w));
    FAULT_STEP(x->r, hipc_state_close_reader(&x->r));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    return HIPC_OK;
}

/* The reader attaches the board and sleeps until its 2 ms are up. */
static int wait_until_timeout(void *p, int *sys_errno)
{
    struct state_ctx *x = p;
    FAULT_STEP(x->w, hipc_state_create(&x->w, KEY, VSIZE, NULL));
    FAULT_STEP(x->r, hipc_state_open_reader(&x->r, KEY, NULL));
    int rc = hipc_state_wait(&x->r, 2000000);
    if (rc != HIPC_E_TIMEDOUT) {
        *sys_errno = x->r.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->w, hipc_state_remove(&x->w));
    FAULT_STEP(x->r, hipc_state_close_reader(&x->r));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    return HIPC_OK;
}

static int successor(void *p, int *sys_errno)
{
    struct state_ctx *x = p;
    unsigned char v[VSIZE];
    memset(v, 0x5a, sizeof v);
    FAULT_STEP(x->w, hipc_state_create(&x->w, KEY, VSIZE, NULL));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    FAULT_STEP(x->w, hipc_state_open_writer(&x->w, KEY, NULL));
    FAULT_STEP(x->w, hipc_state_publish(&x->w, v, sizeof v));
    FAULT_STEP(x->w, hipc_state_remove(&x->w));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    return HIPC_OK;
}

/* What the library rightly absorbs or maps in its own way:
 *   - a mapping dropped after use ignores shmdt's answer; a kernel
 *     without MADV_POPULATE_* (EINVAL) gets the fallback;
 *   - a reader that cannot attach the board still waits, unannounced
 *     (SHMAT, SHMCTL, MADVISE during the wait);
 *   - a futex sleep that times out, is interrupted or finds the word
 *     changed only ends one sleep;
 *   - /proc reads as in the channel (no /proc/self/ns/pid: no namespaces;
 *     a hidden /proc/PID/stat: the writer counts as there);
 *   - a page that cannot be made present is HIPC_E_NOMEM;
 *   - an id whose segment vanished (EIDRM, EINVAL) is HIPC_E_NOT_FOUND
 *     for a bare id, HIPC_E_REMOVED for a handle. */
static int state_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK && (call == HIPC_SYS_SHMDT || call == HIPC_SYS_SHMAT ||
                          call == HIPC_SYS_SHMCTL || call == HIPC_SYS_MADVISE ||
                          call == HIPC_SYS_OPEN || call == HIPC_SYS_READ))
        return 1;
    if (call == HIPC_SYS_MADVISE && err == EFAULT && rc == HIPC_E_NOMEM)
        return 1;
    if (err == EIDRM && (rc == HIPC_E_NOT_FOUND || rc == HIPC_E_REMOVED))
        return 1;
    if (call == HIPC_SYS_OPEN && err == ENOENT)
        return rc == HIPC_E_NOT_FOUND || rc == HIPC_E_PERM;
    if (call == HIPC_SYS_FUTEX)
        return rc == HIPC_OK;
    return call == HIPC_SYS_STAT && err == ENOENT && rc == HIPC_OK;
}

static void state_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"state: create, read, stat, remove", publish_and_read, state_release,
         state_accepts},
        {"state: reader waits on the board to timeout", wait_until_timeout,
         state_release, state_accepts},
        {"state: successor writer takes over", successor, state_release,
         state_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(state_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
