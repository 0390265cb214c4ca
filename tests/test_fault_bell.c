/* SPDX-License-Identifier: MIT */
/* Fault injection over the channel's doorbell (lib/bell.c, lib/chan.c):
 * making both ends' bells, arming them with tries that find nothing, and
 * ringing them from the other end. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define CAP 256u

struct bell_ctx {
    hipc_chan p, c;
    _Alignas(64) unsigned char mem[CAP + HIPC_CHAN_HEADER_SIZE];
};

static void bell_release(void *p)
{
    struct bell_ctx *x = p;
    (void)hipc_chan_close(&x->p);
    (void)hipc_chan_close(&x->c);
}

/* A try that may find nothing: HIPC_E_AGAIN goes on. */
#define TRY_STEP(h, call)                                                      \
    do {                                                                       \
        int t_ = (call);                                                       \
        if (t_ != HIPC_E_AGAIN)                                                \
            FAULT_STEP(h, t_);                                                 \
    } while (0)

static int ring_both_ways(void *p, int *sys_errno)
{
    struct bell_ctx *x = p;
    hipc_chan_config cfg = {.capacity = CAP, .flags = HIPC_CHAN_ANONYMOUS};
    size_t size = 0;
    char buf[64] = {0};
    int fd = -1;
    int rc = hipc_chan_mem_size(CAP, &size);
    if (rc == HIPC_OK)
        rc = hipc_chan_init_mem(x->mem, size, &cfg);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->p, hipc_chan_attach_mem(&x->p, x->mem, size,
                                          HIPC_CHAN_PRODUCER, &cfg));
    FAULT_STEP(x->c, hipc_chan_attach_mem(&x->c, x->mem, size,
                                          HIPC_CHAN_CONSUMER, &cfg));
    FAULT_STEP(x->c, hipc_chan_get_fd(&x->c, &fd));
    TRY_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_chan_send(&x->p, "ding", 4, 0));
    FAULT_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_chan_get_fd(&x->p, &fd));
    for (int i = 0; i < 8; i++)
        TRY_STEP(x->p, hipc_chan_send(&x->p, buf, 56, 0));
    FAULT_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    return HIPC_OK;
}

/* The bell is readable when get_fd or a final answer returns: a ring
 * the handle sent itself, there before the call returned. A self-ring
 * that failed falls back to the timer, readable with its interrupt
 * (waited for). Anything else ends the case as failed. */
static void ready_or_die(int fd, const char *when)
{
    int ok = hipc_fault_fired()
                 ? hipc_test_readable(fd, 5000)
                 : hipc_test_ready_now(fd) && hipc_test_bell_has_ring(fd);
    if (!ok) {
        fprintf(stderr, "the bell was not readable %s\n", when);
        _exit(1);
    }
}

/* Readiness the bell gives itself, at first and after the peer closed,
 * twice (the second after the first was drained by the arming). */
static int self_rings(void *p, int *sys_errno)
{
    struct bell_ctx *x = p;
    /* Not anonymous: a try asks after the peer. */
    hipc_chan_config cfg = {.capacity = CAP};
    size_t size = 0;
    char buf[64] = {0};
    int fd = -1;
    int rc = hipc_chan_mem_size(CAP, &size);
    if (rc == HIPC_OK)
        rc = hipc_chan_init_mem(x->mem, size, &cfg);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->p, hipc_chan_attach_mem(&x->p, x->mem, size,
                                          HIPC_CHAN_PRODUCER, &cfg));
    FAULT_STEP(x->c, hipc_chan_attach_mem(&x->c, x->mem, size,
                                          HIPC_CHAN_CONSUMER, &cfg));
    FAULT_STEP(x->c, hipc_chan_get_fd(&x->c, &fd));
    ready_or_die(fd, "at first");
    TRY_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    TRY_STEP(x->c, hipc_chan_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_chan_close(&x->p));
    for (int i = 0; i < 2; i++) {
        rc = hipc_chan_recv(&x->c, buf, sizeof buf, 0);
        if (rc != HIPC_E_PEER_GONE)
            FAULT_STEP(x->c, rc == HIPC_OK ? HIPC_E_CORRUPT : rc);
        ready_or_die(fd, "after HIPC_E_PEER_GONE");
    }
    return HIPC_OK;
}

/* A ring that cannot be made (no socket, the send refused) is left to the
 * waiter's timer, and a drain that fails only leaves the descriptor
 * readable: the calls that made them succeed. A name taken (EADDRINUSE)
 * is HIPC_E_EXISTS. A timer that cannot be set is HIPC_E_SYS
 * whatever the kernel said. */
static int bell_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK && (call == HIPC_SYS_SOCKET || call == HIPC_SYS_SENDTO ||
                          call == HIPC_SYS_READ))
        return 1;
    if (call == HIPC_SYS_BIND && err == EADDRINUSE)
        return rc == HIPC_E_EXISTS;
    return call == HIPC_SYS_TIMERFD_SETTIME && rc == HIPC_E_SYS;
}

/* As above; and /proc, read for a channel that is not anonymous, that
 * cannot be read is a peer not found out this time (asked again at the
 * next try), not an error. */
static int self_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK && (call == HIPC_SYS_OPEN || call == HIPC_SYS_STAT))
        return 1;
    return bell_accepts(call, err, rc);
}

static void bell_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"bell: make both bells, arm, ring both ways", ring_both_ways,
         bell_release, bell_accepts},
        {"bell: readable at first and after the peer closed", self_rings,
         bell_release, self_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(bell_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
