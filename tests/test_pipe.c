/* SPDX-License-Identifier: MIT */
/* Tests for pipe handles: creation, adoption, complete I/O, timeouts,
 * capacity and frames. Signals and fork live in test_pipe_signal.c and
 * test_pipe_spawn.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "hipc/error.h"
#include "hipc/frame.h"
#include "hipc/pipe.h"
#include "support.h"

/* Milliseconds as the nanoseconds every timeout takes. */
#define MS(ms) ((int64_t)(ms)*1000000)

/* recv_frame returns the payload length; the checks below look at the
 * code and the length apart, so the length goes to *len (0 on failure). */
static int recv_len(hipc_pipe *p, void *buf, size_t cap, size_t max,
                    int64_t timeout_ns, size_t *len)
{
    int rc = hipc_pipe_recv_frame(p, buf, cap, max, timeout_ns);
    *len = rc > 0 ? (size_t)rc : 0;
    return rc < 0 ? rc : HIPC_OK;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Creation and ends --------------------------------------------------- */

static void bytes_written_to_write_fd_come_out_of_read_fd(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own syscalls on hipc's descriptors");
    hipc_pipe p;
    char out[8] = {0};
    size_t done = 0;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "abc", 3, &done, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(done, 3);
    assert_int_equal(read(p.read_fd, out, sizeof out), 3);
    assert_string_equal(out, "abc");
    /* The other way round does not work: read_fd is read-only. */
    assert_int_equal(write(p.read_fd, "x", 1), -1);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void created_ends_are_close_on_exec_and_blocking_by_default(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own syscalls on hipc's descriptors");
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_true(fcntl(p.read_fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(p.write_fd, F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(p.read_fd, F_GETFL) & O_NONBLOCK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void nonblock_and_direct_flags_reach_the_kernel(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "packet-mode pipes (O_DIRECT), which a world refuses");
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p,
                                      HIPC_PIPE_NONBLOCK | HIPC_PIPE_DIRECT),
                     HIPC_OK);
    int fl = fcntl(p.write_fd, F_GETFL);
    assert_true(fl & O_NONBLOCK);
    assert_true(fl & O_DIRECT);
    assert_true(fcntl(p.read_fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void packet_mode_keeps_two_writes_two_reads(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "packet-mode pipes (O_DIRECT), which a world refuses");
    hipc_test_skip_if_short("short transfers split each write into "
                            "several packets");
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_DIRECT), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "ab", 2, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "cde", 3, NULL, HIPC_FOREVER),
                     HIPC_OK);
    char buf[16];
    assert_int_equal(hipc_pipe_read_some(&p, buf, sizeof buf, HIPC_FOREVER), 2);
    assert_int_equal(hipc_pipe_read_some(&p, buf, sizeof buf, HIPC_FOREVER), 3);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void create_rejects_null_and_unknown_flags(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(NULL, 0), HIPC_E_NULL);
    assert_int_equal(hipc_pipe_create(&p, 0x80u), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_FLAGS_ALL_ + 1u),
                     HIPC_E_BAD_FLAGS);
}

static void wrong_end_use_is_wrong_end(void **state)
{
    (void)state;
    hipc_pipe p;
    char c;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(p.write_fd, -1);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, NULL, HIPC_FOREVER),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_send_frame(&p, "x", 1, 0, HIPC_FOREVER),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_get_fd(&p, HIPC_PIPE_WRITE_END),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_get_fd(&p, HIPC_PIPE_READ_END), p.read_fd);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_READ_END), HIPC_OK);
    /* No end left: the handle is closed. */
    assert_int_equal(hipc_pipe_read_some(&p, &c, 1, HIPC_FOREVER),
                     HIPC_E_STALE_HANDLE);

    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_READ_END), HIPC_OK);
    assert_int_equal(hipc_pipe_read_some(&p, &c, 1, HIPC_FOREVER),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_read_exact(&p, &c, 1, NULL, HIPC_FOREVER),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_read_exact(&p, &c, 1, NULL, 0),
                     HIPC_E_WRONG_END);
    size_t len = 0;
    assert_int_equal(recv_len(&p, &c, 1, 1, HIPC_FOREVER, &len),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Every entry point, called on one handle; each must give `want`. */
static void assert_all_calls_fail_with(hipc_pipe *p, int want)
{
    char buf[4];
    size_t n = 0;
    assert_int_equal(hipc_pipe_write_all(p, "x", 1, &n, HIPC_FOREVER), want);
    assert_int_equal(hipc_pipe_read_exact(p, buf, 1, &n, HIPC_FOREVER), want);
    assert_int_equal(hipc_pipe_read_some(p, buf, 1, HIPC_FOREVER), want);
    assert_int_equal(hipc_pipe_write_all(p, "x", 1, &n, MS(1)), want);
    assert_int_equal(hipc_pipe_read_exact(p, buf, 1, &n, MS(1)), want);
    assert_int_equal(hipc_pipe_read_some(p, buf, 1, MS(1)), want);
    assert_int_equal(hipc_pipe_get_capacity(p), want);
    assert_int_equal(hipc_pipe_set_capacity(p, 4096), want);
    assert_int_equal(hipc_pipe_get_pending(p, &n), want);
    assert_int_equal(hipc_pipe_send_frame(p, "x", 1, 0, HIPC_FOREVER), want);
    assert_int_equal(recv_len(p, buf, sizeof buf, 4, HIPC_FOREVER, &n), want);
    assert_int_equal(hipc_pipe_get_fd(p, HIPC_PIPE_READ_END), want);
    assert_int_equal(hipc_pipe_close_end(p, HIPC_PIPE_READ_END), want);
    assert_int_equal(hipc_pipe_close(p), want);
}

static void zeroed_and_garbage_handles_are_bad_handle(void **state)
{
    (void)state;
    hipc_pipe p;
    memset(&p, 0, sizeof p);
    assert_all_calls_fail_with(&p, HIPC_E_BAD_HANDLE);
    memset(&p, 0xa5, sizeof p);
    assert_all_calls_fail_with(&p, HIPC_E_BAD_HANDLE);
    assert_all_calls_fail_with(NULL, HIPC_E_NULL);
}

static void closed_handle_is_stale(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(p.read_fd, -1);
    assert_int_equal(p.write_fd, -1);
    assert_all_calls_fail_with(&p, HIPC_E_STALE_HANDLE);
}

static void out_of_range_end_or_null_buffer_is_rejected(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_get_fd(&p, (enum hipc_pipe_end)7),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_close_end(&p, (enum hipc_pipe_end)0),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_write_all(&p, NULL, 1, NULL, HIPC_FOREVER),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_read_exact(&p, NULL, 1, NULL, HIPC_FOREVER),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_read_some(&p, NULL, 1, HIPC_FOREVER),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_get_pending(&p, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_pipe_send_frame(&p, NULL, 1, 0, HIPC_FOREVER),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_get_max_size(NULL, NULL), HIPC_E_NULL);
    /* Zero bytes: nothing to do, no syscall needed. */
    assert_int_equal(hipc_pipe_write_all(&p, NULL, 0, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, NULL, 0, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* ---- Adoption ------------------------------------------------------------ */

static void adopted_ends_work_and_close_with_the_handle(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    hipc_pipe r, w;
    assert_int_equal(hipc_pipe_adopt(&r, fds[0], HIPC_PIPE_READ_END, 0),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_adopt(&w, fds[1], HIPC_PIPE_WRITE_END, 0),
                     HIPC_OK);
    assert_int_equal(r.write_fd, -1);
    assert_int_equal(w.read_fd, -1);
    char buf[4] = {0};
    assert_int_equal(hipc_pipe_write_all(&w, "hey", 3, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&r, buf, 3, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_string_equal(buf, "hey");
    assert_int_equal(hipc_pipe_write_all(&r, "x", 1, NULL, HIPC_FOREVER),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_read_some(&w, buf, 1, HIPC_FOREVER),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_close(&r), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&w), HIPC_OK);
    assert_int_equal(fcntl(fds[0], F_GETFD), -1);
}

static void negative_closed_and_o_path_descriptors_are_bad_fd(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_adopt(&p, -1, HIPC_PIPE_READ_END, 0),
                     HIPC_E_BAD_FD);
    assert_int_equal(p.sys_errno, 0);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(hipc_pipe_adopt(&p, fd, HIPC_PIPE_READ_END, 0),
                     HIPC_E_BAD_FD);
    assert_int_equal(p.sys_errno, EBADF);
    /* An O_PATH descriptor of a FIFO passes fstat but cannot do I/O. */
    char path[] = "/tmp/hipc-fifo-XXXXXX";
    assert_non_null(mkdtemp(path));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/f", path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fd = open(fifo, O_PATH | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(hipc_pipe_adopt(&p, fd, HIPC_PIPE_READ_END, 0),
                     HIPC_E_BAD_FD);
    close(fd);
    /* A FIFO opened read-write is a valid end of either kind. */
    fd = open(fifo, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(hipc_pipe_adopt(&p, fd, HIPC_PIPE_WRITE_END, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    unlink(fifo);
    rmdir(path);
}

static void files_and_sockets_are_not_pipe(void **state)
{
    (void)state;
    hipc_pipe p;
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(hipc_pipe_adopt(&p, fd, HIPC_PIPE_READ_END, 0),
                     HIPC_E_NOT_PIPE);
    /* A failed adoption leaves the descriptor open and untouched. */
    assert_true(fcntl(fd, F_GETFD) >= 0);
    close(fd);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(hipc_pipe_adopt(&p, sv[0], HIPC_PIPE_WRITE_END, 0),
                     HIPC_E_NOT_PIPE);
    close(sv[0]);
    close(sv[1]);
}

static void descriptor_without_the_needed_access_is_wrong_end(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_adopt(&p, fds[0], HIPC_PIPE_WRITE_END, 0),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_adopt(&p, fds[1], HIPC_PIPE_READ_END, 0),
                     HIPC_E_WRONG_END);
    close(fds[0]);
    close(fds[1]);
}

static void adopt_rejects_null_bad_end_and_flags_it_does_not_take(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_adopt(NULL, fds[0], HIPC_PIPE_READ_END, 0),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_adopt(&p, fds[0], (enum hipc_pipe_end)3, 0),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_pipe_adopt(&p, fds[0], HIPC_PIPE_READ_END,
                                     HIPC_PIPE_NONBLOCK),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_pipe_adopt(&p, fds[0], HIPC_PIPE_READ_END,
                                     HIPC_PIPE_SIGPIPE_IGNORED),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    close(fds[1]);
}

static void adopted_nonblocking_descriptor_reports_again(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_adopt(&p, fds[0], HIPC_PIPE_READ_END, 0),
                     HIPC_OK);
    char c;
    assert_int_equal(hipc_pipe_read_some(&p, &c, 1, 0), HIPC_E_AGAIN);
    assert_int_equal(p.sys_errno, EAGAIN);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    close(fds[1]);
}

/* ---- Complete I/O -------------------------------------------------------- */

static void
read_exact_tells_eof_at_a_boundary_from_a_truncated_read(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[8];
    size_t done = 99;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "abc", 3, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 5, &done, HIPC_FOREVER),
                     HIPC_E_TRUNCATED);
    assert_int_equal(done, 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 5, &done, HIPC_FOREVER),
                     HIPC_E_EOF);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 5, HIPC_FOREVER), HIPC_E_EOF);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void
