/* SPDX-License-Identifier: MIT */
/* The broadcast ring between threads: one producer, four consumers that
 * wait on the futex, under ThreadSanitizer (ci/stages/tsan.sh). The test
 * paces the producer so that it never overwrites what a consumer has not
 * read (the library's producer never waits; this test does, through its
 * own counters), so every copy a consumer makes is of bytes no one writes
 * at the time, and every message must arrive, in order. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "several threads at once, which a world does not take")

#define KEY 0x42430004
#define CAP 1024u
#define LEN 24u /* a 48-byte record */
#define MSGS 2000u
#define READERS 4
/* How far the producer may run ahead of the slowest consumer: half the
 * ring, so its reclaim (which frees up to a sixteenth more) stays clear. */
#define AHEAD 8u

struct shared {
    _Atomic uint64_t done[READERS]; /* messages each consumer has read */
    _Atomic int ready;
    _Atomic int fails[READERS];
};

struct reader {
    struct shared *sh;
    int idx;
};

static void *consume(void *arg)
{
    struct reader *r = arg;
    hipc_bcast c;
    hipc_bcast_config cfg = {.flags = HIPC_BCAST_OLDEST, .spin_ns = 2000};
    if (hipc_bcast_open_consumer(&c, KEY, &cfg) != HIPC_OK) {
        r->sh->fails[r->idx] = 1;
        atomic_fetch_add(&r->sh->ready, 1);
        return NULL;
    }
    atomic_fetch_add(&r->sh->ready, 1);
    unsigned char buf[LEN];
    for (uint64_t i = 0;; i++) {
        int n = hipc_bcast_recv(&c, buf, sizeof buf, HIPC_FOREVER);
        if (n == HIPC_E_PEER_GONE && i == MSGS)
            break;
        uint64_t got = 0;
        if (n != (int)LEN || (memcpy(&got, buf, sizeof got), got != i)) {
            r->sh->fails[r->idx] = 2;
            break;
        }
        atomic_store(&r->sh->done[r->idx], i + 1);
    }
    (void)hipc_bcast_close(&c);
    return NULL;
}

/* The slowest consumer's count; one that failed counts as done, so the
 * producer never waits for a reader that has left (its failure is
 * asserted after the join). */
static uint64_t slowest(struct shared *sh)
{
    uint64_t m = UINT64_MAX;
    for (int j = 0; j < READERS; j++) {
        uint64_t d = sh->fails[j] != 0 ? UINT64_MAX : atomic_load(&sh->done[j]);
        m = d < m ? d : m;
    }
    return m;
}

static void four_waiting_consumers_get_every_message(void **state)
{
    (void)state;
    /* The consumers judge the producer's liveness from /proc. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_bcast p;
    hipc_bcast_config cfg = {.capacity = CAP};
    static struct shared sh;
    memset(&sh, 0, sizeof sh);
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    pthread_t t[READERS];
    struct reader r[READERS];
    for (int j = 0; j < READERS; j++) {
        r[j] = (struct reader){&sh, j};
        assert_int_equal(pthread_create(&t[j], NULL, consume, &r[j]), 0);
    }
    while (atomic_load(&sh.ready) < READERS)
        sched_yield();
    unsigned char buf[LEN] = {0};
    for (uint64_t i = 0; i < MSGS; i++) {
        while (i - slowest(&sh) >= AHEAD)
            sched_yield();
        memcpy(buf, &i, sizeof i);
        assert_int_equal(hipc_bcast_send(&p, buf, LEN), HIPC_OK);
    }
    while (slowest(&sh) < MSGS)
        sched_yield();
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    for (int j = 0; j < READERS; j++) {
        assert_int_equal(pthread_join(t[j], NULL), 0);
        assert_int_equal(sh.fails[j], 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(four_waiting_consumers_get_every_message),
};
HIPC_TEST_MAIN(tests)
