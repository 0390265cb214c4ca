/* SPDX-License-Identifier: MIT */
/* The channel's doorbell (hipc_chan_get_fd): a descriptor that poll and
 * epoll wait on beside sockets, readable when a try could make progress
 * or the peer is gone, that loses no wake-up to a hostile peer and
 * leaves nothing behind. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

/* The channel's shortest timer slice (FIRST_SLICE_NS, lib/chan.c): the
 * earliest its timer can make an armed descriptor readable. */
#define QUIET_NS ((int64_t)5 * 1000 * 1000)

#define CAP 4096u
/* The consumer's wait line in the header (struct chan_hdr, lib/chan.c):
 * its sleeping word, then the futex word, then the bell's name words. */
#define OFF_CONS_WAIT (4u * 128u)
#define OFF_CONS_BELL (OFF_CONS_WAIT + 8u)
#define OFF_PROD_WAIT (5u * 128u)

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

static void region_free(struct region *r)
{
    munmap(r->mem, r->size);
}

static void attach(hipc_chan *ch, struct region *r, hipc_chan_role role)
{
    assert_int_equal(hipc_chan_attach_mem(ch, r->mem, r->size, role, NULL),
                     HIPC_OK);
}

/* A failed try within the spin after progress keeps the descriptor
 * readable (lib/chan.c, bell_try_failed): tries until one arms it (its
 * sleeping word at `word` announces it), each answering HIPC_E_AGAIN
 * with the descriptor readable when it returns. Returns the time taken
 * before the last try, for hipc_test_assert_quiet_since. */
static int64_t try_until_armed(int fd, const uint32_t *word,
                               int (*try_once)(void *), void *arg)
{
    int64_t t0 = hipc_test_now_ns(), start = t0;
    while ((__atomic_load_n(word, __ATOMIC_SEQ_CST) & 0x80000000u) == 0) {
        assert_true(hipc_test_now_ns() - start < (int64_t)30 * 1000000000);
        assert_true(hipc_test_ready_now(fd));
        t0 = hipc_test_now_ns();
        assert_int_equal(try_once(arg), HIPC_E_AGAIN);
    }
    return t0;
}

static int try_recv(void *c)
{
    char b[8];
    return hipc_chan_recv(c, b, sizeof b, 0);
}

static int try_send56(void *p)
{
    unsigned char msg[56] = {0};
    return hipc_chan_send(p, msg, sizeof msg, 0);
}

static const uint32_t *wait_word(const struct region *r, unsigned off)
{
    return (const uint32_t *)(const void *)(r->mem + off);
}

static void get_fd_checks_its_arguments_and_keeps_one_descriptor(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan c, bad;
    int fd = -1, fd2 = -1, before = hipc_test_bells_in_proc();
    memset(&bad, 0, sizeof bad);
    assert_int_equal(hipc_chan_get_fd(NULL, &fd), HIPC_E_NULL);
    assert_int_equal(hipc_chan_get_fd(&bad, &fd), HIPC_E_BAD_HANDLE);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd2), HIPC_OK);
    assert_int_equal(fd, fd2);
    assert_int_equal(hipc_test_bells_in_proc(), before + 1);
    /* Readable at first; a try that finds nothing arms it. */
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    char b[8];
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_test_bells_in_proc(), before);
    region_free(&r);
}

static void a_send_rings_an_armed_consumer_once(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    char b[8];
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
    assert_int_equal(hipc_chan_send(&p, "abc", 3, 0), HIPC_OK);
    assert_true(hipc_test_readable(fd, 0));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 3);
    /* A message that came while it was not armed rings nothing, and the
     * try that finds it does not arm; the failed tries after it keep the
     * descriptor ready for the spin, then one arms it. */
    assert_int_equal(hipc_chan_send(&p, "de", 2, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 2);
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(
        fd, try_until_armed(fd, wait_word(&r, OFF_CONS_WAIT), try_recv, &c),
        QUIET_NS);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_true(hipc_test_readable(fd, 0)); /* the leaving producer rings */
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_PEER_GONE);
    /* Gone stays gone, for the loop too. */
    assert_true(hipc_test_readable(fd, 0));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

