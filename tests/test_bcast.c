/* SPDX-License-Identifier: MIT */
/* Tests for the broadcast ring: consumers at their own pace, exact losses
 * across wrap, jumping to the newest, a producer replaced, waiting, a
 * hostile producer's ring, a consumer that cannot write, and handles. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/bcast.h"
#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#define KEY 0x42430001
#define LINE 128u
/* Offsets in the ring's header, as documented in lib/bcast.c. */
#define OFF_MAGIC 0u
#define OFF_VERSION 4u
#define OFF_ENDIAN 8u
#define OFF_CAPACITY 16u
#define OFF_MAX_MSG 20u
#define OFF_OWNER (1u * LINE)
#define OFF_HEAD (2u * LINE)
#define OFF_TAIL (3u * LINE)
#define HDR HIPC_BCAST_HEADER_SIZE

static unsigned char *mem(hipc_bcast *p)
{
    return p->shm.data;
}

static void put32(hipc_bcast *p, size_t off, uint32_t v)
{
    memcpy(mem(p) + off, &v, sizeof v);
}

static void put64(hipc_bcast *p, size_t off, uint64_t v)
{
    memcpy(mem(p) + off, &v, sizeof v);
}

static uint32_t get32(hipc_bcast *p, size_t off)
{
    uint32_t v;
    memcpy(&v, mem(p) + off, sizeof v);
    return v;
}

/* Message i: its number, then a pattern of `len` bytes in all. */
static size_t make_msg(unsigned char *buf, uint64_t i, size_t len)
{
    hipc_test_fill(buf, len, (unsigned)i);
    if (len >= sizeof i)
        memcpy(buf, &i, sizeof i);
    return len;
}

static void check_msg(const unsigned char *got, int len, uint64_t i,
                      size_t want_len)
{
    unsigned char want[4096];
    assert_int_equal(len, (int)want_len);
    make_msg(want, i, want_len);
    assert_memory_equal(got, want, want_len);
}

static void create(hipc_bcast *p, size_t cap, size_t max_msg)
{
    hipc_bcast_config cfg = {.capacity = cap, .max_msg = max_msg};
    assert_int_equal(hipc_bcast_create(p, KEY, &cfg), HIPC_OK);
}

static void open_cons(hipc_bcast *c, unsigned flags)
{
    hipc_bcast_config cfg = {.flags = flags};
    assert_int_equal(hipc_bcast_open_consumer(c, KEY, &cfg), HIPC_OK);
}