read_some_returns_what_is_there_without_waiting_for_more(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[64];
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "hello", 5, NULL, HIPC_FOREVER),
                     HIPC_OK);
    int n = hipc_pipe_read_some(&p, buf, sizeof buf, HIPC_FOREVER);
    if (hipc_test_transfers_may_be_short())
        assert_true(n >= 1 && n <= 5);
    else
        assert_int_equal(n, 5);
    assert_memory_equal(buf, "hello", (size_t)n);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 0, HIPC_FOREVER),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void
nonblocking_pipe_reports_again_when_empty_and_when_full(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_NONBLOCK), HIPC_OK);
    char c;
    size_t done = 99;
    assert_int_equal(hipc_pipe_read_exact(&p, &c, 1, &done, 0), HIPC_E_AGAIN);
    assert_int_equal(done, 0);
    int cap = hipc_pipe_set_capacity(&p, 4096);
    assert_int_equal(cap, 4096);
    size_t len = (size_t)cap * 2;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    hipc_test_fill(buf, len, 1);
    assert_int_equal(hipc_pipe_write_all(&p, buf, len, &done, 0), HIPC_E_AGAIN);
    assert_int_equal(done, (size_t)cap);
    free(buf);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void pending_counts_bytes_waiting_from_either_end(void **state)
{
    (void)state;
    hipc_pipe p;
    size_t n = 99;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hipc_pipe_write_all(&p, "0123456789", 10, NULL,
                                         HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_OK);
    assert_int_equal(n, 10);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_READ_END), HIPC_OK);
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_OK);
    assert_int_equal(n, 10);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* ---- Deadlines ----------------------------------------------------------- */

