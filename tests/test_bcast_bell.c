/* SPDX-License-Identifier: MIT */
/* A broadcast consumer's descriptor (hipc_bcast_get_fd): readable at
 * first, armed by a recv try that finds nothing, rung by the next send,
 * readable for good once the producer closed or was SIGKILLed; a stream
 * read in epoll loses nothing; a scribbled board costs a beat, never a
 * wake-up; nothing left behind. */
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

/* The consumer's shortest timer slice (FIRST_SLICE_NS, lib/bcast.c): 50
 * ms after a spell without messages, 5 ms after one. */
#define QUIET_NS ((int64_t)5 * 1000 * 1000)

#define KEY 0x42430b01
#define CONSUMERS 8
#define LONG_MS 10000
#define STREAM 100000u

/* Tries until HIPC_E_AGAIN (or another final code, in *rc); returns how
 * many messages came, the last one's first word in *last. */
static unsigned drain(hipc_bcast *c, int *rc, uint32_t *last)
{
    uint32_t buf[4];
    unsigned n = 0;
    while ((*rc = hipc_bcast_recv(c, buf, sizeof buf, 0)) >= 0 ||
           *rc == HIPC_E_OVERRUN)
        if (*rc >= 0) {
            n++;
            *last = buf[0];
        }
    return n;
}

static void send_word(hipc_bcast *p, uint32_t v)
{
    assert_int_equal(hipc_bcast_send(p, &v, sizeof v), HIPC_OK);
}

static struct hipc__board *board_of(hipc_bcast *b)
{
    return (struct hipc__board *)(void *)b->board_.bytes;
}

static _Atomic uint32_t *slot_word(hipc_bcast *p, int i, int k)
{
    unsigned char *s = (unsigned char *)(uintptr_t)board_of(p)->sleepers;
    return (_Atomic uint32_t *)(void *)(s + 64 + (size_t)i * 16 +
                                        (size_t)k * 4);
}