static void destroy(hipc_bcast *p)
{
    assert_int_equal(hipc_bcast_remove(p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(p), HIPC_OK);
}

static void send_n(hipc_bcast *p, uint64_t from, uint64_t n, size_t len)
{
    unsigned char buf[4096];
    for (uint64_t i = from; i < from + n; i++)
        assert_int_equal(hipc_bcast_send(p, buf, make_msg(buf, i, len)),
                         HIPC_OK);
}

static void create_rejects_bad_configs(void **state)
{
    (void)state;
    hipc_bcast b;
    hipc_bcast_config cfg = {.flags = 0x80u};
    assert_int_equal(hipc_bcast_create(NULL, KEY, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_create(&b, KEY, &cfg), HIPC_E_BAD_FLAGS);
    cfg = (hipc_bcast_config){.spin_ns = -1};
    assert_int_equal(hipc_bcast_create(&b, KEY, &cfg), HIPC_E_BAD_TIMEOUT);
    size_t caps[] = {32, 100, 65537, (size_t)HIPC_CHAN_MAX_CAPACITY * 2};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        cfg = (hipc_bcast_config){.capacity = caps[i]};
        assert_int_equal(hipc_bcast_create(&b, KEY, &cfg), HIPC_E_BAD_CAPACITY);
    }
    cfg = (hipc_bcast_config){.capacity = 256, .max_msg = 241};
    assert_int_equal(hipc_bcast_create(&b, KEY, &cfg), HIPC_E_BAD_SIZE);
    cfg.mode = 01000;
    cfg.max_msg = 0;
    assert_int_equal(hipc_bcast_create(&b, KEY, &cfg), HIPC_E_BAD_MODE);
    assert_int_equal(hipc_bcast_send(&b, "x", 1), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_bcast_open_consumer(NULL, KEY, NULL), HIPC_E_NULL);
    cfg = (hipc_bcast_config){.flags = 0x80u};
    assert_int_equal(hipc_bcast_open_consumer(&b, KEY, &cfg), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_bcast_open_producer(&b, KEY, NULL), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_bcast_open_producer(&b, KEY, &cfg), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_bcast_open_producer(NULL, KEY, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_open_consumer_id(&b, -1, NULL), HIPC_E_BAD_ID);
}

static void defaults_and_a_taken_key(void **state)
{
    (void)state;
    hipc_bcast p, q;
    assert_int_equal(hipc_bcast_create(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(p.capacity, HIPC_BCAST_CAPACITY_DEFAULT);
    assert_int_equal(p.max_msg,
                     HIPC_BCAST_CAPACITY_DEFAULT - HIPC_BCAST_REC_HEADER);
    assert_int_equal(p.role, HIPC_BCAST_PRODUCER);
    assert_int_equal(hipc_bcast_create(&q, KEY, NULL), HIPC_E_EXISTS);
    assert_int_equal(hipc_bcast_open_producer(&q, KEY, NULL), HIPC_E_EXISTS);
    assert_int_equal(q.holder_pid, getpid());
    destroy(&p);
}

/* 1, 2 and 8 consumers, each reading at its own pace, all get every
 * message of every size intact and in order. */
static void every_consumer_gets_every_message(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 64, 200, 4080};
    static const int counts[] = {1, 2, 8};
    for (size_t k = 0; k < 3; k++) {
        hipc_bcast p, c[8];
        unsigned char buf[4096];
        create(&p, 65536, 0);
        for (int j = 0; j < counts[k]; j++)
            open_cons(&c[j], 0);
        uint64_t next[8] = {0};
        for (uint64_t i = 0; i < 400; i++) {
            size_t len = sizes[i % 10];
            assert_int_equal(hipc_bcast_send(&p, buf, make_msg(buf, i, len)),
                             HIPC_OK);
            /* Consumer j reads after every (j+1)-th message. */
            for (int j = 0; j < counts[k]; j++) {
                if ((i + 1) % (uint64_t)(j + 1) != 0)
                    continue;
                while (next[j] <= i) {
                    int n = hipc_bcast_recv(&c[j], buf, sizeof buf, 0);
                    check_msg(buf, n, next[j], sizes[next[j] % 10]);
                    next[j]++;
                }
            }
        }
        for (int j = 0; j < counts[k]; j++) {
            while (next[j] < 400) {
                int n = hipc_bcast_recv(&c[j], buf, sizeof buf, 0);
                check_msg(buf, n, next[j], sizes[next[j] % 10]);
                next[j]++;
            }
            assert_int_equal(hipc_bcast_recv(&c[j], buf, sizeof buf, 0),
                             HIPC_E_AGAIN);
            uint64_t last = 1, total = 1;
            assert_int_equal(hipc_bcast_get_lost(&c[j], &last, &total),
                             HIPC_OK);
            assert_true(last == 0 && total == 0);
            assert_int_equal(hipc_bcast_close(&c[j]), HIPC_OK);
        }
        destroy(&p);
    }
}

static void consumers_start_at_newest_or_oldest(void **state)
{
    (void)state;
    hipc_bcast p, n, o, e;
    unsigned char buf[64];
    create(&p, 1024, 0);
    open_cons(&e, HIPC_BCAST_OLDEST); /* an empty ring */
    send_n(&p, 0, 5, 24);
    open_cons(&n, 0);
    open_cons(&o, HIPC_BCAST_OLDEST);
    assert_int_equal(hipc_bcast_recv(&n, buf, sizeof buf, 0), HIPC_E_AGAIN);
    for (uint64_t i = 0; i < 5; i++) {
        check_msg(buf, hipc_bcast_recv(&o, buf, sizeof buf, 0), i, 24);
        check_msg(buf, hipc_bcast_recv(&e, buf, sizeof buf, 0), i, 24);
    }
    send_n(&p, 5, 1, 24);
    check_msg(buf, hipc_bcast_recv(&n, buf, sizeof buf, 0), 5, 24);
    check_msg(buf, hipc_bcast_recv(&o, buf, sizeof buf, 0), 5, 24);
    assert_int_equal(hipc_bcast_close(&n), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&o), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&e), HIPC_OK);
    destroy(&p);
}

/* A consumer lapped by the producer learns exactly how many it lost, also
 * after the ring wrapped many times, and resumes at the oldest one left. */
static void losses_are_exact_across_wrap(void **state)
{
    (void)state;
    static const size_t lens[] = {24, 40, 100, 8, 0};
    for (size_t k = 0; k < 5; k++) {
        hipc_bcast p, c;
        unsigned char buf[256];
        create(&p, 512, 0);
        open_cons(&c, 0);
        uint64_t next = 0, got = 0, lost_sum = 0;
        for (uint64_t round = 0; round < 50; round++) {
            uint64_t burst = 1 + (round * 7) % 40;
            send_n(&p, next, burst, lens[k]);
            for (;;) {
                int n = hipc_bcast_recv(&c, buf, sizeof buf, 0);
                if (n == HIPC_E_AGAIN)
                    break;
                if (n == HIPC_E_OVERRUN) {
                    uint64_t last = 0, total = 0;
                    assert_int_equal(hipc_bcast_get_lost(&c, &last, &total),
                                     HIPC_OK);
                    assert_true(last > 0);
                    lost_sum += last;
                    assert_int_equal(total, lost_sum);
                    continue;
                }
                check_msg(buf, n, got + lost_sum, lens[k]);
                got++;
            }
            next += burst;
            assert_int_equal(next, got + lost_sum);
        }
        /* Everything sent was either received or counted lost. */
        assert_true(got > 0 && lost_sum > 0);
        hipc_bcast_stat st;
        assert_int_equal(hipc_bcast_stat_id(p.shm.id, &st, NULL), HIPC_OK);
        assert_int_equal(st.sent, got + lost_sum);
        assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
        destroy(&p);
    }
}

static void a_consumer_jumps_to_the_newest(void **state)
{
    (void)state;
    hipc_bcast p, c;
    unsigned char buf[64];
    uint64_t skipped = 99;
    create(&p, 1024, 0);
    open_cons(&c, HIPC_BCAST_OLDEST);
    assert_int_equal(hipc_bcast_skip_to_newest(&c, &skipped), HIPC_OK);
    assert_int_equal(skipped, 0);
    send_n(&p, 0, 10, 40);
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 0, 40);
    assert_int_equal(hipc_bcast_skip_to_newest(&c, &skipped), HIPC_OK);
    assert_int_equal(skipped, 9);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    /* Lapped: the skip starts again from the oldest message left. */
    send_n(&p, 10, 100, 40);
    assert_int_equal(hipc_bcast_skip_to_newest(&c, NULL), HIPC_OK);
    send_n(&p, 110, 1, 40);
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 110, 40);
    uint64_t total = 1;
    assert_int_equal(hipc_bcast_get_lost(&c, NULL, &total), HIPC_OK);
    assert_int_equal(total, 0);
    assert_int_equal(hipc_bcast_skip_to_newest(&p, NULL), HIPC_E_WRONG_END);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