static void negative_timeout_is_bad_timeout(void **state)
{
    (void)state;
    hipc_pipe p;
    char c;
    size_t done = 99;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, &c, 1, &done, MS(-1)),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_read_some(&p, &c, 1, MS(-5)),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, NULL, MS(-1)),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void
read_on_an_empty_pipe_times_out_no_earlier_than_the_deadline(void **state)
{
    (void)state;
    const unsigned modes[] = {0, HIPC_PIPE_NONBLOCK};
    for (size_t m = 0; m < 2; m++) {
        hipc_pipe p;
        char buf[8];
        size_t done = 99;
        assert_int_equal(hipc_pipe_create(&p, modes[m]), HIPC_OK);
        long long t0 = now_ms();
        assert_int_equal(hipc_pipe_read_exact(&p, buf, 4, &done, MS(60)),
                         HIPC_E_TIMEDOUT);
        assert_true(now_ms() - t0 >= 60);
        assert_int_equal(done, 0);
        t0 = now_ms();
        assert_int_equal(hipc_pipe_read_some(&p, buf, 4, MS(30)),
                         HIPC_E_TIMEDOUT);
        assert_true(now_ms() - t0 >= 30);
        assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    }
}

static void timed_out_read_reports_the_bytes_already_read(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[8];
    size_t done = 0;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "abc", 3, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 8, &done, MS(20)),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(done, 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void zero_timeout_takes_what_is_there_and_never_waits(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[8];
    size_t done = 0;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_read_some(&p, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(p.sys_errno, 0);
    assert_int_equal(hipc_pipe_write_all(&p, "abcd", 4, &done, 0), HIPC_OK);
    assert_int_equal(done, 4);
    int n = hipc_pipe_read_some(&p, buf, sizeof buf, 0);
    assert_true(n >= 1 && n <= 4);
    if (!hipc_test_transfers_may_be_short())
        assert_int_equal(n, 4);
    assert_int_equal(hipc_pipe_read_exact(&p, buf + n, 4 - (size_t)n, NULL,
                                          HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "ef", 2, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 2, &done, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* poll's syscall, as /proc/TID/syscall shows a thread asleep in it. */
#ifdef SYS_poll
#define POLL_NR SYS_poll
#else
#define POLL_NR SYS_ppoll
#endif

struct forever_reader {
    hipc_pipe *p;
    _Atomic pid_t tid;
    int rc;
    char buf[4];
};

static void *read_forever(void *arg)
{
    struct forever_reader *r = arg;
    atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
    r->rc =
        hipc_pipe_read_exact(r->p, r->buf, sizeof r->buf, NULL, HIPC_FOREVER);
    return NULL;
}

/* O_NONBLOCK does not make HIPC_FOREVER a try: the reader sleeps in poll
 * until the bytes come. */
static void forever_waits_on_a_nonblocking_pipe_until_bytes_come(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "several threads at once, which a world does not take");
    if (hipc_test_syscall_numbers_are_foreign())
        hipc_test_skip(HIPC_TEST_FOREIGN_SYSCALL_REASON);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_NONBLOCK), HIPC_OK);
    struct forever_reader r = {.p = &p};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_forever, &r), 0);
    while (atomic_load(&r.tid) == 0)
        sched_yield();
    assert_true(hipc_test_wait_blocked_in(atomic_load(&r.tid), POLL_NR));
    assert_int_equal(hipc_pipe_write_all(&p, "wake", 4, NULL, 0), HIPC_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, HIPC_OK);
    assert_memory_equal(r.buf, "wake", 4);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Timeout 0 on a blocking pipe: a write takes what fits and stops, a frame
 * larger than PIPE_BUF goes out piece by piece, and the reader completes
 * it across calls that each take what is there; nothing ever blocks. */
static void zero_timeout_never_blocks_a_blocking_pipe(void **state)
{
    (void)state;
    static unsigned char out[3 * 4096], in[6000];
    hipc_test_fill(out, sizeof out, 3);
    hipc_pipe p;
    size_t done = 0, owed = 0;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_set_capacity(&p, 4096), 4096);
    assert_int_equal(hipc_pipe_write_all(&p, out, sizeof out, &done, 0),
                     HIPC_E_AGAIN);
    assert_true(done >= 1 && done <= 4096);
    assert_int_equal(hipc_pipe_read_exact(&p, in, done, NULL, 0), HIPC_OK);
    assert_memory_equal(in, out, done);
    int rc = HIPC_E_AGAIN, got = HIPC_E_AGAIN;
    for (int i = 0; i < 100000 && got == HIPC_E_AGAIN; i++) {
        if (rc != HIPC_OK)
            rc = hipc_pipe_send_frame(&p, out, sizeof in, sizeof in, 0);
        assert_true(rc == HIPC_OK || rc == HIPC_E_AGAIN);
        assert_int_equal(hipc_pipe_get_frame_owed(&p, &owed), HIPC_OK);
        assert_true(rc == HIPC_OK ? owed == 0 : owed > 0);
        got = hipc_pipe_recv_frame(&p, in, sizeof in, sizeof in, 0);
    }
    assert_int_equal(got, (int)sizeof in);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* A frame read that times out in the middle keeps what it took: the next
 * call completes the frame, whose length is its result. */
static void timed_out_recv_keeps_its_place_in_the_frame(void **state)
{
    (void)state;
    unsigned char wire[HIPC_FRAME_HEADER_BYTES + 5];
    char buf[16];
    size_t n = 0;
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, "hello", 5, 16, &n),
                     HIPC_OK);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, wire, 3, NULL, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_recv_frame(&p, buf, sizeof buf, 16, MS(10)),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_pipe_write_all(&p, wire + 3, 7, NULL, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_recv_frame(&p, buf, sizeof buf, 16, MS(10)),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_pipe_write_all(&p, wire + 10, n - 10, NULL, 0),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_recv_frame(&p, buf, sizeof buf, 16, MS(1000)),
                     5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(hipc_pipe_send_frame(&p, NULL, 0, 16, MS(1000)), HIPC_OK);
    assert_int_equal(hipc_pipe_recv_frame(&p, buf, sizeof buf, 16, 0), 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Blocking and non-blocking pipes alike: a write into a full pipe stops
 * at the deadline and says how much went in (exactly the capacity). */
static void write_into_a_full_pipe_times_out_with_the_bytes_moved(void **state)
{
    (void)state;
    const unsigned modes[] = {0, HIPC_PIPE_NONBLOCK};
    for (size_t m = 0; m < 2; m++) {
        hipc_pipe p;
        assert_int_equal(hipc_pipe_create(&p, modes[m]), HIPC_OK);
        int cap = hipc_pipe_set_capacity(&p, 4096);
        assert_int_equal(cap, 4096);
        unsigned char buf[3 * 4096];
        hipc_test_fill(buf, sizeof buf, 2);
        size_t done = 0;
        long long t0 = now_ms();
        assert_int_equal(hipc_pipe_write_all(&p, buf, sizeof buf, &done,
                                             MS(40)),
                         HIPC_E_TIMEDOUT);
        assert_true(now_ms() - t0 >= 40);
        /* One-byte writes (fault build) may not fill it by the deadline. */
        if (hipc_test_transfers_may_be_short())
            assert_true(done >= 1 && done <= 4096);
        else
            assert_int_equal(done, 4096);
        unsigned char got[4096];
        assert_int_equal(hipc_pipe_read_exact(&p, got, done, NULL,
                                              HIPC_FOREVER),
                         HIPC_OK);
        assert_memory_equal(got, buf, done);
        assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    }
}

/* ---- Capacity ------------------------------------------------------------ */

static void max_size_is_the_value_in_proc(void **state)
{
    (void)state;
    FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
    assert_non_null(f);
    unsigned long want = 0;
    assert_int_equal(fscanf(f, "%lu", &want), 1);
    fclose(f);
    size_t max = 0;
    int err = -1;
    assert_int_equal(hipc_pipe_get_max_size(&max, &err), HIPC_OK);
    assert_int_equal(max, want);
    assert_int_equal(err, 0);
}

static void capacity_is_granted_rounded_up_and_reported(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_get_capacity(&p), 16 * 4096);
    assert_int_equal(hipc_pipe_set_capacity(&p, 4097), 8192);
    assert_int_equal(hipc_pipe_get_capacity(&p), 8192);
    assert_int_equal(hipc_pipe_set_capacity(&p, 1), 4096);
    size_t max = 0;
    assert_int_equal(hipc_pipe_get_max_size(&max, NULL), HIPC_OK);
    assert_int_equal(hipc_pipe_set_capacity(&p, max), (int)max);
    assert_int_equal(hipc_pipe_get_capacity(&p), (int)max);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void capacity_beyond_the_system_maximum_or_zero_is_refused(void **state)
{
    (void)state;
    hipc_pipe p;
    size_t max = 0;
    assert_int_equal(hipc_pipe_get_max_size(&max, NULL), HIPC_OK);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    /* Even root, which the kernel would let through, is held to it. */
    assert_int_equal(hipc_pipe_set_capacity(&p, max + 1), HIPC_E_TOO_BIG);
    assert_int_equal(hipc_pipe_set_capacity(&p, (size_t)-1), HIPC_E_TOO_BIG);
    assert_int_equal(hipc_pipe_set_capacity(&p, 0), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_pipe_get_capacity(&p), 16 * 4096);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void shrinking_below_the_data_waiting_is_bad_state(void **state)
{
    (void)state;
    hipc_pipe p;
    unsigned char buf[3 * 4096];
    hipc_test_fill(buf, sizeof buf, 3);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, buf, sizeof buf, NULL,
                                         HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_set_capacity(&p, 4096), HIPC_E_BAD_STATE);
    assert_int_equal(p.sys_errno, EBUSY);
    /* Nothing was lost. */
    size_t n = 0;
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_OK);
    assert_int_equal(n, sizeof buf);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* ---- Frames over a pipe -------------------------------------------------- */

static void frames_arrive_whole_and_in_order(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[32];
    size_t len = 0;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&p, "first", 5, 32, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&p, NULL, 0, 32, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&p, "third!", 6, 32, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 32, HIPC_FOREVER, &len),
                     HIPC_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "first", 5);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 32, HIPC_FOREVER, &len),
                     HIPC_OK);
    assert_int_equal(len, 0);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 32, HIPC_FOREVER, &len),
                     HIPC_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "third!", 6);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 32, HIPC_FOREVER, &len),
                     HIPC_E_EOF);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* A non-blocking reader meets a frame that arrives in pieces: each call
 * takes what is there and says "again"; nothing is lost in between. */
