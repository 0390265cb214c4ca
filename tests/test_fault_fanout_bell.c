/* SPDX-License-Identifier: MIT */
/* Fault injection over the fan-out descriptors (hipc_state_get_fd,
 * hipc_bcast_get_fd: lib/board.c, lib/bell.c): making a reader's bell,
 * arming it with tries that find nothing, the writer ringing it, and the
 * writer's close ringing it once more; on a board full of dead readers'
 * claims, the probe that takes one over and the refused rings that free
 * the others. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "hipc/bcast.h"
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define KEY ((hipc_key)0x5a7e0b04)
#define VSIZE 32u

struct fan_ctx {
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_bcast p, c;
};

static void fan_release(void *p)
{
    struct fan_ctx *x = p;
    (void)hipc_state_close_reader(&x->r);
    (void)hipc_state_close_writer(&x->w);
    (void)hipc_bcast_close(&x->c);
    (void)hipc_bcast_close(&x->p);
    (void)hipc_shm_remove_key(KEY, NULL);
}

/* A try: HIPC_E_AGAIN (and, after the writer left, HIPC_E_PEER_GONE) is
 * an answer, not a failure. */
#define TRY_STEP(h, call)                                                      \
    do {                                                                       \
        int t_ = (call);                                                       \
        if (t_ != HIPC_E_AGAIN && t_ != HIPC_E_PEER_GONE)                      \
            FAULT_STEP(h, t_);                                                 \
    } while (0)

static int state_rings(void *p, int *sys_errno)
{
    struct fan_ctx *x = p;
    unsigned char v[VSIZE];
    int fd = -1;
    memset(v, 0x3c, sizeof v);
    FAULT_STEP(x->w, hipc_state_create(&x->w, KEY, VSIZE, NULL));
    FAULT_STEP(x->r, hipc_state_open_reader(&x->r, KEY, NULL));
    FAULT_STEP(x->r, hipc_state_get_fd(&x->r, &fd));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->w, hipc_state_publish(&x->w, v, sizeof v));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->r, hipc_state_read(&x->r, v, sizeof v, NULL));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->w, hipc_state_remove(&x->w));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->r, hipc_state_close_reader(&x->r));
    return HIPC_OK;
}

/* Every slot claimed for a bell nobody holds, every other one armed. */
static void fill_with_dead_claims(hipc_state_writer *w)
{
    struct hipc__board *b = (struct hipc__board *)(void *)w->board_;
    unsigned char *base = (unsigned char *)(uintptr_t)b->sleepers;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++) {
        _Atomic uint32_t *s = (_Atomic uint32_t *)(void *)(base + 64 + i * 16);
        atomic_store(&s[0], (i % 2 ? 0xc0000000u : 0x40000000u) | 77u);
        atomic_store(&s[1], 1u);
        atomic_store(&s[2], 0xdead0000u + (uint32_t)i);
        if (i % 2)
            atomic_fetch_add(b->sleepers, HIPC__BOARD_BELL_ONE);
    }
}

static int state_takes_over(void *p, int *sys_errno)
{
    struct fan_ctx *x = p;
    unsigned char v[VSIZE];
    int fd = -1;
    memset(v, 0x5a, sizeof v);
    FAULT_STEP(x->w, hipc_state_create(&x->w, KEY, VSIZE, NULL));
    fill_with_dead_claims(&x->w);
    FAULT_STEP(x->r, hipc_state_open_reader(&x->r, KEY, NULL));
    FAULT_STEP(x->r, hipc_state_get_fd(&x->r, &fd));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->w, hipc_state_publish(&x->w, v, sizeof v));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->w, hipc_state_remove(&x->w));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    FAULT_STEP(x->r, hipc_state_close_reader(&x->r));
    return HIPC_OK;
}

static int bcast_rings(void *p, int *sys_errno)
{
    struct fan_ctx *x = p;
    char buf[32] = {0};
    int fd = -1;
    FAULT_STEP(x->p, hipc_bcast_create(&x->p, KEY, NULL));
    FAULT_STEP(x->c, hipc_bcast_open_consumer(&x->c, KEY, NULL));
    FAULT_STEP(x->c, hipc_bcast_get_fd(&x->c, &fd));
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_bcast_send(&x->p, "ding", 4));
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_bcast_remove(&x->p));
    FAULT_STEP(x->p, hipc_bcast_close(&x->p));
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->c, hipc_bcast_close(&x->c));
    return HIPC_OK;
}

/* As test_fault_bell.c: readable when get_fd or a final answer returns
 * (a ring the reader sent itself), or, when that ring failed, with the
 * timer's interrupt. Anything else ends the case as failed. */
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

