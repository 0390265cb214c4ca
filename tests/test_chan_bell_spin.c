/* SPDX-License-Identifier: MIT */
/* The channel's doorbell in the spin after progress: a failed try within
 * the end's spin time keeps the descriptor readable instead of arming it
 * (no announcement, so the peer never rings), and the try after the spin
 * arms it. No wake-up may be lost at the switch, to a peer that stops,
 * closes or is killed in the window, or by a loop that waits
 * edge-triggered. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define CAP 4096u
/* The consumer's sleeping word (struct chan_hdr, lib/chan.c). */
#define OFF_CONS_WAIT (4u * 128u)
#define ARMED 0x80000000u
#define MS ((int64_t)1000000)

struct region {
    unsigned char *mem;
    size_t size;
};

static struct region region_new(size_t cap)
{
    struct region r = {NULL, 0};
    hipc_chan_config cfg = {.capacity = cap};
    assert_int_equal(hipc_chan_mem_size(cap, &r.size), HIPC_OK);
    void *p = mmap(NULL, r.size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    r.mem = p;
    assert_int_equal(hipc_chan_init_mem(r.mem, r.size, &cfg), HIPC_OK);
    return r;
}

static void attach(hipc_chan *ch, struct region *r, hipc_chan_role role,
                   int64_t spin)
{
    hipc_chan_config cfg = {.spin_ns = spin};
    assert_int_equal(hipc_chan_attach_mem(ch, r->mem, r->size, role, &cfg),
                     HIPC_OK);
}

/* A producer and a consumer (spin `spin`, its descriptor taken) on a
 * fresh region; the consumer's descriptor. */
static int pair_open(struct region *r, hipc_chan *p, hipc_chan *c, int64_t spin)
{
    int fd = -1;
    *r = region_new(CAP);
    attach(p, r, HIPC_CHAN_PRODUCER, 0);
    attach(c, r, HIPC_CHAN_CONSUMER, spin);
    assert_int_equal(hipc_chan_get_fd(c, &fd), HIPC_OK);
    return fd;
}

static void pair_close(struct region *r, hipc_chan *p, hipc_chan *c)
{
    assert_int_equal(hipc_chan_close(p), HIPC_OK);
    assert_int_equal(hipc_chan_close(c), HIPC_OK);
    munmap(r->mem, r->size);
}

static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, ms);
    assert_true(n >= 0);
    return n == 1 && (p.revents & POLLIN) != 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether the fault build makes first reads fail with EAGAIN: a drain
 * then stops early and leaves a ring behind (spurious readiness). */
static int drains_may_stop_early(void)
{
    const char *m = getenv("HIPC_FAULT_MODE");
    return m != NULL && strstr(m, "eagain") != NULL;
}

static uint32_t cons_word(const struct region *r)
{
    const uint32_t *w =
        (const uint32_t *)(const void *)(r->mem + OFF_CONS_WAIT);
    return __atomic_load_n(w, __ATOMIC_SEQ_CST);
}

static int try_recv(hipc_chan *c)
{
    char b[8];
    return hipc_chan_recv(c, b, sizeof b, 0);
}

/* Readiness that a kept try promises is a datagram the try sent its own
 * bell before it returned: polled, not waited for. */
static int kept_ready(int fd)
{
    return readable(fd, 0);
}

/* Tries until a try arms (the window is over): the descriptor becomes
 * readable after each try before, and none announces until the last. */
static void try_until_armed(hipc_chan *c, int fd, const struct region *r)
{
    int64_t start = now_ns();
    while ((cons_word(r) & ARMED) == 0) {
        assert_true(now_ns() - start < (int64_t)30000 * MS);
        assert_true(kept_ready(fd));
        assert_int_equal(try_recv(c), HIPC_E_AGAIN);
    }
}