static void
nonblocking_recv_resumes_a_frame_that_arrives_in_pieces(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own syscalls on hipc's descriptors");
    hipc_pipe p;
    unsigned char wire[HIPC_FRAME_HEADER_BYTES + 5];
    char buf[16];
    size_t len = 0, written = 0;
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, "hello", 5, 16,
                                       &written),
                     HIPC_OK);
    assert_int_equal(written, sizeof wire);
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_NONBLOCK), HIPC_OK);
    int wfd = hipc_pipe_get_fd(&p, HIPC_PIPE_WRITE_END);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 16, 0, &len), HIPC_E_AGAIN);
    /* Cut inside the header, then inside the payload. */
    const size_t cuts[] = {3, HIPC_FRAME_HEADER_BYTES + 2, sizeof wire};
    size_t sent = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(write(wfd, wire + sent, cuts[i] - sent),
                         (ssize_t)(cuts[i] - sent));
        sent = cuts[i];
        int want = sent < sizeof wire ? HIPC_E_AGAIN : HIPC_OK;
        assert_int_equal(recv_len(&p, buf, sizeof buf, 16, 0, &len), want);
    }
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "hello", 5);
    /* The next frame starts clean, and a writer gone mid-frame truncates. */
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, "x", 1, 16, &written),
                     HIPC_OK);
    assert_int_equal(write(wfd, wire, written), (ssize_t)written);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 16, 0, &len), HIPC_OK);
    assert_int_equal(len, 1);
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, "hello", 5, 16,
                                       &written),
                     HIPC_OK);
    assert_int_equal(write(wfd, wire, 4), 4);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 16, 0, &len), HIPC_E_AGAIN);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 16, 0, &len),
                     HIPC_E_TRUNCATED);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 16, 0, &len), HIPC_E_EOF);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void frame_limits_are_checked_before_any_io(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[16];
    size_t len = 0, n = 99;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&p, "12345", 5, 4, HIPC_FOREVER),
                     HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_pipe_send_frame(&p, "1", 1,
                                          (size_t)HIPC_MAX_MSG_BYTES + 1,
                                          HIPC_FOREVER),
                     HIPC_E_TOO_BIG);
    assert_int_equal(recv_len(&p, buf, 8, 16, HIPC_FOREVER, &len),
                     HIPC_E_BUF_TOO_SMALL);
    assert_int_equal(recv_len(&p, buf, sizeof buf, 0, HIPC_FOREVER, &len),
                     HIPC_E_BUF_TOO_SMALL);
    assert_int_equal(recv_len(&p, buf, sizeof buf,
                              (size_t)HIPC_MAX_MSG_BYTES + 1, HIPC_FOREVER,
                              &len),
                     HIPC_E_TOO_BIG);
    assert_int_equal(recv_len(&p, NULL, 16, 16, HIPC_FOREVER, &len),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_recv_frame(&p, buf, 16, 16, -2),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_pipe_send_frame(&p, "1", 1, 16, INT64_MIN),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Writes raw bytes, closes the write end, and expects `want`. */
static void expect_recv(const void *raw, size_t rawlen, size_t max, int want)
{
    hipc_pipe p;
    char buf[64];
    size_t len = 99;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, raw, rawlen, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(recv_len(&p, buf, sizeof buf, max, HIPC_FOREVER, &len),
                     want);
    if (want != HIPC_OK)
        assert_int_equal(len, 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void bad_frames_on_the_wire_get_their_own_codes(void **state)
{
    (void)state;
    const unsigned char half_header[] = {'h', 'f', 1};
    const unsigned char short_payload[] = {'h', 'f', 1, 0,   5,
                                           0,   0,   0, 'a', 'b'};
    const unsigned char no_payload[] = {'h', 'f', 1, 0, 5, 0, 0, 0};
    const unsigned char garbage[] = "GET / HTTP/1.0\r\n";
    const unsigned char future[] = {'h', 'f', 9, 0, 1, 0, 0, 0, 'x'};
    const unsigned char huge[] = {'h', 'f', 1, 0, 0, 0, 0, 0x40, 'x'};
    const unsigned char ok[] = {'h', 'f', 1, 0, 2, 0, 0, 0, 'o', 'k'};
    expect_recv(half_header, sizeof half_header, 64, HIPC_E_TRUNCATED);
    expect_recv(short_payload, sizeof short_payload, 64, HIPC_E_TRUNCATED);
    expect_recv(no_payload, sizeof no_payload, 64, HIPC_E_TRUNCATED);
    expect_recv(garbage, sizeof garbage - 1, 64, HIPC_E_BAD_FRAME);
    expect_recv(future, sizeof future, 64, HIPC_E_VERSION);
    expect_recv(huge, sizeof huge, 64, HIPC_E_MSG_TOO_BIG);
    expect_recv(ok, sizeof ok, 64, HIPC_OK);
}

static void frame_up_to_pipe_buf_goes_out_in_one_write(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "packet-mode pipes (O_DIRECT), which a world refuses");
    /* In packet mode every write is one packet, so one packet of exactly
     * header + payload proves header and payload left in one writev. */
    hipc_pipe p;
    unsigned char payload[HIPC_PIPE_ATOMIC_BYTES - HIPC_FRAME_HEADER_BYTES];
    hipc_test_fill(payload, sizeof payload, 4);
    hipc_test_skip_if_short("short transfers split the frame's "
                            "writev into several packets");
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_DIRECT), HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&p, payload, sizeof payload, 0,
                                          HIPC_FOREVER),
                     HIPC_OK);
    unsigned char raw[2 * HIPC_PIPE_ATOMIC_BYTES];
    assert_int_equal(hipc_pipe_read_some(&p, raw, sizeof raw, HIPC_FOREVER),
                     HIPC_PIPE_ATOMIC_BYTES);
    assert_memory_equal(raw + HIPC_FRAME_HEADER_BYTES, payload, sizeof payload);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* ---- Syscall failures (fault-injection build only) ---------------------- */

