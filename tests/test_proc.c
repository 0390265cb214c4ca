/* SPDX-License-Identifier: MIT */
/* Tests for process identity (pid + start time) and its /proc parser. */
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

static void start_time_is_field_22_even_with_odd_names(void **state)
{
    (void)state;
    const char *line = "42 (a) b) c) S 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 "
                       "20 0 1 0 987654321 1000 10\n";
    char st = 0;
    uint64_t start = 0;
    assert_int_equal(parse(line, &st, &start), HIPC_OK);
    assert_int_equal(st, 'S');
    assert_int_equal(start, 987654321u);
}

static void malformed_stat_lines_are_corrupt(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "42 (x",
        "42 (x) S 1 2",
        "42 (x)S 1 2 3 4 5 6 7 8 9 10 11 12 13 "
        "14 15 16 17 18 19 20",
        "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x9",
        "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
        "99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char st = 0;
        uint64_t start = 0;
        assert_int_equal(parse(bad[i], &st, &start), HIPC_E_CORRUPT);
    }
}

static void own_process_is_alive_and_a_wrong_start_is_not(void **state)
{
    (void)state;
    uint64_t start = 0;
    assert_int_equal(hipc__proc_start_time(getpid(), &start, NULL), HIPC_OK);
    assert_int_equal(hipc__proc_alive(getpid(), start, NULL), HIPC__PROC_ALIVE);
    /* Readings from two time namespaces may differ by one tick. */
    assert_int_equal(hipc__proc_alive(getpid(), start + 1, NULL),
                     HIPC__PROC_ALIVE);
    assert_int_equal(hipc__proc_alive(getpid(), start - 1, NULL),
                     HIPC__PROC_ALIVE);
    assert_int_equal(hipc__proc_alive(getpid(), start + 2, NULL),
                     HIPC__PROC_GONE);
    assert_int_equal(hipc__proc_alive(getpid(), start - 2, NULL),
                     HIPC__PROC_GONE);
}

static void reaped_and_zombie_children_are_gone(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    uint64_t start = 0;
    int rc = hipc__proc_start_time(pid, &start, NULL);
    /* The child may already be a zombie; its stat file stays until reaped. */
    assert_int_equal(rc, HIPC_OK);
    siginfo_t info;
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
    assert_int_equal(hipc__proc_alive(pid, start, NULL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
    assert_int_equal(hipc__proc_alive(pid, start, NULL), 0);
    assert_int_equal(hipc__proc_start_time(pid, &start, NULL),
                     HIPC_E_NOT_FOUND);
}

static int offsets(const char *text, int64_t *ticks)
{
    return hipc__proc_parse_offsets(text, strlen(text), 100, ticks);
}

static void time_namespace_offsets_parse_to_ticks(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(offsets("monotonic 0 0\nboottime 1000 0\n", &t), HIPC_OK);
    assert_int_equal(t, 100000);
    assert_int_equal(offsets("boottime      -2   990000000\n", &t), HIPC_OK);
    assert_int_equal(t, -200 + 99);
    assert_int_equal(offsets("monotonic 5 0\nboottime 0 19999999", &t),
                     HIPC_OK);
    assert_int_equal(t, 1);
    static const char *const bad[] = {"",
                                      "monotonic 0 0\n",
                                      "boottime\n",
                                      "boottime 1\n",
                                      "boottime x 0\n",
                                      "boottime 1 0 junk\n",
                                      "boottime 1 1000000000\n",
                                      "boottime -1 -1\n",
                                      "boottime 99999999999999 0\n",
                                      "boottimes 1 0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(offsets(bad[i], &t), HIPC_E_CORRUPT);
    assert_int_equal(hipc__proc_parse_offsets("boottime 1 0", 12, 0, &t),
                     HIPC_E_CORRUPT);
}

static void start_times_unshift_within_range(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_int_equal(hipc__proc_unshift(500, 200, &s), HIPC_OK);
    assert_int_equal(s, 300);
    assert_int_equal(hipc__proc_unshift(500, -200, &s), HIPC_OK);
    assert_int_equal(s, 700);
    assert_int_equal(hipc__proc_unshift(100, 200, &s), HIPC_E_CORRUPT);
    assert_int_equal(hipc__proc_unshift(UINT64_MAX - 5, -6, &s),
                     HIPC_E_CORRUPT);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(start_time_is_field_22_even_with_odd_names),
    cmocka_unit_test(malformed_stat_lines_are_corrupt),
    cmocka_unit_test(own_process_is_alive_and_a_wrong_start_is_not),
    cmocka_unit_test(reaped_and_zombie_children_are_gone),
    cmocka_unit_test(time_namespace_offsets_parse_to_ticks),
    cmocka_unit_test(start_times_unshift_within_range),
};

HIPC_TEST_MAIN(tests)