static void a_failed_try_after_progress_keeps_ready_then_arms(void **state)
{
    (void)state;
    struct region r;
    hipc_chan p, c;
    int fd = pair_open(&r, &p, &c, 20 * MS);
    /* The first try after hipc_chan_get_fd arms at once. */
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_true((cons_word(&r) & ARMED) != 0);
    assert_int_equal(hipc_chan_send(&p, "a", 1, 0), HIPC_OK);
    assert_true(readable(fd, 0));
    assert_int_equal(try_recv(&c), 1);
    /* Progress: the failed tries keep it readable, announcing nothing
     * (the ring taken with the announcement is queued, not waited for). */
    int64_t t0 = now_ns();
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_int_equal(cons_word(&r), 0);
    assert_true(kept_ready(fd));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hipc_chan_send(&p, "b", 1, 0), HIPC_OK);
        assert_int_equal(cons_word(&r), 0); /* nobody waits: no ring */
        assert_true(kept_ready(fd));
        assert_int_equal(try_recv(&c), 1);
        assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    }
    try_until_armed(&c, fd, &r);
    assert_true(now_ns() - t0 >= 20 * MS); /* not before the spin is over */
    /* Armed after the window: the ring queued earlier is dropped, so the
     * descriptor is quiet (up to its 5 ms timer), and a send rings. */
    int64_t armed = now_ns();
    if (readable(fd, 0) && !drains_may_stop_early())
        assert_true(now_ns() - armed >= 5 * MS);
    assert_int_equal(hipc_chan_send(&p, "c", 1, 0), HIPC_OK);
    assert_true(readable(fd, 0));
    assert_int_equal(try_recv(&c), 1);
    pair_close(&r, &p, &c);
}

/* A spin that never ends (HIPC_CHAN_SPIN_ALWAYS) never arms: the loop
 * spins, as a blocking call with that spin does. A spin shorter than a
 * round through the loop arms at the first failed try. */
static void the_spin_time_decides_how_long_the_loop_spins(void **state)
{
    (void)state;
    struct region r;
    hipc_chan p, c;
    int fd = pair_open(&r, &p, &c, HIPC_CHAN_SPIN_ALWAYS);
    assert_int_equal(hipc_chan_send(&p, "a", 1, 0), HIPC_OK);
    assert_int_equal(try_recv(&c), 1);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
        assert_int_equal(cons_word(&r), 0);
    }
    assert_true(kept_ready(fd));
    assert_int_equal(hipc_chan_set_spin(&c, 1), HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, "b", 1, 0), HIPC_OK);
    assert_int_equal(try_recv(&c), 1);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_true((cons_word(&r) & ARMED) != 0);
    pair_close(&r, &p, &c);
}

/* A peer that rang and then put our announcement back: the spin takes
 * the announcement down itself (no ring can follow it); the ring hidden
 * from us costs one spurious wake-up after the arming, as without the
 * spin, and nothing is lost. */
static void an_announcement_left_up_is_taken_down_by_the_spin(void **state)
{
    (void)state;
    struct region r;
    hipc_chan p, c;
    int fd = pair_open(&r, &p, &c, 2 * MS);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    uint32_t *wait = (uint32_t *)(void *)(r.mem + OFF_CONS_WAIT);
    uint32_t armed = cons_word(&r);
    assert_true((armed & ARMED) != 0);
    assert_int_equal(hipc_chan_send(&p, "h", 1, 0), HIPC_OK);
    __atomic_store_n(wait, armed, __ATOMIC_SEQ_CST);
    assert_true(readable(fd, 0));
    assert_int_equal(try_recv(&c), 1);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_int_equal(cons_word(&r), 0);
    try_until_armed(&c, fd, &r);
    assert_int_equal(hipc_chan_send(&p, "i", 1, 0), HIPC_OK);
    assert_true(readable(fd, 0));
    assert_int_equal(try_recv(&c), 1);
    pair_close(&r, &p, &c);
}

static void a_producer_closing_in_the_window_is_gone_at_once(void **state)
{
    (void)state;
    struct region r;
    hipc_chan p, c;
    int fd = pair_open(&r, &p, &c, (int64_t)60000 * MS);
    assert_int_equal(hipc_chan_send(&p, "a", 1, 0), HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, "b", 1, 0), HIPC_OK);
    assert_int_equal(try_recv(&c), 1);
    assert_int_equal(try_recv(&c), 1);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_send(&p, "z", 1, 0), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_true(kept_ready(fd));
    assert_int_equal(try_recv(&c), 1); /* what it sent before it left */
    assert_int_equal(try_recv(&c), HIPC_E_PEER_GONE);
    assert_true(kept_ready(fd));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(r.mem, r.size);
}

/* A child that attaches as the producer, sends one message, says so and
 * waits to be killed. */
static pid_t start_holder(struct region *r)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hipc_chan p;
        close(fds[0]);
        if (hipc_chan_attach_mem(&p, r->mem, r->size, HIPC_CHAN_PRODUCER,
                                 NULL) != HIPC_OK ||
            hipc_chan_send(&p, "k", 1, 0) != HIPC_OK ||
            write(fds[1], "k", 1) != 1)
            _exit(10);
        for (;;)
            pause();
    }
    close(fds[1]);
    char b = 0;
    assert_int_equal(read(fds[0], &b, 1), 1);
    close(fds[0]);
    return pid;
}

