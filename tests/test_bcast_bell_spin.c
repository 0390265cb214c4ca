/* SPDX-License-Identifier: MIT */
/* The broadcast consumer's doorbell in the spin after progress: a failed
 * try within the consumer's spin time keeps the descriptor readable
 * instead of arming it (nothing announced on the board, so the producer
 * never rings), and the try after the spin arms it. No wake-up may be
 * lost at the switch, to a producer that closes or is killed in the
 * window, or by a loop that waits edge-triggered. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "board.h"
#include "fault.h"
#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define KEY 0x42430b5d
#define MS ((int64_t)1000000)
/* The timer an arming after progress sets (FIRST_SLICE_NS, lib/bcast.c):
 * readiness older than this may be its beat, not a ring. */
#define QUIET_NS (5 * MS)
/* Bounds on waits that only a lost wake-up or a hang would reach. */
#define LONG_MS 30000
#define GONE_WITHIN_NS ((int64_t)10000 * MS)
#define SLOT_ARMED 0x80000000u
/* Descriptors a case needs at once, with one to spare, checked before
 * it makes anything (the hostile stage's nofile runs skip what does not
 * fit): in this process, the bell's three, the producer's ring socket
 * and a /proc look; with a producer child, the bell's three, an epoll
 * set and a pipe (the child inherits them and opens its ring socket),
 * plus a pipe to pace the child where a case has one. */
#define PAIR_FDS 6
#define REMOTE_FDS 8
#define PACED_FDS (REMOTE_FDS + 2)

struct pair {
    hipc_bcast p, c;
    int fd;
};

/* A key of its own per ring: a test that fails leaves its ring behind,
 * and must not make the next one fail. */
static hipc_key fresh_key(void)
{
    static int made;
    return KEY + made++;
}

/* A producer and a consumer (spin `spin`) in this process, on a fresh
 * ring; the consumer has no descriptor yet. */
static void pair_start(struct pair *x, int64_t spin)
{
    hipc_bcast_config cfg = {.spin_ns = spin};
    hipc_test_skip_unless_free_fds(PAIR_FDS);
    hipc_key key = fresh_key();
    x->fd = -1;
    assert_int_equal(hipc_bcast_create(&x->p, key, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&x->c, key, &cfg), HIPC_OK);
}

/* The same, the consumer's descriptor taken. */
static void pair_open(struct pair *x, int64_t spin)
{
    pair_start(x, spin);
    assert_int_equal(hipc_bcast_get_fd(&x->c, &x->fd), HIPC_OK);
}

static void pair_close(struct pair *x)
{
    assert_int_equal(hipc_bcast_close(&x->c), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&x->p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&x->p), HIPC_OK);
}

static struct hipc__board *board_of(hipc_bcast *b)
{
    return (struct hipc__board *)(void *)b->board_.bytes;
}

static _Atomic uint32_t *slot_state(hipc_bcast *b, int i)
{
    unsigned char *s = (unsigned char *)(uintptr_t)board_of(b)->sleepers;
    return (_Atomic uint32_t *)(void *)(s + 64 + (size_t)i * 16);
}

/* Whether the board `b` maps shows a bell announced (what makes the
 * producer ring): the sleepers word's high half, or a slot's ARMED bit. */
static int announced(hipc_bcast *b)
{
    assert_non_null(board_of(b)->sleepers);
    int up = atomic_load(board_of(b)->sleepers) >= HIPC__BOARD_BELL_ONE;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        up |= (atomic_load(slot_state(b, i)) & SLOT_ARMED) != 0;
    return up;
}

static void send_word(hipc_bcast *p, uint64_t v)
{
    assert_int_equal(hipc_bcast_send(p, &v, sizeof v), HIPC_OK);
}

static int try_recv(hipc_bcast *c)
{
    uint64_t v;
    return hipc_bcast_recv(c, &v, sizeof v, 0);
}

