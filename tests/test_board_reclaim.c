/* SPDX-License-Identifier: MIT */
/* Claims of dead readers on the board (lib/board.c): a bell slot whose
 * reader was SIGKILLed is taken over, by the writer's refused ring or a
 * new reader's probe, so that the next reader is rung at once instead of
 * at the beat; a claim naming a live pid but a bell nobody holds (a
 * reused pid) is taken over too; a claim naming a live bell is kept, and
 * probing it costs a bounded number of rings per slice; a live reader
 * whose claim a scribbler took claims again. Readers are state readers;
 * the board is shared by broadcast consumers (one case). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "hipc/bcast.h"
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define KEY ((hipc_key)0x5a7e0b11)
#define VSIZE 8u
#define CLAIMED 0x40000000u
#define ARMED 0x80000000u

static struct hipc__board *wboard(hipc_state_writer *w)
{
    return (struct hipc__board *)(void *)w->board_;
}

static struct hipc__board *rboard(hipc_state_reader *r)
{
    return (struct hipc__board *)(void *)r->board_;
}

/* Word k of slot i (0: state, 1..3: the bell's name), as any reader can
 * write it. */
static _Atomic uint32_t *slot_word(hipc_state_writer *w, int i, int k)
{
    unsigned char *p = (unsigned char *)(uintptr_t)wboard(w)->sleepers;
    return (_Atomic uint32_t *)(void *)(p + 64 + (size_t)i * 16 +
                                        (size_t)k * 4);
}

/* Slots showing ARMED: each is one count in the sleepers word's high
 * half. */
static uint32_t armed_slots(hipc_state_writer *w)
{
    uint32_t n = 0;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        n += (atomic_load(slot_word(w, i, 0)) & ARMED) != 0;
    return n;
}

static int free_slots(hipc_state_writer *w)
{
    int n = 0;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        n += atomic_load(slot_word(w, i, 0)) == 0;
    return n;
}

