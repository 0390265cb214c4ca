/* SPDX-License-Identifier: MIT */
/* The readiness a bell gives itself (at first, after HIPC_E_PEER_GONE): a
 * datagram the handle sends its own bell before the call returns, named
 * from the handle's private copy of the name, never from shared memory. A
 * peer that rewrites the name words cannot redirect it; however often a
 * loop tries, at most one is queued; a handle copied or used after close
 * sends none. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "board.h"
#include "fault.h"
#include "hipc/bcast.h"
#include "hipc/chan.h"
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define CAP 4096u
/* The consumer's bell's name words in the channel header (struct
 * chan_hdr, lib/chan.c: its wait line, sleeping and futex words first). */
#define OFF_CONS_BELL (4u * 128u + 8u)
#define KEY ((hipc_key)0x5a7e0b0e)
/* The channel's shortest timer slice (FIRST_SLICE_NS, lib/chan.c). */
#define QUIET_NS ((int64_t)5 * 1000 * 1000)
#define VSIZE 16u

struct region {
    unsigned char *mem;
    size_t size;
};

static struct region region_new(void)
{
    struct region r = {NULL, 0};
    hipc_chan_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_chan_mem_size(CAP, &r.size), HIPC_OK);
    void *p = mmap(NULL, r.size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    r.mem = p;
    assert_int_equal(hipc_chan_init_mem(r.mem, r.size, &cfg), HIPC_OK);
    return r;
}

static void attach(hipc_chan *ch, struct region *r, hipc_chan_role role)
{
    assert_int_equal(hipc_chan_attach_mem(ch, r->mem, r->size, role, NULL),
                     HIPC_OK);
}

/* A bell of the test's own, with a name a hipc ringer would format from
 * the words in w[]: where a hostile peer points our name words. */
static int decoy_bell(uint32_t w[3])
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    w[0] = (uint32_t)getpid();
    w[1] = 0x0dec0e11u;
    w[2] = 0x7e57u;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1,
                     "hipc.bell.%08x.%08x%08x", w[0], w[2], w[1]);
    socklen_t len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    return fd;
}

static int datagrams(int sock)
{
    unsigned char b[8];
    int n = 0;
    while (recv(sock, b, sizeof b, MSG_DONTWAIT) >= 0)
        n++;
    return n;
}

/* The peer points our name words at another bell, then closes (its ring
 * goes there: its own rings are all it can misdirect). Our try answers
 * HIPC_E_PEER_GONE and our descriptor is readable at once; the other
 * bell got the peer's ring and nothing of ours. */
static void a_scribbled_name_does_not_redirect_the_self_ring(void **state)
{
    (void)state;
    struct region r = region_new();
    hipc_chan p, c;
    int fd = -1;
    uint32_t w[3];
    int decoy = decoy_bell(w);
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_true(hipc_test_ready_now(fd));
    char b[8];
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    assert_false(hipc_test_bell_has_ring(fd));
    _Atomic uint32_t *words =
        (_Atomic uint32_t *)(void *)(r.mem + OFF_CONS_BELL);
    for (int i = 0; i < 3; i++)
        atomic_store(&words[i], w[i]);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(datagrams(decoy), 1);
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(datagrams(decoy), 0);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    close(decoy);
    munmap(r.mem, r.size);
}

/* However often a loop tries after HIPC_E_PEER_GONE, or asks for the
 * descriptor again, one self-ring is queued: the kernel does not bound
 * what a socket sends itself, the handle does. */
static void self_rings_stay_one_however_many_tries(void **state)
{
    (void)state;
    struct region r = region_new();
    hipc_chan p, c;
    int fd = -1, fd2 = -1;
    attach(&p, &r, HIPC_CHAN_PRODUCER);
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    for (int i = 0; i < 20; i++)
        assert_int_equal(hipc_chan_get_fd(&c, &fd2), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(fd, fd2);
    assert_int_equal(hipc_test_bell_take_rings(fd), 1);
    /* The handle still counts the one we took: its drain reads nothing
     * more than is there (a read that finds none ends it). */
    char b[8];
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_bell_take_rings(fd), 1); /* the close's */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_PEER_GONE);
        assert_true(hipc_test_ready_now(fd));
    }
    assert_int_equal(hipc_test_bell_take_rings(fd), 1);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(r.mem, r.size);
}

/* A copy of the handle is refused before it can ring anything; a closed
 * handle is stale. Neither queues a ring on the bell. */
static void a_copied_or_closed_handle_rings_nothing(void **state)
{
    (void)state;
    struct region r = region_new();
    hipc_chan c, copy;
    int fd = -1, fd2 = -1;
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(hipc_test_bell_take_rings(fd), 1);
    memcpy(&copy, &c, sizeof c);
    char b[8];
    assert_int_equal(hipc_chan_get_fd(&copy, &fd2), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_recv(&copy, b, sizeof b, 0), HIPC_E_BAD_HANDLE);
    assert_false(hipc_test_ready_now(fd));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd2), HIPC_E_STALE_HANDLE);
    munmap(r.mem, r.size);
}

/* The reader's slot on the board is the writer's and every reader's to
 * write: its name words pointed at another bell do not move the reader's
 * self-ring, which comes from the reader's private copy. */
