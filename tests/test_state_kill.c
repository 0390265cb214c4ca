/* SPDX-License-Identifier: MIT */
/* A writer SIGKILLed at every step of a publish (the fault build's step
 * hook in lib/state.c kills it exactly there), with 1, 2 and 8 reader
 * processes reading all along: no reader ever sees a torn value, each
 * still reads the last complete one, and a successor takes over and is
 * seen by every reader. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("a second process killed mid-write")

#ifndef HIPC_FAULT_INJECTION
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#else

#define KEY ((hipc_key)0x5a7e0003)
#define VSIZE 300u
#define STEPS 5
#define WAIT_NS ((int64_t)100 * 1000 * 1000)

extern void (*hipc__state_step_hook)(int step);

static int kill_at;

static void kill_here(int step)
{
    if (step == kill_at)
        kill(getpid(), SIGKILL);
}

static void value_of(unsigned char *v, uint64_t gen)
{
    for (size_t i = 0; i < VSIZE; i++)
        v[i] = (unsigned char)(gen * 13u + i * 5u);
}

/* Reads until it sees generation `last`; every copy must be whole. Tells
 * the parent through `fd` once it has read once. */
static int reader(int fd, uint64_t last)
{
    hipc_state_reader r;
    if (hipc_state_open_reader(&r, KEY, NULL) != HIPC_OK)
        return 1;
    unsigned char v[VSIZE], want[VSIZE];
    hipc_state_info info = {0, 0};
    int told = 0;
    while (info.generation != last) {
        if (hipc_state_read(&r, v, sizeof v, &info) != VSIZE)
            return 2;
        value_of(want, info.generation);
        if (memcmp(v, want, VSIZE) != 0)
            return 3;
        if (!told) {
            char c = 'r';
            if (write(fd, &c, 1) != 1)
                return 4;
            told = 1;
        }
        int rc = hipc_state_wait(&r, WAIT_NS);
        if (rc != HIPC_OK && rc != HIPC_E_TIMEDOUT && rc != HIPC_E_PEER_GONE)
            return 5;
    }
    return hipc_state_close_reader(&r) == HIPC_OK ? 0 : 6;
}

static pid_t start_reader(uint64_t last)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(reader(p[1], last));
    }
    close(p[1]);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

/* Takes the role, publishes generation 2 and is killed at `step`. */
static pid_t start_doomed_writer(int step)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hipc_state_writer w;
        if (hipc_state_open_writer(&w, KEY, NULL) != HIPC_OK)
            _exit(1);
        kill_at = step;
        hipc__state_step_hook = kill_here;
        unsigned char v[VSIZE];
        value_of(v, 2);
        (void)hipc_state_publish(&w, v, sizeof v);
        _exit(2); /* not killed: the step was never reached */
    }
    return pid;
}

static void kill_at_step(int step, int readers)
{
    hipc_state_writer w;
    unsigned char v[VSIZE];
    assert_int_equal(hipc_state_create(&w, KEY, VSIZE, NULL), HIPC_OK);
    value_of(v, 1);
    assert_int_equal(hipc_state_publish(&w, v, sizeof v), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
    /* The kill before cur is stored loses generation 2; after, keeps it.
     * Either way the successor's value is the readers' last. */
    uint64_t survivor = step < STEPS ? 1 : 2;
    pid_t pids[8];
    for (int i = 0; i < readers; i++)
        pids[i] = start_reader(survivor + 1);
    pid_t doomed = start_doomed_writer(step);
    assert_int_equal(hipc_test_wait_child(doomed, 30), 128 + SIGKILL);
    assert_int_equal(hipc_state_open_writer(&w, KEY, NULL), HIPC_OK);
    assert_true(w.generation == survivor);
    value_of(v, survivor + 1);
    assert_int_equal(hipc_state_publish(&w, v, sizeof v), HIPC_OK);
    for (int i = 0; i < readers; i++)
        assert_int_equal(hipc_test_wait_child(pids[i], 60), 0);
    assert_int_equal(hipc_state_remove(&w), HIPC_OK);
    assert_int_equal(hipc_state_close_writer(&w), HIPC_OK);
}

static void writer_killed_at_every_step_with_1_2_and_8_readers(void **state)
{
    (void)state;
    int counts[] = {1, 2, 8};
    for (int step = 1; step <= STEPS; step++)
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
            kill_at_step(step, counts[i]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(
        writer_killed_at_every_step_with_1_2_and_8_readers, hipc_test_fd_setup,
        hipc_test_fd_teardown),
};

HIPC_TEST_MAIN(tests)
#endif
