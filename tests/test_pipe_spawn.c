/* SPDX-License-Identifier: MIT */
/* Tests for parent and child over a pipe: hipc_pipe_spawn() and
 * hipc_pipe_child_finish(), two processes every time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/error.h"
#include "hipc/pipe.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("spawns processes")

#define HELLO "Hello, world.\n"

/* Child: reads the five greetings through its stream; exit code = count. */
static int read_greetings(hipc_pipe *p, FILE *in, void *arg)
{
    (void)p;
    (void)arg;
    char line[64];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        if (strcmp(line, HELLO) != 0)
            return 100;
        n++;
    }
    return n;
}

static void parent_writes_five_lines_and_the_child_reads_them(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c,
                                     HIPC_SPAWN_PARENT_STREAM |
                                         HIPC_SPAWN_CHILD_STREAM,
                                     read_greetings, NULL),
                     HIPC_OK);
    assert_true(c.pid > 0);
    assert_non_null(c.stream);
    for (int i = 0; i < 5; i++) {
        assert_true(fputs(HELLO, c.stream) >= 0);
        assert_int_equal(fflush(c.stream), 0);
    }
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 5);
}

static int write_hello(hipc_pipe *p, FILE *out, void *arg)
{
    (void)arg;
    if (out != NULL)
        return 9;
    return hipc_pipe_write_all(p, "from child", 10, NULL, HIPC_FOREVER) ==
                   HIPC_OK
               ? 0
               : 1;
}

static void child_writes_and_the_parent_reads_until_eof(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_CHILD_WRITES, write_hello,
                                     NULL),
                     HIPC_OK);
    assert_null(c.stream);
    assert_int_equal(c.pipe.write_fd, -1);
    char buf[16] = {0};
    assert_int_equal(hipc_pipe_read_exact(&c.pipe, buf, 10, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_string_equal(buf, "from child");
    /* The child closed its end when it returned: end of file. */
    assert_int_equal(hipc_pipe_read_some(&c.pipe, buf, sizeof buf,
                                         HIPC_FOREVER),
                     HIPC_E_EOF);
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0);
}

struct fd_probe {
    int fds_at_spawn;
};

/* Descriptors of this process that refer to the same pipe as `fd`. */
static int ends_of_pipe(int fd)
{
    struct stat want;
    if (fstat(fd, &want) != 0)
        return -1;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] != '.' && fstat(atoi(e->d_name), &st) == 0 &&
            st.st_dev == want.st_dev && st.st_ino == want.st_ino)
            n++;
    }
    closedir(d);
    return n;
}

/* Child: its own end, and no other descriptor of the pipe, is open. (The
 * total count is not compared: valgrind opens descriptors of its own in
 * a forked child.) */
static int count_descriptors(hipc_pipe *p, FILE *out, void *arg)
{
    (void)out;
    (void)arg;
    if (p->read_fd < 0 || p->write_fd != -1)
        return 2;
    return ends_of_pipe(p->read_fd) == 1 ? 0 : 1;
}

static void only_its_own_end_is_left_open_on_either_side(void **state)
{
    (void)state;
    struct fd_probe probe = {.fds_at_spawn = hipc_test_fd_count()};
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, 0, count_descriptors, &probe),
                     HIPC_OK);
    assert_int_equal(hipc_test_fd_count(), probe.fds_at_spawn + 1);
    assert_int_equal(c.pipe.read_fd, -1);
    assert_true(c.pipe.write_fd >= 0);
    assert_int_equal(ends_of_pipe(c.pipe.write_fd), 1);
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0);
    assert_int_equal(hipc_test_fd_count(), probe.fds_at_spawn);
}

static int return_arg(hipc_pipe *p, FILE *s, void *arg)
{
    (void)p;
    (void)s;
    return *(const int *)arg;
}

static int die_by_signal(hipc_pipe *p, FILE *s, void *arg)
{
    (void)p;
    (void)s;
    (void)arg;
    raise(SIGKILL);
    return 0;
}

static void exit_code_and_death_by_signal_are_reported(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int want = 42, code = -1;
    assert_int_equal(hipc_pipe_spawn(&c, 0, return_arg, &want), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 42);
    want = 300; /* only the low 8 bits survive, as with exit() */
    assert_int_equal(hipc_pipe_spawn(&c, 0, return_arg, &want), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 300 & 0xff);
    assert_int_equal(hipc_pipe_spawn(&c, 0, die_by_signal, NULL), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_CHILD);
    assert_int_equal(code, 128 + SIGKILL);
}

