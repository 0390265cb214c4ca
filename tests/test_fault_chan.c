/* SPDX-License-Identifier: MIT */
/* Fault injection over the message channel (lib/chan.c): attaching both
 * ends (each claims its end with its pid and start time from /proc),
 * exchanging messages, and a receive that sleeps on the futex until its
 * timeout. */
#include <string.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define CAP 256u

struct chan_ctx {
    hipc_chan p, c;
    int seg_id; /* id + 1 of a created channel segment */
    _Alignas(64) unsigned char mem[CAP + HIPC_CHAN_HEADER_SIZE];
};

static void chan_release(void *p)
{
    struct chan_ctx *x = p;
    (void)hipc_chan_close(&x->p);
    (void)hipc_chan_close(&x->c);
    if (x->seg_id > 0)
        (void)hipc_shm_remove_id(x->seg_id - 1, NULL);
}

static int both_ends(struct chan_ctx *x, int *sys_errno)
{
    hipc_chan_config cfg = {.capacity = CAP, .spin_ns = 1000};
    size_t size = 0;
    int rc = hipc_chan_mem_size(CAP, &size);
    if (rc != HIPC_OK || size > sizeof x->mem)
        return rc != HIPC_OK ? rc : HIPC_E_TOO_BIG;
    rc = hipc_chan_init_mem(x->mem, size, &cfg);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->p, hipc_chan_attach_mem(&x->p, x->mem, size,
                                          HIPC_CHAN_PRODUCER, &cfg));
    FAULT_STEP(x->c, hipc_chan_attach_mem(&x->c, x->mem, size,
                                          HIPC_CHAN_CONSUMER, &cfg));
    return HIPC_OK;
}

static int exchange(void *p, int *sys_errno)
{
    struct chan_ctx *x = p;
    char buf[64];
    const void *view = NULL;
    void *slot = NULL;
    int rc = both_ends(x, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->p, hipc_chan_send(&x->p, "hello", 6, 0));
    FAULT_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    if (memcmp(buf, "hello", 6) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->p, hipc_chan_reserve(&x->p, 8, &slot, 0));
    memcpy(slot, "reserved", 8);
    FAULT_STEP(x->p, hipc_chan_commit(&x->p, 8));
    FAULT_STEP(x->c, hipc_chan_peek(&x->c, &view, 0));
    if (memcmp(view, "reserved", 8) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->c, hipc_chan_release(&x->c));
    /* Empty now: a try says so at once. */
    rc = hipc_chan_recv(&x->c, buf, sizeof buf, 0);
    if (rc != HIPC_E_AGAIN) {
        *sys_errno = x->c.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->c, hipc_chan_close(&x->c));
    FAULT_STEP(x->p, hipc_chan_close(&x->p));
    return HIPC_OK;
}

/* A receive on an empty channel spins for 1 us, then sleeps on the futex
 * until its 2 ms are up. */
static int sleep_until_timeout(void *p, int *sys_errno)
{
    struct chan_ctx *x = p;
    char buf[16];
    int rc = both_ends(x, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_chan_recv(&x->c, buf, sizeof buf, 2000000);
    if (rc != HIPC_E_TIMEDOUT) {
        *sys_errno = x->c.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->c, hipc_chan_close(&x->c));
    FAULT_STEP(x->p, hipc_chan_close(&x->p));
    return HIPC_OK;
}

/* Over a hipc segment: the producer creates it, the consumer opens it by
 * key (opened without attaching, then attached with its pages made
 * present), the producer asks after it, one message goes through, the
 * creator marks it for removal. */
static int over_a_segment(void *p, int *sys_errno)
{
    struct chan_ctx *x = p;
    hipc_chan_config cfg = {.capacity = 4096};
    char buf[16];
    FAULT_STEP(x->p,
               hipc_chan_create(&x->p, 0x4348414e, HIPC_CHAN_PRODUCER, &cfg));
    x->seg_id = x->p.shm.id + 1;
    FAULT_STEP(x->c,
               hipc_chan_open(&x->c, 0x4348414e, HIPC_CHAN_CONSUMER, &cfg));
    FAULT_STEP(x->p, hipc_chan_get_peer(&x->p, NULL));
    FAULT_STEP(x->p, hipc_chan_send(&x->p, "segment", 8, 0));
    FAULT_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    if (memcmp(buf, "segment", 8) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->p, hipc_chan_remove(&x->p));
    FAULT_STEP(x->c, hipc_chan_close(&x->c));
    FAULT_STEP(x->p, hipc_chan_close(&x->p));
    return HIPC_OK;
}

/* Asking whether the peer still runs reads /proc/PID/stat. A failure to
 * open it (ENOENT, EACCES: hidden by hidepid, as far as hipc can tell,
 * since kill(pid, 0) still finds the peer) leaves the peer counted as
 * there. No /proc/self/ns/pid (STAT ENOENT) is a kernel without
 * namespaces: every process shares one pid space. A futex wait that times out, or finds the word
 * changed, only ends one sleep: the loop looks again. */
static int chan_accepts(enum hipc__sys_call call, int err, int rc)
{
    /* The segment's creator: limits it cannot read are left to the kernel
     * (OPEN, READ), an unsupported prefault falls back to a hint, and a
     * header mapping dropped after checking ignores shmdt's answer. */
    if (rc == HIPC_OK &&
        (call == HIPC_SYS_OPEN || call == HIPC_SYS_READ ||
         call == HIPC_SYS_SHMDT || (call == HIPC_SYS_MADVISE && err == EINVAL)))
        return 1;
    if (call == HIPC_SYS_MADVISE && err == EFAULT && rc == HIPC_E_NOMEM)
        return 1;
    /* hipc_chan_get_peer reports such a peer as held but hidden. */
    if (call == HIPC_SYS_OPEN && err == ENOENT)
        return rc == HIPC_E_PEER_GONE || rc == HIPC_E_NOT_FOUND ||
               rc == HIPC_E_PERM || rc == HIPC_OK;
    if (call == HIPC_SYS_FUTEX)
        return rc == HIPC_OK && err == ETIMEDOUT;
    return call == HIPC_SYS_STAT && err == ENOENT && rc == HIPC_OK;
}

static void chan_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"chan: attach both ends, send, recv, peek", exchange, chan_release,
         chan_accepts},
        {"chan: recv sleeps on the futex to timeout", sleep_until_timeout,
         chan_release, chan_accepts},
        {"chan: create, open by key, send, recv, remove", over_a_segment,
         chan_release, chan_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(chan_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