/* Found by fuzz_bcast_ring: a consumer lapped by only a pad found its
 * place again and read on without looking at the head, then took a stale
 * record for a published one. */
static void a_consumer_past_a_lost_pad_reads_the_head_again(void **state)
{
    (void)state;
    hipc_bcast p, c;
    unsigned char buf[64];
    uint64_t skipped = 0;
    create(&p, 64, 0);
    open_cons(&c, 0);
    send_n(&p, 0, 2, 20); /* the second behind a pad */
    assert_int_equal(hipc_bcast_skip_to_newest(&c, &skipped), HIPC_OK);
    assert_int_equal(skipped, 2);
    send_n(&p, 2, 1, 35); /* reclaims the pad the consumer stood at */
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 2, 35);
    send_n(&p, 3, 1, 48);
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 3, 48);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

static void a_short_buffer_leaves_the_message(void **state)
{
    (void)state;
    hipc_bcast p, c;
    unsigned char buf[64];
    create(&p, 1024, 100);
    open_cons(&c, 0);
    assert_int_equal(hipc_bcast_send(&p, buf, 101), HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_bcast_send(&p, NULL, 1), HIPC_E_NULL);
    send_n(&p, 0, 1, 50);
    assert_int_equal(hipc_bcast_recv(&c, buf, 49, 0), HIPC_E_BUF_TOO_SMALL);
    assert_int_equal(hipc_bcast_recv(&c, NULL, 5, 0), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_recv(&c, buf, 64, -5), HIPC_E_BAD_TIMEOUT);
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 0, 50);
    assert_int_equal(hipc_bcast_send(&c, buf, 1), HIPC_E_WRONG_END);
    assert_int_equal(hipc_bcast_recv(&p, buf, 1, 0), HIPC_E_WRONG_END);
    assert_int_equal(hipc_bcast_get_lost(&p, NULL, NULL), HIPC_E_WRONG_END);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

