/* SPDX-License-Identifier: MIT */
/* The public fault plan and hostile-peer hooks (include/hipc/testing.h,
 * lib/testing.c): argument checks, planned failures by kind, by any kind,
 * every call, in the arming process only; the transparent modes set and
 * read back and absorbed; reset and determinism; and each hook's offsets,
 * proved by handing a fresh block what a real peer wrote into another one
 * and reading it through the normal calls, then garbage. */
#include "hipc/config.h"

#ifdef HIPC_TESTING
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/bcast.h"
#include "hipc/chan.h"
#include "hipc/error.h"
#include "hipc/pipe.h"
#include "hipc/shm.h"
#include "hipc/state.h"
#include "hipc/testing.h"
#include "support.h"

static void arguments_are_checked(void **state)
{
    (void)state;
    unsigned long n = 7;
    hipc_testing_modes m = {0, 0, 0, HIPC_TESTING_MAX_SHIFT + 1};
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_ANY + 1, 1, EIO),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_fail_nth((hipc_testing_call)-1, 1, EIO),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_KINDS, 1, EIO),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_READ, 1, 0),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_READ, 1, 4096),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_READ, 0, EIO),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_testing_fail_every(HIPC_CALL_ANY + 1, EIO),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_fail_every(HIPC_CALL_PIPE2, -1),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_testing_get_calls(HIPC_CALL_READ, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_testing_get_calls(HIPC_CALL_ANY + 1, &n),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(n, 7);
    assert_int_equal(hipc_testing_set_modes(&m), HIPC_E_OVERFLOW);
    m.realtime_s = -HIPC_TESTING_MAX_SHIFT - 1;
    assert_int_equal(hipc_testing_set_modes(&m), HIPC_E_OVERFLOW);
    m.realtime_s = 0;
    m.short_max = (size_t)HIPC_MAX_MSG_BYTES + 1;
    assert_int_equal(hipc_testing_set_modes(&m), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_testing_get_modes(NULL), HIPC_E_NULL);
    /* Nothing was armed by the refused calls. */
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_testing_get_fired(), 0);
}

static void nth_call_of_a_kind_fails_once(void **state)
{
    (void)state;
    hipc_shm a, b;
    hipc_shm_config cfg = {4096, 0, 0, 0};
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_SHMGET, 2, ENOSPC),
                     HIPC_OK);
    assert_int_equal(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
    assert_int_equal(hipc_testing_get_fired(), 0);
    assert_int_equal(hipc_shm_create(&b, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_LIMIT);
    assert_int_equal(b.sys_errno, ENOSPC);
    assert_int_equal(hipc_testing_get_fired(), 1);
    unsigned long n = 0;
    assert_int_equal(hipc_testing_get_calls(HIPC_CALL_SHMGET, &n), HIPC_OK);
    assert_int_equal(n, 2);
    /* Once only. */
    assert_int_equal(hipc_shm_create(&b, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&b), HIPC_OK);
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
}

static void nth_call_of_any_kind(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_ANY, 1, EMFILE), HIPC_OK);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_E_LIMIT);
    assert_int_equal(p.sys_errno, EMFILE);
    unsigned long any = 0, pipes = 0;
    assert_int_equal(hipc_testing_get_calls(HIPC_CALL_ANY, &any), HIPC_OK);
    assert_int_equal(hipc_testing_get_calls(HIPC_CALL_PIPE2, &pipes), HIPC_OK);
    assert_int_equal(any, 1);
    assert_int_equal(pipes, 1);
}

static void every_call_fails_until_reset(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_testing_fail_every(HIPC_CALL_PIPE2, ENFILE), HIPC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hipc_pipe_create(&p, 0), HIPC_E_LIMIT);
        assert_int_equal(p.sys_errno, ENFILE);
    }
    assert_int_equal(hipc_testing_get_fired(), 1);
    /* Other kinds go through. */
    hipc_shm s;
    hipc_shm_config cfg = {4096, 0, 0, 0};
    assert_int_equal(hipc_shm_create(&s, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&s), HIPC_OK);
    assert_int_equal(hipc_shm_close(&s), HIPC_OK);
    hipc_testing_reset();
    assert_int_equal(hipc_testing_get_fired(), 0);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    /* Every call of every kind. */
    assert_int_equal(hipc_testing_fail_every(HIPC_CALL_ANY, EIO), HIPC_OK);
    assert_int_equal(hipc_shm_create(&s, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_SYS);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_E_SYS);
}

