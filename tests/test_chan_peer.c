/* SPDX-License-Identifier: MIT */
/* The channel's peer: a try (timeout 0) learns that a killed peer is gone
 * without waiting, hipc_chan_get_peer says who is at the other end, and an
 * end that a live process holds names that process. */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

#define CAP 256u
/* The pid-namespace words of the consumer's slot (struct chan_hdr in
 * lib/chan.c: line 1 holds two 12-byte slots, then slot_ns[2]). */
#define OFF_CONS_PIDNS (128u + 24u + 8u)

struct region {
    unsigned char *mem;
    size_t size;
};

/* Shared anonymous memory, so that a forked child attaches the same ring. */
static struct region region_new(void)
{
    struct region r = {NULL, 0};
    hipc_chan_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_chan_mem_size(CAP, &r.size), HIPC_OK);
    void *p = mmap(NULL, r.size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    r.mem = p;
    assert_int_equal(hipc_chan_init_mem(r.mem, r.size, &cfg), HIPC_OK);
    return r;
}

static void region_free(struct region *r)
{
    munmap(r->mem, r->size);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A child that attaches `role`, sends one message if it is the producer,
 * tells the parent through `tell` and then waits to be killed. */
static int child_hold(struct region *r, hipc_chan_role role, int tell)
{
    hipc_chan ch;
    if (hipc_chan_attach_mem(&ch, r->mem, r->size, role, NULL) != HIPC_OK)
        return 10;
    if (role == HIPC_CHAN_PRODUCER && hipc_chan_send(&ch, "x", 1, 0) != 0)
        return 11;
    char b = 1;
    if (write(tell, &b, 1) != 1)
        return 12;
    for (;;)
        pause();
}

/* Forks a child holding `role` and returns once it holds it. */
static pid_t start_holder(struct region *r, hipc_chan_role role)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(child_hold(r, role, fds[1]));
    }
    close(fds[1]);
    char b = 0;
    assert_int_equal(read(fds[0], &b, 1), 1);
    close(fds[0]);
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
}

static int try_send(hipc_chan *ch)
{
    return hipc_chan_send(ch, "full", 4, 0);
}

static int try_recv(hipc_chan *ch)
{
    char buf[8];
    return hipc_chan_recv(ch, buf, sizeof buf, 0);
}

/* The peer was last found alive by a try that returned before `looked`
 * and is dead now. Tries (no sleeps, no waits) until one says
 * HIPC_E_PEER_GONE, and checks the bound hipc promises: once
 * HIPC_CHAN_PEER_CHECK_NS have passed since that last look, at most
 * HIPC_CHAN_PEER_CHECK_TRIES - 1 tries still say HIPC_E_AGAIN (the tries
 * before the next clock read). Returns the number of tries it took. */
static unsigned long tries_until_gone(hipc_chan *ch, int (*try)(hipc_chan *),
                                      int64_t looked)
{
    unsigned long tries = 0, late = 0;
    for (;;) {
        int64_t start = now_ns();
        int rc = try(ch);
        tries++;
        if (rc == HIPC_E_PEER_GONE)
            return tries;
        assert_int_equal(rc, HIPC_E_AGAIN);
        if (start >= looked + HIPC_CHAN_PEER_CHECK_NS)
            late++;
        assert_true(late < HIPC_CHAN_PEER_CHECK_TRIES);
    }
}

static void a_try_learns_that_a_killed_consumer_is_gone(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new();
    hipc_chan p;
    hipc_chan_peer_info info;
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    pid_t pid = start_holder(&r, HIPC_CHAN_CONSUMER);
    /* Fill the ring; the try that finds it full asks /proc and finds the
     * consumer alive. */
    int rc;
    while ((rc = try_send(&p)) == HIPC_OK)
        ;
    int64_t looked = now_ns();
    assert_int_equal(rc, HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_OK);
    assert_int_equal(info.state, HIPC_CHAN_PEER_ALIVE);
    assert_int_equal(info.pid, pid);
    kill_and_reap(pid);
    unsigned long tries = tries_until_gone(&p, try_send, looked);
    print_message("PEER_GONE after %lu tries\n", tries);
    /* Gone stays gone, try after try, and the peer says so. */
    assert_int_equal(try_send(&p), HIPC_E_PEER_GONE);
    assert_int_equal(try_send(&p), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_PEER_GONE);
    assert_int_equal(info.state, HIPC_CHAN_PEER_GONE);
    assert_int_equal(info.pid, pid);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    region_free(&r);
}