/* A successor producer continues the sequence: consumers lose nothing. */
static void a_successor_producer_continues(void **state)
{
    (void)state;
    hipc_bcast p, c;
    unsigned char buf[64];
    pid_t pid = 0;
    create(&p, 1024, 0);
    open_cons(&c, 0);
    assert_int_equal(hipc_bcast_get_producer(&c, &pid), HIPC_OK);
    assert_int_equal(pid, getpid());
    send_n(&p, 0, 30, 32);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_get_producer(&c, NULL), HIPC_E_PEER_GONE);
    for (uint64_t i = 0; i < 30; i++) {
        int n = hipc_bcast_recv(&c, buf, sizeof buf, 0);
        if (n == HIPC_E_OVERRUN)
            n = hipc_bcast_recv(&c, buf, sizeof buf, 0);
        (void)n;
    }
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 1000000),
                     HIPC_E_PEER_GONE);
    assert_int_equal(hipc_bcast_open_producer(&p, KEY, NULL), HIPC_OK);
    send_n(&p, 30, 1, 32);
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 30, 32);
    uint64_t total = 0;
    assert_int_equal(hipc_bcast_get_lost(&c, NULL, &total), HIPC_OK);
    hipc_bcast_stat st;
    assert_int_equal(hipc_bcast_stat_id(p.shm.id, &st, NULL), HIPC_OK);
    assert_int_equal(st.sent, 31);
    assert_int_equal(st.producer, HIPC_BCAST_PRODUCER_ALIVE);
    assert_int_equal(st.producer_pid, getpid());
    assert_int_equal(st.consumers, 1);
    assert_int_equal(st.capacity, 1024);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

