/* SPDX-License-Identifier: MIT */
/* The broadcast ring at each step of a send and a receive (fault build:
 * lib/bcast.c calls a hook at named steps). A record overwritten while a
 * consumer reads it is counted lost, never delivered torn; a producer
 * SIGKILLed at every step of a send, with 1, 2 and 8 consumers at
 * different paces, leaves a ring whose consumers lose nothing that was
 * published and that a successor producer continues. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION

#define KEY 0x42430002
#define CAP 256u
#define LEN 56u /* an 80-byte record: three to a ring, then a pad */

/* The steps of lib/bcast.c's enum bc_step. */
enum {
    STEP_RECLAIMED = 1,
    STEP_PADDED,
    STEP_COPIED,
    STEP_HEADED,
    STEP_PUBLISHED,
    STEP_READ,
    STEP_TAKEN,
    STEP_OLDEST,
    STEP_WALKED,
};
extern void (*hipc__bcast_step_hook)(int step);

/* What the hook does: at the `nth` time it sees `step`, send `burst`
 * messages (numbered on from `next`) through `prod`, or die. */
static struct {
    int step, nth, seen, busy, die;
    hipc_bcast *prod;
    uint64_t next, burst;
} plan;

static void put_msg(unsigned char *buf, uint64_t i)
{
    hipc_test_fill(buf, LEN, (unsigned)i);
    memcpy(buf, &i, sizeof i);
}

static void hook(int step)
{
    if (plan.busy || step != plan.step || ++plan.seen != plan.nth)
        return;
    if (plan.die)
        raise(SIGKILL);
    plan.busy = 1;
    unsigned char buf[LEN];
    for (uint64_t i = 0; i < plan.burst; i++, plan.next++) {
        put_msg(buf, plan.next);
        if (hipc_bcast_send(plan.prod, buf, LEN) != HIPC_OK)
            fail();
    }
    plan.busy = 0;
}

static void arm(int step, int nth, hipc_bcast *prod, uint64_t next,
                uint64_t burst)
{
    memset(&plan, 0, sizeof plan);
    plan.step = step;
    plan.nth = nth;
    plan.prod = prod;
    plan.next = next;
    plan.burst = burst;
    hipc__bcast_step_hook = hook;
}

static int teardown(void **state)
{
    (void)state;
    hipc__bcast_step_hook = NULL;
    return 0;
}

static void send_upto(hipc_bcast *p, uint64_t *next, uint64_t end)
{
    unsigned char buf[LEN];
    for (; *next < end; (*next)++) {
        put_msg(buf, *next);
        assert_int_equal(hipc_bcast_send(p, buf, LEN), HIPC_OK);
    }
}

/* Receives once and checks: a message is number *want, intact; an
 * overrun moves *want on by exactly what it says was lost. */
static int recv_check(hipc_bcast *c, uint64_t *want)
{
    unsigned char buf[LEN], ref[LEN];
    int n = hipc_bcast_recv(c, buf, sizeof buf, 0);
    if (n == HIPC_E_OVERRUN) {
        uint64_t lost = 0;
        assert_int_equal(hipc_bcast_get_lost(c, &lost, NULL), HIPC_OK);
        *want += lost;
    } else if (n >= 0) {
        assert_int_equal(n, LEN);
        put_msg(ref, *want);
        assert_memory_equal(buf, ref, LEN);
        (*want)++;
    }
    return n;
}

/* The producer sends `burst` messages at the `nth` time the consumer
 * reaches `step`, with two messages in the ring: the consumer counts
 * every overwritten one lost and goes on, exactly. */