/* A message that must be there now. */
static void take_word(hipc_bcast *c, uint64_t want)
{
    uint64_t v = 0;
    assert_int_equal(hipc_bcast_recv(c, &v, sizeof v, 0), (int)sizeof v);
    assert_int_equal(v, want);
}

/* The readiness a kept try promises is a datagram it sent its own bell
 * before returning: polled, not waited for. */
static int kept_ready(int fd)
{
    return hipc_test_ready_now(fd);
}

/* A kept try: HIPC_E_AGAIN, nothing announced (the producer, `p`, sees
 * no one to ring), and the descriptor readable. */
static void assert_kept_try(hipc_bcast *c, int fd, hipc_bcast *p)
{
    assert_int_equal(try_recv(c), HIPC_E_AGAIN);
    assert_false(announced(p));
    assert_true(kept_ready(fd));
}

/* Tries until a try arms, each one before it kept; returns the clock
 * read before the try that armed. */
static int64_t try_until_armed(hipc_bcast *c, int fd, hipc_bcast *p)
{
    int64_t start = hipc_test_now_ns(), before = start;
    while (!announced(p)) {
        assert_true(before - start < (int64_t)LONG_MS * MS);
        assert_true(kept_ready(fd));
        before = hipc_test_now_ns();
        assert_int_equal(try_recv(c), HIPC_E_AGAIN);
    }
    return before;
}

/* Armed: no ring of anyone's is queued (the kept try's own one was read
 * away), so the descriptor is quiet but for the timer's beat; the next
 * send rings. */
static void assert_armed_then_rung(struct pair *x, int64_t since, uint64_t v)
{
    if (!hipc_test_drains_may_stop_early())
        assert_false(hipc_test_bell_has_ring(x->fd));
    hipc_test_assert_quiet_since(x->fd, since, QUIET_NS);
    send_word(&x->p, v);
    assert_true(hipc_test_bell_has_ring(x->fd));
    assert_true(hipc_test_ready_now(x->fd));
    take_word(&x->c, v);
}

static void a_failed_try_after_progress_keeps_ready_then_arms(void **st)
{
    (void)st;
    struct pair x;
    /* Long enough for two tries in a row to fall within it under valgrind
     * on a loaded machine. */
    pair_open(&x, 20 * MS);
    /* The first try after hipc_bcast_get_fd arms at once. */
    assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN);
    assert_true(announced(&x.p));
    send_word(&x.p, 1);
    assert_true(hipc_test_ready_now(x.fd));
    take_word(&x.c, 1);
    int64_t t0 = hipc_test_now_ns();
    assert_kept_try(&x.c, x.fd, &x.p);
    for (uint64_t v = 2; v < 5; v++) {
        send_word(&x.p, v);
        assert_false(announced(&x.p));
        assert_true(kept_ready(x.fd));
        take_word(&x.c, v);
        t0 = hipc_test_now_ns();
        assert_kept_try(&x.c, x.fd, &x.p);
        assert_kept_try(&x.c, x.fd, &x.p);
    }
    int64_t armed = try_until_armed(&x.c, x.fd, &x.p);
    assert_true(hipc_test_now_ns() - t0 >= 20 * MS);
    assert_armed_then_rung(&x, armed, 5);
    pair_close(&x);
}

/* A spin below KEEP_MIN_NS (1 us) arms at the first failed try, even
 * right after progress; from 1 us on the first one after progress keeps,
 * and a long spin keeps for all of its time. */
static void the_spin_time_decides_how_long_the_try_keeps(void **st)
{
    (void)st;
    static const int64_t arms_at_once[] = {1, 999};
    for (size_t i = 0; i < sizeof arms_at_once / sizeof *arms_at_once; i++) {
        struct pair x;
        pair_open(&x, arms_at_once[i]);
        send_word(&x.p, 1);
        take_word(&x.c, 1);
        assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN);
        assert_true(announced(&x.p));
        pair_close(&x);
    }
    struct pair x;
    pair_open(&x, 1000);
    send_word(&x.p, 1);
    take_word(&x.c, 1);
    assert_kept_try(&x.c, x.fd, &x.p);
    pair_close(&x);
    pair_open(&x, 50 * MS);
    send_word(&x.p, 1);
    take_word(&x.c, 1);
    int64_t t0 = hipc_test_now_ns();
    assert_kept_try(&x.c, x.fd, &x.p);
    (void)try_until_armed(&x.c, x.fd, &x.p);
    assert_true(hipc_test_now_ns() - t0 >= 50 * MS);
    pair_close(&x);
}

