/* SPDX-License-Identifier: MIT */
/* Tests for hipc_process_run (feed, collect, cap, deadline) and for
 * spawning from several threads at once. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/process.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("spawns processes")

#define HELPER HIPC_PROC_HELPER
#define SEC 1000000000LL

static int no_child_left(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static void run_echoes_64k_both_ways_at_once(void **state)
{
    (void)state;
    /* More than a pipe holds in each direction: a caller that wrote all
     * before reading would deadlock with the child. */
    static unsigned char in[192 << 10], out[192 << 10];
    hipc_test_fill(in, sizeof in, 7);
    char *argv[] = {"proc_helper", "echo", NULL};
    hipc_process_io io = {.in = in,
                          .in_len = sizeof in,
                          .out = out,
                          .out_cap = sizeof out};
    int err = -1;
    /* Forever: byte by byte (HIPC_FAULT_MODE=short) takes its time. */
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, &err,
                                      HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(err, 0);
    assert_int_equal(io.in_done, sizeof in);
    assert_int_equal(io.out_len, sizeof in);
    assert_memory_equal(out, in, sizeof in);
    assert_int_equal(io.status, 0);
    assert_true(no_child_left());
}

static void run_reports_exit_status_and_empty_input(void **state)
{
    (void)state;
    char *argv[] = {"proc_helper", "exit", "9", NULL};
    hipc_process_io io = {0};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL,
                                      HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(io.status, 9);
    /* Input of no bytes: stdin is a pipe closed at once. */
    char *echo[] = {"proc_helper", "echo", NULL};
    char out[8];
    io = (hipc_process_io){.in = "", .out = out, .out_cap = sizeof out};
    assert_int_equal(hipc_process_run(HELPER, echo, NULL, NULL, &io, NULL,
                                      HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(io.out_len, 0);
    assert_int_equal(io.status, 0);
}

static void run_cuts_output_at_the_cap(void **state)
{
    (void)state;
    char out[1000];
    char *argv[] = {"proc_helper", "spew", "1000000", NULL};
    hipc_process_io io = {.out = out, .out_cap = sizeof out};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL,
                                      30 * SEC),
                     HIPC_E_BUF_TOO_SMALL);
    assert_int_equal(io.out_len, sizeof out);
    assert_true(io.status == -SIGPIPE || io.status == 3);
    /* Exactly the cap is not too much. */
    char *exact[] = {"proc_helper", "spew", "1000", NULL};
    io = (hipc_process_io){.out = out, .out_cap = sizeof out};
    assert_int_equal(hipc_process_run(HELPER, exact, NULL, NULL, &io, NULL,
                                      30 * SEC),
                     HIPC_OK);
    assert_int_equal(io.out_len, sizeof out);
    assert_true(no_child_left());
}

static void run_kills_the_child_at_the_deadline(void **state)
{
    (void)state;
    char out[16];
    char *argv[] = {"proc_helper", "sleep", NULL};
    hipc_process_io io = {.out = out, .out_cap = sizeof out};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL,
                                      50000000),
                     HIPC_E_TIMEDOUT);
    /* What came before the deadline is kept (on a loaded machine the
     * child may not have said anything yet). */
    assert_true(io.out_len == 0 || io.out_len == 6);
    if (io.out_len == 6)
        assert_memory_equal(out, "ready\n", 6);
    assert_true(no_child_left());
    /* A child that closes its output and still runs: the wait times out. */
    hipc_process_config quiet = {
        .stdio = {HIPC_PROCESS_IO_NULL, HIPC_PROCESS_IO_NULL}};
    io = (hipc_process_io){0};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, &quiet, &io, NULL,
                                      50000000),
                     HIPC_E_TIMEDOUT);
    assert_true(no_child_left());
}

/* The child exits without reading: feeding stops, no SIGPIPE kills the
 * caller (nothing here ignores it). */