static void a_full_ring_arms_the_producer_until_room_is_freed(void **state)
{
    (void)state;
    struct region r = region_new(256);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&p, &fd), HIPC_OK);
    unsigned char msg[56] = {0}, b[64];
    int sent = 0;
    while (hipc_chan_send(&p, msg, sizeof msg, 0) == HIPC_OK)
        sent++;
    assert_true(sent > 0);
    hipc_test_assert_quiet_since(
        fd, try_until_armed(fd, wait_word(&r, OFF_PROD_WAIT), try_send56, &p),
        QUIET_NS);
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), (int)sizeof msg);
    assert_true(hipc_test_readable(fd, 0));
    assert_int_equal(hipc_chan_send(&p, msg, sizeof msg, 0), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    region_free(&r);
}

/* A child producer: sends `count` 8-byte sequence numbers (blocking
 * sends), writing a byte to socket `sock` after each `every`th. */
static int produce(struct region *r, unsigned long count, unsigned long every,
                   int sock)
{
    hipc_chan p;
    if (hipc_chan_attach_mem(&p, r->mem, r->size, HIPC_CHAN_PRODUCER, NULL) !=
        HIPC_OK)
        return 10;
    for (unsigned long i = 0; i < count; i++) {
        if (hipc_chan_send(&p, &i, sizeof i, HIPC_FOREVER) != HIPC_OK)
            return 11;
        if (sock >= 0 && (i + 1) % every == 0 && write(sock, "s", 1) != 1)
            return 12;
    }
    return hipc_chan_close(&p) == HIPC_OK ? 0 : 13;
}

static pid_t start_producer(struct region *r, unsigned long count,
                            unsigned long every, int sock, int other)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (other >= 0)
            close(other);
        _exit(produce(r, count, every, sock));
    }
    return pid;
}

/* Takes every message there is; checks the sequence. Returns the try's
 * final code (HIPC_E_AGAIN or HIPC_E_PEER_GONE). */
static int drain(hipc_chan *c, unsigned long *next)
{
    for (;;) {
        unsigned long v = 0;
        int n = hipc_chan_recv(c, &v, sizeof v, 0);
        if (n < 0)
            return n;
        assert_int_equal(n, sizeof v);
        assert_int_equal(v, *next);
        (*next)++;
    }
}

static void a_poll_loop_serves_a_socket_and_a_channel(void **state)
{
    (void)state;
    /* An empty ring makes the reader ask /proc after the producer. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    enum { COUNT = 20000, EVERY = 100 };
    struct region r = region_new(CAP);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    hipc_chan c;
    int fd = -1;
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    pid_t pid = start_producer(&r, COUNT, EVERY, sv[1], sv[0]);
    close(sv[1]);
    unsigned long next = 0, bytes = 0;
    int chan_done = 0, sock_done = 0;
    while (!chan_done || !sock_done) {
        struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
                               {.fd = sv[0], .events = POLLIN}};
        int n = poll(pf, 2, 30000);
        assert_true(n > 0); /* a lost wake-up would time out here */
        if (pf[0].revents & POLLIN) {
            int rc = drain(&c, &next);
            chan_done = rc == HIPC_E_PEER_GONE;
            assert_true(rc == HIPC_E_AGAIN || chan_done);
        }
        if (pf[1].revents & (POLLIN | POLLHUP)) {
            char b[256];
            ssize_t got = read(sv[0], b, sizeof b);
            assert_true(got >= 0);
            bytes += (unsigned long)got;
            sock_done = got == 0;
        }
    }
    assert_int_equal(next, COUNT);
    assert_int_equal(bytes, COUNT / EVERY);
    assert_int_equal(hipc_test_wait_child(pid, 60), 0);
    close(sv[0]);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