/* Progress made before the descriptor was taken opens no window: the
 * first failed try with it arms. */
static void the_first_try_with_a_new_descriptor_arms(void **st)
{
    (void)st;
    struct pair x;
    pair_start(&x, 60000 * MS);
    send_word(&x.p, 1);
    take_word(&x.c, 1);
    assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN);
    assert_int_equal(hipc_bcast_get_fd(&x.c, &x.fd), HIPC_OK);
    assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN);
    assert_true(announced(&x.p));
    pair_close(&x);
}

/* A send that missed the announcement (the producer's look at the board
 * has no fence, see publish() in lib/bcast.c; here the word is hidden
 * from it) leaves it up while the consumer takes the message. The try
 * after that progress keeps, and takes the announcement down with it:
 * the producer's next sends have no one to ring. */
static void an_announcement_left_up_is_taken_down_by_the_keep(void **st)
{
    (void)st;
    struct pair x;
    pair_open(&x, 20 * MS);
    assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN);
    assert_true(announced(&x.p));
    _Atomic uint32_t *sleepers = board_of(&x.p)->sleepers;
    uint32_t up = atomic_exchange(sleepers, 0u);
    send_word(&x.p, 1);
    atomic_store(sleepers, up);
    assert_true(announced(&x.p));
    take_word(&x.c, 1);
    assert_kept_try(&x.c, x.fd, &x.p);
    assert_int_equal(atomic_load(sleepers), 0);
    send_word(&x.p, 2);
    assert_true(kept_ready(x.fd));
    take_word(&x.c, 2);
    assert_kept_try(&x.c, x.fd, &x.p);
    int64_t armed = try_until_armed(&x.c, x.fd, &x.p);
    assert_armed_then_rung(&x, armed, 3);
    pair_close(&x);
}

static void a_producer_closing_in_the_window_is_gone_at_once(void **st)
{
    (void)st;
    struct pair x;
    pair_open(&x, 60000 * MS);
    send_word(&x.p, 1);
    send_word(&x.p, 2);
    take_word(&x.c, 1);
    take_word(&x.c, 2);
    assert_kept_try(&x.c, x.fd, &x.p);
    send_word(&x.p, 3);
    assert_int_equal(hipc_bcast_remove(&x.p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&x.p), HIPC_OK);
    assert_true(kept_ready(x.fd));
    take_word(&x.c, 3); /* what it sent before it left */
    assert_int_equal(try_recv(&x.c), HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(x.fd));
    assert_int_equal(try_recv(&x.c), HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(x.fd));
    assert_int_equal(hipc_bcast_close(&x.c), HIPC_OK);
}

/* ---- a producer in a child process ---- */

/* What the child does as the producer: `count` sequence numbers from 0,
 * each after a byte from `go` (its value: microseconds to busy-wait
 * first) when go >= 0, else in bursts with a 50 us pause before every
 * 97th; then it closes, or (hold) waits to be killed, or (empty_last)
 * sends an empty message after one more byte from `go` and dies without
 * closing. */
struct script {
    unsigned long count;
    int go;
    int hold;
    int empty_last;
};

