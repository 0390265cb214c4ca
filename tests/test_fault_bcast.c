/* SPDX-License-Identifier: MIT */
/* Fault injection over the broadcast ring (lib/bcast.c): creating it (a
 * segment, the producer's identity from /proc, the board), opening a
 * read-only consumer by key and by id, sending, receiving, a receive that
 * sleeps on the futex until its timeout, a look by id, and a successor
 * producer. */
#include <string.h>

#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define KEY 0x42430003

struct bcast_ctx {
    hipc_bcast p, c, d;
    int seg_id; /* id + 1 of a created ring segment */
};

static void bcast_release(void *p)
{
    struct bcast_ctx *x = p;
    (void)hipc_bcast_close(&x->p);
    (void)hipc_bcast_close(&x->c);
    (void)hipc_bcast_close(&x->d);
    if (x->seg_id > 0)
        (void)hipc_shm_remove_id(x->seg_id - 1, NULL);
}

static int create_and_open(struct bcast_ctx *x, int *sys_errno)
{
    hipc_bcast_config cfg = {.capacity = 256, .spin_ns = 1000};
    FAULT_STEP(x->p, hipc_bcast_create(&x->p, KEY, &cfg));
    x->seg_id = x->p.shm.id + 1;
    FAULT_STEP(x->c, hipc_bcast_open_consumer(&x->c, KEY, &cfg));
    return HIPC_OK;
}

static int exchange(void *p, int *sys_errno)
{
    struct bcast_ctx *x = p;
    char buf[64];
    int rc = create_and_open(x, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    hipc_bcast_config oc = {.flags = HIPC_BCAST_OLDEST};
    FAULT_STEP(x->d, hipc_bcast_open_consumer_id(&x->d, x->p.shm.id, &oc));
    for (int i = 0; i < 12; i++)
        FAULT_STEP(x->p, hipc_bcast_send(&x->p, "broadcast", 10));
    rc = hipc_bcast_recv(&x->c, buf, sizeof buf, 0);
    if (rc != HIPC_E_OVERRUN) {
        *sys_errno = x->c.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    if (memcmp(buf, "broadcast", 10) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->c, hipc_bcast_get_producer(&x->c, NULL));
    hipc_bcast_stat st;
    rc = hipc_bcast_stat_id(x->p.shm.id, &st, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->p, hipc_bcast_remove(&x->p));
    FAULT_STEP(x->d, hipc_bcast_close(&x->d));
    FAULT_STEP(x->c, hipc_bcast_close(&x->c));
    FAULT_STEP(x->p, hipc_bcast_close(&x->p));
    return HIPC_OK;
}

/* A receive on an empty ring spins for 1 us, then sleeps on the futex
 * (announced on the board it attaches) until its 2 ms are up; then a
 * successor producer takes over from the one that closed. */
static int sleep_then_succeed(void *p, int *sys_errno)
{
    struct bcast_ctx *x = p;
    char buf[16];
    int rc = create_and_open(x, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_bcast_recv(&x->c, buf, sizeof buf, 2000000);
    if (rc != HIPC_E_TIMEDOUT) {
        *sys_errno = x->c.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->p, hipc_bcast_close(&x->p));
    FAULT_STEP(x->p, hipc_bcast_open_producer(&x->p, KEY, NULL));
    FAULT_STEP(x->p, hipc_bcast_send(&x->p, "next", 5));
    FAULT_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_bcast_remove(&x->p));
    FAULT_STEP(x->c, hipc_bcast_close(&x->c));
    FAULT_STEP(x->p, hipc_bcast_close(&x->p));
    return HIPC_OK;
}

/* As for the channel: limits the creator cannot read, a prefault that
 * falls back to a hint and a dropped header mapping are absorbed; a
 * producer whose /proc entry cannot be opened counts as there; a futex
 * wait that times out or is interrupted only ends one sleep; a board
 * that cannot be created fails the create, one that cannot be attached
 * only makes a sleeper's wake-ups come per slice. */
static int bcast_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK && (call == HIPC_SYS_OPEN || call == HIPC_SYS_READ ||
                          call == HIPC_SYS_SHMDT || call == HIPC_SYS_FUTEX ||
                          call == HIPC_SYS_SHMAT || call == HIPC_SYS_SHMCTL ||
                          call == HIPC_SYS_MADVISE))
        return 1;
    if (call == HIPC_SYS_MADVISE && err == EFAULT && rc == HIPC_E_NOMEM)
        return 1;
    if (call == HIPC_SYS_OPEN && err == ENOENT)
        return rc == HIPC_E_PEER_GONE || rc == HIPC_E_NOT_FOUND ||
               rc == HIPC_E_PERM;
    /* A look by id that cannot judge the producer says HIDDEN. */
    return call == HIPC_SYS_STAT && rc == HIPC_OK;
}

static void bcast_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"bcast: create, open by key and id, send, overrun, recv, stat",
         exchange, bcast_release, bcast_accepts},
        {"bcast: recv sleeps to timeout, a successor producer",
         sleep_then_succeed, bcast_release, bcast_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(bcast_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