static void get_fd_checks_arguments_and_keeps_one_descriptor(void **st)
{
    (void)st;
    hipc_bcast p, c, bad;
    int fd = -1, fd2 = -1, rc = 0, before = hipc_test_bells_in_proc();
    uint32_t last = 0;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(hipc_bcast_create(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(NULL, &fd), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_get_fd(&bad, &fd), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_bcast_get_fd(&p, &fd), HIPC_E_WRONG_END);
    assert_int_equal(hipc_bcast_get_fd(&c, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd2), HIPC_OK);
    assert_int_equal(fd, fd2);
    assert_int_equal(hipc_test_bells_in_proc(), before + 1);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(drain(&c, &rc, &last), 0);
    assert_int_equal(rc, HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, QUIET_NS);
    /* A waiting call disarms; the next try arms again. */
    assert_int_equal(hipc_bcast_recv(&c, &last, sizeof last, 1000),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_bcast_recv(&c, &last, sizeof last, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_test_bells_in_proc(), before);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

static void a_send_rings_every_armed_consumer(void **st)
{
    hipc_test_skip_unless_free_fds(26);
    (void)st;
    hipc_bcast p, c[CONSUMERS];
    int fd[CONSUMERS], rc = 0;
    uint32_t last = 0;
    assert_int_equal(hipc_bcast_create(&p, KEY, NULL), HIPC_OK);
    for (int i = 0; i < CONSUMERS; i++) {
        assert_int_equal(hipc_bcast_open_consumer(&c[i], KEY, NULL), HIPC_OK);
        assert_int_equal(hipc_bcast_get_fd(&c[i], &fd[i]), HIPC_OK);
    }
    for (uint32_t round = 1; round <= 3; round++) {
        for (int i = 0; i < CONSUMERS; i++) {
            (void)drain(&c[i], &rc, &last);
            assert_int_equal(rc, HIPC_E_AGAIN);
        }
        send_word(&p, round);
        for (int i = 0; i < CONSUMERS; i++) {
            assert_true(hipc_test_readable(fd[i], LONG_MS));
            assert_int_equal(drain(&c[i], &rc, &last), 1);
            assert_int_equal(last, round);
            assert_int_equal(rc, HIPC_E_AGAIN);
        }
    }
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(hipc_bcast_close(&c[i]), HIPC_OK);
    int claimed = 0;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        claimed += atomic_load(slot_word(&p, i, 0)) != 0;
    assert_int_equal(claimed, 0);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

/* A producer child: sends `count` words 1..count, says so, and waits to
 * be killed. */
static pid_t producer_child(int ready_fd, int go_fd, uint32_t count)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    hipc_bcast p;
    if (hipc_bcast_open_producer(&p, KEY, NULL) != HIPC_OK)
        _exit(1);
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1 || read(go_fd, &c, 1) != 1)
        _exit(2);
    for (uint32_t v = 1; v <= count; v++)
        if (hipc_bcast_send(&p, &v, sizeof v) != HIPC_OK)
            _exit(3);
    if (write(ready_fd, &c, 1) != 1)
        _exit(4);
    for (;;)
        pause();
}

static void an_epoll_consumer_reads_a_stream_then_hears_the_kill(void **st)
{
    hipc_test_skip_unless_free_fds(10);
    (void)st;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_bcast p, c;
    hipc_bcast_config cfg = {.capacity = 1u << 20};
    int fd = -1, rc = 0, ready[2], go[2];
    uint32_t last = 0;
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t child = producer_child(ready[1], go[0], STREAM);
    char ch = 0;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN}, got;
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    (void)drain(&c, &rc, &last);
    assert_int_equal(write(go[1], "g", 1), 1);
    uint64_t n = 0, lost = 0, l1 = 0;
    while (last != STREAM) {
        assert_int_equal(epoll_wait(ep, &got, 1, LONG_MS), 1);
        n += drain(&c, &rc, &last);
        assert_true(rc == HIPC_E_AGAIN);
    }
    assert_int_equal(hipc_bcast_get_lost(&c, &l1, &lost), HIPC_OK);
    assert_true(n + lost == STREAM);
    assert_int_equal(read(ready[0], &ch, 1), 1);
    kill(child, SIGKILL);
    assert_int_equal(hipc_test_wait_child(child, 30), 128 + SIGKILL);
    int64_t end = hipc_test_now_ns() + (int64_t)LONG_MS * 1000000;
    do {
        assert_int_equal(epoll_wait(ep, &got, 1, LONG_MS), 1);
        (void)drain(&c, &rc, &last);
    } while (rc == HIPC_E_AGAIN && hipc_test_now_ns() < end);
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_bcast_recv(&c, &last, sizeof last, 0),
                     HIPC_E_PEER_GONE);
    close(ep);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_open_producer(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

static void a_closing_producer_rings_at_once(void **st)
{
    (void)st;
    hipc_bcast p, c;
    int fd = -1, rc = 0;
    uint32_t last = 0;
    assert_int_equal(hipc_bcast_create(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd), HIPC_OK);
    (void)drain(&c, &rc, &last);
    assert_int_equal(rc, HIPC_E_AGAIN);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    assert_true(hipc_test_readable(fd, LONG_MS));
    assert_int_equal(hipc_bcast_recv(&c, &last, sizeof last, 0),
                     HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
}

static void a_scribbled_or_full_board_costs_a_beat_not_a_wake_up(void **st)
{
    (void)st;
    hipc_bcast p, c;
    int fd = -1, rc = 0;
    uint32_t last = 0;
    assert_int_equal(hipc_bcast_create(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd), HIPC_OK);
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        atomic_store(slot_word(&p, i, 0), 0x40000001u);
    for (uint32_t v = 1; v <= 4; v++) {
        (void)drain(&c, &rc, &last);
        assert_int_equal(rc, HIPC_E_AGAIN);
        if (v == 2)
            for (int i = 0; i < HIPC__BOARD_BELLS; i++)
                for (int k = 0; k < 4; k++)
                    atomic_store(slot_word(&p, i, k),
                                 0x9e3779b9u * (uint32_t)(i * 4 + k + 1));
        if (v == 3) {
            for (int i = 0; i < HIPC__BOARD_BELLS; i++)
                atomic_store(slot_word(&p, i, 0), 0);
            (void)drain(&c, &rc, &last);
            for (int i = 0; i < HIPC__BOARD_BELLS; i++)
                atomic_store(slot_word(&p, i, 0), 0);
        }
        if (v == 4)
            atomic_store(board_of(&p)->sleepers, 0);
        send_word(&p, v);
        int64_t end = hipc_test_now_ns() + (int64_t)LONG_MS * 1000000;
        unsigned got = 0;
        while (got == 0 && hipc_test_now_ns() < end) {
            assert_true(hipc_test_readable(fd, LONG_MS));
            got = drain(&c, &rc, &last);
        }
        assert_int_equal(got, 1);
        assert_int_equal(last, v);
    }
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(get_fd_checks_arguments_and_keeps_one_descriptor),
    T(a_send_rings_every_armed_consumer),
    T(an_epoll_consumer_reads_a_stream_then_hears_the_kill),
    T(a_closing_producer_rings_at_once),
    T(a_scribbled_or_full_board_costs_a_beat_not_a_wake_up),
};

HIPC_TEST_MAIN(tests)