static int play(hipc_bcast *p, const struct script *s)
{
    for (unsigned long i = 0; i < s->count; i++) {
        unsigned char us = i % 97 == 0 ? 50 : 0;
        if (s->go >= 0 && read(s->go, &us, 1) != 1)
            return 11;
        int64_t until = hipc_test_now_ns() + (int64_t)us * 1000;
        while (hipc_test_now_ns() < until)
            ;
        if (hipc_bcast_send(p, &i, sizeof i) != HIPC_OK)
            return 12;
    }
    if (s->hold)
        for (;;)
            pause();
    if (s->empty_last) {
        unsigned char ch;
        return read(s->go, &ch, 1) == 1 && hipc_bcast_send(p, "", 0) == HIPC_OK
                   ? 0
                   : 14;
    }
    return hipc_bcast_close(p) == HIPC_OK ? 0 : 13;
}

struct remote {
    hipc_bcast c;
    int fd, ep;
    pid_t pid;
};

/* A ring whose producer is a child playing `s`, and a consumer here
 * (spin `spin`) with its descriptor in an epoll set (`events`). The
 * child starts once it holds the role and the consumer is open. */
static void remote_open(struct remote *r, int64_t spin, unsigned events,
                        const struct script *s)
{
    hipc_bcast p;
    hipc_bcast_config cfg = {.capacity = 1u << 20, .spin_ns = spin};
    int ready[2];
    hipc_key key = fresh_key();
    assert_int_equal(hipc_bcast_create(&p, key, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&r->c, key, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&r->c, &r->fd), HIPC_OK);
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(r->ep >= 0);
    struct epoll_event ev = {.events = events};
    assert_int_equal(epoll_ctl(r->ep, EPOLL_CTL_ADD, r->fd, &ev), 0);
    assert_int_equal(pipe(ready), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        /* Not left behind by a test that fails before it kills us. */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(ready[0]);
        if (hipc_bcast_open_producer(&p, key, NULL) != HIPC_OK ||
            write(ready[1], "r", 1) != 1)
            _exit(10);
        _exit(play(&p, s));
    }
    close(ready[1]);
    char ch = 0;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);
}

/* The child must be gone (waited for) first. */
static void remote_close(struct remote *r)
{
    close(r->ep);
    assert_int_equal(hipc_bcast_remove(&r->c), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&r->c), HIPC_OK);
}

/* The same with a pipe that paces the child (script.go); its write end. */
static int remote_paced(struct remote *r, int64_t spin, unsigned events,
                        struct script *s)
{
    int go[2];
    assert_int_equal(pipe(go), 0);
    s->go = go[0];
    remote_open(r, spin, events, s);
    close(go[0]);
    return go[1];
}

/* What every case with a producer child needs: `fds` descriptors free,
 * and a /proc/self/stat that other processes read the same (the child's
 * liveness is judged by it). */
static void remote_skips(int fds)
{
    hipc_test_skip_unless_free_fds(fds);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
}

/* Waits in epoll for message `want`, trying until it comes: a lost
 * wake-up fails the wait. */
static void wait_for(struct remote *r, uint64_t want)
{
    for (;;) {
        uint64_t v = 0;
        int n = hipc_bcast_recv(&r->c, &v, sizeof v, 0);
        if (n == (int)sizeof v) {
            assert_int_equal(v, want);
            return;
        }
        assert_int_equal(n, HIPC_E_AGAIN);
        struct epoll_event ev;
        assert_int_equal(epoll_wait(r->ep, &ev, 1, LONG_MS), 1);
    }
}

/* Waits in epoll until the tries say the producer is gone. */
static void wait_gone(struct remote *r)
{
    int rc;
    while ((rc = try_recv(&r->c)) == HIPC_E_AGAIN) {
        struct epoll_event ev;
        assert_int_equal(epoll_wait(r->ep, &ev, 1, LONG_MS), 1);
    }
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(r->fd));
}

/* Killed while the consumer's loop spins through its descriptor (a spin
 * of a minute): the tries ask /proc as ever and answer HIPC_E_PEER_GONE
 * within a slice or so, not after the spin. */