static int write_three_and_leave(hipc_pipe *p, FILE *s, void *arg)
{
    (void)s;
    (void)arg;
    return hipc_pipe_write_all(p, "abc", 3, NULL, HIPC_FOREVER) == HIPC_OK ? 0
                                                                           : 1;
}

static void reader_whose_writer_is_gone_gets_truncated_then_eof(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_CHILD_WRITES,
                                     write_three_and_leave, NULL),
                     HIPC_OK);
    char buf[10];
    size_t done = 0;
    assert_int_equal(hipc_pipe_read_exact(&c.pipe, buf, sizeof buf, &done,
                                          HIPC_FOREVER),
                     HIPC_E_TRUNCATED);
    assert_int_equal(done, 3);
    assert_int_equal(hipc_pipe_read_exact(&c.pipe, buf, sizeof buf, &done,
                                          HIPC_FOREVER),
                     HIPC_E_EOF);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_child_finish(&c, NULL, HIPC_FOREVER), HIPC_OK);
}

static int leave_at_once(hipc_pipe *p, FILE *s, void *arg)
{
    (void)p;
    (void)s;
    (void)arg;
    return 0;
}

static void writer_whose_reader_is_gone_gets_peer_gone_and_lives(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, 0, leave_at_once, NULL), HIPC_OK);
    /* More than the pipe holds: the write blocks until the child is gone. */
    size_t len = 1u << 20;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    size_t done = len;
    assert_int_equal(hipc_pipe_write_all(&c.pipe, buf, len, &done,
                                         HIPC_FOREVER),
                     HIPC_E_PEER_GONE);
    assert_true(done < len);
    assert_int_equal(c.pipe.sys_errno, EPIPE);
    free(buf);
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0);
}

static void stream_flush_to_a_gone_child_is_peer_gone_not_death(void **state)
{
    (void)state;
    hipc_pipe_child c;
    sigset_t pending;
    assert_int_equal(sigpending(&pending), 0);
    int was_pending = sigismember(&pending, SIGPIPE);
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM,
                                     leave_at_once, NULL),
                     HIPC_OK);
    /* Wait for the child's exit without reaping it: its end is closed. */
    siginfo_t info;
    assert_int_equal(waitid(P_PID, (id_t)c.pid, &info, WEXITED | WNOWAIT), 0);
    assert_true(fputs("buffered, not yet written", c.stream) >= 0);
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_PEER_GONE);
    assert_int_equal(code, 0);
    assert_int_equal(c.sys_errno, EPIPE);
    /* Ours consumed; one pending from before (hostile stage) is kept. */
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGPIPE), was_pending);
}

/* Writes through the parent's stream to a child that has gone: EPIPE
 * from fflush, and the caller (SIGPIPE at its default action, as in a
 * program that never heard of it) survives. Run in a child process, so
 * the disposition cannot reach other tests. */
static void stream_writes_to_a_gone_child_fail_with_epipe(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t tester = fork();
    assert_true(tester >= 0);
    if (tester == 0) {
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        hipc_pipe_child c;
        if (hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM, leave_at_once,
                            NULL) != HIPC_OK)
            _exit(2);
        siginfo_t info;
        if (waitid(P_PID, (id_t)c.pid, &info, WEXITED | WNOWAIT) != 0)
            _exit(3);
        if (fileno(c.stream) != -1)
            _exit(4);
        static char big[1 << 16];
        /* More than stdio buffers: fwrite itself writes, and fails. */
        errno = 0;
        size_t n = fwrite(big, 1, sizeof big, c.stream);
        if (n >= sizeof big || errno != EPIPE || !ferror(c.stream))
            _exit(5);
        /* Buffered, then flushed: fflush fails. */
        clearerr(c.stream);
        errno = 0;
        if (fputs("x", c.stream) < 0 || fflush(c.stream) != EOF ||
            errno != EPIPE)
            _exit(6);
        int code = -1;
        int rc = hipc_pipe_child_finish(&c, &code, HIPC_FOREVER);
        _exit((rc == HIPC_E_PEER_GONE || rc == HIPC_OK) && code == 0 ? 0 : 7);
    }
    assert_int_equal(hipc_test_wait_child(tester, 30), 0);
}