static void a_scribbled_slot_does_not_redirect_a_reader(void **state)
{
    (void)state;
    hipc_state_writer wr;
    hipc_state_reader rd;
    int fd = -1;
    uint32_t w[3];
    int decoy = decoy_bell(w);
    assert_int_equal(hipc_state_create(&wr, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&rd, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&rd, &fd), HIPC_OK);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_state_wait(&rd, 0), HIPC_E_AGAIN);
    assert_false(hipc_test_bell_has_ring(fd));
    struct hipc__board *b = (struct hipc__board *)(void *)rd.board_;
    assert_true(b->bell.slot > 0);
    unsigned char *base = (unsigned char *)(uintptr_t)b->sleepers;
    _Atomic uint32_t *s =
        (_Atomic uint32_t *)(void *)(base + 64 +
                                     (size_t)(b->bell.slot - 1) * 16);
    for (int i = 0; i < 3; i++)
        atomic_store(&s[1 + i], w[i]);
    assert_int_equal(hipc_state_remove(&wr), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&wr), HIPC_OK);
    assert_int_equal(datagrams(decoy), 1); /* the writer's close rang it */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(hipc_state_wait(&rd, 0), HIPC_E_PEER_GONE);
        assert_true(hipc_test_ready_now(fd));
    }
    assert_int_equal(datagrams(decoy), 0);
    assert_int_equal(hipc_test_bell_take_rings(fd), 1);
    assert_int_equal(hipc_state_close_reader(&rd), HIPC_OK);
    close(decoy);
}

/* A broadcast consumer: ready at first and after its producer closed, one
 * self-ring queued however many tries. */
static void a_bcast_consumer_rings_itself_once(void **state)
{
    (void)state;
    hipc_bcast pr, co;
    int fd = -1;
    char buf[32];
    assert_int_equal(hipc_bcast_create(&pr, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&co, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&co, &fd), HIPC_OK);
    assert_true(hipc_test_ready_now(fd));
    assert_int_equal(hipc_bcast_get_fd(&co, &fd), HIPC_OK);
    assert_int_equal(hipc_test_bell_take_rings(fd), 1);
    assert_int_equal(hipc_bcast_recv(&co, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_bcast_remove(&pr), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&pr), HIPC_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(hipc_bcast_recv(&co, buf, sizeof buf, 0),
                         HIPC_E_PEER_GONE);
        assert_true(hipc_test_ready_now(fd));
    }
    /* The producer's close rang once, and we rang ourselves once. */
    assert_int_equal(hipc_test_bell_take_rings(fd), 2);
    assert_int_equal(hipc_bcast_close(&co), HIPC_OK);
}

#ifdef HIPC_FAULT_INJECTION
/* From the self-ring's sendto on, every call fails: the timer the bell
 * falls back to cannot be set either. */
static void fail_everything(void *arg)
{
    (void)arg;
    hipc_fault_fail_every(HIPC_SYS_COUNT_, ENOBUFS);
}

/* A bell that can be made readable neither by a self-ring nor by its
 * timer is not handed out: HIPC_E_SYS, nothing left open, and the next
 * get_fd makes one that is readable at once. */
static void a_bell_that_cannot_be_made_ready_is_not_handed_out(void **state)
{
    (void)state;
    /* Two bells (3 each) and a look at /proc, all at once. */
    hipc_test_skip_unless_free_fds(7);
    struct region r = region_new();
    hipc_chan c;
    hipc_state_writer wr;
    hipc_state_reader rd;
    int fd = -1, fds0 = hipc_test_fd_count(), bells = hipc_test_bells_in_proc();
    attach(&c, &r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_state_create(&wr, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&rd, KEY, NULL), HIPC_OK);
    int fds1 = hipc_test_fd_count();
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_SENDTO, 1, fail_everything, NULL);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_E_SYS);
    hipc_fault_reset();
    assert_int_equal(c.sys_errno, ENOBUFS);
    hipc_fault_hook_nth(HIPC_SYS_SENDTO, 1, fail_everything, NULL);
    assert_int_equal(hipc_state_get_fd(&rd, &fd), HIPC_E_SYS);
    hipc_fault_reset();
    assert_int_equal(rd.sys_errno, ENOBUFS);
    assert_int_equal(hipc_test_fd_count(), fds1);
    assert_int_equal(hipc_test_bells_in_proc(), bells);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    assert_true(hipc_test_ready_now(fd));
    assert_int_equal(hipc_state_get_fd(&rd, &fd), HIPC_OK);
    assert_true(hipc_test_ready_now(fd));
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&rd), HIPC_OK);
    assert_int_equal(hipc_state_remove(&wr), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&wr), HIPC_OK);
    assert_int_equal(hipc_test_fd_count(), fds0);
    munmap(r.mem, r.size);
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_scribbled_name_does_not_redirect_the_self_ring),
    cmocka_unit_test(self_rings_stay_one_however_many_tries),
    cmocka_unit_test(a_copied_or_closed_handle_rings_nothing),
    cmocka_unit_test(a_scribbled_slot_does_not_redirect_a_reader),
    cmocka_unit_test(a_bcast_consumer_rings_itself_once),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_bell_that_cannot_be_made_ready_is_not_handed_out),
#endif
};
HIPC_TEST_MAIN(tests)