/* A forked child inherits the plan but never fires it. */
static void a_forked_child_is_not_failed(void **state)
{
    (void)state;
    assert_int_equal(hipc_testing_fail_every(HIPC_CALL_PIPE2, EMFILE), HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hipc_pipe p;
        int ok = hipc_pipe_create(&p, 0) == HIPC_OK &&
                 hipc_pipe_close(&p) == HIPC_OK;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_E_LIMIT);
}

static void modes_are_set_read_and_absorbed(void **state)
{
    (void)state;
    hipc_testing_modes start, m = {1, 1, 1, -3600}, now;
    assert_int_equal(hipc_testing_get_modes(&start), HIPC_OK);
    assert_int_equal(hipc_testing_set_modes(&m), HIPC_OK);
    assert_int_equal(hipc_testing_get_modes(&now), HIPC_OK);
    assert_int_equal(now.eintr_first, 1);
    assert_int_equal(now.eagain_first, 1);
    assert_int_equal(now.short_max, 1);
    assert_int_equal(now.realtime_s, -3600);
    /* A transfer under them still moves every byte. */
    hipc_pipe p;
    unsigned char out[300], in[300];
    size_t done = 0;
    hipc_test_fill(out, sizeof out, 17);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, out, sizeof out, &done, 0),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, in, sizeof in, &done,
                                          HIPC_FOREVER),
                     HIPC_OK);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_testing_set_modes(NULL), HIPC_OK);
    assert_int_equal(hipc_testing_get_modes(&now), HIPC_OK);
    assert_int_equal(now.eintr_first + now.eagain_first, 0);
    assert_int_equal(now.short_max, 0);
    assert_int_equal(now.realtime_s, 0);
    /* Reset goes back to what HIPC_FAULT_MODE said at start. */
    hipc_testing_reset();
    assert_int_equal(hipc_testing_get_modes(&now), HIPC_OK);
    assert_memory_equal(&now, &start, sizeof now);
}

/* The same calls after a reset meet the same plan and count the same. */
static unsigned long one_run(void)
{
    hipc_testing_reset();
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_CLOSE, 2, EIO), HIPC_OK);
    hipc_pipe p;
    int first = hipc_pipe_create(&p, 0);
    assert_int_equal(first, HIPC_OK);
    (void)hipc_pipe_close(&p);
    unsigned long n = 0;
    assert_int_equal(hipc_testing_get_calls(HIPC_CALL_ANY, &n), HIPC_OK);
    assert_int_equal(hipc_testing_get_fired(), 1);
    return n;
}

static void reset_makes_runs_repeat(void **state)
{
    (void)state;
    unsigned long a = one_run();
    unsigned long b = one_run();
    assert_true(a >= 2);
    assert_int_equal(a, b);
}

static hipc_chan_config small_chan = {4096, 0, 0, 0, 0};

struct chan_pair {
    _Alignas(64) unsigned char mem[HIPC_CHAN_HEADER_SIZE + 4096];
    hipc_chan prod, cons;
};

static void chan_pair_open(struct chan_pair *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(hipc_chan_init_mem(c->mem, sizeof c->mem, &small_chan),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c->prod, c->mem, sizeof c->mem,
                                          HIPC_CHAN_PRODUCER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c->cons, c->mem, sizeof c->mem,
                                          HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
}

static void chan_pair_close(struct chan_pair *c)
{
    assert_int_equal(hipc_chan_close(&c->prod), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c->cons), HIPC_OK);
}

/* What a real producer wrote into one channel, handed to a fresh one
 * through the hook, is read there as that message: the hook's tail and
 * ring are where the producer keeps them. */
