/* SPDX-License-Identifier: MIT */
/* A state reader's descriptor (hipc_state_get_fd): readable at first, armed
 * by a try that finds nothing new, rung by the next publish, readable for
 * good once the writer closed or was SIGKILLed; many readers; a board
 * scribbled on or full of claims costs a late wake-up, never a lost one;
 * nothing left behind. */
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
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define KEY ((hipc_key)0x5a7e0b01)
#define VSIZE 24u
#define READERS 8
/* Far above any beat: a ring or a beat that does not come within this is
 * lost. */
#define LONG_MS 10000

static void publish(hipc_state_writer *w, unsigned char v)
{
    unsigned char buf[VSIZE];
    memset(buf, v, sizeof buf);
    assert_int_equal(hipc_state_publish(w, buf, sizeof buf), HIPC_OK);
}

/* The protocol's loop body: try until HIPC_E_AGAIN, reading each news;
 * returns the last value read (0: none) and the final code in *rc. */
static int drain(hipc_state_reader *r, int *rc)
{
    unsigned char buf[VSIZE];
    int last = 0;
    while ((*rc = hipc_state_wait(r, 0)) == HIPC_OK) {
        assert_int_equal(hipc_state_read(r, buf, sizeof buf, NULL), VSIZE);
        last = buf[0];
    }
    return last;
}

static struct hipc__board *board_of(hipc_state_writer *w)
{
    return (struct hipc__board *)(void *)w->board_;
}

/* The bell slots as any reader with the board attached can write them. */
static _Atomic uint32_t *slot_word(hipc_state_writer *w, int i, int k)
{
    unsigned char *p = (unsigned char *)(uintptr_t)board_of(w)->sleepers;
    return (_Atomic uint32_t *)(void *)(p + 64 + (size_t)i * 16 +
                                        (size_t)k * 4);
}

static void get_fd_checks_arguments_and_keeps_one_descriptor(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r, bad;
    int fd = -1, fd2 = -1, before = hipc_test_bells_in_proc(), rc = 0;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(NULL, &fd), HIPC_E_NULL);
    assert_int_equal(hipc_state_get_fd(&bad, &fd), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_get_fd(&r, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd2), HIPC_OK);
    assert_int_equal(fd, fd2);
    assert_int_equal(hipc_test_bells_in_proc(), before + 1);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    int64_t t0 = hipc_test_now_ns();
    assert_int_equal(drain(&r, &rc), 0);
    assert_int_equal(rc, HIPC_E_AGAIN);
    hipc_test_assert_quiet_since(fd, t0, HIPC_STATE_SLICE_NS);
    /* A waiting call disarms; the next try arms again. */
    assert_int_equal(hipc_state_wait(&r, 1000), HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_test_bells_in_proc(), before);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void a_publish_rings_every_armed_reader(void **st)
{
    hipc_test_skip_unless_free_fds(26);
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r[READERS];
    int fd[READERS], rc = 0;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    for (int i = 0; i < READERS; i++) {
        assert_int_equal(hipc_state_open_reader(&r[i], KEY, NULL), HIPC_OK);
        assert_int_equal(hipc_state_get_fd(&r[i], &fd[i]), HIPC_OK);
    }
    for (int round = 1; round <= 3; round++) {
        int64_t t0 = hipc_test_now_ns();
        for (int i = 0; i < READERS; i++) {
            (void)drain(&r[i], &rc);
            assert_int_equal(rc, HIPC_E_AGAIN);
        }
        for (int i = 0; i < READERS; i++)
            hipc_test_assert_quiet_since(fd[i], t0, HIPC_STATE_SLICE_NS);
        publish(&w, (unsigned char)round);
        for (int i = 0; i < READERS; i++) {
            assert_true(hipc_test_readable(fd[i], LONG_MS));
            assert_int_equal(drain(&r[i], &rc), round);
            assert_int_equal(rc, HIPC_E_AGAIN);
        }
    }
    /* Nobody armed now but all; a reader that leaves gives its slot
     * back (its claim no longer on the board). */
    assert_int_equal(hipc_state_close_reader(&r[0]), HIPC_OK);
    int claimed = 0;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        claimed += atomic_load(slot_word(&w, i, 0)) != 0;
    assert_int_equal(claimed, READERS - 1);
    for (int i = 1; i < READERS; i++)
        assert_int_equal(hipc_state_close_reader(&r[i]), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A writer child: publishes `v` when told through `go`, then waits to be
 * killed. */
static pid_t writer_child(int go_fd, int ready_fd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    hipc_state_writer w;
    if (hipc_state_open_writer(&w, KEY, NULL) != HIPC_OK)
        _exit(1);
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1)
        _exit(2);
    if (read(go_fd, &c, 1) != 1)
        _exit(3);
    unsigned char buf[VSIZE];
    memset(buf, 7, sizeof buf);
    if (hipc_state_publish(&w, buf, sizeof buf) != HIPC_OK)
        _exit(4);
    if (write(ready_fd, &c, 1) != 1)
        _exit(5);
    for (;;)
        pause();
}

static void epoll_reader_hears_a_writer_process_and_its_death(void **st)
{
    hipc_test_skip_unless_free_fds(10);
    (void)st;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1, rc = 0, go[2], ready[2];
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t child = writer_child(go[0], ready[1]);
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    (void)drain(&r, &rc);
    assert_int_equal(rc, HIPC_E_AGAIN);
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(read(ready[0], &c, 1), 1);
    struct epoll_event got;
    assert_int_equal(epoll_wait(ep, &got, 1, LONG_MS), 1);
    assert_int_equal(drain(&r, &rc), 7);
    assert_int_equal(rc, HIPC_E_AGAIN);
    /* Killed without a word: the beat brings the loop back, /proc says
     * gone, and the descriptor stays readable. */
    kill(child, SIGKILL);
    assert_int_equal(hipc_test_wait_child(child, 30), 128 + SIGKILL);
    int64_t end = hipc_test_now_ns() + (int64_t)LONG_MS * 1000000;
    do {
        assert_int_equal(epoll_wait(ep, &got, 1, LONG_MS), 1);
        rc = hipc_state_wait(&r, 0);
    } while (rc == HIPC_E_AGAIN && hipc_test_now_ns() < end);
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_PEER_GONE);
    close(ep);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
    /* A successor's publish is news again. */
    assert_int_equal(hipc_state_open_writer(&w, KEY, NULL), HIPC_OK);
    publish(&w, 9);
    assert_true(hipc_test_readable(fd, LONG_MS));
    assert_int_equal(drain(&r, &rc), 9);
    assert_int_equal(rc, HIPC_E_AGAIN);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void a_closing_writer_rings_at_once(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1, rc = 0;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    (void)drain(&r, &rc);
    assert_int_equal(rc, HIPC_E_AGAIN);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_true(hipc_test_readable(fd, LONG_MS));
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_PEER_GONE);
    assert_true(hipc_test_ready_now(fd));
    assert_true(hipc_test_bell_has_ring(fd));
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
}