#ifdef HIPC_FAULT_INJECTION
/* A write that failed before it started left the pipe empty; close it. */
static void close_unwritten(hipc_pipe *p)
{
    size_t n = 99;
    assert_int_equal(hipc_pipe_get_pending(p, &n), HIPC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hipc_pipe_close(p), HIPC_OK);
}

static void failing_syscalls_map_to_their_codes(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the SIGPIPE guard's own calls, which a write to a simulated pipe does not make");
    hipc_pipe p;
    hipc_fault_fail_nth(HIPC_SYS_PIPE2, 1, EMFILE);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_E_LIMIT);
    assert_int_equal(p.sys_errno, EMFILE);
    hipc_fault_fail_nth(HIPC_SYS_PIPE2, 1, EINVAL);
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_DIRECT),
                     HIPC_E_UNSUPPORTED);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_FCNTL, 1, EPERM);
    assert_int_equal(hipc_pipe_set_capacity(&p, 8192), HIPC_E_LIMIT);
    hipc_fault_fail_nth(HIPC_SYS_IOCTL, 1, EIO);
    size_t n = 0;
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_E_SYS);
    assert_int_equal(p.sys_errno, EIO);
    /* The mask (the test's fixture), as on older kernels. */
    hipc_fault_fail_nth(HIPC_SYS_SIGMASK, 1, EINVAL);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, NULL, HIPC_FOREVER),
                     HIPC_E_SYS);
    assert_int_equal(hipc_pipe_get_pending(&p, &n), HIPC_OK);
    assert_int_equal(n, 0); /* nothing was written without the guard */
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void adoption_reports_each_failing_check(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    hipc_pipe p;
    const enum hipc__sys_call calls[] = {HIPC_SYS_FCNTL, HIPC_SYS_FSTAT,
                                         HIPC_SYS_FCNTL};
    const unsigned long nth[] = {1, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        hipc_fault_fail_nth(calls[i], nth[i], EIO);
        assert_int_equal(hipc_pipe_adopt(&p, fds[0], HIPC_PIPE_READ_END, 0),
                         HIPC_E_SYS);
        assert_int_equal(p.sys_errno, EIO);
    }
    hipc_fault_reset();
    close(fds[0]);
    close(fds[1]);
}