static void a_try_learns_that_a_killed_producer_is_gone(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new();
    hipc_chan c;
    char buf[8];
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    pid_t pid = start_holder(&r, HIPC_CHAN_PRODUCER);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 1);
    /* Drained, with the producer alive: a try asks and says "again". */
    assert_int_equal(try_recv(&c), HIPC_E_AGAIN);
    int64_t looked = now_ns();
    kill_and_reap(pid);
    unsigned long tries = tries_until_gone(&c, try_recv, looked);
    print_message("PEER_GONE after %lu tries\n", tries);
    assert_int_equal(try_recv(&c), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* A try made while nothing was asked for a while (here: never) asks at
 * once, so the first failed try already knows. */
static void the_first_failed_try_after_a_death_knows_at_once(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new();
    hipc_chan p;
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    pid_t pid = start_holder(&r, HIPC_CHAN_CONSUMER);
    kill_and_reap(pid);
    /* Room is left: a dead consumer does not stop sends that fit. */
    int rc;
    while ((rc = try_send(&p)) == HIPC_OK)
        ;
    assert_int_equal(rc, HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    region_free(&r);
}

static void get_peer_tells_none_alive_closed_and_hidden(void **state)
{
    (void)state;
    struct region r = region_new();
    hipc_chan p, c;
    hipc_chan_peer_info info = {HIPC_CHAN_PEER_GONE, 77};
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_NOT_FOUND);
    assert_int_equal(info.state, HIPC_CHAN_PEER_NONE);
    assert_int_equal(info.pid, 0);
    assert_int_equal(hipc_chan_get_peer(&p, NULL), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_OK);
    assert_int_equal(info.state, HIPC_CHAN_PEER_ALIVE);
    assert_int_equal(info.pid, getpid());
    assert_int_equal(hipc_chan_get_peer(&c, &info), HIPC_OK);
    assert_int_equal(info.pid, getpid());
    /* A holder that recorded another pid namespace cannot be looked up
     * from here: held, no pid. */
    uint32_t ns = 0;
    memcpy(&ns, r.mem + OFF_CONS_PIDNS, sizeof ns);
    uint32_t other = ns + 1u;
    memcpy(r.mem + OFF_CONS_PIDNS, &other, sizeof other);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_PERM);
    assert_int_equal(info.state, HIPC_CHAN_PEER_HIDDEN);
    assert_int_equal(info.pid, 0);
    memcpy(r.mem + OFF_CONS_PIDNS, &ns, sizeof ns);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_PEER_GONE);
    assert_int_equal(info.state, HIPC_CHAN_PEER_GONE);
    assert_int_equal(info.pid, getpid());
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    region_free(&r);
}

static void get_peer_checks_its_handle(void **state)
{
    (void)state;
    struct region r = region_new();
    hipc_chan p, copy;
    hipc_chan_peer_info info = {HIPC_CHAN_PEER_GONE, 77};
    hipc_chan_config anon = {.flags = HIPC_CHAN_ANONYMOUS};
    assert_int_equal(hipc_chan_get_peer(NULL, &info), HIPC_E_NULL);
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          &anon),
                     HIPC_OK);
    /* No identities are recorded, so there is nothing to tell. */
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_BAD_STATE);
    memcpy(&copy, &p, sizeof copy);
    assert_int_equal(hipc_chan_get_peer(&copy, &info), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_get_peer(&p, &info), HIPC_E_STALE_HANDLE);
    /* Not written by any of these. */
    assert_int_equal(info.state, HIPC_CHAN_PEER_GONE);
    assert_int_equal(info.pid, 77);
    region_free(&r);
}

static void an_end_held_by_a_live_child_names_it(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new();
    hipc_chan c;
    pid_t pid = start_holder(&r, HIPC_CHAN_CONSUMER);
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(c.holder_pid, pid);
    /* Held from another pid namespace: refused all the same, no pid. */
    uint32_t ns = 0;
    memcpy(&ns, r.mem + OFF_CONS_PIDNS, sizeof ns);
    uint32_t other = ns + 1u;
    memcpy(r.mem + OFF_CONS_PIDNS, &other, sizeof other);
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(c.holder_pid, 0);
    memcpy(r.mem + OFF_CONS_PIDNS, &ns, sizeof ns);
    kill_and_reap(pid);
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(c.holder_pid, 0);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* The same over a hipc segment, opened by id, where a failed open clears
 * the handle but keeps the holder's pid. */
static int child_open_hold(int id, int tell)
{
    hipc_chan c;
    if (hipc_chan_open_id(&c, id, HIPC_CHAN_CONSUMER, NULL) != HIPC_OK)
        return 10;
    char b = 1;
    if (write(tell, &b, 1) != 1)
        return 11;
    for (;;)
        pause();
}

static void an_opened_end_held_by_a_live_child_names_it(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    int before = hipc_test_shm_count();
    hipc_chan p, c, other;
    hipc_chan_config cfg = {.capacity = 4096};
    assert_int_equal(hipc_chan_create(&p, HIPC_SHM_KEY_PRIVATE,
                                      HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(child_open_hold(p.shm.id, fds[1]));
    }
    close(fds[1]);
    char b = 0;
    assert_int_equal(read(fds[0], &b, 1), 1);
    close(fds[0]);
    assert_int_equal(hipc_chan_open_id(&c, p.shm.id, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(c.holder_pid, pid);
    /* A key that is taken is no end held: no pid. */
    hipc_chan_config keyed = {.capacity = 4096};
    assert_int_equal(hipc_chan_create(&other, 0x48430201, HIPC_CHAN_PRODUCER,
                                      &keyed),
                     HIPC_OK);
    assert_int_equal(hipc_chan_create(&c, 0x48430201, HIPC_CHAN_PRODUCER,
                                      &keyed),
                     HIPC_E_EXISTS);
    assert_int_equal(c.holder_pid, 0);
    assert_int_equal(hipc_chan_remove(&other), HIPC_OK);
    assert_int_equal(hipc_chan_close(&other), HIPC_OK);
    kill_and_reap(pid);
    assert_int_equal(hipc_chan_open_id(&c, p.shm.id, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_remove(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), before);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_try_learns_that_a_killed_consumer_is_gone),
    cmocka_unit_test(a_try_learns_that_a_killed_producer_is_gone),
    cmocka_unit_test(the_first_failed_try_after_a_death_knows_at_once),
    cmocka_unit_test(get_peer_tells_none_alive_closed_and_hidden),
    cmocka_unit_test(get_peer_checks_its_handle),
    cmocka_unit_test(an_end_held_by_a_live_child_names_it),
    cmocka_unit_test(an_opened_end_held_by_a_live_child_names_it),
};
HIPC_TEST_MAIN(tests)