/* A final answer of a try: readable, twice (nothing was armed between). */
#define GONE_STEP(h, call, fd)                                                 \
    do {                                                                       \
        int g_ = (call);                                                       \
        if (g_ != HIPC_E_PEER_GONE)                                            \
            FAULT_STEP(h, g_ >= 0 ? HIPC_E_CORRUPT : g_);                      \
        ready_or_die(fd, "after HIPC_E_PEER_GONE");                            \
    } while (0)

static int state_self_rings(void *p, int *sys_errno)
{
    struct fan_ctx *x = p;
    int fd = -1;
    FAULT_STEP(x->w, hipc_state_create(&x->w, KEY, VSIZE, NULL));
    FAULT_STEP(x->r, hipc_state_open_reader(&x->r, KEY, NULL));
    FAULT_STEP(x->r, hipc_state_get_fd(&x->r, &fd));
    ready_or_die(fd, "at first");
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    TRY_STEP(x->r, hipc_state_wait(&x->r, 0));
    FAULT_STEP(x->w, hipc_state_remove(&x->w));
    FAULT_STEP(x->w, hipc_state_close_writer(&x->w));
    GONE_STEP(x->r, hipc_state_wait(&x->r, 0), fd);
    GONE_STEP(x->r, hipc_state_wait(&x->r, 0), fd);
    FAULT_STEP(x->r, hipc_state_close_reader(&x->r));
    return HIPC_OK;
}

static int bcast_self_rings(void *p, int *sys_errno)
{
    struct fan_ctx *x = p;
    char buf[32] = {0};
    int fd = -1;
    FAULT_STEP(x->p, hipc_bcast_create(&x->p, KEY, NULL));
    FAULT_STEP(x->c, hipc_bcast_open_consumer(&x->c, KEY, NULL));
    FAULT_STEP(x->c, hipc_bcast_get_fd(&x->c, &fd));
    ready_or_die(fd, "at first");
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    TRY_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0));
    FAULT_STEP(x->p, hipc_bcast_remove(&x->p));
    FAULT_STEP(x->p, hipc_bcast_close(&x->p));
    GONE_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0), fd);
    GONE_STEP(x->c, hipc_bcast_recv(&x->c, buf, sizeof buf, 0), fd);
    FAULT_STEP(x->c, hipc_bcast_close(&x->c));
    return HIPC_OK;
}

/* As the channel's bell (test_fault_bell.c): a ring that cannot be made
 * and a drain that fails are the timer's to cover; a name taken is
 * HIPC_E_EXISTS; a timer that cannot be armed is HIPC_E_SYS. As the state
 * and broadcast tests: a board that cannot be attached only makes the
 * reader unannounced; /proc as in the channel; a vanished id is
 * HIPC_E_NOT_FOUND or HIPC_E_REMOVED. */
static int fan_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK && (call == HIPC_SYS_SOCKET || call == HIPC_SYS_SENDTO ||
                          call == HIPC_SYS_READ || call == HIPC_SYS_SHMDT ||
                          call == HIPC_SYS_SHMAT || call == HIPC_SYS_SHMCTL ||
                          call == HIPC_SYS_MADVISE || call == HIPC_SYS_OPEN ||
                          call == HIPC_SYS_FUTEX || call == HIPC_SYS_CLOSE))
        return 1;
    if (call == HIPC_SYS_BIND && err == EADDRINUSE)
        return rc == HIPC_E_EXISTS;
    if (call == HIPC_SYS_MADVISE && err == EFAULT && rc == HIPC_E_NOMEM)
        return 1;
    if (err == EIDRM && (rc == HIPC_E_NOT_FOUND || rc == HIPC_E_REMOVED))
        return 1;
    if (call == HIPC_SYS_OPEN && err == ENOENT)
        return rc == HIPC_E_NOT_FOUND || rc == HIPC_E_PERM;
    if (call == HIPC_SYS_STAT && err == ENOENT && rc == HIPC_OK)
        return 1;
    /* Making the bell readable after a final answer cannot fail with our
     * own timer; if it did, the caller holds the answer all the same. */
    return call == HIPC_SYS_TIMERFD_SETTIME &&
           (rc == HIPC_E_SYS || rc == HIPC_OK);
}

static void fan_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"state bell: make, arm, ring, close rings", state_rings, fan_release,
         fan_accepts},
        {"bcast bell: make, arm, ring, close rings", bcast_rings, fan_release,
         fan_accepts},
        {"state bell: a full board's dead claim taken over", state_takes_over,
         fan_release, fan_accepts},
        {"state bell: readable at first and after the writer closed",
         state_self_rings, fan_release, fan_accepts},
        {"bcast bell: readable at first and after the producer closed",
         bcast_self_rings, fan_release, fan_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(fan_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