static void a_wait_times_out_and_wakes_for_a_message(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    /* A forked consumer judges the producer's liveness from /proc. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_bcast p, c;
    unsigned char buf[64];
    create(&p, 1024, 0);
    hipc_bcast_config cc = {.spin_ns = 1000};
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, &cc), HIPC_OK);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 2000000),
                     HIPC_E_TIMEDOUT);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        hipc_bcast q;
        if (hipc_bcast_open_consumer(&q, KEY, &cc) != HIPC_OK)
            _exit(10);
        if (write(go[1], "r", 1) != 1)
            _exit(11);
        int n = hipc_bcast_recv(&q, buf, sizeof buf, HIPC_FOREVER);
        if (n != 16 || memcmp(buf, "0123456789abcdef", 16) != 0)
            _exit(12);
        n = hipc_bcast_recv(&q, buf, sizeof buf, HIPC_FOREVER);
        _exit(n == HIPC_E_PEER_GONE ? 0 : 13);
    }
    char r;
    assert_int_equal(read(go[0], &r, 1), 1);
    if (!hipc_test_syscall_numbers_are_foreign())
        assert_true(hipc_test_wait_blocked_in(kid, SYS_futex));
    assert_int_equal(hipc_bcast_send(&p, "0123456789abcdef", 16), HIPC_OK);
    int n = hipc_bcast_recv(&c, buf, sizeof buf, HIPC_FOREVER);
    assert_int_equal(n, 16);
    if (!hipc_test_syscall_numbers_are_foreign())
        assert_true(hipc_test_wait_blocked_in(kid, SYS_futex));
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_wait_child(kid, 10), 0);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, HIPC_FOREVER),
                     HIPC_E_PEER_GONE);
    close(go[0]);
    close(go[1]);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
}

/* A producer killed without closing: a waiting consumer learns from /proc
 * within a slice; a successor takes over. */
static void a_killed_producer_is_found_gone_and_replaced(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        hipc_bcast q;
        hipc_bcast_config cfg = {.capacity = 1024};
        if (hipc_bcast_create(&q, KEY, &cfg) != HIPC_OK)
            _exit(10);
        if (hipc_bcast_send(&q, "abc", 3) != HIPC_OK ||
            write(go[1], "r", 1) != 1)
            _exit(11);
        pause();
        _exit(12);
    }
    char r;
    assert_int_equal(read(go[0], &r, 1), 1);
    hipc_bcast c, p;
    unsigned char buf[16];
    open_cons(&c, HIPC_BCAST_OLDEST);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), 3);
    assert_int_equal(hipc_bcast_open_producer(&p, KEY, NULL), HIPC_E_EXISTS);
    assert_int_equal(p.holder_pid, kid);
    kill(kid, SIGKILL);
    assert_int_equal(hipc_test_wait_child(kid, 10), 128 + SIGKILL);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, HIPC_FOREVER),
                     HIPC_E_PEER_GONE);
    assert_int_equal(hipc_bcast_get_producer(&c, NULL), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_bcast_open_producer(&p, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_send(&p, "defg", 4), HIPC_OK);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, HIPC_FOREVER), 4);
    assert_memory_equal(buf, "defg", 4);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
    close(go[0]);
    close(go[1]);
}

/* A consumer is a separate unprivileged process: it reads, and its
 * attempt to write the ring faults in it, leaving the producer alone. */
static void an_unprivileged_consumer_cannot_write(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process (an unprivileged one)");
    hipc_bcast p;
    hipc_bcast_config cfg = {.capacity = 1024, .mode = 0644};
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_send(&p, "hello", 5), HIPC_OK);
    int id = p.shm.id;
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        if (hipc_test_drop_privileges() != 0)
            _exit(10);
        hipc_bcast c;
        hipc_bcast_config oc = {.flags = HIPC_BCAST_OLDEST};
        unsigned char buf[16];
        if (hipc_bcast_open_consumer_id(&c, id, &oc) != HIPC_OK)
            _exit(11);
        if (hipc_bcast_recv(&c, buf, sizeof buf, 0) != 5)
            _exit(12);
        /* The producer's open would need write access. */
        hipc_bcast w;
        if (hipc_bcast_open_producer(&w, KEY, NULL) != HIPC_E_PERM)
            _exit(13);
        volatile unsigned char *ring = c.shm.data;
        signal(SIGSEGV, SIG_DFL); /* cmocka's handler would catch it */
        ring[OFF_HEAD] = 0x55;    /* must fault */
        _exit(14);
    }
    assert_int_equal(hipc_test_wait_child(kid, 10), 128 + SIGSEGV);
    assert_int_equal(hipc_bcast_send(&p, "again", 5), HIPC_OK);
    hipc_bcast c;
    unsigned char buf[16];
    open_cons(&c, HIPC_BCAST_OLDEST);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "again", 5);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

