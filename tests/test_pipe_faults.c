/* Pipes (lib/pipe.c) where their own tests do not go: a frame whose header
 * only partly leaves in the first writev and whose next write fails, and
 * finishing a child whose pipe the caller already closed. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "support.h"
#ifdef HIPC_FAULT_INJECTION
#include "fault.h"
#endif

static int child_returns_five(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)pipe;
    (void)stream;
    (void)arg;
    return 5;
}

/* The caller may close the parent's end itself; finishing then only reaps. */
static void finish_after_the_caller_closed_the_pipe_only_reaps(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int code = -1;
    assert_int_equal(hipc_pipe_spawn(&c, 0, child_returns_five, NULL), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&c.pipe), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code), HIPC_OK);
    assert_int_equal(code, 5);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

static int child_closes_its_end(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)stream;
    (void)arg;
    return hipc_pipe_close(pipe) == HIPC_OK ? 6 : 1;
}

static int child_writes_hi(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)stream;
    (void)arg;
    size_t done = 0;
    return hipc_pipe_write_all(pipe, "hi", 2, &done) == HIPC_OK ? 0 : 1;
}

/* A child may close its own end before returning; the parent may read the
 * child's output as a stream. */
static void children_close_early_and_parents_read_streams(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int code = -1;
    char buf[4] = "";
    assert_int_equal(hipc_pipe_spawn(&c, 0, child_closes_its_end, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code), HIPC_OK);
    assert_int_equal(code, 6);
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_CHILD_WRITES |
                                             HIPC_SPAWN_PARENT_STREAM,
                                     child_writes_hi, NULL),
                     HIPC_OK);
    assert_int_equal(fread(buf, 1, 2, c.stream), 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(hipc_pipe_child_finish(&c, &code), HIPC_OK);
    assert_int_equal(code, 0);
}

/* A handle that is not one is reported as such even when the other
 * arguments are wrong too: the handle is checked first. */
static void a_bad_handle_outranks_a_bad_size_or_timeout(void **state)
{
    (void)state;
    hipc_pipe bad;
    char buf[4];
    size_t done = 9;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(hipc_pipe_read_some(&bad, buf, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_write_all_timed(&bad, buf, 1, -1, &done),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_read_exact_timed(NULL, buf, 1, -1, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_read_some_timed(&bad, buf, 1, -1),
                     HIPC_E_BAD_HANDLE);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 0), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_pipe_read_some_timed(&p, buf, 1, -1),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 0), HIPC_E_STALE_HANDLE);
}

/* A deadline 999 ms away carries into the next second (for any clock
 * reading past its first millisecond); data already there arrives. */
static void a_deadline_that_carries_into_the_next_second_works(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[4];
    size_t done = 0;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all_timed(&p, "abc", 3, 999, &done),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact_timed(&p, buf, 3, 999, &done),
                     HIPC_OK);
    assert_int_equal(done, 3);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

#ifdef HIPC_FAULT_INJECTION
/* The first writev of a frame larger than PIPE_BUF moves one byte (a
 * short write the kernel may make), and the write that should finish the
 * header fails: the failure comes back with its errno. */
static void a_frame_whose_header_is_cut_short_reports_the_next_failure(void **state)
{
    (void)state;
    static char payload[PIPE_BUF + 100];
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_SIGPIPE_IGNORED), HIPC_OK);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_short_io(1);
    hipc_fault_fail_nth(HIPC_SYS_WRITE, 2, EIO);
    assert_int_equal(hipc_pipe_send_frame(&p, payload, sizeof payload,
                                          sizeof payload),
                     HIPC_E_SYS);
    assert_true(hipc_fault_fired());
    assert_int_equal(p.sys_errno, EIO);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(finish_after_the_caller_closed_the_pipe_only_reaps),
    cmocka_unit_test(a_bad_handle_outranks_a_bad_size_or_timeout),
    cmocka_unit_test(children_close_early_and_parents_read_streams),
    cmocka_unit_test(a_deadline_that_carries_into_the_next_second_works),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_frame_whose_header_is_cut_short_reports_the_next_failure),
#endif
};

HIPC_TEST_MAIN_BOTH_GUARDS(tests)
