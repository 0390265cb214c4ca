/* SPDX-License-Identifier: MIT */
/* The fan-out descriptors between threads (run under ThreadSanitizer by
 * ci/stages/tsan.sh): a writer thread publishes while reader threads, each
 * with its own handle and descriptor, wait in poll and try; every reader
 * reaches the last value (state) or reads every message or counts it lost
 * (bcast). A lost wake-up hangs a reader until the test's bound. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "hipc/bcast.h"
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define SKEY ((hipc_key)0x5a7e0b05)
#define BKEY 0x42430b05
#define READERS 3
#define VALUES 3000u
/* A poll longer than this without news is a lost wake-up (the beat is 50
 * ms). */
#define LOST_MS 20000

struct state_reader_arg {
    hipc_state_reader r;
    uint64_t last;
    int rc;
};

static void *state_reader_main(void *p)
{
    struct state_reader_arg *a = p;
    int fd = -1;
    a->rc = hipc_state_get_fd(&a->r, &fd);
    while (a->rc == HIPC_OK && a->last < VALUES) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, LOST_MS) != 1) {
            a->rc = HIPC_E_TIMEDOUT;
            break;
        }
        int rc;
        while ((rc = hipc_state_wait(&a->r, 0)) == HIPC_OK) {
            uint64_t v = 0;
            hipc_state_info info;
            if (hipc_state_read(&a->r, &v, sizeof v, &info) != sizeof v ||
                v != info.generation) {
                a->rc = HIPC_E_CORRUPT;
                return NULL;
            }
            a->last = v;
        }
        if (rc != HIPC_E_AGAIN)
            a->rc = rc;
    }
    return NULL;
}

static void state_readers_in_poll_reach_the_last_value(void **st)
{
    hipc_test_skip_unless_free_fds(14);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    (void)st;
    hipc_state_writer w;
    static struct state_reader_arg a[READERS];
    pthread_t t[READERS];
    assert_int_equal(hipc_state_create(&w, SKEY, sizeof(uint64_t), NULL),
                     HIPC_OK);
    for (int i = 0; i < READERS; i++) {
        memset(&a[i], 0, sizeof a[i]);
        assert_int_equal(hipc_state_open_reader(&a[i].r, SKEY, NULL), HIPC_OK);
        assert_int_equal(pthread_create(&t[i], NULL, state_reader_main, &a[i]),
                         0);
    }
    for (uint64_t v = 1; v <= VALUES; v++) {
        assert_int_equal(hipc_state_publish(&w, &v, sizeof v), HIPC_OK);
        if (v % 64 == 0)
            sched_yield();
    }
    for (int i = 0; i < READERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].rc, HIPC_OK);
        assert_true(a[i].last == VALUES);
        assert_int_equal(hipc_state_close_reader(&a[i].r), HIPC_OK);
    }
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

struct bcast_reader_arg {
    hipc_bcast c;
    uint64_t got, last;
    int rc;
};

static void *bcast_reader_main(void *p)
{
    struct bcast_reader_arg *a = p;
    int fd = -1;
    a->rc = hipc_bcast_get_fd(&a->c, &fd);
    while (a->rc == HIPC_OK && a->last < VALUES) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, LOST_MS) != 1) {
            a->rc = HIPC_E_TIMEDOUT;
            break;
        }
        int rc;
        uint64_t v = 0;
        while ((rc = hipc_bcast_recv(&a->c, &v, sizeof v, 0)) >= 0 ||
               rc == HIPC_E_OVERRUN)
            if (rc >= 0) {
                a->got++;
                a->last = v;
            }
        if (rc != HIPC_E_AGAIN)
            a->rc = rc;
    }
    return NULL;
}

static void bcast_consumers_in_poll_read_or_count_every_message(void **st)
{
    hipc_test_skip_unless_free_fds(12);
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    (void)st;
    hipc_bcast p;
    hipc_bcast_config cfg = {.capacity = 1u << 16};
    static struct bcast_reader_arg a[READERS];
    pthread_t t[READERS];
    assert_int_equal(hipc_bcast_create(&p, BKEY, &cfg), HIPC_OK);
    for (int i = 0; i < READERS; i++) {
        memset(&a[i], 0, sizeof a[i]);
        assert_int_equal(hipc_bcast_open_consumer(&a[i].c, BKEY, NULL),
                         HIPC_OK);
        assert_int_equal(pthread_create(&t[i], NULL, bcast_reader_main, &a[i]),
                         0);
    }
    for (uint64_t v = 1; v <= VALUES; v++) {
        assert_int_equal(hipc_bcast_send(&p, &v, sizeof v), HIPC_OK);
        if (v % 64 == 0)
            sched_yield();
    }
    for (int i = 0; i < READERS; i++) {
        uint64_t last = 0, lost = 0;
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].rc, HIPC_OK);
        assert_true(a[i].last == VALUES);
        assert_int_equal(hipc_bcast_get_lost(&a[i].c, &last, &lost), HIPC_OK);
        assert_true(a[i].got + lost == VALUES);
        assert_int_equal(hipc_bcast_close(&a[i].c), HIPC_OK);
    }
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(state_readers_in_poll_reach_the_last_value),
    T(bcast_consumers_in_poll_read_or_count_every_message),
};

HIPC_TEST_MAIN(tests)