/* Child: leaves output in its stream's buffer, then waits (on the raw pipe
 * in `arg`) until the parent has closed its end, so hipc's own final
 * fclose meets a gone reader. SIGPIPE has its default action, as in a
 * program that never heard of it. */
static int buffer_then_wait_for_the_parent(hipc_pipe *p, FILE *out, void *arg)
{
    (void)p;
    const int *sync = arg;
    char c;
    signal(SIGPIPE, SIG_DFL);
    close(sync[1]); /* inherited: the parent's close must end the read */
    if (fputs("left in the buffer", out) < 0)
        return 3;
    return read(sync[0], &c, 1) == 0 ? 0 : 4;
}

static void childs_final_flush_to_a_gone_parent_does_not_kill_it(void **state)
{
    (void)state;
    int sync[2];
    assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c,
                                     HIPC_SPAWN_CHILD_WRITES |
                                         HIPC_SPAWN_CHILD_STREAM,
                                     buffer_then_wait_for_the_parent, sync),
                     HIPC_OK);
    /* The parent's read end goes first, then the child may end. */
    assert_int_equal(hipc_pipe_close(&c.pipe), HIPC_OK);
    assert_int_equal(close(sync[1]), 0);
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0); /* fn's value, not 128 + SIGPIPE */
    assert_int_equal(close(sync[0]), 0);
}

/* Output the parent had buffered but not flushed must not come out twice
 * (the child would flush its inherited copy when it ends). */
static void buffered_output_is_not_repeated_by_the_child(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    FILE *f = fdopen(fds[1], "w");
    assert_non_null(f);
    assert_int_equal(setvbuf(f, NULL, _IOFBF, 256), 0);
    assert_true(fputs("once", f) >= 0);
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, 0, leave_at_once, NULL), HIPC_OK);
    int code = -1;
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0);
    assert_int_equal(fclose(f), 0);
    char buf[16] = {0};
    assert_int_equal(read(fds[0], buf, sizeof buf - 1), 4);
    assert_string_equal(buf, "once");
    close(fds[0]);
}

static void spawn_and_finish_reject_bad_arguments_and_handles(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int code = 0;
    assert_int_equal(hipc_pipe_spawn(NULL, 0, leave_at_once, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_pipe_spawn(&c, 0, NULL, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_pipe_spawn(&c, 0x80u, leave_at_once, NULL),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_pipe_child_finish(NULL, &code, HIPC_FOREVER),
                     HIPC_E_NULL);
    memset(&c, 0, sizeof c);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_spawn(&c, 0, leave_at_once, NULL), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_STALE_HANDLE);
}

/* A child that closes its own end (so the parent's flush meets a gone
 * reader) and then waits until the parent opens its gate. */
static int wait_at_gate(hipc_pipe *pipe, FILE *stream, void *arg)
{
    const int *gate = arg;
    (void)stream;
    if (pipe != NULL && hipc_pipe_close(pipe) != HIPC_OK)
        return 1;
    char c;
    return read(gate[0], &c, 1) == 1 ? 5 : 2;
}

static void open_gate(int gate[2])
{
    assert_int_equal(write(gate[1], "g", 1), 1);
    close(gate[0]);
    close(gate[1]);
}

static void finish_that_runs_out_leaves_the_child_unreaped(void **state)
{
    (void)state;
    int gate[2];
    assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
    hipc_pipe_child c;
    int code = 0;
    assert_int_equal(hipc_pipe_spawn(&c, 0, wait_at_gate, gate), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, -2), HIPC_E_BAD_TIMEOUT);
    assert_true(c.pipe.write_fd >= 0); /* refused before anything */
    assert_int_equal(hipc_pipe_child_finish(&c, &code, 0), HIPC_E_AGAIN);
    assert_int_equal(code, -1);
    assert_int_equal(c.pipe.write_fd, -1); /* its end is closed already */
    assert_int_equal(hipc_pipe_child_finish(&c, &code, 20000000),
                     HIPC_E_TIMEDOUT);
    /* Not reaped: the kernel still has it as our child. */
    assert_int_equal(waitpid(c.pid, NULL, WNOHANG), 0);
    open_gate(gate);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, INT64_MAX), HIPC_OK);
    assert_int_equal(code, 5);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, 0), HIPC_E_STALE_HANDLE);
}