/* Killed while the consumer's loop spins through its descriptor (a spin
 * of a minute): the tries ask /proc as ever and answer
 * HIPC_E_PEER_GONE within HIPC_CHAN_PEER_CHECK_NS, not after the spin. */
static void a_producer_killed_in_the_window_is_reported_gone(void **state)
{
    (void)state;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new(CAP);
    hipc_chan c;
    int fd = -1;
    attach(&c, &r, HIPC_CHAN_CONSUMER, (int64_t)60000 * MS);
    pid_t pid = start_holder(&r);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(try_recv(&c), 1);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_int_equal(cons_word(&r), 0); /* in the window: not armed */
    kill(pid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
    int64_t t0 = now_ns();
    int rc = HIPC_E_AGAIN;
    while (rc == HIPC_E_AGAIN) {
        assert_true(kept_ready(fd)); /* the loop never sleeps long here */
        assert_true(now_ns() - t0 < (int64_t)30000 * MS);
        rc = try_recv(&c);
        assert_int_equal(cons_word(&r), 0);
    }
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_true(kept_ready(fd));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(r.mem, r.size);
}

/* A child producer: for each byte read from `go`, busy-waits the number
 * of microseconds it names and sends one 8-byte sequence number. Without
 * `go` (-1): bursts, with a pause of 50 us before every 97th message. */
static int paced_producer(struct region *r, int go, unsigned long count)
{
    hipc_chan p;
    if (hipc_chan_attach_mem(&p, r->mem, r->size, HIPC_CHAN_PRODUCER, NULL) !=
        HIPC_OK)
        return 10;
    for (unsigned long i = 0; i < count; i++) {
        unsigned char us = i % 97 == 0 ? 50 : 0;
        if (go >= 0 && read(go, &us, 1) != 1)
            return 11;
        int64_t until = now_ns() + (int64_t)us * 1000;
        while (now_ns() < until)
            ;
        if (hipc_chan_send(&p, &i, sizeof i, HIPC_FOREVER) != HIPC_OK)
            return 12;
    }
    return hipc_chan_close(&p) == HIPC_OK ? 0 : 13;
}

/* Waits in epoll for message `want` (30 s at most per wait: a lost
 * wake-up fails here). Returns the number of waits. */
static int wait_for(hipc_chan *c, int ep, unsigned long want)
{
    int waits = 0;
    for (;;) {
        unsigned long v = 0;
        int n = hipc_chan_recv(c, &v, sizeof v, 0);
        if (n == (int)sizeof v) {
            assert_int_equal(v, want);
            return waits;
        }
        assert_int_equal(n, HIPC_E_AGAIN);
        struct epoll_event ev;
        assert_int_equal(epoll_wait(ep, &ev, 1, 30000), 1);
        waits++;
    }
}

/* One message at a time, each sent 0-250 us after the consumer's loop
 * went back to waiting with a spin of 100 us: some land in the window,
 * some at its end, while the try that ends it arms, and some after. */
static void a_producer_stopping_at_the_switch_loses_nothing(void **state)
{
    (void)state;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    enum { COUNT = 300 };
    struct region r = region_new(CAP);
    int go[2];
    assert_int_equal(pipe(go), 0);
    hipc_chan c;
    int fd = -1, ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    attach(&c, &r, HIPC_CHAN_CONSUMER, 100000);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    struct epoll_event ev = {.events = EPOLLIN};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        _exit(paced_producer(&r, go[0], COUNT));
    }
    close(go[0]);
    srand(7);
    for (unsigned long i = 0; i < COUNT; i++) {
        unsigned char us = (unsigned char)(rand() % 251);
        assert_int_equal(write(go[1], &us, 1), 1);
        (void)wait_for(&c, ep, i);
    }
    close(go[1]);
    assert_int_equal(hipc_test_wait_child(pid, 60), 0);
    close(ep);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(r.mem, r.size);
}

/* A loop that waits edge-triggered gets a fresh event for each
 * HIPC_E_AGAIN of the window (the timer is set again at every such try),
 * so a stream through it never stalls. */
