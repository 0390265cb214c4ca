/* SPDX-License-Identifier: MIT */
/* Process identity (lib/proc.c) on its edges: stat lines cut or garbled
 * at every field, pids that cannot exist, and a zombie, which has died
 * even though its pid still answers. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "proc.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("reads other processes' /proc entries")

static int parse(const char *line, char *state, uint64_t *start)
{
    return hipc__proc_parse_stat(line, strlen(line), state, start);
}

/* Fields 3..21 of a plausible stat line, so tests vary field 22 only. */
#define HEAD "7 (x) S 1 7 7 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 "

static void lines_cut_or_garbled_anywhere_are_corrupt(void **state)
{
    (void)state;
    char st = 0;
    uint64_t start = 0;
    const char *bad[] = {
        "7 (x) S 1 7 7",               /* ends before field 22 */
        HEAD,                          /* field 22 missing, trailing space */
        "7 (x) S 1 7 7 0 -1   ",       /* ends in a run of spaces */
        HEAD "x1",                     /* field 22 not a number */
        HEAD ":1",                     /* just above '9' */
        HEAD "-1",                     /* below '0' */
        HEAD "12x 3",                  /* digits, then garbage */
        HEAD "99999999999999999999 1", /* above UINT64_MAX */
        "7 (x)",                       /* nothing after the name */
        "7 (x)S 1",                    /* no space after the name */
        "no name at all",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &st, &start), HIPC_E_CORRUPT);
}

static void field_22_may_end_the_input_or_the_line(void **state)
{
    (void)state;
    char st = 0;
    uint64_t start = 0;
    assert_int_equal(parse(HEAD "42", &st, &start), HIPC_OK);
    assert_int_equal(start, 42);
    assert_int_equal(parse(HEAD "43\n", &st, &start), HIPC_OK);
    assert_int_equal(start, 43);
    assert_int_equal(parse(HEAD "18446744073709551615 1", &st, &start),
                     HIPC_OK);
    assert_true(start == UINT64_MAX);
}

static void pids_that_cannot_exist_are_not_found(void **state)
{
    (void)state;
    uint64_t start = 1;
    int err = -1;
    assert_int_equal(hipc__proc_start_time(0, &start, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, 0);
    assert_int_equal(hipc__proc_start_time(-5, &start, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc__proc_alive(0, 1, &err), 0);
    assert_int_equal(hipc__proc_alive(-1, 1, NULL), 0);
}

/* A child that has exited but is not reaped yet keeps its pid and start
 * time; it still counts as gone. */
static void a_zombie_counts_as_gone(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    uint64_t start = 0;
    assert_int_equal(hipc__proc_start_time(pid, &start, NULL), HIPC_OK);
    /* Wait for it to die without reaping it. */
    siginfo_t info;
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
    assert_int_equal(hipc__proc_alive(pid, start, NULL), 0);
    assert_int_equal(hipc__proc_alive(getpid(), 0, NULL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lines_cut_or_garbled_anywhere_are_corrupt),
    cmocka_unit_test(field_22_may_end_the_input_or_the_line),
    cmocka_unit_test(pids_that_cannot_exist_are_not_found),
    cmocka_unit_test(a_zombie_counts_as_gone),
};

HIPC_TEST_MAIN(tests)