/* The parent's stream cannot be flushed (the child closed its end): the
 * flush error waits through a timed-out finish and comes with the reap. */
static void flush_error_is_kept_until_the_child_is_reaped(void **state)
{
    (void)state;
    int gate[2];
    assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
    hipc_pipe_child c;
    int code = 0;
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM, wait_at_gate,
                                     gate),
                     HIPC_OK);
    /* The child has closed its end once the write end reports an error. */
    struct pollfd pfd = {.fd = c.pipe.write_fd, .events = POLLOUT};
    while (!(pfd.revents & POLLERR))
        assert_true(poll(&pfd, 1, -1) == 1);
    assert_true(fputs("lost", c.stream) >= 0);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, 0), HIPC_E_AGAIN);
    assert_null(c.stream);
    open_gate(gate);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_PEER_GONE);
    assert_int_equal(code, 5);
}

/* A timed finish of a child that ends on its own: reaped by looking again
 * after naps, with the exit code. */
static void timed_finish_reaps_a_child_that_ends(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int want = 11, code = -1;
    assert_int_equal(hipc_pipe_spawn(&c, 0, return_arg, &want), HIPC_OK);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, 10000000000LL), HIPC_OK);
    assert_int_equal(code, 11);
}

static void reaped_elsewhere_child_is_reported_as_child(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int code = 0, status = 0;
    assert_int_equal(hipc_pipe_spawn(&c, 0, leave_at_once, NULL), HIPC_OK);
    assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER),
                     HIPC_E_CHILD);
    assert_int_equal(c.sys_errno, ECHILD);
}

/* A real fork failure: an unprivileged process with RLIMIT_NPROC 0. */
static void failed_fork_closes_both_ends(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit none = {0, 0};
        if (hipc_test_drop_privileges() != 0 ||
            setrlimit(RLIMIT_NPROC, &none) != 0)
            _exit(10);
        int fds = hipc_test_fd_count();
        hipc_pipe_child c;
        if (hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM, leave_at_once,
                            NULL) != HIPC_E_LIMIT)
            _exit(11);
        if (c.sys_errno != EAGAIN)
            _exit(12);
        _exit(hipc_test_fd_count() == fds ? 0 : 13);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
}

#ifdef HIPC_FAULT_INJECTION
static void failed_parent_stream_kills_reaps_and_closes(void **state)
{
    (void)state;
    hipc_pipe_child c;
    hipc_fault_fail_nth(HIPC_SYS_FDOPEN, 1, ENOMEM);
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM,
                                     leave_at_once, NULL),
                     HIPC_E_NOMEM);
    assert_int_equal(c.sys_errno, ENOMEM);
    hipc_fault_reset();
    /* Reaped: no child of ours is left. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

/* Fails the nth call of `call` inside finish: the failure is reported
 * (HIPC_E_SYS, the errno) only after the child is reaped, and the handle
 * is done. */
static void finish_fails_after_the_reap(hipc_pipe_child *c,
                                        enum hipc__sys_call call,
                                        unsigned long nth, int err)
{
    int code = -1;
    hipc_fault_fail_nth(call, nth, err);
    int rc = hipc_pipe_child_finish(c, &code, HIPC_FOREVER);
    assert_true(hipc_fault_fired());
    hipc_fault_reset();
    assert_int_equal(rc, HIPC_E_SYS);
    assert_int_equal(c->sys_errno, err);
    assert_true(code >= 0);
    assert_int_equal(hipc_pipe_child_finish(c, &code, HIPC_FOREVER),
                     HIPC_E_STALE_HANDLE);
}

/* A wait that fails in a way the kernel does not document for it: the
 * errno comes back, the child stays ours, and a second finish reaps it. */
static void unexpected_wait_failure_leaves_the_child_to_finish(void **state)
{
    (void)state;
    hipc_pipe_child c;
    int code = -1;
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM,
                                     leave_at_once, NULL),
                     HIPC_OK);
    hipc_fault_fail_nth(HIPC_SYS_WAITPID, 1, EINVAL);
    int rc = hipc_pipe_child_finish(&c, &code, HIPC_FOREVER);
    assert_true(hipc_fault_fired());
    hipc_fault_reset();
    assert_int_equal(rc, HIPC_E_SYS);
    assert_int_equal(c.sys_errno, EINVAL);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0);
}

