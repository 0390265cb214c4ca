/* SPDX-License-Identifier: MIT */
/* State blocks: publish and read, arguments and handles, a successor
 * writer, a read-only unprivileged reader whose write faults, waiting,
 * corrupt blocks, the tools' stat. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "hipc/state.h"
#include "support.h"

#define KEY ((hipc_key)0x5a7e0001)
#define VSIZE 200u
#define WAIT_NS ((int64_t)20 * 1000 * 1000 * 1000)

static void value_of(unsigned char *v, size_t n, uint64_t gen)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (unsigned char)(gen * 31u + i);
}

static int value_is(const unsigned char *v, size_t n, uint64_t gen)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != (unsigned char)(gen * 31u + i))
            return 0;
    return 1;
}

static void publish_gen(hipc_state_writer *w, uint64_t gen)
{
    unsigned char v[VSIZE];
    value_of(v, sizeof v, gen);
    assert_int_equal(hipc_state_publish(w, v, sizeof v), HIPC_OK);
    assert_true(w->generation == gen);
}

static void read_expect(hipc_state_reader *r, uint64_t gen, int changed)
{
    unsigned char v[VSIZE + 8];
    hipc_state_info info;
    assert_int_equal(hipc_state_read(r, v, sizeof v, &info), (int)VSIZE);
    assert_true(info.generation == gen);
    assert_int_equal(info.changed != 0, changed);
    if (gen != 0)
        assert_true(value_is(v, VSIZE, gen));
}

static void published_values_are_read_with_generation_and_change(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(w.value_size, VSIZE);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(r.value_size, VSIZE);
    unsigned char zero[VSIZE], v[VSIZE];
    memset(zero, 0, sizeof zero);
    hipc_state_info info;
    assert_int_equal(hipc_state_read(&r, v, sizeof v, &info), (int)VSIZE);
    assert_memory_equal(v, zero, VSIZE);
    assert_true(info.generation == 0 && info.changed);
    assert_int_equal(hipc_state_read(&r, v, sizeof v, NULL), (int)VSIZE);
    for (uint64_t g = 1; g <= 5; g++) {
        publish_gen(&w, g);
        read_expect(&r, g, 1);
        read_expect(&r, g, 0);
    }
    /* Another size than value_size still fits the pattern's tail word. */
    hipc_state_writer w1;
    hipc_state_reader r1;
    assert_int_equal(hipc_state_create(&w1, KEY + 1, 1, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r1, KEY + 1, NULL), HIPC_OK);
    unsigned char one = 0x5a, got = 0;
    assert_int_equal(hipc_state_publish(&w1, &one, 1), HIPC_OK);
    assert_int_equal(hipc_state_read(&r1, &got, 1, NULL), 1);
    assert_int_equal(got, 0x5a);
    assert_int_equal(hipc_state_close_reader(&r1), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w1), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w1), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void arguments_are_checked_before_anything(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_state_config bad_flags = {.flags = 1};
    assert_int_equal(hipc_state_create(NULL, KEY, 8, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_create(&w, KEY, 0, NULL), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_state_create(&w, KEY, HIPC_STATE_MAX_VALUE + 1u,
                                       NULL),
                     HIPC_E_TOO_BIG);
    assert_int_equal(hipc_state_create(&w, KEY, 8, &bad_flags),
                     HIPC_E_BAD_FLAGS);
    unsigned modes[] = {0666, 0620, 0602, 0400, 01600};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        hipc_state_config c = {.mode = modes[i]};
        assert_int_equal(hipc_state_create(&w, KEY, 8, &c), HIPC_E_BAD_MODE);
    }
    assert_int_equal(hipc_state_open_writer(NULL, KEY, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_open_writer(&w, KEY, &bad_flags),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_state_open_writer(&w, KEY, NULL), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_state_open_reader(NULL, KEY, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_open_reader(&r, KEY, &bad_flags),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_state_stat_id(0, NULL, NULL), HIPC_E_NULL);
    hipc_state_stat s;
    assert_int_equal(hipc_state_stat_id(-1, &s, NULL), HIPC_E_BAD_ID);

    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    unsigned char v[VSIZE];
    memset(v, 0, sizeof v);
    assert_int_equal(hipc_state_publish(&w, NULL, VSIZE), HIPC_E_NULL);
    assert_int_equal(hipc_state_publish(&w, v, VSIZE - 1), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_state_publish(&w, v, VSIZE + 1), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_state_read(&r, NULL, VSIZE, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_read(&r, v, VSIZE - 1, NULL),
                     HIPC_E_BUF_TOO_SMALL);
    assert_int_equal(hipc_state_wait(&r, -2), HIPC_E_BAD_TIMEOUT);
    /* A key in use. */
    hipc_state_writer w2;
    assert_int_equal(hipc_state_create(&w2, KEY, VSIZE, NULL), HIPC_E_EXISTS);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void handles_zeroed_copied_or_closed_are_refused(void **st)
{
    (void)st;
    hipc_state_writer w, wz, wc;
    hipc_state_reader r, rz, rc;
    memset(&wz, 0, sizeof wz);
    memset(&rz, 0, sizeof rz);
    unsigned char v[VSIZE];
    memset(v, 0, sizeof v);
    pid_t pid = 0;
    assert_int_equal(hipc_state_publish(NULL, v, VSIZE), HIPC_E_NULL);
    assert_int_equal(hipc_state_publish(&wz, v, VSIZE), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_remove(&wz), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_close_writer(&wz), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_read(NULL, v, VSIZE, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_read(&rz, v, VSIZE, NULL), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_wait(&rz, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_get_writer(&rz, &pid), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_close_reader(&rz), HIPC_E_BAD_HANDLE);

    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    memcpy(&wc, &w, sizeof w);
    memcpy(&rc, &r, sizeof r);
    assert_int_equal(hipc_state_publish(&wc, v, VSIZE), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_read(&rc, v, VSIZE, NULL), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_state_read(&r, v, VSIZE, NULL), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_state_publish(&w, v, VSIZE), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_state_remove(&w), HIPC_E_STALE_HANDLE);
}

/* A child that takes the writer's role, publishes, tells us, and waits to
 * be killed. */
static pid_t writer_child(uint64_t gen, int *done_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        hipc_state_writer w;
        if (hipc_state_open_writer(&w, KEY, NULL) != HIPC_OK)
            _exit(1);
        unsigned char v[VSIZE];
        value_of(v, sizeof v, gen);
        if (hipc_state_publish(&w, v, sizeof v) != HIPC_OK)
            _exit(2);
        char c = 'p';
        if (write(p[1], &c, 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(p[1]);
    *done_fd = p[0];
    return pid;
}

static void successor_takes_over_from_closed_and_killed_writers(void **st)
{
    (void)st;
    hipc_test_needs_kernel("another process");
    /* Judges the writer's liveness from /proc. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_state_writer w, w2;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    publish_gen(&w, 1);
    pid_t pid = 0;
    assert_int_equal(hipc_state_get_writer(&r, &pid), HIPC_OK);
    assert_int_equal(pid, getpid());
    /* A live writer keeps its role. */
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_E_EXISTS);
    assert_int_equal(w2.holder_pid, getpid());
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_get_writer(&r, NULL), HIPC_E_PEER_GONE);
    /* Left cleanly: the next one goes on from generation 1. */
    int fd = -1;
    pid_t child = writer_child(2, &fd);
    char c = 0;
    assert_int_equal(read(fd, &c, 1), 1);
    close(fd);
    read_expect(&r, 2, 1);
    assert_int_equal(hipc_state_get_writer(&r, &pid), HIPC_OK);
    assert_int_equal(pid, child);
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_E_EXISTS);
    assert_int_equal(w2.holder_pid, child);
    kill(child, SIGKILL);
    assert_int_equal(hipc_test_wait_child(child, 30), 128 + SIGKILL);
    assert_int_equal(hipc_state_get_writer(&r, NULL), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_state_wait(&r, WAIT_NS), HIPC_E_PEER_GONE);
    /* Killed: taken over all the same. */
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_OK);
    assert_true(w2.generation == 2);
    assert_int_equal(w2.value_size, VSIZE);
    publish_gen(&w2, 3);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_OK);
    read_expect(&r, 3, 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w2), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w2), HIPC_OK);
}

/* As nobody: opens, reads, says so, then tries to write the block. */
static void nobody_reader(int fd)
{
    if (hipc_test_drop_privileges() != 0)
        _exit(100);
    hipc_state_reader r;
    int rc = hipc_state_open_reader(&r, KEY, NULL);
    if (rc == HIPC_E_PERM)
        _exit(10);
    unsigned char v[VSIZE];
    if (rc != HIPC_OK || hipc_state_read(&r, v, sizeof v, NULL) != VSIZE ||
        !value_is(v, VSIZE, 1))
        _exit(11);
    char c = 'r';
    if (write(fd, &c, 1) != 1)
        _exit(12);
    /* Must fault: the mapping is read-only. (cmocka catches SIGSEGV.) */
    signal(SIGSEGV, SIG_DFL);
    *(volatile unsigned char *)r.shm_.data = 0xff;
    _exit(13);
}

static int run_nobody_reader(void)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        nobody_reader(p[1]);
    }
    close(p[1]);
    char c = 0;
    ssize_t n = read(p[0], &c, 1);
    close(p[0]);
    int status = hipc_test_wait_child(pid, 30);
    return n == 1 ? status : -status;
}