/* Evil headers: each is refused at open with its own code. */
static void a_bad_header_is_refused_at_open(void **state)
{
    (void)state;
    struct {
        size_t off;
        uint32_t v;
        int want;
    } cases[] = {
        {OFF_MAGIC, 0, HIPC_E_AGAIN},
        {OFF_MAGIC, 0x12345678u, HIPC_E_FOREIGN},
        {OFF_ENDIAN, 0x04030201u, HIPC_E_LAYOUT},
        {OFF_VERSION, 99, HIPC_E_VERSION},
        {OFF_CAPACITY, 1000, HIPC_E_CORRUPT},
        {OFF_CAPACITY, 1u << 20, HIPC_E_CORRUPT},
        {OFF_MAX_MSG, 1024, HIPC_E_CORRUPT},
        {OFF_TAIL, 8, HIPC_E_CORRUPT},
        {OFF_HEAD, 8, HIPC_E_CORRUPT},
        {OFF_HEAD, 2048, HIPC_E_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hipc_bcast p, c;
        create(&p, 1024, 0);
        uint32_t old = get32(&p, cases[i].off);
        put32(&p, cases[i].off, cases[i].v);
        assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL),
                         cases[i].want);
        assert_int_equal(hipc_bcast_stat_id(p.shm.id, &(hipc_bcast_stat){0},
                                            NULL),
                         cases[i].want);
        put32(&p, cases[i].off, old);
        destroy(&p);
    }
    hipc_shm s;
    hipc_shm_config sc = {.size = 4096, .tag = 0x1234};
    hipc_bcast c;
    assert_int_equal(hipc_shm_create(&s, KEY, &sc), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_remove(&s), HIPC_OK);
    assert_int_equal(hipc_shm_close(&s), HIPC_OK);
}

/* A hostile producer's records: each impossible one is HIPC_E_CORRUPT for
 * the consumer, which never reads outside the ring. */
static void hostile_records_are_corrupt(void **state)
{
    (void)state;
    enum { SEQ, LEN, POS, HEAD_BACK, HEAD_ODD, PAD_LEN, TAIL_AHEAD };
    for (int kind = SEQ; kind <= TAIL_AHEAD; kind++) {
        hipc_bcast p, c;
        unsigned char buf[1024];
        create(&p, 1024, 200);
        open_cons(&c, 0);
        send_n(&p, 0, 1, 40);
        unsigned char *r = mem(&p) + HDR; /* the first record */
        switch (kind) {
        case SEQ:
            r[0] ^= 1;
            break;
        case LEN:
            memcpy(r + 8, &(uint32_t){500}, 4);
            break;
        case POS:
            r[12] ^= 16;
            break;
        case HEAD_BACK:
            put32(&p, OFF_HEAD, 0xfffffff0u);
            break;
        case HEAD_ODD:
            put32(&p, OFF_HEAD, 8);
            break;
        case PAD_LEN:
            memcpy(r + 8, &(uint32_t){0x80000000u | 64u}, 4);
            break;
        case TAIL_AHEAD:
            put64(&p, OFF_TAIL, 4096); /* a tail beyond the head */
            break;
        }
        int n = hipc_bcast_recv(&c, buf, sizeof buf, 0);
        assert_int_equal(n, HIPC_E_CORRUPT);
        assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
        destroy(&p);
    }
}

/* The same after a good message, so that the consumer knows the head
 * covers the record: a receive that takes its inline path first (lib/
 * bcast.c, fast_take) must still find each impossible record corrupt,
 * and a short buffer short, never copy past either. */
static void hostile_records_after_a_good_one(void **state)
{
    (void)state;
    enum { SEQ, LEN, POS, PAD_LEN, PAST_HEAD, PAST_END, SHORT, KINDS };
    for (int kind = SEQ; kind < KINDS; kind++) {
        hipc_bcast p, c;
        unsigned char buf[1024];
        /* 64-byte records: the 16th is the last before the ring's end. */
        uint64_t n = kind == PAST_END ? 16 : 2;
        create(&p, 1024, 200);
        open_cons(&c, 0);
        send_n(&p, 0, n, 40);
        for (uint64_t i = 0; i + 1 < n; i++)
            check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), i, 40);
        unsigned char *r = mem(&p) + HDR + (n - 1) * 64u;
        int want = HIPC_E_CORRUPT;
        switch (kind) {
        case SEQ:
            r[0] ^= 1;
            break;
        case LEN:
            memcpy(r + 8, &(uint32_t){500}, 4);
            break;
        case POS:
            r[12] ^= 16;
            break;
        case PAD_LEN:
            memcpy(r + 8, &(uint32_t){0x80000000u | 64u}, 4);
            break;
        case PAST_HEAD: /* fits max_msg and the ring, not what was sent */
        case PAST_END:  /* fits max_msg, not before the ring's end */
            memcpy(r + 8, &(uint32_t){100}, 4);
            break;
        case SHORT:
            want = HIPC_E_BUF_TOO_SMALL;
            break;
        }
        int got = hipc_bcast_recv(&c, buf, kind == SHORT ? 39 : sizeof buf, 0);
        assert_int_equal(got, want);
        if (kind == SHORT)
            check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), n - 1, 40);
        assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
        destroy(&p);
    }
}