/* Every slot taken by claims (readers beyond HIPC__BOARD_BELLS, or a
 * hostile one), or scribbled armed with names of no bell, or our own
 * announcement taken down: the beat still brings the news (or a ring, once
 * the reader has taken over a claim whose bell is gone: see
 * test_board_reclaim.c). */
static void a_scribbled_or_full_board_costs_a_beat_not_a_wake_up(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1, rc = 0;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        atomic_store(slot_word(&w, i, 0), 0x40000001u);
    for (int v = 1; v <= 4; v++) {
        (void)drain(&r, &rc);
        assert_int_equal(rc, HIPC_E_AGAIN);
        if (v == 2) /* garbage everywhere: armed, names of no bell */
            for (int i = 0; i < HIPC__BOARD_BELLS; i++)
                for (int k = 0; k < 4; k++)
                    atomic_store(slot_word(&w, i, k),
                                 0x9e3779b9u * (uint32_t)(i * 4 + k + 1));
        if (v == 3) { /* freed: our next arming claims; then taken down */
            for (int i = 0; i < HIPC__BOARD_BELLS; i++)
                atomic_store(slot_word(&w, i, 0), 0);
            (void)drain(&r, &rc);
            for (int i = 0; i < HIPC__BOARD_BELLS; i++)
                atomic_store(slot_word(&w, i, 0), 0);
        }
        if (v == 4) /* the sleepers word forced to zero */
            atomic_store(board_of(&w)->sleepers, 0);
        publish(&w, (unsigned char)v);
        assert_true(hipc_test_readable(fd, LONG_MS));
        int64_t end = hipc_test_now_ns() + (int64_t)LONG_MS * 1000000;
        int got = 0;
        while (got == 0 && hipc_test_now_ns() < end) {
            assert_true(hipc_test_readable(fd, LONG_MS));
            got = drain(&r, &rc);
        }
        assert_int_equal(got, v);
    }
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A bell flooded by anybody in the network namespace stays readable
 * (allowed) but each try still arms and answers HIPC_E_AGAIN. */
static void a_flooded_bell_is_spuriously_ready_only(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1, rc = 0;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    (void)drain(&r, &rc);
    struct hipc__board *rb = (struct hipc__board *)(void *)r.board_;
    int ring = -1, have = 0;
    for (int i = 0; i < 40; i++)
        (void)hipc__bell_ring(&ring, &have, rb->bell.name);
    assert_true(hipc_test_readable(fd, LONG_MS));
    for (int i = 0; i < 10; i++)
        assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    if (have)
        close(ring);
    publish(&w, 5);
    assert_true(hipc_test_readable(fd, LONG_MS));
    assert_int_equal(drain(&r, &rc), 5);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(get_fd_checks_arguments_and_keeps_one_descriptor),
    T(a_publish_rings_every_armed_reader),
    T(epoll_reader_hears_a_writer_process_and_its_death),
    T(a_closing_writer_rings_at_once),
    T(a_scribbled_or_full_board_costs_a_beat_not_a_wake_up),
    T(a_flooded_bell_is_spuriously_ready_only),
};

HIPC_TEST_MAIN(tests)