static void an_edge_triggered_loop_gets_every_message(void **state)
{
    (void)state;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    enum { COUNT = 100000 };
    struct region r = region_new(CAP);
    hipc_chan c;
    int fd = -1, ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    attach(&c, &r, HIPC_CHAN_CONSUMER, 0);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(paced_producer(&r, -1, COUNT));
    for (unsigned long i = 0; i < COUNT; i++)
        (void)wait_for(&c, ep, i);
    assert_int_equal(hipc_test_wait_child(pid, 60), 0);
    close(ep);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(r.mem, r.size);
}

#ifdef HIPC_FAULT_INJECTION
/* Until the clock has passed `t` (what a spin window is measured by). */
static void pass(int64_t t)
{
    while (now_ns() <= t)
        ;
}

static void send_one(void *arg)
{
    assert_int_equal(hipc_chan_send(arg, "s", 1, 0), HIPC_OK);
}

/* The producer sends its last message while the try that ends the
 * window arms (between the try's first look and its announcement: the
 * timer's setting is where the hook runs): the look after the
 * announcement finds it, and takes the announcement back. */
static void a_message_sent_while_the_window_ends_is_found(void **state)
{
    (void)state;
    struct region r;
    hipc_chan p, c;
    int fd = pair_open(&r, &p, &c, MS);
    assert_int_equal(hipc_chan_send(&p, "a", 1, 0), HIPC_OK);
    assert_int_equal(try_recv(&c), 1);
    int64_t t0 = now_ns();
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN); /* the window opens */
    pass(t0 + 2 * MS);
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_TIMERFD_SETTIME, 1, send_one, &p);
    assert_int_equal(try_recv(&c), 1);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_TIMERFD_SETTIME), 1);
    hipc_fault_reset();
    assert_int_equal(cons_word(&r), 0);
    /* And one sent while a kept try rings its own bell: that try answers
     * HIPC_E_AGAIN with the descriptor readable, the next finds it. */
    hipc_fault_hook_nth(HIPC_SYS_SENDTO, 1, send_one, &p);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    hipc_fault_reset();
    assert_true(kept_ready(fd));
    assert_int_equal(try_recv(&c), 1);
    pair_close(&r, &p, &c);
}

/* From the kept try's self-ring on, every call fails. */
static void fail_everything(void *arg)
{
    (void)arg;
    hipc_fault_fail_every(HIPC_SYS_COUNT_, ENOMEM);
}

/* A kept try whose self-ring fails falls back to the timer; when that
 * cannot be set either it answers HIPC_E_SYS (nothing would make the
 * descriptor readable); the next try starts over. The producer's sends
 * in the window make no syscall at all. */
static void a_kept_try_whose_timer_fails_is_sys(void **state)
{
    (void)state;
    struct region r;
    hipc_chan p, c;
    int fd = pair_open(&r, &p, &c, (int64_t)60000 * MS);
    assert_int_equal(hipc_chan_send(&p, "a", 1, 0), HIPC_OK);
    assert_int_equal(try_recv(&c), 1);
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_SENDTO, 1, ENOBUFS);
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN); /* the timer instead */
    assert_true(readable(fd, 10000));
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_SENDTO, 1, fail_everything, NULL);
    assert_int_equal(try_recv(&c), HIPC_E_SYS);
    assert_int_equal(c.sys_errno, ENOMEM);
    hipc_fault_reset();
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    assert_true(kept_ready(fd));
    unsigned long calls[HIPC_SYS_COUNT_];
    for (int k = 0; k < HIPC_SYS_COUNT_; k++)
        calls[k] = hipc_fault_calls((enum hipc__sys_call)k);
    for (int i = 0; i < 100; i++)
        assert_int_equal(hipc_chan_send(&p, "b", 1, 0), HIPC_OK);
    for (int k = 0; k < HIPC_SYS_COUNT_; k++)
        assert_int_equal(hipc_fault_calls((enum hipc__sys_call)k), calls[k]);
    pair_close(&r, &p, &c);
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_failed_try_after_progress_keeps_ready_then_arms),
    cmocka_unit_test(the_spin_time_decides_how_long_the_loop_spins),
    cmocka_unit_test(an_announcement_left_up_is_taken_down_by_the_spin),
    cmocka_unit_test(a_producer_closing_in_the_window_is_gone_at_once),
    cmocka_unit_test(a_producer_killed_in_the_window_is_reported_gone),
    cmocka_unit_test(a_producer_stopping_at_the_switch_loses_nothing),
    cmocka_unit_test(an_edge_triggered_loop_gets_every_message),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_message_sent_while_the_window_ends_is_found),
    cmocka_unit_test(a_kept_try_whose_timer_fails_is_sys),
#endif
};

HIPC_TEST_MAIN(tests)