/* The stream's last flush fails inside its write (the mask guard's
 * rt_sigprocmask, on a kernel without RWF_NOSIGNAL). */
static void failing_flush_is_reported_after_the_reap(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c,
                                     HIPC_SPAWN_PARENT_STREAM |
                                         HIPC_SPAWN_CHILD_STREAM,
                                     read_greetings, NULL),
                     HIPC_OK);
    assert_true(fputs(HELLO, c.stream) >= 0);
    finish_fails_after_the_reap(&c, HIPC_SYS_SIGMASK, 1, EINVAL);
}

/* fclose's own failure. */
static void failing_stream_close_is_reported_after_the_reap(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM,
                                     leave_at_once, NULL),
                     HIPC_OK);
    finish_fails_after_the_reap(&c, HIPC_SYS_CLOSE, 1, EIO);
}

/* The writing stream's own close (of the pipe, in the cookie) fails:
 * fclose's own count first, then the pipe's close in the cookie. */
static void failing_close_inside_the_stream_is_reported(void **state)
{
    (void)state;
    hipc_pipe_child c;
    assert_int_equal(hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM,
                                     leave_at_once, NULL),
                     HIPC_OK);
    finish_fails_after_the_reap(&c, HIPC_SYS_CLOSE, 2, EIO);
}

static void failing_pipe_creation_reports_its_code(void **state)
{
    (void)state;
    hipc_pipe_child c;
    hipc_fault_fail_nth(HIPC_SYS_PIPE2, 1, ENFILE);
    assert_int_equal(hipc_pipe_spawn(&c, 0, leave_at_once, NULL), HIPC_E_LIMIT);
    assert_int_equal(c.sys_errno, ENFILE);
}
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
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
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
    return hipc_pipe_write_all(pipe, "hi", 2, &done, HIPC_FOREVER) == HIPC_OK
               ? 0
               : 1;
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
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 6);
    assert_int_equal(hipc_pipe_spawn(&c,
                                     HIPC_SPAWN_CHILD_WRITES |
                                         HIPC_SPAWN_PARENT_STREAM,
                                     child_writes_hi, NULL),
                     HIPC_OK);
    assert_int_equal(fread(buf, 1, 2, c.stream), 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(code, 0);
}

#define T(f) HIPC_PIPE_TEST(f) /* in its group's SIGPIPE guard */

static const struct CMUnitTest tests[] = {
    T(finish_after_the_caller_closed_the_pipe_only_reaps),
    T(children_close_early_and_parents_read_streams),
    T(parent_writes_five_lines_and_the_child_reads_them),
    T(child_writes_and_the_parent_reads_until_eof),
    T(only_its_own_end_is_left_open_on_either_side),
    T(exit_code_and_death_by_signal_are_reported),
    T(reader_whose_writer_is_gone_gets_truncated_then_eof),
    T(writer_whose_reader_is_gone_gets_peer_gone_and_lives),
    T(stream_flush_to_a_gone_child_is_peer_gone_not_death),
    T(stream_writes_to_a_gone_child_fail_with_epipe),
    T(buffered_output_is_not_repeated_by_the_child),
    T(childs_final_flush_to_a_gone_parent_does_not_kill_it),
    T(spawn_and_finish_reject_bad_arguments_and_handles),
    T(reaped_elsewhere_child_is_reported_as_child),
    T(finish_that_runs_out_leaves_the_child_unreaped),
    T(flush_error_is_kept_until_the_child_is_reaped),
    T(timed_finish_reaps_a_child_that_ends),
    T(failed_fork_closes_both_ends),
#ifdef HIPC_FAULT_INJECTION
    T(failed_parent_stream_kills_reaps_and_closes),
    T(failing_pipe_creation_reports_its_code),
    HIPC_PIPE_TEST_MASKED(failing_flush_is_reported_after_the_reap),
    T(unexpected_wait_failure_leaves_the_child_to_finish),
    T(failing_stream_close_is_reported_after_the_reap),
    T(failing_close_inside_the_stream_is_reported),
#endif
};

HIPC_TEST_MAIN_BOTH_GUARDS(tests)
