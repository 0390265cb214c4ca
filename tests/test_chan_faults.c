/* SPDX-License-Identifier: MIT */
/* The channel (lib/chan.c) where its other tests do not go: argument
 * checks of every message call, a peer caught while claiming its end, a
 * liveness check that fails in the middle of a wait, and a wake-up that
 * fails after the message is already out. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"
#ifdef HIPC_FAULT_INJECTION
#include "fault.h"
#endif

#define CAP 256u
#define LINE 128u
/* The owner word of the consumer's slot: slot[1] of the second line,
 * three 32-bit words per slot (see struct chan_hdr in lib/chan.c). */
#define OFF_CONS_OWNER (LINE + 12u)
#define OWNER_CLAIMING 0x80000000u
#define OFF_TAIL (2u * LINE)

static _Alignas(64) unsigned char mem[HIPC_CHAN_HEADER_SIZE + CAP];

static void fresh(const hipc_chan_config *cfg)
{
    memset(mem, 0, sizeof mem);
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem, cfg), HIPC_OK);
}

/* A fresh channel with both ends attached. */
static void fresh_pair(const hipc_chan_config *cfg, hipc_chan *p, hipc_chan *c)
{
    fresh(cfg);
    assert_int_equal(hipc_chan_attach_mem(p, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(c, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, cfg),
                     HIPC_OK);
}

static void every_message_call_checks_its_arguments(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan p, c;
    void *slot = NULL;
    const void *view = NULL;
    char buf[8];
    fresh(&cfg);
    assert_int_equal(hipc_chan_attach_mem(&p, mem + 1, sizeof mem - 1,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_BAD_ADDR);
    assert_int_equal(hipc_chan_attach_mem(&p, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_reserve(&p, 8, NULL, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_reserve(&p, 8, &slot, -2), HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_chan_send(&p, NULL, 1, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_commit(&p, 0), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_chan_reserve(&p, 8, &slot, 0), HIPC_OK);
    assert_int_equal(hipc_chan_commit(&p, 9), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_chan_commit(&p, 0), HIPC_OK);
    assert_int_equal(hipc_chan_peek(&c, NULL, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_peek(&c, &view, -2), HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_chan_recv(&c, NULL, 1, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_release(&c), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_chan_recv(&p, buf, sizeof buf, 0), HIPC_E_WRONG_END);
    /* An empty message arrives as such, into no buffer at all. */
    assert_int_equal(hipc_chan_recv(&c, NULL, 0, 0), 0);
    assert_int_equal(hipc_chan_set_spin(&c, -1), HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_chan_set_spin(NULL, 1), HIPC_E_NULL);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_remove(&p), HIPC_E_STALE_HANDLE);
}

static void put_owner(uint32_t w)
{
    memcpy(mem + OFF_CONS_OWNER, &w, sizeof w);
}

/* Opening checks its arguments before it looks for any segment. */
static void open_checks_its_arguments_first(void **state)
{
    (void)state;
    hipc_chan c;
    hipc_chan_config bad = {.flags = 0x80u};
    assert_int_equal(hipc_chan_open(NULL, 0x1234, HIPC_CHAN_PRODUCER, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_chan_open(&c, 0x1234, (hipc_chan_role)7, NULL),
                     HIPC_E_BAD_ROLE);
    assert_int_equal(hipc_chan_open_id(&c, 0, HIPC_CHAN_CONSUMER, &bad),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_test_shm_count(), 0);
}

/* Positions that no honest peer publishes are found right after claiming
 * the end, and the end is given back as it was found. */
static void corrupt_positions_give_the_claimed_end_back(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan c;
    uint32_t odd = 3, owner = 1;
    fresh(&cfg);
    memcpy(mem + OFF_TAIL, &odd, sizeof odd);
    assert_int_equal(hipc_chan_attach_mem(&c, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_E_CORRUPT);
    memcpy(&owner, mem + OFF_CONS_OWNER, sizeof owner);
    assert_int_equal(owner, 0);
}

#define OFF_HEADER_SIZE 12u
#define OFF_PROD_OWNER LINE

/* A handle copied and then changed is refused, whatever the change. */
static void handles_that_contradict_themselves_are_bad(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP, .flags = HIPC_CHAN_ANONYMOUS};
    hipc_chan p, bad;
    fresh(&cfg);
    assert_int_equal(hipc_chan_attach_mem(&p, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    bad = p;
    bad.hdr_ = NULL;
    assert_int_equal(hipc_chan_send(&bad, "x", 1, 0), HIPC_E_BAD_HANDLE);
    bad = p;
    bad.state_ = 99;
    assert_int_equal(hipc_chan_send(&bad, "x", 1, 0), HIPC_E_BAD_HANDLE);
    bad = p;
    bad.state_ = 0;
    assert_int_equal(hipc_chan_send(&bad, "x", 1, 0), HIPC_E_BAD_HANDLE);
    /* The same changes in place, where the address still matches: the
     * handle's own fields give it away. */
    unsigned st = p.state_;
    void *h = p.hdr_;
    p.state_ = 99;
    assert_int_equal(hipc_chan_send(&p, "x", 1, 0), HIPC_E_BAD_HANDLE);
    p.state_ = 0;
    assert_int_equal(hipc_chan_send(&p, "x", 1, 0), HIPC_E_BAD_HANDLE);
    p.state_ = st;
    p.hdr_ = NULL;
    assert_int_equal(hipc_chan_send(&p, "x", 1, 0), HIPC_E_BAD_HANDLE);
    p.hdr_ = h;
    assert_int_equal(hipc_chan_create(NULL, 0, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_NULL);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
}

/* A group-writable mode is taken as asking for a shared-write segment. */
static void a_group_writable_channel_is_shared_write(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = 4096, .mode = 0660};
    hipc_chan p;
    assert_int_equal(hipc_chan_create(&p, HIPC_SHM_KEY_PRIVATE,
                                      HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&p.shm, &info), HIPC_OK);
    assert_int_equal(info.mode, 0660);
    assert_int_equal(hipc_chan_remove(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), 0);
}

/* Messages above 1 KiB are copied in pieces, both ways, byte for byte. */
static void a_large_message_arrives_whole(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = 4096, .flags = HIPC_CHAN_ANONYMOUS};
    static _Alignas(64) unsigned char big[HIPC_CHAN_HEADER_SIZE + 4096];
    static unsigned char out[2500], in[2500];
    hipc_chan p, c;
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (unsigned char)(i * 7u);
    assert_int_equal(hipc_chan_init_mem(big, sizeof big, &cfg), HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&p, big, sizeof big,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c, big, sizeof big,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, out, sizeof out, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), (int)sizeof in);
    assert_memory_equal(in, out, sizeof out);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
}

/* Whatever lies after the tail - a record header that looks right, or
 * lengths no honest producer writes (too long a message, a pad that does
 * not reach the end) - is not taken for a message: the next producer
 * starts where the tail says, and messages flow. */
static void garbage_after_the_tail_is_not_recovered(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP, .flags = HIPC_CHAN_ANONYMOUS};
    const uint32_t lens[] = {0x7fffffffu, 0x80000000u | 8u, 0u, 2u};
    for (size_t i = 0; i < 4; i++) {
        hipc_chan p, c;
        char buf[8];
        uint32_t seq = 1; /* (tail 0) | 1 */
        fresh(&cfg);
        memcpy(mem + HIPC_CHAN_HEADER_SIZE, &seq, sizeof seq);
        memcpy(mem + HIPC_CHAN_HEADER_SIZE + 4, &lens[i], sizeof lens[i]);
        assert_int_equal(hipc_chan_attach_mem(&p, mem, sizeof mem,
                                              HIPC_CHAN_PRODUCER, &cfg),
                         HIPC_OK);
        assert_int_equal(hipc_chan_send(&p, "ok", 2, 0), HIPC_OK);
        assert_int_equal(hipc_chan_attach_mem(&c, mem, sizeof mem,
                                              HIPC_CHAN_CONSUMER, &cfg),
                         HIPC_OK);
        assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 2);
        assert_memory_equal(buf, "ok", 2);
        assert_int_equal(hipc_chan_close(&c), HIPC_OK);
        assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    }
}

/* A header made for another header size is another layout. */
static void another_header_size_is_another_layout(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan c;
    uint32_t other = HIPC_CHAN_HEADER_SIZE * 2;
    fresh(&cfg);
    memcpy(mem + OFF_HEADER_SIZE, &other, sizeof other);
    assert_int_equal(hipc_chan_attach_mem(&c, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_E_LAYOUT);
}

/* A producer that sent and closed: a try still gets what it sent, and
 * only then hears that the peer is gone. An owner word without a pid is
 * no producer at all. */
static void what_a_closed_peer_sent_is_still_received(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan p, c;
    char buf[8];
    fresh_pair(&cfg, &p, &c);
    assert_int_equal(hipc_chan_send(&p, "last", 4, 0), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 4);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_PEER_GONE);
    uint32_t no_pid = OWNER_CLAIMING;
    memcpy(mem + OFF_PROD_OWNER, &no_pid, sizeof no_pid);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
}

/* A slot caught half-claimed has no start time yet: its pid alone says
 * whether the claimer lives. */
static void a_half_claimed_end_is_judged_by_its_pid(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan c;
    fresh(&cfg);
    put_owner(OWNER_CLAIMING | (uint32_t)getpid());
    assert_int_equal(hipc_chan_attach_mem(&c, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_E_EXISTS);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    put_owner(OWNER_CLAIMING | (uint32_t)pid);
    assert_int_equal(hipc_chan_attach_mem(&c, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
}

/* A consumer in a child sleeps on the futex; the producer's send must
 * wake it. In the fault build that wake-up fails: the message is out all
 * the same, the send succeeds and the errno is kept on the handle, and
 * the consumer finds the message at the end of its slice. */
static void a_failed_wake_up_still_delivers(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    hipc_chan_config cfg = {.capacity = CAP, .spin_ns = 1000};
    unsigned char *shared = mmap(NULL, sizeof mem, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    assert_int_equal(hipc_chan_init_mem(shared, sizeof mem, &cfg), HIPC_OK);
    hipc_chan p;
    assert_int_equal(hipc_chan_attach_mem(&p, shared, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    pid_t pid = fork();
    if (pid == 0) {
        hipc_chan c;
        char buf[8];
        if (hipc_chan_attach_mem(&c, shared, sizeof mem, HIPC_CHAN_CONSUMER,
                                 &cfg) != HIPC_OK)
            _exit(2);
        int n = hipc_chan_recv(&c, buf, sizeof buf, HIPC_FOREVER);
        _exit(n == 5 && memcmp(buf, "wake!", 5) == 0 ? 0 : 1);
    }
    assert_true(hipc_test_wait_blocked_in(pid, SYS_futex));
#ifdef HIPC_FAULT_INJECTION
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_FUTEX, 1, EFAULT);
#endif
    assert_int_equal(hipc_chan_send(&p, "wake!", 5, 0), HIPC_OK);
#ifdef HIPC_FAULT_INJECTION
    if (hipc_fault_fired())
        assert_int_equal(p.sys_errno, EFAULT);
    hipc_fault_reset();
#endif
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    munmap(shared, sizeof mem);
}

#ifdef HIPC_FAULT_INJECTION
/* Fails the first /proc lookup (the peer's liveness check) with EMFILE
 * and runs one receive on an empty channel whose producer is alive. */
static int recv_with_failing_check(int64_t spin_ns, int64_t timeout_ns)
{
    hipc_chan_config cfg = {.capacity = CAP, .spin_ns = spin_ns};
    hipc_chan p, c;
    char buf[8];
    fresh_pair(&cfg, &p, &c);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EMFILE);
    int rc = hipc_chan_recv(&c, buf, sizeof buf, timeout_ns);
    assert_true(hipc_fault_fired());
    assert_int_equal(c.sys_errno, EMFILE);
    hipc_fault_reset();
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    return rc;
}

/* Claiming an end asks /proc whether its holder lives; when /proc cannot
 * answer, the attach fails with that answer instead of guessing. */
static void a_holder_that_cannot_be_looked_up_keeps_its_end(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan p, again;
    fresh(&cfg);
    assert_int_equal(hipc_chan_attach_mem(&p, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    /* Opens #1 and #2 are our own identity (/proc/self/stat, then our
     * time-namespace offsets): it cannot be stated, so the attach fails
     * with that code. (The holder's check failing is the next test.) */
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 2, EMFILE);
    assert_int_equal(hipc_chan_attach_mem(&again, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_LIMIT);
    assert_int_equal(again.sys_errno, EMFILE);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    /* The same for a holder caught half-claimed (pid alone). */
    fresh(&cfg);
    put_owner(OWNER_CLAIMING | (uint32_t)getpid());
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 2, ENOMEM);
    assert_int_equal(hipc_chan_attach_mem(&again, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_E_NOMEM);
    hipc_fault_reset();
}

/* Judging a holder is the last /proc file an attach opens: when that
 * fails, the attach fails with its code, names nobody, and the end stays
 * the holder's. */
static void a_holder_whose_liveness_cannot_be_read_keeps_its_end(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan p, again;
    fresh(&cfg);
    assert_int_equal(hipc_chan_attach_mem(&p, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    assert_int_equal(hipc_chan_attach_mem(&again, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_EXISTS);
    assert_int_equal(again.holder_pid, getpid());
    unsigned long opens = hipc_fault_calls(HIPC_SYS_OPEN);
    assert_true(opens >= 2);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_OPEN, opens, EMFILE);
    assert_int_equal(hipc_chan_attach_mem(&again, mem, sizeof mem,
                                          HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_LIMIT);
    assert_true(hipc_fault_fired());
    assert_int_equal(again.sys_errno, EMFILE);
    assert_int_equal(again.holder_pid, 0);
    hipc_fault_reset();
    hipc_chan_peer_info info;
    assert_int_equal(hipc_chan_attach_mem(&again, mem, sizeof mem,
                                          HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_get_peer(&again, &info), HIPC_OK);
    assert_int_equal(info.pid, getpid());
    assert_int_equal(hipc_chan_close(&again), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
}

/* A peer whose /proc entry cannot be opened, but that kill(pid, 0) still
 * finds, is hidden (hidepid, as far as hipc can tell): held, with its pid.
 * One caught mid-claim is judged by its pid alone, with the same answer.
 * A /proc that fails outright is that failure's code, *out untouched. */
static void get_peer_reports_a_hidden_peer_and_a_failing_proc(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan p, c;
    hipc_chan_peer_info info = {HIPC_CHAN_PEER_NONE, 0};
    fresh_pair(&cfg, &p, &c);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EACCES);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_PERM);
    assert_true(hipc_fault_fired());
    assert_int_equal(info.state, HIPC_CHAN_PEER_HIDDEN);
    assert_int_equal(info.pid, getpid());
    put_owner(OWNER_CLAIMING | (uint32_t)getpid());
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EACCES);
    info.state = HIPC_CHAN_PEER_NONE;
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_PERM);
    assert_int_equal(info.state, HIPC_CHAN_PEER_HIDDEN);
    put_owner((uint32_t)getpid());
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EMFILE);
    info.state = HIPC_CHAN_PEER_NONE;
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_LIMIT);
    assert_int_equal(p.sys_errno, EMFILE);
    assert_int_equal(info.state, HIPC_CHAN_PEER_NONE);
    hipc_fault_reset();
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
}

/* A try that asks /proc after its peer and cannot read it says so, and
 * asks again at the next try rather than trusting a look it never had. */
static void a_try_whose_liveness_check_fails_says_why(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP};
    hipc_chan p, c;
    char buf[8];
    fresh_pair(&cfg, &p, &c);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EMFILE);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_LIMIT);
    assert_int_equal(c.sys_errno, EMFILE);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    struct timespec t0, t1;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    unsigned long opens = hipc_fault_calls(HIPC_SYS_OPEN);
    assert_true(opens >= 1);
    /* Found alive: a try within HIPC_CHAN_PEER_CHECK_NS of that look does
     * not ask again (checked when the machine did not delay it past). */
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
    int64_t took = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 +
                   (t1.tv_nsec - t0.tv_nsec);
    if (took < HIPC_CHAN_PEER_CHECK_NS)
        assert_int_equal(hipc_fault_calls(HIPC_SYS_OPEN), opens);
    hipc_fault_reset();
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
}

/* Where the wait asks after its peer: at the timeout, after a slice of
 * sleeping, after a slice of spinning. Each failure is reported as it is. */
static void a_failing_liveness_check_ends_the_wait_with_its_code(void **state)
{
    (void)state;
    assert_int_equal(recv_with_failing_check(1000, 1000000), HIPC_E_LIMIT);
    assert_int_equal(recv_with_failing_check(1000, 400000000), HIPC_E_LIMIT);
    assert_int_equal(recv_with_failing_check(HIPC_CHAN_SPIN_ALWAYS, 400000000),
                     HIPC_E_LIMIT);
}

/* A receive that spins through a whole slice asks after its producer,
 * finds it alive and spins on until the timeout. */
static void a_long_spin_checks_its_live_peer_and_times_out(void **state)
{
    (void)state;
    hipc_chan_config cfg = {.capacity = CAP, .spin_ns = HIPC_CHAN_SPIN_ALWAYS};
    hipc_chan p, c;
    char buf[8];
    fresh_pair(&cfg, &p, &c);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 120000000),
                     HIPC_E_TIMEDOUT);
    /* Each liveness check opens /proc/PID/stat once (at least the one at
     * the timeout, even if a loaded machine stalls the spin past it). */
    assert_true(hipc_fault_calls(HIPC_SYS_OPEN) >= 1);
    hipc_fault_reset();
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_message_call_checks_its_arguments),
    cmocka_unit_test(open_checks_its_arguments_first),
    cmocka_unit_test(corrupt_positions_give_the_claimed_end_back),
    cmocka_unit_test(a_half_claimed_end_is_judged_by_its_pid),
    cmocka_unit_test(handles_that_contradict_themselves_are_bad),
    cmocka_unit_test(another_header_size_is_another_layout),
    cmocka_unit_test(a_group_writable_channel_is_shared_write),
    cmocka_unit_test(a_large_message_arrives_whole),
    cmocka_unit_test(garbage_after_the_tail_is_not_recovered),
    cmocka_unit_test(what_a_closed_peer_sent_is_still_received),
    cmocka_unit_test(a_failed_wake_up_still_delivers),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_failing_liveness_check_ends_the_wait_with_its_code),
    cmocka_unit_test(a_long_spin_checks_its_live_peer_and_times_out),
    cmocka_unit_test(a_holder_that_cannot_be_looked_up_keeps_its_end),
    cmocka_unit_test(a_holder_whose_liveness_cannot_be_read_keeps_its_end),
    cmocka_unit_test(get_peer_reports_a_hidden_peer_and_a_failing_proc),
    cmocka_unit_test(a_try_whose_liveness_check_fails_says_why),
#endif
};

HIPC_TEST_MAIN(tests)