static void unprivileged_reader_cannot_write_the_block(void **st)
{
    (void)st;
    hipc_test_needs_kernel("another process (an unprivileged one)");
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_state_config cfg = {.mode = 0644};
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, &cfg), HIPC_OK);
    publish_gen(&w, 1);
    assert_int_equal(run_nobody_reader(), 128 + SIGSEGV);
    /* The writer and other readers go on untouched. */
    publish_gen(&w, 2);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    read_expect(&r, 2, 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    /* Without read permission nobody cannot even open it. */
    cfg.mode = 0600;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, &cfg), HIPC_OK);
    publish_gen(&w, 1);
    assert_int_equal(run_nobody_reader(), -10);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

struct waiter {
    hipc_state_reader *r;
    _Atomic int started;
    int rc;
};

static void *waiter_main(void *arg)
{
    struct waiter *wt = arg;
    atomic_store(&wt->started, 1);
    wt->rc = hipc_state_wait(wt->r, WAIT_NS);
    return NULL;
}

static void wait_returns_on_publish_and_times_out_without(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_state_wait(&r, 1000000), HIPC_E_TIMEDOUT);
    /* Published before the wait: no sleep at all. */
    publish_gen(&w, 1);
    assert_int_equal(hipc_state_wait(&r, WAIT_NS), HIPC_OK);
    read_expect(&r, 1, 1);
    assert_int_equal(hipc_state_wait(&r, 0), HIPC_E_AGAIN);
    /* A sleeper, woken by the publish (well before its first slice would
     * end if the wake-up were lost... timing is not asserted: only that
     * it wakes). */
    struct waiter wt = {.r = &r, .rc = 1};
    atomic_store(&wt.started, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &wt), 0);
    while (!atomic_load(&wt.started))
        sched_yield();
    publish_gen(&w, 2);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(wt.rc, HIPC_OK);
    read_expect(&r, 2, 1);
    /* Forever, but the writer is closed: gone, not a hang. */
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_wait(&r, HIPC_FOREVER), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_shm_remove_key(KEY, NULL), HIPC_OK);
}