#define REC(i) (HDR + (i)*64u) /* record i of 40-byte messages */

/* A producer whose own ring was rewritten gives up what it held rather
 * than walk it: its consumers count every message lost, exactly. */
static void a_producer_drops_a_ring_rewritten_under_it(void **state)
{
    (void)state;
    hipc_bcast p, c;
    unsigned char buf[64];
    uint64_t last = 0;
    create(&p, 256, 0);
    open_cons(&c, HIPC_BCAST_OLDEST);
    send_n(&p, 0, 4, 40);
    put32(&p, REC(0) + 12, 0x999); /* the first record's position */
    send_n(&p, 4, 1, 40);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_OVERRUN);
    assert_int_equal(hipc_bcast_get_lost(&c, &last, NULL), HIPC_OK);
    assert_int_equal(last, 4);
    check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), 4, 40);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

/* Finding a place (open, skip, resync) checks what it finds. */
static void a_hostile_place_is_corrupt(void **state)
{
    (void)state;
    hipc_bcast p, c;
    unsigned char buf[64];
    hipc_bcast_config oc = {.flags = HIPC_BCAST_OLDEST};
    create(&p, 256, 0);
    send_n(&p, 0, 3, 40);
    put32(&p, REC(0) + 12, 0x999); /* the oldest record */
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, &oc), HIPC_E_CORRUPT);
    put32(&p, REC(0) + 12, 0);
    put32(&p, REC(1) + 12, 0x999); /* one on the walk to the newest */
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_E_CORRUPT);
    put32(&p, REC(1) + 12, 64);
    /* A resync whose oldest message is older than our next. */
    open_cons(&c, HIPC_BCAST_OLDEST);
    for (uint64_t i = 0; i < 3; i++)
        check_msg(buf, hipc_bcast_recv(&c, buf, sizeof buf, 0), i, 40);
    send_n(&p, 3, 2, 40); /* 3 at REC(3), 4 at REC(0) */
    put64(&p, REC(0), 1);
    put64(&p, OFF_TAIL, 256);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_CORRUPT);
    assert_int_equal(hipc_bcast_skip_to_newest(&c, NULL), HIPC_E_CORRUPT);
    put64(&p, OFF_TAIL, 192);
    put64(&p, REC(0), 4);
    put32(&p, OFF_HEAD, 0x10000); /* a head no ring reaches */
    assert_int_equal(hipc_bcast_skip_to_newest(&c, NULL), HIPC_E_CORRUPT);
    put32(&p, OFF_HEAD, 320);
    put32(&p, REC(0) + 8, 500); /* a length beyond max_msg */
    assert_int_equal(hipc_bcast_skip_to_newest(&c, NULL), HIPC_E_CORRUPT);
    put32(&p, REC(0) + 8, 40);
    assert_int_equal(hipc_bcast_skip_to_newest(&c, NULL), HIPC_OK);
    /* A producer that never claimed (zero owner word) is not gone. */
    uint32_t owner = get32(&p, OFF_OWNER);
    put32(&p, OFF_OWNER, 0);
    assert_int_equal(hipc_bcast_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_bcast_get_producer(&c, NULL), HIPC_E_NOT_FOUND);
    put32(&p, OFF_OWNER, owner);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

/* A successor checks the ring its predecessor left. */
static void a_successor_refuses_a_corrupt_ring(void **state)
{
    (void)state;
    hipc_bcast p, q;
    create(&p, 256, 0);
    send_n(&p, 0, 3, 40);
    int id = p.shm.id;
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    hipc_shm s;
    assert_int_equal(hipc_shm_open_id(&s, id, 0, 0), HIPC_OK);
    unsigned char *m = s.data;
    memcpy(m + OFF_TAIL, &(uint64_t){8}, 8);
    assert_int_equal(hipc_bcast_open_producer(&q, KEY, NULL), HIPC_E_CORRUPT);
    memcpy(m + OFF_TAIL, &(uint64_t){0}, 8);
    memcpy(m + REC(1) + 12, &(uint32_t){7}, 4);
    assert_int_equal(hipc_bcast_open_producer(&q, KEY, NULL), HIPC_E_CORRUPT);
    memcpy(m + REC(1) + 12, &(uint32_t){64}, 4);
    assert_int_equal(hipc_bcast_open_producer(&q, KEY, NULL), HIPC_OK);
    destroy(&q);
    assert_int_equal(hipc_shm_close(&s), HIPC_OK);
}

