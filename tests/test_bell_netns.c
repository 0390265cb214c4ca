/* SPDX-License-Identifier: MIT */
/* What chan.h and state.h say of a peer in another network namespace:
 * the doorbell is an abstract unix name, which another namespace cannot
 * reach, so its rings are lost and the waiter hears of the peer at its
 * timer's beat only - late, but never never. Each test puts the peer in
 * a child that left for a network namespace of its own. */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define CAP 4096u
#define KEY ((hipc_key)0x5a7e0b0e)
#define VSIZE 16u
/* The channel's shortest timer slice (FIRST_SLICE_NS, lib/chan.c): the
 * earliest its timer can make the descriptor readable after an arming. */
#define CHAN_FIRST_SLICE_NS ((int64_t)5 * 1000 * 1000)
#define LONG_MS 10000

/* Leaves for a new network namespace: 0 or -1. Not through a user
 * namespace of its own: there the peer's ids would be unmapped and the
 * segment refused, which is not what these tests are about (a suite run
 * without root is root in its user namespace already: tests/support.c). */
static int leave_network_namespace(void)
{
    return unshare(CLONE_NEWNET) == 0 ? 0 : -1;
}

/* The peer's side of a test: in a new network namespace, `act(arg, 0)`
 * readies the peer before the child says ready, `act(arg, 1)` runs once
 * the parent says go; the child says done after it, and then waits to be
 * killed (or for the parent's end of the go pipe to close). */
struct peer {
    int go[2], said[2];
    pid_t pid;
};

static void peer_start(struct peer *p, int (*act)(void *, int), void *arg)
{
    assert_int_equal(pipe(p->go), 0);
    assert_int_equal(pipe(p->said), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid != 0) {
        /* Each side keeps only its ends: a child that ends early ends the
         * parent's read too. */
        close(p->go[0]);
        close(p->said[1]);
        return;
    }
    char c = 'r';
    /* The child keeps only its ends: the parent's exit (a failed check
     * included) then ends its last wait. */
    close(p->go[1]);
    close(p->said[0]);
    if (leave_network_namespace() != 0)
        _exit(1);
    if (act(arg, 0) != 0)
        _exit(2);
    if (write(p->said[1], &c, 1) != 1 || read(p->go[0], &c, 1) != 1)
        _exit(3);
    if (act(arg, 1) != 0)
        _exit(4);
    if (write(p->said[1], &c, 1) != 1)
        _exit(5);
    while (read(p->go[0], &c, 1) == 1)
        ;
    _exit(0);
}

/* Whether a child can leave for a network namespace of its own: asked
 * before a test makes anything, so that its skip leaves nothing behind. */
static int can_leave_network_namespace(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(leave_network_namespace() == 0 ? 0 : 1);
    return hipc_test_wait_child(pid, 30) == 0;
}

/* Waits for the child's ready: it left and readied its peer. */
static void peer_ready(struct peer *p)
{
    char c = 0;
    assert_int_equal(read(p->said[0], &c, 1), 1);
}

static void peer_go_and_wait_done(struct peer *p)
{
    char c = 'g';
    assert_int_equal(write(p->go[1], &c, 1), 1);
    assert_int_equal(read(p->said[0], &c, 1), 1);
}

static void peer_end(struct peer *p)
{
    kill(p->pid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(p->pid, 30), 128 + SIGKILL);
    close(p->go[1]);
    close(p->said[0]);
}

static void skip_without_namespace(void)
{
    if (!can_leave_network_namespace())
        hipc_test_skip("no network namespace could be made here");
}

/* ---- the channel ------------------------------------------------------- */

struct chan_region {
    unsigned char *mem;
    size_t size;
};

/* Attaches, then sends one message and stays attached: the consumer
 * must hear the message, not the end. */
static int produce_one(void *arg, int go)
{
    struct chan_region *r = arg;
    static hipc_chan p;
    if (!go)
        return hipc_chan_attach_mem(&p, r->mem, r->size, HIPC_CHAN_PRODUCER,
                                    NULL);
    return hipc_chan_send(&p, "n", 1, 0);
}

static void a_channel_peer_elsewhere_is_heard_at_the_timer(void **st)
{
    (void)st;
    hipc_test_skip_unless_free_fds(12);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    skip_without_namespace();
    struct chan_region r = {NULL, 0};
    hipc_chan_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_chan_mem_size(CAP, &r.size), HIPC_OK);
    void *m = mmap(NULL, r.size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    r.mem = m;
    assert_int_equal(hipc_chan_init_mem(r.mem, r.size, &cfg), HIPC_OK);
    hipc_chan c;
    int fd = -1;
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_get_fd(&c, &fd), HIPC_OK);
    struct peer p;
    peer_start(&p, produce_one, &r);
    peer_ready(&p);
    char b[8];
    int64_t armed = hipc_test_now_ns();
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    peer_go_and_wait_done(&p);
    /* The ring went to a name the peer's namespace does not have: what
     * makes the loop look is the timer, a slice after the arming. */
    assert_true(hipc_test_readable(fd, LONG_MS));
    assert_true(hipc_test_now_ns() - armed >= CHAN_FIRST_SLICE_NS);
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), 1);
    assert_int_equal(b[0], 'n');
    assert_int_equal(hipc_chan_recv(&c, b, sizeof b, 0), HIPC_E_AGAIN);
    peer_end(&p);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(r.mem, r.size);
}

/* ---- a state block ----------------------------------------------------- */

/* Takes the block over as writer, then publishes one value. */
static int publish_one(void *arg, int go)
{
    (void)arg;
    static hipc_state_writer w;
    unsigned char v[VSIZE];
    memset(v, 7, sizeof v);
    if (!go)
        return hipc_state_open_writer(&w, KEY, NULL);
    return hipc_state_publish(&w, v, sizeof v);
}

static void a_state_writer_elsewhere_is_heard_at_the_beat(void **st)
{
    (void)st;
    hipc_test_skip_unless_free_fds(12);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    skip_without_namespace();
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    struct peer p;
    peer_start(&p, publish_one, NULL);
    peer_ready(&p);
    int64_t armed = hipc_test_now_ns();
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    peer_go_and_wait_done(&p);
    assert_true(hipc_test_readable(fd, LONG_MS));
    assert_true(hipc_test_now_ns() - armed >= HIPC_STATE_SLICE_NS);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_OK);
    unsigned char v[VSIZE];
    assert_int_equal(hipc_state_read(&r, v, sizeof v, NULL), VSIZE);
    assert_int_equal(v[0], 7);
    peer_end(&p);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_open_writer(&w, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(a_channel_peer_elsewhere_is_heard_at_the_timer),
    T(a_state_writer_elsewhere_is_heard_at_the_beat),
};

HIPC_TEST_MAIN(tests)