static void a_producer_killed_in_the_window_is_reported_gone(void **st)
{
    (void)st;
    remote_skips(PACED_FDS);
    struct script s = {.count = 1, .hold = 1};
    struct remote r;
    int go = remote_paced(&r, 60000 * MS, EPOLLIN, &s);
    /* An arming first, so that the consumer maps the child's board. */
    assert_int_equal(try_recv(&r.c), HIPC_E_AGAIN);
    assert_true(announced(&r.c));
    assert_int_equal(write(go, "", 1), 1);
    close(go);
    wait_for(&r, 0);
    assert_kept_try(&r.c, r.fd, &r.c);
    kill(r.pid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(r.pid, 30), 128 + SIGKILL);
    int64_t t0 = hipc_test_now_ns();
    int rc;
    while ((rc = try_recv(&r.c)) == HIPC_E_AGAIN) {
        assert_false(announced(&r.c));
        assert_true(hipc_test_now_ns() - t0 < GONE_WITHIN_NS);
        struct epoll_event ev;
        assert_int_equal(epoll_wait(r.ep, &ev, 1, 0), 1); /* still kept */
    }
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(r.fd));
    remote_close(&r);
}

/* A loop that waits edge-triggered gets a fresh event at each
 * HIPC_E_AGAIN of the window (a new self-ring each time), so a stream in
 * bursts, with the windows opening and ending between them, never
 * stalls; the producer's close ends it. */
static void an_edge_triggered_loop_gets_every_message(void **st)
{
    (void)st;
    remote_skips(REMOTE_FDS);
    struct script s = {.count = 10000, .go = -1};
    struct remote r;
    remote_open(&r, 0, EPOLLIN | EPOLLET, &s);
    for (uint64_t i = 0; i < s.count; i++)
        wait_for(&r, i);
    wait_gone(&r);
    assert_int_equal(hipc_test_wait_child(r.pid, 60), 0);
    remote_close(&r);
}

/* One message at a time, each sent 0-250 us after the consumer's loop
 * went back to waiting with a spin of 100 us: some land in the window,
 * some as it ends, while the try that ends it arms, and some after. */
static void a_producer_pacing_across_the_switch_loses_nothing(void **st)
{
    (void)st;
    remote_skips(PACED_FDS);
    struct script s = {.count = 300};
    struct remote r;
    int go = remote_paced(&r, 100000, EPOLLIN, &s);
    srand(7);
    for (uint64_t i = 0; i < s.count; i++) {
        unsigned char us = (unsigned char)(rand() % 251);
        assert_int_equal(write(go, &us, 1), 1);
        wait_for(&r, i);
    }
    close(go);
    wait_gone(&r);
    assert_int_equal(hipc_test_wait_child(r.pid, 60), 0);
    remote_close(&r);
}

#ifdef HIPC_FAULT_INJECTION
/* Until the clock has passed `t` (what a window is measured by). */
static void pass(int64_t t)
{
    while (hipc_test_now_ns() <= t)
        ;
}

static void send_seven(void *p)
{
    send_word(p, 7);
}

/* The producer sends as the try that ends the window arms (between the
 * try's first look and its announcement: the timer's setting is where
 * the hook runs): the look after the announcement finds it and takes the
 * announcement back. And one sent while a kept try rings its own bell:
 * that try answers HIPC_E_AGAIN with the descriptor readable, and the
 * next finds it. */
static void a_message_sent_while_the_window_ends_is_found(void **st)
{
    (void)st;
    struct pair x;
    pair_open(&x, MS);
    send_word(&x.p, 1);
    take_word(&x.c, 1);
    int64_t t0 = hipc_test_now_ns();
    assert_kept_try(&x.c, x.fd, &x.p);
    pass(t0 + 2 * MS);
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_TIMERFD_SETTIME, 1, send_seven, &x.p);
    take_word(&x.c, 7);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_TIMERFD_SETTIME), 1);
    hipc_fault_reset();
    assert_false(announced(&x.p));
    hipc_fault_hook_nth(HIPC_SYS_SENDTO, 1, send_seven, &x.p);
    assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN);
    assert_true(hipc_fault_calls(HIPC_SYS_SENDTO) >= 1);
    hipc_fault_reset();
    assert_false(announced(&x.p));
    assert_true(kept_ready(x.fd));
    take_word(&x.c, 7);
    pair_close(&x);
}