static void handles_copied_closed_or_garbage_are_refused(void **state)
{
    (void)state;
    hipc_bcast p, copy, z;
    create(&p, 1024, 0);
    memcpy(&copy, &p, sizeof p);
    memset(&z, 0, sizeof z);
    assert_int_equal(hipc_bcast_send(&copy, "x", 1), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_bcast_close(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_bcast_send(&z, "x", 1), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_bcast_send(NULL, "x", 1), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_get_producer(NULL, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_bcast_get_producer(&p, NULL), HIPC_OK);
    p.state_ = 99;
    assert_int_equal(hipc_bcast_send(&p, "x", 1), HIPC_E_BAD_HANDLE);
    p.state_ = 1;
    destroy(&p);
    assert_int_equal(hipc_bcast_send(&p, "x", 1), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_bcast_close(&p), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_bcast_stat_id(0, NULL, NULL), HIPC_E_NULL);
    int err = 0;
    assert_int_equal(hipc_bcast_stat_id(-1, &(hipc_bcast_stat){0}, &err),
                     HIPC_E_BAD_ID);
}

/* An empty message needs no buffer on either side; a group-writable mode
 * is the creator's to give; a copy of the producer inherited over fork
 * that closes does not sign its parent out. */
static void empty_messages_modes_and_forked_copies(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    hipc_bcast p, c;
    hipc_bcast_config cfg = {.mode = 0660};
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    struct shmid_ds ds;
    assert_int_equal(shmctl(p.shm.id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_perm.mode & 0777, 0660);
    open_cons(&c, 0);
    assert_int_equal(hipc_bcast_send(&p, NULL, 0), HIPC_OK);
    assert_int_equal(hipc_bcast_recv(&c, NULL, 0, 0), 0);
    assert_int_equal(hipc_bcast_recv(&c, NULL, 0, 0), HIPC_E_AGAIN);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0)
        _exit(hipc_bcast_close(&p) == HIPC_OK ? 0 : 1);
    int status = -1;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_int_equal(status, 0);
    pid_t who = 0;
    assert_int_equal(hipc_bcast_get_producer(&c, &who), HIPC_OK);
    assert_int_equal(who, getpid());
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    destroy(&p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_rejects_bad_configs),
    cmocka_unit_test(defaults_and_a_taken_key),
    cmocka_unit_test(every_consumer_gets_every_message),
    cmocka_unit_test(consumers_start_at_newest_or_oldest),
    cmocka_unit_test(losses_are_exact_across_wrap),
    cmocka_unit_test(a_consumer_jumps_to_the_newest),
    cmocka_unit_test(a_consumer_past_a_lost_pad_reads_the_head_again),
    cmocka_unit_test(a_short_buffer_leaves_the_message),
    cmocka_unit_test(a_successor_producer_continues),
    cmocka_unit_test(a_wait_times_out_and_wakes_for_a_message),
    cmocka_unit_test(a_killed_producer_is_found_gone_and_replaced),
    cmocka_unit_test(an_unprivileged_consumer_cannot_write),
    cmocka_unit_test(a_bad_header_is_refused_at_open),
    cmocka_unit_test(hostile_records_are_corrupt),
    cmocka_unit_test(hostile_records_after_a_good_one),
    cmocka_unit_test(a_producer_drops_a_ring_rewritten_under_it),
    cmocka_unit_test(a_hostile_place_is_corrupt),
    cmocka_unit_test(a_successor_refuses_a_corrupt_ring),
    cmocka_unit_test(handles_copied_closed_or_garbage_are_refused),
    cmocka_unit_test(empty_messages_modes_and_forked_copies),
};

HIPC_TEST_MAIN(tests)