static void run_survives_a_child_that_reads_nothing(void **state)
{
    (void)state;
    static unsigned char in[1 << 20];
    char *argv[] = {"proc_helper", "exit", "0", NULL};
    hipc_process_io io = {.in = in, .in_len = sizeof in};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL,
                                      30 * SEC),
                     HIPC_OK);
    assert_true(io.in_done < sizeof in);
    assert_int_equal(io.status, 0);
}

static void run_refuses_bad_arguments(void **state)
{
    (void)state;
    char *argv[] = {"proc_helper", "exit", "0", NULL};
    hipc_process_io io = {0};
    int err = -1;
    assert_int_equal(hipc_process_run(NULL, argv, NULL, NULL, &io, &err, SEC),
                     HIPC_E_NULL);
    assert_int_equal(err, 0);
    assert_int_equal(hipc_process_run(HELPER, NULL, NULL, NULL, &io, NULL, SEC),
                     HIPC_E_NULL);
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, NULL, NULL,
                                      SEC),
                     HIPC_E_NULL);
    io.in_len = 3;
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL, SEC),
                     HIPC_E_NULL);
    io = (hipc_process_io){.out_cap = 3};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL, SEC),
                     HIPC_E_NULL);
    io = (hipc_process_io){0};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL, 0),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL, -3),
                     HIPC_E_BAD_TIMEOUT);
    hipc_process_config piped = {.stdio = {0, 0, HIPC_PROCESS_IO_PIPE}};
    assert_int_equal(hipc_process_run(HELPER, argv, NULL, &piped, &io, NULL,
                                      SEC),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_process_run("/nonexistent", argv, NULL, NULL, &io,
                                      &err, SEC),
                     HIPC_E_EXEC);
    assert_int_equal(err, ENOENT);
    assert_true(no_child_left());
}

/* Threads spawn at once, each holding pipes open meanwhile: no child
 * sees another thread's descriptors. */
#define THREADS 4
#define ROUNDS 10
/* What one run holds at most: three pipes, the exec-failure pipe, the
 * pidfd and /dev/null. */
#define FDS_PER_RUN 9

/* Set when the descriptor limit is too low for every thread at once:
 * then HIPC_E_LIMIT is a run's right answer, and nothing may leak. */
static int starved;

static void *spawner(void *arg)
{
    (void)arg;
    char *argv[] = {"proc_helper", "fds", NULL};
    for (int i = 0; i < ROUNDS; i++) {
        char out[64];
        hipc_process_io io = {.out = out, .out_cap = sizeof out - 1};
        int rc =
            hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL, 30 * SEC);
        if (rc == HIPC_E_LIMIT && starved)
            continue;
        if (rc != HIPC_OK || io.status != 0)
            return (void *)1;
        out[io.out_len] = '\0';
        if (strcmp(out, "0 1 2\n") != 0)
            return (void *)2;
    }
    return NULL;
}

static void threads_spawn_at_once_without_sharing_descriptors(void **state)
{
    (void)state;
    struct rlimit lim;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
    int before = hipc_test_fd_count();
    starved = lim.rlim_cur != RLIM_INFINITY &&
              lim.rlim_cur < (rlim_t)(before + THREADS * FDS_PER_RUN + 1);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, spawner, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *r = (void *)-1;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
    assert_true(no_child_left());
    assert_int_equal(hipc_test_fd_count(), before);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(run_echoes_64k_both_ways_at_once),
    cmocka_unit_test(run_reports_exit_status_and_empty_input),
    cmocka_unit_test(run_cuts_output_at_the_cap),
    cmocka_unit_test(run_kills_the_child_at_the_deadline),
    cmocka_unit_test(run_survives_a_child_that_reads_nothing),
    cmocka_unit_test(run_refuses_bad_arguments),
    cmocka_unit_test(threads_spawn_at_once_without_sharing_descriptors),
};

HIPC_TEST_MAIN_NATIVE_ONLY(tests)