/* Under the mask (the test's fixture), as on older kernels. */
static void failing_sigpending_stops_the_write_before_it_starts(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the SIGPIPE guard's own calls, which a write to a simulated pipe does not make");
    hipc_pipe p;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_SIGPENDING, 1, EFAULT);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, NULL, HIPC_FOREVER),
                     HIPC_E_BAD_ADDR);
    hipc_fault_reset();
    close_unwritten(&p);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

static void failing_poll_ends_a_timed_read(void **state)
{
    (void)state;
    hipc_pipe p;
    char c;
    size_t done = 99;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_POLL, 1, ENOMEM);
    assert_int_equal(hipc_pipe_read_exact(&p, &c, 1, &done, MS(1000)),
                     HIPC_E_NOMEM);
    assert_int_equal(done, 0);
    assert_int_equal(p.sys_errno, ENOMEM);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void unreadable_max_size_is_reported(void **state)
{
    (void)state;
    size_t max = 0;
    int err = 0;
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, ENOENT);
    assert_int_equal(hipc_pipe_get_max_size(&max, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, ENOENT);
    hipc_fault_fail_nth(HIPC_SYS_READ, 1, EIO);
    assert_int_equal(hipc_pipe_get_max_size(&max, &err), HIPC_E_SYS);
    assert_int_equal(err, EIO);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 1, EMFILE);
    assert_int_equal(hipc_pipe_set_capacity(&p, 8192), HIPC_E_LIMIT);
    assert_int_equal(p.sys_errno, EMFILE);
    hipc_fault_fail_nth(HIPC_SYS_FCNTL, 1, EIO);
    assert_int_equal(hipc_pipe_set_capacity(&p, 8192), HIPC_E_SYS);
    hipc_fault_fail_nth(HIPC_SYS_FCNTL, 1, EIO);
    assert_int_equal(hipc_pipe_get_capacity(&p), HIPC_E_SYS);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Under the mask (the test's fixture), as on older kernels. */
static void failing_mask_stops_a_frame_before_it_starts(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the SIGPIPE guard's own calls, which a write to a simulated pipe does not make");
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_SIGMASK, 1, EINVAL);
    assert_int_equal(hipc_pipe_send_frame(&p, "x", 1, 0, HIPC_FOREVER),
                     HIPC_E_SYS);
    hipc_fault_reset();
    close_unwritten(&p);
}