static void an_epoll_reader_sleeps_while_a_million_messages_pass(void **state)
{
    (void)state;
    enum { COUNT = 1000000 };
    /* A full ring makes the reader ask /proc after the producer. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new(65536);
    hipc_chan c;
    int fd = -1, ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    pid_t pid = start_producer(&r, COUNT, 1, -1, -1);
    unsigned long next = 0, sleeps = 0;
    int rc = HIPC_E_AGAIN;
    while (rc == HIPC_E_AGAIN) {
        struct epoll_event out;
        assert_int_equal(epoll_wait(ep, &out, 1, 30000), 1);
        sleeps++;
        rc = drain(&c, &next);
    }
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_int_equal(next, COUNT);
    assert_true(sleeps >= 1);
    assert_int_equal(hipc_test_wait_child(pid, 120), 0);
    close(ep);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* A child that attaches as the producer, says so and waits to be killed. */
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

static void a_killed_producer_wakes_the_loop_and_reads_as_gone(void **state)
{
    (void)state;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new(CAP);
    hipc_chan c;
    int fd = -1;
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    pid_t pid = start_holder(&r);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    char b[8];
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
    kill(pid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
    /* Every wake-up until the answer comes is the timer's; each must
     * come (no wait here is longer than a few slices). */
    int rc = HIPC_E_AGAIN, wakes = 0;
    while (rc == HIPC_E_AGAIN) {
        assert_true(hipc_test_readable(fd, 10000));
        assert_true(++wakes < 100);
        rc = hipc_chan_recv(&c, b, sizeof b, 0);
    }
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* A try after the peer was killed asks /proc, whatever the spin (a try
 * never spins): the answer is at once, and the descriptor stays readable
 * for the loop. */
static void a_try_finds_a_killed_producer_gone(void **state)
{
    (void)state;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new(CAP);
    hipc_chan c;
    int fd = -1;
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    pid_t pid = start_holder(&r);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    kill(pid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
    assert_int_equal(hipc_chan_set_spin(&c, (int64_t)60 * 1000000000), HIPC_OK);
    char b[8];
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* The consumer's bell's abstract address, as a peer reads it from the
 * shared memory. */
static socklen_t bell_addr(const struct region *r, struct sockaddr_un *a)
{
    const uint32_t *w =
        (const uint32_t *)(const void *)(r->mem + OFF_CONS_BELL);
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1,
                     "hipc.bell.%08x.%08x%08x", w[0], w[2], w[1]);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void a_flooded_bell_is_spurious_and_loses_nothing(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    struct sockaddr_un a;
    socklen_t alen = bell_addr(&r, &a);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    int sent = 0;
    /* Until the bell's queue is full. */
    while (sendto(s, "x", 1, 0, (struct sockaddr *)&a, alen) == 1)
        sent++;
    assert_true(sent > 0);
    char b[8];
    int tries = 0;
    /* Each try drains a bounded part (at least one ring: the first read
     * of a drain can meet an EAGAIN under the fault build's modes) and
     * answers at once; the first readiness is the initial one. The timer
     * may add one more on a loaded machine. */
    while (hipc_test_readable(fd, 0)) {
        assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
        assert_true(++tries <= 2 * sent + 2);
    }
    assert_int_equal(hipc_chan_send(&p, "m", 1, 0), HIPC_OK);
    assert_true(hipc_test_readable(fd, 0));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    close(s);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

static void a_peer_that_never_rings_is_caught_by_the_timer(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    char b[8];
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    /* A hostile producer clears the announcement (or names another
     * bell) and sends: no ring comes, the timer does. */
    uint32_t *wait = (uint32_t *)(void *)(r.mem + OFF_CONS_WAIT);
    __atomic_store_n(&wait[0], 0u, __ATOMIC_SEQ_CST);
    __atomic_store_n(&wait[2], 0x12345u, __ATOMIC_SEQ_CST);
    assert_int_equal(hipc_chan_send(&p, "q", 1, 0), HIPC_OK);
    assert_true(hipc_test_readable(fd, 10000));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    /* Rings sent to a name nobody holds are the ringer's loss only. */
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_send(&p, "r", 1, 0), HIPC_OK);
    assert_true(hipc_test_readable(fd, 10000));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* With a spin of 0 too, a try arms at once; rings, drains and the quiet
 * after them work as with the default spin. */
static void a_spin_of_zero_arms_at_once_and_still_rings(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_set_spin(&c, 0), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    char b[8];
    int64_t t0 = hipc_test_now_ns();
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
        hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
        assert_int_equal(hipc_chan_send(&p, "s", 1, 0), HIPC_OK);
        assert_true(hipc_test_readable(fd, 0));
        assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    }
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* A try never waits, on an end with a descriptor too: with a spin of a
 * minute set for the blocking calls, a try that finds nothing answers
 * HIPC_E_AGAIN at once (a spin would take the minute), and a message sent
 * after that is found by the next try once the descriptor is readable. */
static void a_try_never_spins_whatever_the_spin(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(hipc_chan_set_spin(&c, (int64_t)60 * 1000000000), HIPC_OK);
    char b[8];
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    assert_true(hipc_test_now_ns() - t0 < (int64_t)30 * 1000000000);
    assert_int_equal(hipc_chan_send(&p, "late", 4, 0), HIPC_OK);
    assert_true(hipc_test_readable(fd, 0));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 4);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

#ifdef HIPC_FAULT_INJECTION
static void close_the_producer(void *arg)
{
    assert_int_equal(hipc_chan_close(arg), HIPC_OK);
}

/* The producer closes while the consumer arms (between its try and its
 * look after the announcement; the timer's setting is where the hook
 * runs): the same try answers HIPC_E_PEER_GONE, and the descriptor is left
 * readable, so a loop that polls again is not stuck. */
static void a_peer_closing_during_the_arming_leaves_it_readable(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_TIMERFD_SETTIME, 1, close_the_producer, &p);
    char b[8];
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_TIMERFD_SETTIME) >= 1, 1);
    hipc_fault_reset();
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}
#endif

/* A peer that rings and then puts our announcement back makes the next
 * arming skip its drain: the ring left over is one spurious wake-up, and
 * the try after it, which finds no progress, drains all. */
static void a_ring_hidden_by_the_peer_costs_one_spurious_wake(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_set_spin(&c, 0), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    char b[8];
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    uint32_t *wait = (uint32_t *)(void *)(r.mem + OFF_CONS_WAIT);
    uint32_t armed = __atomic_load_n(&wait[0], __ATOMIC_SEQ_CST);
    assert_true((armed & 0x80000000u) != 0);
    assert_int_equal(hipc_chan_send(&p, "h", 1, 0), HIPC_OK);
    assert_int_equal(__atomic_load_n(&wait[0], __ATOMIC_SEQ_CST), 0);
    __atomic_store_n(&wait[0], armed, __ATOMIC_SEQ_CST);
    assert_true(hipc_test_readable(fd, 0));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    int tries = 0;
    while (hipc_test_readable(fd, 0)) {
        assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
        assert_true(++tries <= 3);
    }
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

static void a_blocking_call_waits_on_the_futex_and_disarms(void **state)
{
    (void)state;
    struct region r = region_new(CAP);
    hipc_chan p, c;
    int fd = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    char b[8];
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 1000000), HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

static void a_segment_channel_and_its_bell_leave_nothing(void **state)
{
    (void)state;
    /* Two bells (three descriptors and a ringing socket each), and
     * /proc/net/unix read while they are open. */
    hipc_test_skip_unless_free_fds(10);
    int segs = hipc_test_shm_count(), fds = hipc_test_fd_count();
    int bells = hipc_test_bells_in_proc();
    hipc_chan p, c;
    int pf = -1, cf = -1;
    assert_int_equal(hipc_chan_create(&c, HIPC_SHM_KEY_PRIVATE,
                                      HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_open_id(&p, c.shm.id, HIPC_CHAN_PRODUCER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &cf), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&p, &pf), HIPC_OK);
    assert_int_not_equal(cf, pf);
    char b[8];
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_send(&p, "z", 1, 0), HIPC_OK);
    assert_true(hipc_test_readable(cf, 0));
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    assert_int_equal(hipc_test_bells_in_proc(), bells + 2);
    assert_int_equal(hipc_chan_remove(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), segs);
    assert_int_equal(hipc_test_fd_count(), fds);
    assert_int_equal(hipc_test_bells_in_proc(), bells);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(get_fd_checks_its_arguments_and_keeps_one_descriptor),
    cmocka_unit_test(a_send_rings_an_armed_consumer_once),
    cmocka_unit_test(a_full_ring_arms_the_producer_until_room_is_freed),
    cmocka_unit_test(a_poll_loop_serves_a_socket_and_a_channel),
    cmocka_unit_test(an_epoll_reader_sleeps_while_a_million_messages_pass),
    cmocka_unit_test(a_killed_producer_wakes_the_loop_and_reads_as_gone),
    cmocka_unit_test(a_try_finds_a_killed_producer_gone),
    cmocka_unit_test(a_flooded_bell_is_spurious_and_loses_nothing),
    cmocka_unit_test(a_peer_that_never_rings_is_caught_by_the_timer),
    cmocka_unit_test(a_spin_of_zero_arms_at_once_and_still_rings),
    cmocka_unit_test(a_try_never_spins_whatever_the_spin),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_peer_closing_during_the_arming_leaves_it_readable),
#endif
    cmocka_unit_test(a_ring_hidden_by_the_peer_costs_one_spurious_wake),
    cmocka_unit_test(a_blocking_call_waits_on_the_futex_and_disarms),
    cmocka_unit_test(a_segment_channel_and_its_bell_leave_nothing),
};

HIPC_TEST_MAIN(tests)