/* A producer child told through `go` to send its empty last message. */
struct dying {
    struct remote r;
    int go;
};

/* Run as the try opens the producer's /proc record: the producer sends
 * its empty message and is gone (reaped) before the look. */
static void send_empty_and_die(void *arg)
{
    struct dying *d = arg;
    assert_int_equal(write(d->go, "g", 1), 1);
    assert_int_equal(hipc_test_wait_child(d->r.pid, 30), 0);
}

/* The try found nothing, then found the producer gone, and its last look
 * took an empty message: that message's length, 0, is the answer (it was
 * once read as "producer there" and the message lost), and the next try
 * says the producer is gone. */
static void an_empty_last_message_of_a_dead_producer_is_returned(void **st)
{
    (void)st;
    remote_skips(PACED_FDS);
    struct script s = {.count = 0, .empty_last = 1};
    struct dying d;
    d.go = remote_paced(&d.r, 0, EPOLLIN, &s);
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_OPEN, 1, send_empty_and_die, &d);
    assert_int_equal(try_recv(&d.r.c), 0);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_OPEN), 1);
    hipc_fault_reset();
    assert_int_equal(try_recv(&d.r.c), HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(d.r.fd));
    close(d.go);
    remote_close(&d.r);
}

/* From the kept try's self-ring on, every call fails. */
static void fail_everything(void *arg)
{
    (void)arg;
    hipc_fault_fail_every(HIPC_SYS_COUNT_, ENOMEM);
}

/* A kept try whose self-ring fails falls back to the timer; when that
 * cannot be set either it answers HIPC_E_SYS with the errno (nothing
 * would make the descriptor readable); the next try keeps again. The
 * producer's sends in the window make no syscall at all. */
static void a_kept_try_whose_ring_and_timer_fail_is_sys(void **st)
{
    (void)st;
    struct pair x;
    pair_open(&x, 60000 * MS);
    send_word(&x.p, 1);
    take_word(&x.c, 1);
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_SENDTO, 1, ENOBUFS);
    assert_int_equal(try_recv(&x.c), HIPC_E_AGAIN); /* the timer instead */
    assert_true(hipc_test_timer_ready(x.fd));
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_SENDTO, 1, fail_everything, NULL);
    assert_int_equal(try_recv(&x.c), HIPC_E_SYS);
    assert_int_equal(x.c.sys_errno, ENOMEM);
    hipc_fault_reset();
    assert_kept_try(&x.c, x.fd, &x.p);
    unsigned long calls[HIPC_SYS_COUNT_];
    for (int k = 0; k < HIPC_SYS_COUNT_; k++)
        calls[k] = hipc_fault_calls((enum hipc__sys_call)k);
    for (uint64_t v = 2; v < 102; v++)
        send_word(&x.p, v);
    for (int k = 0; k < HIPC_SYS_COUNT_; k++)
        assert_int_equal(hipc_fault_calls((enum hipc__sys_call)k), calls[k]);
    pair_close(&x);
}
#endif

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(a_failed_try_after_progress_keeps_ready_then_arms),
    T(the_spin_time_decides_how_long_the_try_keeps),
    T(the_first_try_with_a_new_descriptor_arms),
    T(an_announcement_left_up_is_taken_down_by_the_keep),
    T(a_producer_closing_in_the_window_is_gone_at_once),
    T(a_producer_killed_in_the_window_is_reported_gone),
    T(an_edge_triggered_loop_gets_every_message),
    T(a_producer_pacing_across_the_switch_loses_nothing),
#ifdef HIPC_FAULT_INJECTION
    T(a_message_sent_while_the_window_ends_is_found),
    T(a_kept_try_whose_ring_and_timer_fail_is_sys),
    T(an_empty_last_message_of_a_dead_producer_is_returned),
#endif
};

HIPC_TEST_MAIN(tests)