static void fail_this_mask_call(void *arg)
{
    (void)arg;
    hipc_fault_fail_nth(HIPC_SYS_SIGMASK, 1, EINVAL);
}

/* A kernel without RWF_NOSIGNAL answers EOPNOTSUPP (ENOSYS without
 * pwritev2) having written nothing: the write goes again under the mask,
 * every later one too, and SIGPIPE still never reaches the caller. */
static void a_kernel_without_rwf_nosignal_gets_the_mask(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the SIGPIPE guard's own calls, which a write to a simulated pipe does not make");
    const int refusals[] = {EOPNOTSUPP, ENOSYS};
    for (size_t i = 0; i < 2; i++) {
        hipc_pipe p;
        assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
        /* Refused on the fast path of write_all, then inside a frame. */
        hipc_fault_fail_nth(HIPC_SYS_WRITE, 1, refusals[i]);
        if (i == 0)
            assert_int_equal(hipc_pipe_write_all(&p, "ab", 2, NULL,
                                                 HIPC_FOREVER),
                             HIPC_OK);
        else
            assert_int_equal(hipc_pipe_send_frame(&p, "ab", 2, 0, HIPC_FOREVER),
                             HIPC_OK);
        hipc_fault_reset();
        /* From now on: the mask. A failing mask proves it is in use. */
        hipc_fault_fail_nth(HIPC_SYS_SIGMASK, 1, EINVAL);
        assert_int_equal(hipc_pipe_send_frame(&p, "c", 1, 0, HIPC_FOREVER),
                         HIPC_E_SYS);
        hipc_fault_reset();
        assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_READ_END), HIPC_OK);
        assert_int_equal(hipc_pipe_write_all(&p, "d", 1, NULL, HIPC_FOREVER),
                         HIPC_E_PEER_GONE);
        assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
        hipc__pipe_set_nosignal(1); /* the kernel "refused" it: try again */
    }
    /* Refused, and then the mask cannot be set: the write never starts.
     * (One planned failure at a time: the first mask call's hook plans
     * the second, just before that call asks.) */
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_WRITE, 1, EOPNOTSUPP);
    hipc_fault_hook_nth(HIPC_SYS_SIGMASK, 1, fail_this_mask_call, NULL);
    assert_int_equal(hipc_pipe_send_frame(&p, "x", 1, 0, HIPC_FOREVER),
                     HIPC_E_SYS);
    assert_int_equal(p.sys_errno, EINVAL);
    hipc_fault_reset();
    close_unwritten(&p);
}

/* A frame larger than PIPE_BUF may be split anywhere, even inside its
 * header; the rest still goes out in order. */
static void frame_split_inside_its_header_still_arrives_whole(void **state)
{
    (void)state;
    hipc_pipe p;
    static unsigned char out[5000], in[5000];
    hipc_test_fill(out, sizeof out, 6);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_short_io(3);
    assert_int_equal(hipc_pipe_send_frame(&p, out, sizeof out, sizeof out,
                                          HIPC_FOREVER),
                     HIPC_OK);
    size_t len = 0;
    assert_int_equal(recv_len(&p, in, sizeof in, sizeof in, HIPC_FOREVER, &len),
                     HIPC_OK);
    assert_int_equal(len, sizeof out);
    assert_memory_equal(in, out, sizeof out);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void failing_close_still_releases_both_ends(void **state)
{
    (void)state;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_CLOSE, 1, EIO);
    assert_int_equal(hipc_pipe_close(&p), HIPC_E_SYS);
    assert_int_equal(p.sys_errno, EIO);
    assert_int_equal(hipc_pipe_close(&p), HIPC_E_STALE_HANDLE);
    hipc_fault_reset();
    /* teardown checks that no descriptor is left */
}

static void io_validates_nothing_again_after_adoption(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    hipc_pipe r, w;
    assert_int_equal(hipc_pipe_adopt(&r, fds[0], HIPC_PIPE_READ_END, 0),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_adopt(&w, fds[1], HIPC_PIPE_WRITE_END,
                                     HIPC_PIPE_SIGPIPE_IGNORED),
                     HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_COUNT_, 1000, EIO); /* counts calls */
    char buf[4];
    for (int i = 0; i < 10; i++) {
        assert_int_equal(hipc_pipe_write_all(&w, "abc", 3, NULL, HIPC_FOREVER),
                         HIPC_OK);
        assert_int_equal(hipc_pipe_read_exact(&r, buf, 3, NULL, HIPC_FOREVER),
                         HIPC_OK);
    }
    assert_int_equal(hipc_fault_calls(HIPC_SYS_FCNTL), 0);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_FSTAT), 0);
    assert_true(hipc_fault_calls(HIPC_SYS_WRITE) >= 10);
    assert_true(hipc_fault_calls(HIPC_SYS_READ) >= 10);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&r), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&w), HIPC_OK);
}

