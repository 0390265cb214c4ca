/* SPDX-License-Identifier: MIT */
/* A state block between threads: one writer, readers that copy and
 * readers that wait, under ThreadSanitizer (ci/stages/tsan.sh). Every
 * copy must be one whole value, generations never go back, and a waiter
 * sees the last value. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "several threads at once, which a world does not take")

#define KEY ((hipc_key)0x5a7e0002)
#define VSIZE 100u /* not a whole number of words: the tail word too */
#define VALUES 20000u
#define WAIT_NS ((int64_t)20 * 1000 * 1000 * 1000)

static void value_of(unsigned char *v, uint64_t gen)
{
    for (size_t i = 0; i < VSIZE; i++)
        v[i] = (unsigned char)(gen * 7u + i);
}

struct reader {
    int waits; /* sleeps in hipc_state_wait between reads */
    int result;
    uint64_t reads;
};

static _Atomic int writer_done;

static int read_one(hipc_state_reader *r, uint64_t *last)
{
    unsigned char v[VSIZE], want[VSIZE];
    hipc_state_info info;
    int rc = hipc_state_read(r, v, sizeof v, &info);
    if (rc != (int)VSIZE)
        return rc < 0 ? rc : -1000;
    value_of(want, info.generation);
    if (info.generation != 0 && memcmp(v, want, VSIZE) != 0)
        return -1001; /* torn */
    if (info.generation < *last)
        return -1002; /* went back */
    *last = info.generation;
    return HIPC_OK;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    hipc_state_reader r;
    rd->result = hipc_state_open_reader(&r, KEY, NULL);
    uint64_t last = 0;
    while (rd->result == HIPC_OK) {
        rd->result = read_one(&r, &last);
        rd->reads++;
        if (rd->result != HIPC_OK || last == VALUES)
            break;
        /* The writer is done: what it left is the last value. */
        if (atomic_load(&writer_done)) {
            rd->result = read_one(&r, &last) == HIPC_OK && last == VALUES
                             ? HIPC_OK
                             : -1003;
            break;
        }
        if (rd->waits)
            rd->result = hipc_state_wait(&r, WAIT_NS);
    }
    if (rd->result == HIPC_OK)
        rd->result = hipc_state_close_reader(&r);
    return NULL;
}

static void run(int copiers, int waiters)
{
    hipc_state_writer w;
    atomic_store(&writer_done, 0);
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    struct reader rd[8];
    pthread_t t[8];
    int n = copiers + waiters;
    for (int i = 0; i < n; i++) {
        memset(&rd[i], 0, sizeof rd[i]);
        rd[i].waits = i >= copiers;
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
    }
    unsigned char v[VSIZE];
    for (uint64_t g = 1; g <= VALUES; g++) {
        value_of(v, g);
        assert_int_equal(hipc_state_publish(&w, v, sizeof v), HIPC_OK);
    }
    atomic_store(&writer_done, 1);
    for (int i = 0; i < n; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(rd[i].result, HIPC_OK);
        assert_true(rd[i].reads > 0);
    }
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void one_copier_sees_whole_values_only(void **state)
{
    (void)state;
    run(1, 0);
}

static void copiers_and_waiters_see_whole_values_and_the_last(void **state)
{
    (void)state;
    run(2, 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(one_copier_sees_whole_values_only,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(
        copiers_and_waiters_see_whole_values_and_the_last, hipc_test_fd_setup,
        hipc_test_fd_teardown),
};

HIPC_TEST_MAIN(tests)
