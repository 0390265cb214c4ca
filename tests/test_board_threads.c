/* SPDX-License-Identifier: MIT */
/* The board between threads, under ThreadSanitizer (ci/stages/tsan.sh):
 * sleepers announce, look and sleep; the writer stores and wakes only when
 * one announced; no wake-up is lost. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "several threads at once, which a world does not take")

#define WAIT_NS ((int64_t)20 * 1000 * 1000 * 1000)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits, slice after slice, until *word != seen or WAIT_NS passed. */
static int wait_change(struct hipc__board *b, const _Atomic uint32_t *word,
                       uint32_t seen)
{
    int64_t end = now_ns() + WAIT_NS;
    int rc = HIPC_E_AGAIN;
    while (rc == HIPC_E_AGAIN && now_ns() < end)
        rc = hipc__board_wait(b, word, seen, end - now_ns(), NULL);
    return rc;
}

struct sleeper {
    struct hipc__board b;
    const struct hipc__board_ref *ref;
    _Atomic uint32_t *word;
    _Atomic uint32_t rounds_done;
    uint32_t rounds;
    int result;
};

/* Waits for each value in turn, as a reader of a state block would. */
static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    memset(&s->b, 0, sizeof s->b);
    s->result = hipc__board_attach(&s->b, s->ref, NULL);
    for (uint32_t i = 0; i < s->rounds && s->result == HIPC_OK; i++) {
        s->result = wait_change(&s->b, s->word, i);
        atomic_store(&s->rounds_done, i + 1u);
    }
    hipc__board_detach(&s->b);
    return NULL;
}

/* Every value change is seen by every sleeper well inside a slice: were a
 * wake-up lost, a round would last a whole slice, and ROUNDS of them
 * longer than the bound below. */
#define ROUNDS 200u
#define SLEEPERS 3

static void wake_reaches_every_announced_sleeper(void **state)
{
    (void)state;
    struct hipc__board w;
    struct hipc__board_ref ref;
    _Atomic uint32_t word = 0;
    assert_int_equal(hipc__board_create(&w, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w, &ref);
    struct sleeper s[SLEEPERS];
    pthread_t t[SLEEPERS];
    for (int i = 0; i < SLEEPERS; i++) {
        s[i].ref = &ref;
        s[i].word = &word;
        s[i].rounds = ROUNDS;
        atomic_store(&s[i].rounds_done, 0);
        assert_int_equal(pthread_create(&t[i], NULL, sleeper_main, &s[i]), 0);
    }
    unsigned wakes = 0;
    int64_t t0 = now_ns();
    for (uint32_t v = 1; v <= ROUNDS; v++) {
        /* Wait until every sleeper finished the previous round. */
        for (int i = 0; i < SLEEPERS; i++)
            while (atomic_load(&s[i].rounds_done) < v - 1u)
                sched_yield();
        atomic_store(&word, v);
        if (atomic_load(w.sleepers) != 0)
            wakes++;
        assert_int_equal(hipc__board_wake(&w, &word), 0);
    }
    for (int i = 0; i < SLEEPERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(s[i].result, HIPC_OK);
    }
    /* Lost wake-ups would cost a slice each. */
    assert_true(now_ns() - t0 < (int64_t)ROUNDS * HIPC__BOARD_SLICE_NS / 2);
    print_message("wakes: %u of %u rounds had announced sleepers\n", wakes,
                  ROUNDS);
    assert_int_equal(atomic_load(w.sleepers), 0);
    hipc__board_detach(&w);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(wake_reaches_every_announced_sleeper,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
};

HIPC_TEST_MAIN(tests)
