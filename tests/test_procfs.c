/* SPDX-License-Identifier: MIT */
/* The one /proc reader and number parser (lib/procfs.c): strict values,
 * whole files through short and interrupted reads, files too big said so,
 * and (fault build) every syscall failing with every errno. */
#include <errno.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "hipc/shm.h"
#include "procfs.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault.h"
#endif

static int value(const char *s, uint64_t max, uint64_t *out)
{
    return hipc__procfs_parse_value(s, strlen(s), max, out);
}

static void sysctl_values_need_digits_and_the_final_newline(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(value("1048576\n", UINT64_MAX, &v), HIPC_OK);
    assert_int_equal(v, 1048576u);
    assert_int_equal(value("18446744073709551615\n", UINT64_MAX, &v), HIPC_OK);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(value("0\n", 0, &v), HIPC_OK);
    assert_int_equal(v, 0u);
    /* What a cut-short read of "1048576\n" would leave: never a value. */
    static const char *const bad[] = {"1",       "1048",
                                      "1048576", "",
                                      "\n",      "12a\n",
                                      "-1\n",    " 1\n",
                                      "1\n\n",   "18446744073709551616\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(value(bad[i], UINT64_MAX, &v), HIPC_E_CORRUPT);
    assert_int_equal(value("1048577\n", 1048576, &v), HIPC_E_CORRUPT);
    assert_int_equal(value("1048576\n", 1048576, &v), HIPC_OK);
}

static void numbers_parse_in_their_base_within_the_bound(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(hipc__parse_uint("777", 3, 8, 0777, &v), HIPC_OK);
    assert_int_equal(v, 0777u);
    assert_int_equal(hipc__parse_uint("778", 3, 8, UINT64_MAX, &v),
                     HIPC_E_CORRUPT);
    assert_int_equal(hipc__parse_uint("1000", 4, 8, 0777, &v), HIPC_E_CORRUPT);
    assert_int_equal(hipc__parse_uint("", 0, 10, 1, &v), HIPC_E_CORRUPT);
    assert_int_equal(hipc__parse_uint("4294967296", 10, 10, UINT32_MAX, &v),
                     HIPC_E_CORRUPT);
}

static void a_file_is_read_whole_or_said_to_be_too_big(void **state)
{
    (void)state;
    char buf[2048];
    size_t len = 0;
    int err = -1;
    assert_int_equal(hipc__procfs_read("/proc/self/stat", buf, sizeof buf, &len,
                                       &err),
                     HIPC_OK);
    assert_int_equal(err, 0);
    assert_true(len > 20 && buf[len - 1] == '\n');
    /* Exactly the file's size fits; one byte less does not. */
    size_t whole = len;
    assert_int_equal(hipc__procfs_read("/proc/self/stat", buf, whole, &len,
                                       NULL),
                     HIPC_OK);
    assert_int_equal(len, whole);
    assert_int_equal(hipc__procfs_read("/proc/self/stat", buf, 8, &len, NULL),
                     HIPC_E_TOO_BIG);
    assert_int_equal(hipc__procfs_read("/proc/no-such-file", buf, sizeof buf,
                                       &len, &err),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(err, ENOENT);
}

static void values_are_read_from_the_kernel(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(hipc__procfs_value("/proc/sys/fs/pipe-max-size",
                                        UINT64_MAX, &v, NULL),
                     HIPC_OK);
    assert_true(v >= 4096);
    /* A file that is no number at all. */
    assert_int_equal(hipc__procfs_value("/proc/self/stat", UINT64_MAX, &v,
                                        NULL),
                     HIPC_E_TOO_BIG);
}

#ifdef HIPC_FAULT_INJECTION
/* Every read interrupted once: the value still comes out whole. A sysctl
 * file that answers a tiny first read and then end of file (what the
 * kernel does to a read at a non-zero offset) gives a cut-short number:
 * that is corrupt, never a smaller value. */
static void short_and_interrupted_reads_never_give_a_wrong_value(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's sysctl files read in pieces");
    uint64_t want = 0, got = 0;
    assert_int_equal(hipc__procfs_value("/proc/sys/fs/pipe-max-size",
                                        UINT64_MAX, &want, NULL),
                     HIPC_OK);
    hipc_fault_reset();
    hipc_fault_eintr_first(1);
    assert_int_equal(hipc__procfs_value("/proc/sys/fs/pipe-max-size",
                                        UINT64_MAX, &got, NULL),
                     HIPC_OK);
    assert_int_equal(got, want);
    assert_true(hipc_fault_calls(HIPC_SYS_READ) >= 2);
    for (size_t n = 1; n <= 3; n++) {
        hipc_fault_reset();
        hipc_fault_short_files(1);
        hipc_fault_short_io(n);
        got = 7;
        assert_int_equal(hipc__procfs_value("/proc/sys/fs/pipe-max-size",
                                            UINT64_MAX, &got, NULL),
                         HIPC_E_CORRUPT);
        assert_int_equal(got, 7);
    }
    hipc_fault_reset();
}

/* Every module reads /proc through the one reader: a cut-short sysctl
 * read never passes for a value (hipc_pipe_get_max_size once said OK with 1,
 * and then hipc_pipe_set_capacity(65536) failed with HIPC_E_TOO_BIG). */
static void cut_short_reads_never_become_a_limit(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's sysctl files read in pieces");
    size_t max = 0, real = 0;
    hipc_shm_limits lim;
    assert_int_equal(hipc_pipe_get_max_size(&real, NULL), HIPC_OK);
    hipc_fault_reset();
    hipc_fault_short_files(1);
    hipc_fault_short_io(1);
    int err = -1;
    assert_int_equal(hipc_pipe_get_max_size(&max, &err), HIPC_E_CORRUPT);
    assert_int_equal(max, 0);
    /* An unreadable System V limit counts as none (the kernel enforces
     * it), never as a cut-short number. */
    assert_int_equal(hipc_shm_get_limits(&lim, NULL), HIPC_OK);
    assert_true(lim.shmmax == UINT64_MAX && lim.shmall == UINT64_MAX &&
                lim.shmmni == UINT64_MAX);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_get_max_size(&max, NULL), HIPC_OK);
    assert_int_equal(max, real);
}

#include "fault/driver.h"

static int read_value(void *ctx, int *sys_errno)
{
    (void)ctx;
    uint64_t v = 0;
    return hipc__procfs_value("/proc/sys/fs/pipe-max-size", UINT64_MAX, &v,
                              sys_errno);
}

static void nothing_to_release(void *ctx)
{
    (void)ctx;
}

static void the_reader_survives_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario s = {"procfs: read a sysctl value",
                                            read_value, nothing_to_release,
                                            NULL};
    fault_drive_all(&s, 1);
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sysctl_values_need_digits_and_the_final_newline),
    cmocka_unit_test(numbers_parse_in_their_base_within_the_bound),
    cmocka_unit_test(a_file_is_read_whole_or_said_to_be_too_big),
    cmocka_unit_test(values_are_read_from_the_kernel),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(short_and_interrupted_reads_never_give_a_wrong_value),
    cmocka_unit_test(cut_short_reads_never_become_a_limit),
    cmocka_unit_test(the_reader_survives_every_syscall_failure),
#endif
};

HIPC_TEST_MAIN(tests)