static void chan_hook_plays_the_producer(void **state)
{
    (void)state;
    static struct chan_pair real, fake;
    chan_pair_open(&real);
    chan_pair_open(&fake);
    assert_int_equal(hipc_chan_send(&real.prod, "hello", 5, 0), HIPC_OK);
    unsigned char input[8 + 4096] = {0};
    uint32_t tail = real.prod.pos_;
    memcpy(input, &tail, 4);
    memcpy(input + 8, real.mem + HIPC_CHAN_HEADER_SIZE, 4096);
    assert_int_equal(hipc_testing_chan_peer(&fake.prod, input, sizeof input),
                     (int)sizeof input);
    char buf[16];
    assert_int_equal(hipc_chan_recv(&fake.cons, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "hello", 5);
    /* Longer input than the end writes: the rest is not used. */
    assert_int_equal(hipc_testing_chan_peer(&fake.prod, input, sizeof input),
                     (int)sizeof input);
    unsigned char more[sizeof input + 10] = {0};
    assert_int_equal(hipc_testing_chan_peer(&fake.prod, more, sizeof more),
                     (int)sizeof input);
    chan_pair_close(&real);
    chan_pair_close(&fake);
}

/* A consumer's head given through the hook frees a full ring. */
static void chan_hook_plays_the_consumer(void **state)
{
    (void)state;
    static struct chan_pair c;
    chan_pair_open(&c);
    unsigned char msg[200] = {1};
    int rc;
    while ((rc = hipc_chan_send(&c.prod, msg, sizeof msg, 0)) == HIPC_OK)
        ;
    assert_int_equal(rc, HIPC_E_AGAIN);
    uint32_t head = c.prod.pos_;
    unsigned char input[4];
    memcpy(input, &head, 4);
    assert_int_equal(hipc_testing_chan_peer(&c.cons, input, 4), 4);
    assert_int_equal(hipc_chan_send(&c.prod, msg, sizeof msg, 0), HIPC_OK);
    chan_pair_close(&c);
}

/* Garbage from a hostile producer: every call answers with a code. */
static void chan_hook_garbage(void **state)
{
    (void)state;
    static struct chan_pair c;
    unsigned char input[8 + 4096];
    for (unsigned seed = 1; seed <= 200; seed++) {
        chan_pair_open(&c);
        hipc_test_fill(input, sizeof input, seed);
        size_t len = seed % 3 == 0 ? 4 : seed % 3 == 1 ? 8 + 64 : sizeof input;
        assert_int_equal(hipc_testing_chan_peer(&c.prod, input, len), (int)len);
        char buf[4096];
        for (int i = 0; i < 4; i++) {
            int rc = hipc_chan_recv(&c.cons, buf, sizeof buf, 0);
            assert_true(rc >= 0 || rc == HIPC_E_AGAIN || rc == HIPC_E_CORRUPT);
        }
        chan_pair_close(&c);
    }
}

static void hooks_check_their_handle(void **state)
{
    (void)state;
    static struct chan_pair c;
    hipc_chan zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(hipc_testing_chan_peer(NULL, "x", 1), HIPC_E_NULL);
    assert_int_equal(hipc_testing_chan_peer(&zero, "x", 1), HIPC_E_BAD_HANDLE);
    chan_pair_open(&c);
    assert_int_equal(hipc_testing_chan_peer(&c.prod, NULL, 1), HIPC_E_NULL);
    assert_int_equal(hipc_testing_chan_peer(&c.prod, NULL, 0), 0);
    assert_int_equal(hipc_testing_chan_peer(&c.prod, "x", (size_t)INT_MAX + 1),
                     HIPC_E_BAD_SIZE);
    hipc_chan copy = c.prod;
    assert_int_equal(hipc_testing_chan_peer(&copy, "x", 1), HIPC_E_BAD_HANDLE);
    chan_pair_close(&c);
    assert_int_equal(hipc_testing_chan_peer(&c.prod, "x", 1),
                     HIPC_E_STALE_HANDLE);
    hipc_state_writer w;
    memset(&w, 0, sizeof w);
    assert_int_equal(hipc_testing_state_peer(NULL, "x", 1), HIPC_E_NULL);
    assert_int_equal(hipc_testing_state_peer(&w, "x", 1), HIPC_E_BAD_HANDLE);
    hipc_bcast b;
    memset(&b, 0, sizeof b);
    assert_int_equal(hipc_testing_bcast_peer(NULL, "x", 1), HIPC_E_NULL);
    assert_int_equal(hipc_testing_bcast_peer(&b, "x", 1), HIPC_E_BAD_HANDLE);
}

#define VSIZE 24

static void state_hook_plays_the_writer(void **state)
{
    (void)state;
    hipc_state_writer real, fake;
    hipc_state_reader r;
    unsigned char v[VSIZE], got[VSIZE];
    hipc_test_fill(v, sizeof v, 5);
    assert_int_equal(hipc_state_create(&real, HIPC_SHM_KEY_PRIVATE, VSIZE,
                                       NULL),
                     HIPC_OK);
    assert_int_equal(hipc_state_create(&fake, HIPC_SHM_KEY_PRIVATE, VSIZE,
                                       NULL),
                     HIPC_OK);
    assert_int_equal(hipc_state_open_reader_id(&r, fake.shm_.id, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_state_publish(&real, v, VSIZE), HIPC_OK);
    unsigned char input[4 + 2 * 64];
    assert_true(2 * real.stride_ <= sizeof input - 4);
    const unsigned char *h = real.hdr_;
    memcpy(input, h + 64, 4);
    memcpy(input + 4, h + 128, 2 * real.stride_);
    size_t len = 4 + 2 * real.stride_;
    assert_int_equal(hipc_testing_state_peer(&fake, input, sizeof input),
                     (int)len);
    assert_int_equal(hipc_testing_state_peer(&fake, NULL, 1), HIPC_E_NULL);
    hipc_state_info info;
    assert_int_equal(hipc_state_read(&r, got, sizeof got, &info), VSIZE);
    assert_memory_equal(got, v, VSIZE);
    /* Garbage: a value or a code, never a crash. */
    for (unsigned seed = 1; seed <= 100; seed++) {
        hipc_test_fill(input, sizeof input, seed);
        assert_int_equal(hipc_testing_state_peer(&fake, input, len), (int)len);
        int rc = hipc_state_read(&r, got, sizeof got, NULL);
        assert_true(rc == VSIZE || rc == HIPC_E_CORRUPT ||
                    rc == HIPC_E_RETRIES);
    }
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&real), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&real), HIPC_OK);
    assert_int_equal(hipc_state_remove(&fake), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&fake), HIPC_OK);
    assert_int_equal(hipc_testing_state_peer(&fake, input, 1),
                     HIPC_E_STALE_HANDLE);
}

