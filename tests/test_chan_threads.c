/* SPDX-License-Identifier: MIT */
/* The channel between two threads: the memory orderings under
 * ThreadSanitizer (ci/stages/tsan.sh), every waiting mode, and wake-ups. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "several threads at once, which a world does not take")

#define CAP 256u
/* Enough to wrap a 256-byte ring ~1000 times and to catch a lost wake-up,
 * few enough to stay quick under valgrind, which runs one thread at a time
 * (a busy-polling peer then only moves when valgrind switches threads). */
#define MSGS 1000u
#define WAIT_NS ((int64_t)20 * 1000 * 1000 * 1000)

struct run {
    void *mem;
    size_t size;
    int64_t spin_ns;
    int zero_copy;
    int result; /* the producer thread's verdict */
};

static size_t msg_len(unsigned i)
{
    return (i * 29u) % (CAP / 2);
}

static unsigned char msg_byte(unsigned i, size_t k)
{
    return (unsigned char)(i * 7u + k);
}

static void *mem_new(size_t cap, size_t *size)
{
    assert_int_equal(hipc_chan_mem_size(cap, size), HIPC_OK);
    void *mem = aligned_alloc(64, *size);
    assert_non_null(mem);
    hipc_chan_config cfg = {.capacity = cap};
    assert_int_equal(hipc_chan_init_mem(mem, *size, &cfg), HIPC_OK);
    return mem;
}

static int produce_one(hipc_chan *p, unsigned i, int zero_copy)
{
    unsigned char buf[CAP];
    size_t len = msg_len(i);
    if (!zero_copy) {
        for (size_t k = 0; k < len; k++)
            buf[k] = msg_byte(i, k);
        return hipc_chan_send(p, buf, len, WAIT_NS);
    }
    void *room = NULL;
    int rc = hipc_chan_reserve(p, len, &room, WAIT_NS);
    if (rc != HIPC_OK)
        return rc;
    for (size_t k = 0; k < len; k++)
        ((unsigned char *)room)[k] = msg_byte(i, k);
    return hipc_chan_commit(p, len);
}

static void *producer(void *arg)
{
    struct run *run = arg;
    hipc_chan p;
    hipc_chan_config cfg = {.spin_ns = run->spin_ns};
    run->result =
        hipc_chan_attach_mem(&p, run->mem, run->size, HIPC_CHAN_PRODUCER, &cfg);
    for (unsigned i = 0; i < MSGS && run->result == HIPC_OK; i++)
        run->result = produce_one(&p, i, run->zero_copy);
    if (run->result == HIPC_OK)
        run->result = hipc_chan_close(&p);
    return NULL;
}

/* Receives every message, copy or zero-copy, and checks every byte. */
static void consume_all(hipc_chan *c, int zero_copy)
{
    unsigned char buf[CAP];
    for (unsigned i = 0; i < MSGS; i++) {
        const unsigned char *msg = buf;
        int n;
        if (zero_copy) {
            const void *at = NULL;
            n = hipc_chan_peek(c, &at, WAIT_NS);
            msg = at;
        } else {
            n = hipc_chan_recv(c, buf, sizeof buf, WAIT_NS);
        }
        assert_int_equal(n, (int)msg_len(i));
        for (size_t k = 0; k < (size_t)n; k++)
            assert_int_equal(msg[k], msg_byte(i, k));
        if (zero_copy)
            assert_int_equal(hipc_chan_release(c), HIPC_OK);
    }
    assert_int_equal(hipc_chan_recv(c, buf, sizeof buf, WAIT_NS),
                     HIPC_E_PEER_GONE);
}

static void stream(int64_t spin_ns, int zero_copy)
{
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct run run = {NULL, 0, spin_ns, zero_copy, -1};
    run.mem = mem_new(CAP, &run.size);
    hipc_chan c;
    hipc_chan_config cfg = {.spin_ns = spin_ns};
    assert_int_equal(hipc_chan_attach_mem(&c, run.mem, run.size,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &run), 0);
    consume_all(&c, zero_copy);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(run.result, HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    free(run.mem);
}

static void threads_stream_copies_with_spin_then_sleep(void **state)
{
    (void)state;
    stream(0, 0);
}

static void threads_stream_copies_sleeping_at_once(void **state)
{
    (void)state;
    stream(1, 0);
}

static void threads_stream_copies_busy_polling(void **state)
{
    (void)state;
    stream(HIPC_CHAN_SPIN_ALWAYS, 0);
}

static void threads_stream_zero_copy_spans(void **state)
{
    (void)state;
    stream(0, 1);
    stream(1, 1);
}

struct waiter {
    hipc_chan *ch;
    _Atomic pid_t tid;
    int result;
};

static void *recv_forever(void *arg)
{
    struct waiter *w = arg;
    char buf[8];
    atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
    w->result = hipc_chan_recv(w->ch, buf, sizeof buf, HIPC_FOREVER);
    return NULL;
}

/* A consumer thread waits forever; the producer closes either before the
 * consumer looks (`asleep` 0) or once it sleeps in the futex (`asleep` 1,
 * seen in /proc, so the close must wake it rather than be found). */
static void close_reaches_waiting_consumer(int asleep)
{
    size_t size = 0;
    void *mem = mem_new(CAP, &size);
    hipc_chan p, c;
    assert_int_equal(hipc_chan_attach_mem(&c, mem, size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_set_spin(&c, 1), HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&p, mem, size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    struct waiter w = {.ch = &c, .result = 1};
    atomic_init(&w.tid, 0);
    if (!asleep)
        assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recv_forever, &w), 0);
    if (asleep) {
        while (atomic_load(&w.tid) == 0)
            sched_yield();
        assert_true(hipc_test_wait_blocked_in(atomic_load(&w.tid), SYS_futex));
        assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.result, HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    free(mem);
}

static void a_consumer_that_waits_after_the_close_learns_of_it(void **state)
{
    (void)state;
    close_reaches_waiting_consumer(0);
}

static void a_sleeping_consumer_is_woken_by_the_close(void **state)
{
    (void)state;
    if (hipc_test_syscall_numbers_are_foreign())
        hipc_test_skip(HIPC_TEST_FOREIGN_SYSCALL_REASON);
    close_reaches_waiting_consumer(1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(threads_stream_copies_with_spin_then_sleep),
    cmocka_unit_test(threads_stream_copies_sleeping_at_once),
    cmocka_unit_test(threads_stream_copies_busy_polling),
    cmocka_unit_test(threads_stream_zero_copy_spans),
    cmocka_unit_test(a_consumer_that_waits_after_the_close_learns_of_it),
    cmocka_unit_test(a_sleeping_consumer_is_woken_by_the_close),
};

HIPC_TEST_MAIN(tests)