/* The block's header line, as the writer's mapping shows it: magic,
 * version, value size, stride. */
static uint32_t *hdr_of(hipc_state_writer *w)
{
    return (uint32_t *)w->hdr_;
}

static void corrupt_headers_are_refused_at_open(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    uint32_t *h = hdr_of(&w);
    struct {
        unsigned word;
        uint32_t value;
        int rc;
    } cases[] = {
        {0, 0, HIPC_E_AGAIN},
        {0, 1, HIPC_E_CORRUPT},
        {1, 2, HIPC_E_VERSION},
        {2, 0, HIPC_E_CORRUPT},
        {2, VSIZE + 64, HIPC_E_CORRUPT},
        {2, 0x7fffffffu, HIPC_E_CORRUPT},
        {2, 0x80000000u, HIPC_E_CORRUPT},
        {3, 0, HIPC_E_CORRUPT},
        {3, 4096, HIPC_E_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t keep = h[cases[i].word];
        h[cases[i].word] = cases[i].value;
        assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), cases[i].rc);
        hipc_state_writer w2;
        int want = cases[i].rc == HIPC_E_AGAIN ? HIPC_E_CORRUPT : cases[i].rc;
        assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), want);
        hipc_state_stat s;
        assert_int_equal(hipc_state_stat_id(w.shm_.id, &s, NULL), cases[i].rc);
        h[cases[i].word] = keep;
    }
    /* Sizes that agree with each other, not with the segment. */
    h[2] = 1000;
    h[3] = 1024;
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_E_CORRUPT);
    h[2] = VSIZE;
    h[3] = 256;
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    /* Another hipc segment is not a state block. */
    hipc_shm other;
    hipc_shm_config sc = {.size = 4096, .tag = 1};
    assert_int_equal(hipc_shm_create(&other, KEY + 2, &sc), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY + 2, NULL), HIPC_E_FOREIGN);
    hipc_state_stat s;
    assert_int_equal(hipc_state_stat_id(other.id, &s, NULL), HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_remove(&other), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    /* Tagged as a block, but too small for one. */
    sc.tag = HIPC_STATE_SHM_TAG;
    sc.size = 64;
    assert_int_equal(hipc_shm_create(&other, KEY + 2, &sc), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY + 2, NULL), HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_remove(&other), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* Words of the block: cur at line 1, slot i's seq, gen_lo, gen_hi. */
#define CUR_WORD 16u
static uint32_t *slot_words(hipc_state_writer *w, unsigned i)
{
    return (uint32_t *)((unsigned char *)w->hdr_ + 128 + i * 256u);
}

static void corrupt_slots_end_reads_with_a_code(void **st)
{
    (void)st;
    hipc_state_writer w, w2;
    hipc_state_reader r;
    /* VSIZE 200: a slot of 16 + 200 bytes takes 256. */
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    publish_gen(&w, 1);
    unsigned char v[VSIZE];
    uint32_t *h = hdr_of(&w), *s1 = slot_words(&w, 1);
    /* A slot that holds a generation of the other parity. */
    s1[2] = 2;
    assert_int_equal(hipc_state_read(&r, v, sizeof v, NULL), HIPC_E_CORRUPT);
    hipc_state_stat s;
    assert_int_equal(hipc_state_stat_id(w.shm_.id, &s, NULL), HIPC_E_CORRUPT);
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_E_EXISTS);
    s1[2] = 1;
    /* A writer that never finishes: bounded retries. */
    s1[0] |= 1u;
    assert_int_equal(hipc_state_read(&r, v, sizeof v, NULL), HIPC_E_RETRIES);
    assert_int_equal(hipc_state_stat_id(w.shm_.id, &s, NULL), HIPC_E_RETRIES);
    s1[0] += 1u;
    /* cur pointing at an odd generation whose slot says another one. */
    h[CUR_WORD] = 3;
    read_expect(&r, 1, 1); /* its first successful read */
    /* A successor refuses a cur that no complete slot matches. */
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_E_CORRUPT);
    uint32_t *cur = (uint32_t *)((unsigned char *)r.shm_.data + 64);
    assert_int_equal(*cur, 3);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_shm_remove_key(KEY, NULL), HIPC_OK);
}