static void bcast_hook_plays_the_producer(void **state)
{
    (void)state;
    hipc_bcast real, fake, cons;
    hipc_bcast_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.capacity = 4096;
    assert_int_equal(hipc_bcast_create(&real, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_bcast_create(&fake, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer_id(&cons, fake.shm.id, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_testing_bcast_peer(&cons, "x", 1), HIPC_E_WRONG_END);
    assert_int_equal(hipc_bcast_send(&real, "sample", 6), HIPC_OK);
    static unsigned char input[20 + 4096];
    const unsigned char *h = real.hdr_;
    memcpy(input, h + 256, 4);
    memcpy(input + 4, h + 384, 16);
    memcpy(input + 20, real.ring_, 4096);
    assert_int_equal(hipc_testing_bcast_peer(&fake, input, sizeof input),
                     (int)sizeof input);
    assert_int_equal(hipc_testing_bcast_peer(&fake, NULL, 1), HIPC_E_NULL);
    char buf[64];
    assert_int_equal(hipc_bcast_recv(&cons, buf, sizeof buf, 0), 6);
    assert_memory_equal(buf, "sample", 6);
    for (unsigned seed = 1; seed <= 100; seed++) {
        hipc_test_fill(input, sizeof input, seed);
        size_t len = seed % 2 ? 20 : sizeof input;
        assert_int_equal(hipc_testing_bcast_peer(&fake, input, len), (int)len);
        int rc = hipc_bcast_recv(&cons, buf, sizeof buf, 0);
        assert_true(rc >= 0 || rc == HIPC_E_AGAIN || rc == HIPC_E_CORRUPT ||
                    rc == HIPC_E_OVERRUN || rc == HIPC_E_BUF_TOO_SMALL);
    }
    assert_int_equal(hipc_bcast_close(&cons), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&real), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&real), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&fake), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&fake), HIPC_OK);
    assert_int_equal(hipc_testing_bcast_peer(&fake, input, 1),
                     HIPC_E_STALE_HANDLE);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)
static const struct CMUnitTest tests[] = {
    T(arguments_are_checked),         T(nth_call_of_a_kind_fails_once),
    T(nth_call_of_any_kind),          T(every_call_fails_until_reset),
    T(a_forked_child_is_not_failed),  T(modes_are_set_read_and_absorbed),
    T(reset_makes_runs_repeat),       T(chan_hook_plays_the_producer),
    T(chan_hook_plays_the_consumer),  T(chan_hook_garbage),
    T(hooks_check_their_handle),      T(state_hook_plays_the_writer),
    T(bcast_hook_plays_the_producer),
};
HIPC_TEST_MAIN(tests)
#else
#include "support.h"
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