static void overwrite_at(int step, int nth, size_t k)
{
    static const uint64_t bursts[] = {1, 3, 4, 9};
    hipc_bcast p, c;
    hipc_bcast_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    uint64_t next = 0, want = 0;
    send_upto(&p, &next, 2);
    arm(step, nth, &p, next, bursts[k]);
    int n;
    int overran = 0;
    while ((n = recv_check(&c, &want)) != HIPC_E_AGAIN) {
        assert_true(n >= 0 || n == HIPC_E_OVERRUN);
        overran |= n == HIPC_E_OVERRUN;
    }
    next = plan.next;
    assert_int_equal(want, next);
    /* One more fits beside the two; nine lap the ring. */
    if (k == 0 || k == 3)
        assert_int_equal(overran, k == 3);
    hipc__bcast_step_hook = NULL;
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

/* Every consumer step at which the producer can overwrite the record
 * being read, at the first read (the head not known yet: the general
 * path) and at the second (the head known: the inline path, which looks
 * at the tail only after its copy). */
static void overwritten_while_read_is_lost_never_torn(void **state)
{
    (void)state;
    static const int steps[] = {STEP_READ, STEP_TAKEN};
    for (int nth = 1; nth <= 2; nth++)
        for (size_t s = 0; s < 2; s++)
            for (size_t k = 0; k < 4; k++)
                overwrite_at(steps[s], nth, k);
}

/* A consumer standing at a pad that the producer reclaims, and nothing
 * after it: it finds its place again and has lost nothing. */
static void a_lost_pad_loses_no_message(void **state)
{
    (void)state;
    hipc_bcast p, c;
    hipc_bcast_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    uint64_t next = 0, want = 0;
    send_upto(&p, &next, 3); /* at 0, 80 and 160 */
    for (int i = 0; i < 3; i++) {
        int n = recv_check(&c, &want);
        assert_int_equal(n, LEN);
    }
    send_upto(&p, &next, 5); /* a pad at 240, 3 at 256, 4 at 336 */
    /* Message 5 reclaims exactly up to message 3. */
    arm(STEP_READ, 1, &p, next, 1);
    assert_int_equal(recv_check(&c, &want), LEN);
    assert_int_equal(want, 4);
    uint64_t total = 9;
    assert_int_equal(hipc_bcast_get_lost(&c, NULL, &total), HIPC_OK);
    assert_int_equal(total, 0);
    hipc__bcast_step_hook = NULL;
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

/* Asking after the producer reads /proc: a failure to read it is the
 * caller's answer, with its errno kept. */
static void asking_after_the_producer_reports_a_proc_failure(void **state)
{
    (void)state;
    hipc_bcast p, c;
    hipc_bcast_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EMFILE);
    assert_int_equal(hipc_bcast_get_producer(&c, NULL), HIPC_E_LIMIT);
    assert_int_equal(c.sys_errno, EMFILE);
    hipc_fault_reset();
    assert_int_equal(hipc_bcast_get_producer(&c, NULL), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
}

/* Finding the oldest message and walking to the newest look again when
 * the producer moves under them. */
static void finding_a_place_looks_again_when_lapped(void **state)
{
    (void)state;
    static const int steps[] = {STEP_OLDEST, STEP_WALKED};
    for (size_t s = 0; s < 2; s++) {
        hipc_bcast p, c;
        hipc_bcast_config cfg = {.capacity = CAP};
        assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
        uint64_t next = 0, want = 0;
        send_upto(&p, &next, 3);
        arm(steps[s], 1, &p, next, 6);
        assert_int_equal(hipc_bcast_open_consumer(&c, KEY, NULL), HIPC_OK);
        hipc__bcast_step_hook = NULL;
        next = plan.next;
        send_upto(&p, &next, next + 1);
        want = next - 1;
        assert_int_equal(recv_check(&c, &want), LEN);
        assert_int_equal(hipc_bcast_close(&c), HIPC_OK);
        assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
        assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    }
}

/* A child producer that sends `before` messages, tells the parent, waits
 * for its word, then dies at the `nth` time it reaches `step`. */
static void producer_child(int step, int nth, int tell, int hear)
{
    hipc_bcast p;
    uint64_t next = 0;
    char c;
    if (hipc_bcast_open_producer(&p, KEY, NULL) != HIPC_OK)
        _exit(10);
    send_upto(&p, &next, 5);
    if (write(tell, "r", 1) != 1 || read(hear, &c, 1) != 1)
        _exit(11);
    memset(&plan, 0, sizeof plan);
    plan.step = step;
    plan.nth = nth;
    plan.die = 1;
    hipc__bcast_step_hook = hook;
    send_upto(&p, &next, 40);
    _exit(12); /* the step was never reached */
}

static void one_kill(int step, int nth, int consumers)
{
    hipc_bcast p, c[8];
    hipc_bcast_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_bcast_create(&p, KEY, &cfg), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    uint64_t want[8] = {0};
    hipc_bcast_config oc = {.flags = HIPC_BCAST_OLDEST};
    for (int j = 0; j < consumers; j++)
        assert_int_equal(hipc_bcast_open_consumer(&c[j], KEY, &oc), HIPC_OK);
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        close(up[0]);
        close(down[1]); /* a parent that fails gives EOF, not a hang */
        producer_child(step, nth, up[1], down[0]);
    }
    close(up[1]); /* a child that fails gives EOF, not a hang */
    close(down[0]);
    char r;
    if (read(up[0], &r, 1) != 1)
        fail_msg("producer child: exit %d", hipc_test_wait_child(kid, 10));
    /* Different paces: consumer j has read j of the first messages. */
    for (int j = 0; j < consumers; j++)
        for (int i = 0; i < j % 5; i++) {
            int n = recv_check(&c[j], &want[j]);
            assert_true(n >= 0 || n == HIPC_E_OVERRUN);
        }
    assert_int_equal(write(down[1], "g", 1), 1);
    assert_int_equal(hipc_test_wait_child(kid, 10), 128 + SIGKILL);
    /* A successor continues the sequence; every consumer gets, or counts
     * lost, each message exactly once. */
    assert_int_equal(hipc_bcast_open_producer(&p, KEY, NULL), HIPC_OK);
    hipc_bcast_stat st;
    assert_int_equal(hipc_bcast_stat_id(p.shm.id, &st, NULL), HIPC_OK);
    uint64_t next = st.sent;
    send_upto(&p, &next, next + 7);
    for (int j = 0; j < consumers; j++) {
        int n;
        while ((n = recv_check(&c[j], &want[j])) != HIPC_E_AGAIN)
            assert_true(n >= 0 || n == HIPC_E_OVERRUN);
        assert_int_equal(want[j], next);
        assert_int_equal(hipc_bcast_close(&c[j]), HIPC_OK);
    }
    assert_int_equal(hipc_bcast_remove(&p), HIPC_OK);
    assert_int_equal(hipc_bcast_close(&p), HIPC_OK);
    close(up[0]);
    close(down[1]);
}

static void a_producer_killed_at_every_step_is_replaced(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    static const int counts[] = {1, 2, 8};
    for (int step = STEP_RECLAIMED; step <= STEP_PUBLISHED; step++)
        for (int nth = 1; nth <= 6; nth++)
            for (int k = 0; k < 3; k++)
                one_kill(step, nth, counts[k]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(overwritten_while_read_is_lost_never_torn,
                              teardown),
    cmocka_unit_test_teardown(a_lost_pad_loses_no_message, teardown),
    cmocka_unit_test_teardown(asking_after_the_producer_reports_a_proc_failure,
                              teardown),
    cmocka_unit_test_teardown(finding_a_place_looks_again_when_lapped,
                              teardown),
    cmocka_unit_test_teardown(a_producer_killed_at_every_step_is_replaced,
                              teardown),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