static void short_transfers_and_eintr_are_absorbed(void **state)
{
    (void)state;
    hipc_pipe p;
    unsigned char out[1000], in[1000];
    hipc_test_fill(out, sizeof out, 5);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_short_io(7);
    hipc_fault_eintr_first(1);
    size_t done = 0;
    assert_int_equal(hipc_pipe_write_all(&p, out, sizeof out, &done,
                                         HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(done, sizeof out);
    assert_int_equal(hipc_pipe_read_exact(&p, in, sizeof in, &done,
                                          HIPC_FOREVER),
                     HIPC_OK);
    assert_memory_equal(in, out, sizeof out);
    assert_int_equal(hipc_pipe_send_frame(&p, out, 100, 0, HIPC_FOREVER),
                     HIPC_OK);
    size_t len = 0;
    assert_int_equal(recv_len(&p, in, sizeof in, sizeof in, HIPC_FOREVER, &len),
                     HIPC_OK);
    assert_int_equal(len, 100);
    assert_memory_equal(in, out, 100);
    assert_int_equal(hipc_pipe_write_all(&p, out, 50, &done, MS(1000)),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, in, 50, &done, MS(1000)),
                     HIPC_OK);
    assert_memory_equal(in, out, 50);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}
/* The first writev of a frame larger than PIPE_BUF moves one byte (a
 * short write the kernel may make), and the write that should finish the
 * header fails: the failure comes back with its errno. */
static void
a_frame_whose_header_is_cut_short_reports_the_next_failure(void **state)
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
                                          sizeof payload, HIPC_FOREVER),
                     HIPC_E_SYS);
    assert_true(hipc_fault_fired());
    assert_int_equal(p.sys_errno, EIO);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}
#endif

/* A handle that is not one is reported as such even when the other
 * arguments are wrong too: the handle is checked first. */
static void a_bad_handle_outranks_a_bad_size_or_timeout(void **state)
{
    (void)state;
    hipc_pipe bad;
    char buf[4];
    size_t done = 9;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(hipc_pipe_read_some(&bad, buf, 0, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_write_all(&bad, buf, 1, &done, MS(-1)),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_read_exact(NULL, buf, 1, NULL, MS(-1)),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_read_some(&bad, buf, 1, MS(-1)),
                     HIPC_E_BAD_HANDLE);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 0, HIPC_FOREVER),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 1, MS(-1)),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_pipe_read_some(&p, buf, 0, HIPC_FOREVER),
                     HIPC_E_STALE_HANDLE);
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
    assert_int_equal(hipc_pipe_write_all(&p, "abc", 3, &done, MS(999)),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 3, &done, MS(999)), HIPC_OK);
    assert_int_equal(done, 3);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Every test starts in its group's SIGPIPE guard and is put back to it;
 * TM and TN pin the mask or RWF_NOSIGNAL for one test (support.h). */
#define T(f) HIPC_PIPE_TEST(f)
#define TM(f) HIPC_PIPE_TEST_MASKED(f)
#define TN(f) HIPC_PIPE_TEST_NOSIGNAL(f)

static const struct CMUnitTest tests[] = {
    T(bytes_written_to_write_fd_come_out_of_read_fd),
    T(created_ends_are_close_on_exec_and_blocking_by_default),
    T(nonblock_and_direct_flags_reach_the_kernel),
    T(packet_mode_keeps_two_writes_two_reads),
    T(create_rejects_null_and_unknown_flags),
    T(wrong_end_use_is_wrong_end),
    T(zeroed_and_garbage_handles_are_bad_handle),
    T(closed_handle_is_stale),
    T(out_of_range_end_or_null_buffer_is_rejected),
    T(adopted_ends_work_and_close_with_the_handle),
    T(negative_closed_and_o_path_descriptors_are_bad_fd),
    T(files_and_sockets_are_not_pipe),
    T(descriptor_without_the_needed_access_is_wrong_end),
    T(adopt_rejects_null_bad_end_and_flags_it_does_not_take),
    T(adopted_nonblocking_descriptor_reports_again),
    T(read_exact_tells_eof_at_a_boundary_from_a_truncated_read),
    T(read_some_returns_what_is_there_without_waiting_for_more),
    T(nonblocking_pipe_reports_again_when_empty_and_when_full),
    T(pending_counts_bytes_waiting_from_either_end),
    T(negative_timeout_is_bad_timeout),
    T(read_on_an_empty_pipe_times_out_no_earlier_than_the_deadline),
    T(timed_out_read_reports_the_bytes_already_read),
    T(zero_timeout_takes_what_is_there_and_never_waits),
    T(forever_waits_on_a_nonblocking_pipe_until_bytes_come),
    T(zero_timeout_never_blocks_a_blocking_pipe),
    T(timed_out_recv_keeps_its_place_in_the_frame),
    T(write_into_a_full_pipe_times_out_with_the_bytes_moved),
    T(max_size_is_the_value_in_proc),
    T(capacity_is_granted_rounded_up_and_reported),
    T(capacity_beyond_the_system_maximum_or_zero_is_refused),
    T(shrinking_below_the_data_waiting_is_bad_state),
    T(frames_arrive_whole_and_in_order),
    T(nonblocking_recv_resumes_a_frame_that_arrives_in_pieces),
    T(frame_limits_are_checked_before_any_io),
    T(bad_frames_on_the_wire_get_their_own_codes),
    T(frame_up_to_pipe_buf_goes_out_in_one_write),
    T(a_bad_handle_outranks_a_bad_size_or_timeout),
    T(a_deadline_that_carries_into_the_next_second_works),
#ifdef HIPC_FAULT_INJECTION
    TM(failing_syscalls_map_to_their_codes),
    T(adoption_reports_each_failing_check),
    TM(failing_sigpending_stops_the_write_before_it_starts),
    T(failing_poll_ends_a_timed_read),
    T(unreadable_max_size_is_reported),
    TM(failing_mask_stops_a_frame_before_it_starts),
    TN(a_kernel_without_rwf_nosignal_gets_the_mask),
    T(frame_split_inside_its_header_still_arrives_whole),
    T(failing_close_still_releases_both_ends),
    T(io_validates_nothing_again_after_adoption),
    T(short_transfers_and_eintr_are_absorbed),
    T(a_frame_whose_header_is_cut_short_reports_the_next_failure),
#endif
};

HIPC_TEST_MAIN_BOTH_GUARDS(tests)