static void successor_refuses_a_block_whose_slot_never_settles(void **st)
{
    (void)st;
    hipc_state_writer w, w2;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    /* Reattach read-write by hand to make slot 0 odd for good. */
    hipc_shm shm;
    assert_int_equal(hipc_shm_open(&shm, KEY, 0, 0), HIPC_OK);
    uint32_t *s0 = (uint32_t *)((unsigned char *)shm.data + 128);
    s0[0] = 1;
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_E_CORRUPT);
    s0[0] = 2;
    /* Complete, but holding a generation of the other parity. */
    s0[2] = 1;
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_E_CORRUPT);
    s0[2] = 0;
    assert_int_equal(hipc_state_open_writer(&w2, KEY, NULL), HIPC_OK);
    publish_gen(&w2, 1);
    assert_int_equal(hipc_state_close_writer(&w2), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void stat_id_shows_size_generation_writer_and_readers(void **st)
{
    (void)st;
    /* Judges the writer's liveness from /proc. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_state_writer w;
    hipc_state_reader r1, r2;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r1, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r2, KEY, NULL), HIPC_OK);
    publish_gen(&w, 1);
    publish_gen(&w, 2);
    hipc_state_stat s;
    int err = -1;
    assert_int_equal(hipc_state_stat_id(w.shm_.id, &s, &err), HIPC_OK);
    assert_int_equal(err, 0);
    assert_int_equal(s.value_size, VSIZE);
    assert_true(s.generation == 2);
    assert_int_equal(s.writer, HIPC_STATE_WRITER_ALIVE);
    assert_int_equal(s.writer_pid, getpid());
    assert_int_equal(s.readers, 2);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_reader(&r2), HIPC_OK);
    int id = r1.shm_.id;
    assert_int_equal(hipc_state_stat_id(id, &s, NULL), HIPC_OK);
    assert_int_equal(s.writer, HIPC_STATE_WRITER_GONE);
    assert_int_equal(s.readers, 1);
    assert_int_equal(hipc_state_close_reader(&r1), HIPC_OK);
    assert_int_equal(hipc_state_stat_id(id, &s, NULL), HIPC_OK);
    assert_int_equal(s.readers, 0);
    assert_int_equal(hipc_shm_remove_key(KEY, NULL), HIPC_OK);
    err = 0;
    assert_int_equal(hipc_state_stat_id(id, &s, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, EINVAL);
}

static void private_block_is_opened_by_id(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_state_config bad = {.flags = 2};
    assert_int_equal(hipc_state_open_reader_id(NULL, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_state_open_reader_id(&r, 0, &bad), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_state_open_reader_id(&r, -1, NULL), HIPC_E_BAD_ID);
    assert_int_equal(hipc_state_create(&w, HIPC_SHM_KEY_PRIVATE, VSIZE, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_state_open_reader_id(&r, w.shm_.id, NULL), HIPC_OK);
    publish_gen(&w, 1);
    read_expect(&r, 1, 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_open_reader_id(&r, w.shm_.id, NULL),
                     HIPC_E_REMOVED);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void removed_block_refuses_new_readers(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_E_REMOVED);
    hipc_state_reader r2;
    assert_int_equal(hipc_state_open_reader(&r2, KEY, NULL), HIPC_E_NOT_FOUND);
    /* Those attached go on. */
    publish_gen(&w, 1);
    read_expect(&r, 1, 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A copy of the writer inherited over fork is not the holder: closing it
 * leaves the role alone. */
static void forked_copy_of_writer_closes_without_leaving(void **st)
{
    (void)st;
    /* Judges the writer's liveness from /proc. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_state_config zero = {0, 0};
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, &zero), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, &zero), HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(hipc_state_close_writer(&w) == HIPC_OK ? 0 : 1);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_state_get_writer(&r, NULL), HIPC_OK);
    publish_gen(&w, 1);
    read_expect(&r, 1, 1);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A writer record that names nobody, and a timeout at the clock's end. */
static void vacant_writer_record_ends_a_wait(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    uint32_t *h = hdr_of(&w), keep = h[4];
    h[4] = 0; /* the owner word */
    assert_int_equal(hipc_state_wait(&r, INT64_MAX), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_state_get_writer(&r, NULL), HIPC_E_PEER_GONE);
    h[4] = keep;
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

#ifdef HIPC_FAULT_INJECTION
#include "board.h"
#include "fault.h"

extern void (*hipc__state_step_hook)(int step);
static int steps[8], nsteps;

static void record_step(int step)
{
    if (nsteps < 8)
        steps[nsteps++] = step;
}

/* The steps test_state_kill kills at come in order, once each. */
static void publish_passes_its_five_steps_in_order(void **st)
{
    (void)st;
    hipc_state_writer w;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    nsteps = 0;
    hipc__state_step_hook = record_step;
    publish_gen(&w, 1);
    hipc__state_step_hook = NULL;
    assert_int_equal(nsteps, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(steps[i], i + 1);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A wake-up that fails leaves its errno, not an error: the value is out. */
static void failed_wake_is_kept_not_returned(void **st)
{
    (void)st;
    hipc_state_writer w;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    /* As if a reader had announced its sleep. */
    struct hipc__board *b = (struct hipc__board *)(void *)w.board_;
    atomic_store(b->sleepers, 1u);
    hipc_fault_fail_nth(HIPC_SYS_FUTEX, 1, EINVAL);
    unsigned char v[VSIZE];
    value_of(v, sizeof v, 1);
    assert_int_equal(hipc_state_publish(&w, v, sizeof v), HIPC_OK);
    assert_int_equal(w.sys_errno, EINVAL);
    hipc_fault_reset();
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

/* A wait that cannot read /proc to judge the writer says so. */
static void proc_failure_during_wait_is_returned(void **st)
{
    (void)st;
    hipc_state_writer w;
    hipc_state_reader r;
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    assert_int_equal(hipc_state_open_reader(&r, KEY, NULL), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EMFILE);
    assert_int_equal(hipc_state_wait(&r, WAIT_NS), HIPC_E_LIMIT);
    assert_int_equal(r.sys_errno, EMFILE);
    hipc_fault_reset();
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}
#endif

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(published_values_are_read_with_generation_and_change),
    T(arguments_are_checked_before_anything),
    T(handles_zeroed_copied_or_closed_are_refused),
    T(successor_takes_over_from_closed_and_killed_writers),
    T(unprivileged_reader_cannot_write_the_block),
    T(wait_returns_on_publish_and_times_out_without),
    T(corrupt_headers_are_refused_at_open),
    T(corrupt_slots_end_reads_with_a_code),
    T(successor_refuses_a_block_whose_slot_never_settles),
    T(stat_id_shows_size_generation_writer_and_readers),
    T(removed_block_refuses_new_readers),
    T(private_block_is_opened_by_id),
    T(forked_copy_of_writer_closes_without_leaving),
    T(vacant_writer_record_ends_a_wait),
#ifdef HIPC_FAULT_INJECTION
    T(publish_passes_its_five_steps_in_order),
    T(failed_wake_is_kept_not_returned),
    T(proc_failure_during_wait_is_returned),
#endif
};

HIPC_TEST_MAIN(tests)