/* Rings queued on a reader's bell socket (each one datagram), read off. */
static int rings_taken(hipc_state_reader *r)
{
    int sock = rboard(r)->bell.fds[HIPC__BELL_SOCK], n = 0;
    char c;
    while (recv(sock, &c, 1, MSG_DONTWAIT) == 1)
        n++;
    return n;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A try until HIPC_E_AGAIN: the reader reads what is new and arms. */
static void arm(hipc_state_reader *r)
{
    unsigned char buf[VSIZE];
    int rc;
    while ((rc = hipc_state_wait(r, 0)) == HIPC_OK)
        assert_int_equal(hipc_state_read(r, buf, sizeof buf, NULL), VSIZE);
    assert_int_equal(rc, HIPC_E_AGAIN);
}

static void publish(hipc_state_writer *w, unsigned char v)
{
    unsigned char buf[VSIZE];
    memset(buf, v, sizeof buf);
    assert_int_equal(hipc_state_publish(w, buf, sizeof buf), HIPC_OK);
}

/* A reader process: arms its bell (odd ones stay armed; even ones take
 * the announcement down again with a waiting call, keeping the claim),
 * says so on `ready` and waits to be killed. */
static pid_t reader_child(int i, int ready)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    hipc_state_reader r;
    unsigned char buf[VSIZE];
    int fd = -1, rc = HIPC_E_AGAIN;
    if (hipc_state_open_reader(&r, KEY, NULL) != HIPC_OK ||
        hipc_state_get_fd(&r, &fd) != HIPC_OK)
        _exit(1);
    while ((rc = hipc_state_wait(&r, 0)) == HIPC_OK)
        (void)hipc_state_read(&r, buf, sizeof buf, NULL);
    if (rc != HIPC_E_AGAIN)
        _exit(1);
    if (i % 2 == 0 && hipc_state_wait(&r, 1000) != HIPC_E_TIMEDOUT)
        _exit(2);
    char c = 'r';
    if (write(ready, &c, 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

/* Fills every slot with the claims of HIPC__BOARD_BELLS reader processes,
 * then SIGKILLs and reaps them all. */
static void fill_with_dead_claims(hipc_state_writer *w)
{
    pid_t kids[HIPC__BOARD_BELLS];
    int p[2];
    assert_int_equal(pipe(p), 0);
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        kids[i] = reader_child(i, p[1]);
    /* Only the children hold the write end: one that fails ends the
     * count below, not the test's run. */
    close(p[1]);
    int ready = 0;
    char c;
    while (ready < HIPC__BOARD_BELLS && read(p[0], &c, 1) == 1)
        ready++;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        assert_int_equal(kill(kids[i], SIGKILL), 0);
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        assert_int_equal(hipc_test_wait_child(kids[i], 30), 128 + SIGKILL);
    close(p[0]);
    assert_int_equal(ready, HIPC__BOARD_BELLS);
    assert_int_equal(free_slots(w), 0);
    assert_int_equal(atomic_load(wboard(w)->sleepers),
                     HIPC__BOARD_BELLS / 2 * HIPC__BOARD_BELL_ONE);
}

static void readers_after_64_killed_ones_are_rung_not_beaten(void **st)
{
    (void)st;
    hipc_test_skip_unless_free_fds(9);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_state_writer w;
    hipc_state_reader a, b;
    int fa = -1, fb = -1;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    publish(&w, 1);
    fill_with_dead_claims(&w);
    assert_int_equal(hipc_state_open_reader(&a, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&b, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&a, &fa), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&b, &fb), HIPC_OK);
    /* a probes slot 0 (a dead claim) and takes it; b probes slot 0 (a:
     * alive, rung once spuriously), then slot 1 (dead) and takes it. An
     * announcement still up on a dead claim goes with its count. */
    arm(&a);
    assert_int_equal(rboard(&a)->bell.slot, 1);
    arm(&b);
    assert_int_equal(rboard(&b)->bell.slot, 2);
    assert_int_equal(rings_taken(&a), 1);
    arm(&a);
    uint32_t armed = armed_slots(&w);
    assert_true(armed >= HIPC__BOARD_BELLS / 2);
    assert_int_equal(atomic_load(wboard(&w)->sleepers),
                     armed * HIPC__BOARD_BELL_ONE);
    assert_int_equal(rings_taken(&a) + rings_taken(&b), 0);
    /* The publish rings both (a datagram each: a ring, not the timer) and
     * frees the armed dead claims, as its rings to them were refused. */
    publish(&w, 2);
    assert_int_equal(rings_taken(&a), 1);
    assert_int_equal(rings_taken(&b), 1);
    assert_int_equal(free_slots(&w), (int)armed - 2);
    assert_int_equal(atomic_load(wboard(&w)->sleepers), 0);
    arm(&a);
    arm(&b);
    assert_int_equal(hipc_state_close_reader(&a), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&b), HIPC_OK);
    assert_int_equal(free_slots(&w), (int)armed);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* Every slot claimed in the name of a live pid (ours) with a clock word
 * no bell of ours has: what a reused pid looks like. A pid check would
 * keep them; the bell's name says they are gone. */
static void a_claim_of_a_reused_pid_is_taken_over(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    for (int i = 0; i < HIPC__BOARD_BELLS; i++) {
        atomic_store(slot_word(&w, i, 0), CLAIMED | (uint32_t)getpid());
        atomic_store(slot_word(&w, i, 1), (uint32_t)getpid());
        atomic_store(slot_word(&w, i, 2), 12345u + (uint32_t)i);
        atomic_store(slot_word(&w, i, 3), 0u);
    }
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    arm(&r);
    assert_int_equal(rboard(&r)->bell.slot, 1);
    assert_int_not_equal(atomic_load(slot_word(&w, 0, 0)),
                         CLAIMED | (uint32_t)getpid());
    publish(&w, 3);
    assert_int_equal(rings_taken(&r), 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A hostile reader names one live bell (its own) in every slot: nobody
 * takes them over, and a newcomer's probes cost that bell at most
 * HIPC__BOARD_PROBES rings per slice, however often the newcomer tries.
 * Two readers of one process claim with different values. */
static void claims_of_live_bells_are_kept_and_probed_sparingly(void **st)
{
    (void)st;
    hipc_test_skip_unless_free_fds(8);
    hipc_state_writer w;
    hipc_state_reader live, r;
    int fd = -1;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&live, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&live, &fd), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    arm(&live);
    arm(&r);
    uint32_t tag = atomic_load(slot_word(&w, 0, 0)) & ~ARMED;
    assert_int_not_equal(tag, atomic_load(slot_word(&w, 1, 0)) & ~ARMED);
    /* r leaves its slot for a hostile copy of live's claim. */
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    for (int i = 1; i < HIPC__BOARD_BELLS; i++)
        for (int k = 0; k < 4; k++)
            atomic_store(slot_word(&w, i, k), atomic_load(slot_word(&w, 0, k)) &
                                                  (k == 0 ? ~ARMED : ~0u));
    int64_t t0 = now_ns();
    arm(&r);
    for (int n = 0; n < 4; n++)
        assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    int rings = rings_taken(&live);
    if (now_ns() - t0 < HIPC__BOARD_SLICE_NS)
        assert_int_equal(rings, HIPC__BOARD_PROBES);
    assert_int_equal(rboard(&r)->bell.slot, 0);
    assert_int_equal(free_slots(&w), 0);
    for (int i = 1; i < HIPC__BOARD_BELLS; i++)
        assert_int_equal(atomic_load(slot_word(&w, i, 0)), tag);
    /* Without a slot, still a reader: news is found by the next try. */
    publish(&w, 4);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&live), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A scribbler arms a live reader's slot with the name of no bell: the
 * writer's ring is refused and frees the claim; the reader sees at its
 * next arming that its claim is gone, claims again and is rung. A claim
 * overwritten by someone else's is left to them the same way. */
static void a_live_reader_whose_claim_was_taken_claims_again(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    int fd = -1;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_get_fd(&r, &fd), HIPC_OK);
    arm(&r);
    uint32_t mine = atomic_load(slot_word(&w, 0, 0));
    assert_int_equal(mine & (ARMED | CLAIMED), ARMED | CLAIMED);
    atomic_store(slot_word(&w, 0, 1), 0xdeadu);
    publish(&w, 5);
    assert_int_equal(atomic_load(slot_word(&w, 0, 0)), 0u);
    assert_int_equal(atomic_load(wboard(&w)->sleepers), 0u);
    arm(&r); /* at the beat or now: the timer may have run out */
    assert_int_equal(atomic_load(slot_word(&w, 0, 0)), mine);
    (void)rings_taken(&r);
    publish(&w, 6);
    assert_int_equal(rings_taken(&r), 1);
    arm(&r);
    /* Someone else's claim in our slot: ours moves to the next. */
    atomic_store(slot_word(&w, 0, 0), CLAIMED | 7u);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    assert_int_equal(rboard(&r)->bell.slot, 2);
    assert_int_equal(atomic_load(slot_word(&w, 1, 0)), mine);
    publish(&w, 7);
    assert_int_equal(rings_taken(&r), 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(atomic_load(slot_word(&w, 0, 0)), CLAIMED | 7u);
    assert_int_equal(atomic_load(slot_word(&w, 1, 0)), 0u);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* The same board under a broadcast ring: a consumer SIGKILLed while it
 * waited in its loop, and the other slots claimed for bells nobody
 * holds; the next consumer takes the dead one's slot at its first arming
 * and the next message rings it. */
static void a_killed_consumers_slot_goes_to_the_next_consumer(void **st)
{
    (void)st;
    hipc_test_skip_unless_free_fds(6);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_bcast p, c;
    int fd = -1, go[2];
    char buf[16], k = 0;
    assert_int_equal(hipc_bcast_create(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(pipe(go), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        if (hipc_bcast_open_consumer(&c, KEY, NULL) != HIPC_OK ||
            hipc_bcast_get_fd(&c, &fd) != HIPC_OK ||
            hipc_bcast_recv(&c, buf, sizeof buf, 0) != HIPC_E_AGAIN ||
            write(go[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(go[1]); /* a child that fails ends the read, not the run */
    assert_int_equal(read(go[0], &k, 1), 1);
    kill(kid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(kid, 30), 128 + SIGKILL);
    close(go[0]);
    struct hipc__board *pb = (struct hipc__board *)(void *)p.board_.bytes;
    unsigned char *base = (unsigned char *)(uintptr_t)pb->sleepers;
    _Atomic uint32_t *slot0 = (_Atomic uint32_t *)(void *)(base + 64);
    assert_int_equal(atomic_load(slot0) & (ARMED | CLAIMED), ARMED | CLAIMED);
    for (int i = 1; i < HIPC__BOARD_BELLS; i++) {
        _Atomic uint32_t *s = (_Atomic uint32_t *)(void *)(base + 64 + i * 16);
        atomic_store(&s[0], CLAIMED | 5u);
        atomic_store(&s[1], 1u);
        atomic_store(&s[2], 0xbeef0000u + (uint32_t)i);
    }
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_get_fd(&c, &fd), HIPC_OK);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    struct hipc__board *cb = (struct hipc__board *)(void *)c.board_.bytes;
    assert_int_equal(cb->bell.slot, 1);
    /* The dead one's count went with its slot: one armed, ours. */
    assert_int_equal(atomic_load(pb->sleepers), HIPC__BOARD_BELL_ONE);
    int sock = cb->bell.fds[HIPC__BELL_SOCK];
    assert_int_equal(recv(sock, buf, 1, MSG_DONTWAIT), -1);
    assert_int_equal(hipc_bcast_send(&p, "news", 4), HIPC_OK);
    assert_int_equal(recv(sock, buf, 1, MSG_DONTWAIT), 1);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), 4);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(readers_after_64_killed_ones_are_rung_not_beaten),
    T(a_claim_of_a_reused_pid_is_taken_over),
    T(claims_of_live_bells_are_kept_and_probed_sparingly),
    T(a_live_reader_whose_claim_was_taken_claims_again),
    T(a_killed_consumers_slot_goes_to_the_next_consumer),
};

HIPC_TEST_MAIN(tests)
