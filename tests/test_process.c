/* SPDX-License-Identifier: MIT */
/* Tests for running programs: hipc_process_spawn, wait, signal, stop,
 * close and get_fd, against tests/helpers/proc_helper.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/error.h"
#include "hipc/process.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("spawns processes")

/* What a spawn holds at its peak: three pipes, the exec-failure pipe,
 * the pidfd and /dev/null. */
#define SPAWN_PEAK_FDS 10
#define HELPER HIPC_PROC_HELPER
#define SEC 1000000000LL

static int no_child_left(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* Everything the child writes to its stdout pipe, until end of file. */
static size_t read_all(hipc_process *p, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        int n =
            hipc_pipe_read_some(&p->out, buf + got, cap - 1 - got, 10 * SEC);
        if (n == HIPC_E_EOF)
            break;
        assert_true(n > 0);
        got += (size_t)n;
        assert_true(got < cap - 1);
    }
    buf[got] = '\0';
    return got;
}

static const hipc_process_config out_pipe = {
    .stdio = {HIPC_PROCESS_IO_INHERIT, HIPC_PROCESS_IO_PIPE,
              HIPC_PROCESS_IO_INHERIT}};

/* Runs the helper with stdout on a pipe and returns what it printed. */
static int run_helper(const hipc_process_config *cfg, char *const argv[],
                      char *buf, size_t cap)
{
    hipc_process p;
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, cfg), HIPC_OK);
    read_all(&p, buf, cap);
    int status = -1000;
    assert_int_equal(hipc_process_wait(&p, &status, 10 * SEC), HIPC_OK);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    return status;
}

static void child_holds_exactly_descriptors_0_1_2(void **state)
{
    (void)state;
    /* Descriptors the child must not get: one without close-on-exec, one
     * high above the rest (the highest the limit allows, 200 at most). */
    struct rlimit lim;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
    int top = lim.rlim_cur > 201 ? 200 : (int)lim.rlim_cur - 1;
    int loose = open("/dev/null", O_RDONLY);
    assert_true(loose >= 3);
    int high = fcntl(loose, F_DUPFD, top);
    assert_int_equal(high, top);
    char *argv[] = {"proc_helper", "fds", NULL};
    char buf[256];
    assert_int_equal(run_helper(&out_pipe, argv, buf, sizeof buf), 0);
    assert_string_equal(buf, "0 1 2\n");
    close(loose);
    close(high);
    assert_true(no_child_left());
}

/* The signal test's changes to the tester's own mask and dispositions,
 * undone by a teardown. A failed check returns through cmocka's longjmp,
 * which puts the mask back first: the SIGUSR1 left pending then reaches
 * a handler that does nothing instead of ending the program. */
static sigset_t saved_mask;
static struct sigaction saved_hup, saved_usr1, saved_usr2;

static void ignore_usr1(int sig)
{
    (void)sig;
}

static int save_signals(void **state)
{
    (void)state;
    struct sigaction quiet = {.sa_handler = ignore_usr1};
    sigprocmask(SIG_BLOCK, NULL, &saved_mask);
    sigaction(SIGHUP, NULL, &saved_hup);
    sigaction(SIGUSR2, NULL, &saved_usr2);
    return sigaction(SIGUSR1, &quiet, &saved_usr1);
}

static int restore_signals(void **state)
{
    (void)state;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    struct timespec none = {0, 0};
    while (sigtimedwait(&usr1, NULL, &none) == SIGUSR1)
        ;
    sigaction(SIGHUP, &saved_hup, NULL);
    sigaction(SIGUSR1, &saved_usr1, NULL);
    sigaction(SIGUSR2, &saved_usr2, NULL);
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    return 0;
}

static void child_starts_with_no_signal_blocked_or_ignored(void **state)
{
    (void)state;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGALRM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
    struct sigaction ign = {.sa_handler = SIG_IGN};
    assert_int_equal(sigaction(SIGHUP, &ign, NULL), 0);
    assert_int_equal(sigaction(SIGUSR2, &ign, NULL), 0);
    /* A signal pending in the parent is not the child's. */
    raise(SIGUSR1);
    char *argv[] = {"proc_helper", "signals", NULL};
    char buf[256];
    assert_int_equal(run_helper(&out_pipe, argv, buf, sizeof buf), 0);
    assert_string_equal(buf, "SigBlk:\t0000000000000000\n"
                             "SigIgn:\t0000000000000000\n");
    /* The parent's mask and pending signal are as they were. */
    sigset_t now, pending;
    assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &now), 0);
    assert_true(sigismember(&now, SIGUSR1) && sigismember(&now, SIGALRM));
    assert_false(sigismember(&now, SIGTERM));
    assert_int_equal(sigpending(&pending), 0);
    assert_true(sigismember(&pending, SIGUSR1));
}

static void expect_exec_failure(const char *path, const char *cwd, int err)
{
    hipc_process p;
    hipc_process_config cfg = {.cwd = cwd};
    char *argv[] = {"x", "exit", "0", NULL};
    assert_int_equal(hipc_process_spawn(&p, path, argv, NULL, &cfg),
                     HIPC_E_EXEC);
    assert_int_equal(p.sys_errno, err);
    assert_int_equal(hipc_process_wait(&p, NULL, 0), HIPC_E_STALE_HANDLE);
    assert_true(no_child_left());
}

static void exec_failures_come_back_as_exec_with_the_errno(void **state)
{
    (void)state;
    expect_exec_failure("/nonexistent/program", NULL, ENOENT);
    expect_exec_failure(HELPER, "/nonexistent-directory", ENOENT);
    /* Not executable (a root caller may run anything with an x bit, but
     * not a directory). */
    expect_exec_failure("/", NULL, EACCES);
    char path[] = "/tmp/hipc-noexec-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x01\x02\x03\x04garbage", 11), 11);
    assert_int_equal(fchmod(fd, 0700), 0);
    close(fd);
    expect_exec_failure(path, NULL, ENOEXEC);
    unlink(path);
}

static void exit_code_and_killing_signal_are_told_apart(void **state)
{
    (void)state;
    char *exit7[] = {"proc_helper", "exit", "7", NULL};
    char *raise_usr1[] = {"proc_helper", "raise", "10", NULL};
    hipc_process p;
    int status = -1000;
    assert_int_equal(hipc_process_spawn(&p, HELPER, exit7, NULL, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_process_wait(&p, &status, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(status, 7);
    /* Asked again, the same answer. */
    status = -1000;
    assert_int_equal(hipc_process_wait(&p, &status, 0), HIPC_OK);
    assert_int_equal(status, 7);
    assert_int_equal(hipc_process_signal(&p, SIGTERM), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_PIDFD),
                     HIPC_E_BAD_STATE);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_int_equal(SIGUSR1, 10);
    assert_int_equal(hipc_process_spawn(&p, HELPER, raise_usr1, NULL, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_process_wait(&p, &status, 10 * SEC), HIPC_OK);
    assert_int_equal(status, -SIGUSR1);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
}

/* Spawns a helper that prints "ready" once set up, and waits for it. */
static void spawn_ready(hipc_process *p, char *what)
{
    char *argv[] = {"proc_helper", what, NULL};
    assert_int_equal(hipc_process_spawn(p, HELPER, argv, NULL, &out_pipe),
                     HIPC_OK);
    char buf[6];
    assert_int_equal(hipc_pipe_read_exact(&p->out, buf, 6, NULL, 10 * SEC),
                     HIPC_OK);
    assert_memory_equal(buf, "ready\n", 6);
}

static void wait_times_out_and_stop_ends_it(void **state)
{
    (void)state;
    hipc_process p;
    spawn_ready(&p, "sleep");
    int status = -1000;
    assert_int_equal(hipc_process_wait(&p, &status, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_process_wait(&p, &status, 20000000), HIPC_E_TIMEDOUT);
    assert_int_equal(status, -1000);
    assert_int_equal(hipc_process_wait(&p, &status, -2), HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_process_stop(&p, &status, 10 * SEC), HIPC_OK);
    assert_int_equal(status, -SIGTERM);
    /* Stopping again reports the same. */
    assert_int_equal(hipc_process_stop(&p, &status, 0), HIPC_OK);
    assert_int_equal(status, -SIGTERM);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_true(no_child_left());
}

static void stop_kills_a_child_that_ignores_sigterm(void **state)
{
    (void)state;
    hipc_process p;
    spawn_ready(&p, "ignore-term");
    int status = -1000;
    assert_int_equal(hipc_process_stop(&p, &status, 30000000), HIPC_OK);
    assert_int_equal(status, -SIGKILL);
    assert_int_equal(hipc_process_stop(&p, &status, -5), HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    /* No grace at all: SIGTERM, one look, SIGKILL. */
    spawn_ready(&p, "ignore-term");
    status = -1000;
    assert_int_equal(hipc_process_stop(&p, &status, 0), HIPC_OK);
    assert_int_equal(status, -SIGKILL);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_true(no_child_left());
}

static void close_without_wait_kills_and_reaps(void **state)
{
    (void)state;
    hipc_process p;
    spawn_ready(&p, "ignore-term");
    pid_t pid = p.pid;
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_true(no_child_left());
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(hipc_process_close(&p), HIPC_E_STALE_HANDLE);
}

static void pipes_carry_stdin_to_stdout(void **state)
{
    (void)state;
    hipc_test_skip_unless_free_fds(SPAWN_PEAK_FDS);
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_NULL}};
    char *argv[] = {"proc_helper", "echo", NULL};
    hipc_process p;
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &cfg), HIPC_OK);
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_STDIN),
                     p.in.write_fd);
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_STDOUT),
                     p.out.read_fd);
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_STDERR),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_process_get_fd(&p, (enum hipc_process_stream)9),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_pipe_write_all(&p.in, "hello", 5, NULL, 10 * SEC),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p.in), HIPC_OK);
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_STDIN),
                     HIPC_E_WRONG_END);
    char buf[16];
    assert_int_equal(read_all(&p, buf, sizeof buf), 5);
    assert_string_equal(buf, "hello");
    int status = -1;
    assert_int_equal(hipc_process_wait(&p, &status, 10 * SEC), HIPC_OK);
    assert_int_equal(status, 0);
    /* close skips the end the caller closed already. */
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
}

static void stderr_can_follow_stdout(void **state)
{
    (void)state;
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_NULL,
                                         HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_STDOUT}};
    char *argv[] = {"proc_helper", "both", NULL};
    char buf[64];
    assert_int_equal(run_helper(&cfg, argv, buf, sizeof buf), 0);
    assert_string_equal(buf, "out\nerr\n");
}

/* stderr follows a stdout that is inherited: both reach the caller's
 * descriptor 1 (a pipe here, put there for the spawn). */
static void stderr_can_follow_an_inherited_stdout(void **state)
{
    (void)state;
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_INHERIT,
                                         HIPC_PROCESS_IO_INHERIT,
                                         HIPC_PROCESS_IO_STDOUT}};
    char *argv[] = {"proc_helper", "both", NULL};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    int saved = dup(1);
    assert_true(saved >= 0);
    dup2(fds[1], 1);
    close(fds[1]);
    hipc_process p;
    int rc = hipc_process_spawn(&p, HELPER, argv, NULL, &cfg);
    int status = -1000, waited = HIPC_E_BAD_STATE;
    if (rc == HIPC_OK)
        waited = hipc_process_wait(&p, &status, 10 * SEC);
    dup2(saved, 1);
    close(saved);
    assert_int_equal(rc, HIPC_OK);
    assert_int_equal(waited, HIPC_OK);
    assert_int_equal(status, 0);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    char buf[16] = {0};
    assert_int_equal(read(fds[0], buf, sizeof buf - 1), 8);
    assert_string_equal(buf, "out\nerr\n");
    close(fds[0]);
}

/* Timeouts too long for poll's milliseconds (a month) or for the clock's
 * range wait all the same, and end when the child does. */
static void very_long_timeouts_end_with_the_child(void **state)
{
    (void)state;
    const int64_t timeouts[] = {30LL * 24 * 3600 * SEC, INT64_MAX - 1};
    char *argv[] = {"proc_helper", "exit", "7", NULL};
    for (int i = 0; i < 2; i++) {
        hipc_process p;
        assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, NULL),
                         HIPC_OK);
        int status = -1000;
        assert_int_equal(hipc_process_wait(&p, &status, timeouts[i]), HIPC_OK);
        assert_int_equal(status, 7);
        assert_int_equal(hipc_process_close(&p), HIPC_OK);
    }
    assert_true(no_child_left());
}

/* A copy of a closed handle is no handle (BAD_HANDLE), not a closed one. */
static void copy_of_a_closed_handle_is_refused(void **state)
{
    (void)state;
    hipc_process p;
    char *argv[] = {"proc_helper", "exit", "0", NULL};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, NULL), HIPC_OK);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    hipc_process copy;
    memcpy(&copy, &p, sizeof copy);
    assert_int_equal(hipc_process_wait(&copy, NULL, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_wait(&p, NULL, 0), HIPC_E_STALE_HANDLE);
    assert_true(no_child_left());
}

static void stderr_on_its_own_pipe(void **state)
{
    (void)state;
    hipc_test_skip_unless_free_fds(SPAWN_PEAK_FDS);
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_NULL,
                                         HIPC_PROCESS_IO_NULL,
                                         HIPC_PROCESS_IO_PIPE}};
    char *argv[] = {"proc_helper", "both", NULL};
    hipc_process p;
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &cfg), HIPC_OK);
    char buf[8] = {0};
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_STDERR),
                     p.err.read_fd);
    assert_int_equal(hipc_pipe_read_exact(&p.err, buf, 4, NULL, 10 * SEC),
                     HIPC_OK);
    assert_string_equal(buf, "err\n");
    assert_int_equal(hipc_process_wait(&p, NULL, 10 * SEC), HIPC_OK);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
}

/* A descriptor of the caller's becomes the child's stdout; one that is
 * 0, 1 or 2 already in the caller is moved out of the way first. */
static void caller_descriptors_become_the_childs(void **state)
{
    (void)state;
    hipc_test_skip_unless_free_fds(SPAWN_PEAK_FDS);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_NULL,
                                         HIPC_PROCESS_IO_FD,
                                         HIPC_PROCESS_IO_FD},
                               .stdio_fd = {0, fds[1], 1}};
    char *argv[] = {"proc_helper", "both", NULL};
    hipc_process p;
    /* stderr goes to the caller's stdout: the test's own output. */
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &cfg), HIPC_OK);
    close(fds[1]);
    char buf[8] = {0};
    assert_int_equal(read(fds[0], buf, sizeof buf), 4);
    assert_string_equal(buf, "out\n");
    assert_int_equal(hipc_process_wait(&p, NULL, 10 * SEC), HIPC_OK);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    close(fds[0]);
    /* The caller's stdin as the child's stdout: swapped descriptors. */
    hipc_process_config swap = {.stdio = {HIPC_PROCESS_IO_FD,
                                          HIPC_PROCESS_IO_FD,
                                          HIPC_PROCESS_IO_INHERIT},
                                .stdio_fd = {1, 0, 0}};
    int saved0 = dup(0), saved1 = dup(1);
    int to_child[2], from_child[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(from_child), 0);
    dup2(from_child[1], 0); /* becomes the child's stdout */
    dup2(to_child[0], 1);   /* becomes the child's stdin */
    close(from_child[1]);
    close(to_child[0]);
    char *echo[] = {"proc_helper", "echo", NULL};
    int rc = hipc_process_spawn(&p, HELPER, echo, NULL, &swap);
    dup2(saved0, 0);
    dup2(saved1, 1);
    close(saved0);
    close(saved1);
    assert_int_equal(rc, HIPC_OK);
    assert_int_equal(write(to_child[1], "swap", 4), 4);
    close(to_child[1]);
    assert_int_equal(hipc_process_wait(&p, NULL, 10 * SEC), HIPC_OK);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    memset(buf, 0, sizeof buf);
    assert_int_equal(read(from_child[0], buf, sizeof buf), 4);
    assert_string_equal(buf, "swap");
    close(from_child[0]);
}

static void new_session_group_and_directory(void **state)
{
    (void)state;
    char buf[128];
    char *ids[] = {"proc_helper", "ids", NULL};
    hipc_process_config cfg = out_pipe;
    int pid, pgid, sid;
    cfg.group = HIPC_PROCESS_GROUP_SESSION;
    assert_int_equal(run_helper(&cfg, ids, buf, sizeof buf), 0);
    assert_int_equal(sscanf(buf, "%d %d %d", &pid, &pgid, &sid), 3);
    assert_int_equal(pgid, pid);
    assert_int_equal(sid, pid);
    cfg.group = HIPC_PROCESS_GROUP_NEW;
    assert_int_equal(run_helper(&cfg, ids, buf, sizeof buf), 0);
    assert_int_equal(sscanf(buf, "%d %d %d", &pid, &pgid, &sid), 3);
    assert_int_equal(pgid, pid);
    assert_int_equal(sid, getsid(0));
    cfg.group = HIPC_PROCESS_GROUP_SAME;
    cfg.cwd = "/";
    char *cwd[] = {"proc_helper", "cwd", NULL};
    assert_int_equal(run_helper(&cfg, cwd, buf, sizeof buf), 0);
    assert_string_equal(buf, "/\n");
}

static void environment_is_the_callers_or_the_one_given(void **state)
{
    (void)state;
    char buf[64];
    char *argv[] = {"proc_helper", "env", "HIPC_TEST", NULL};
    char *envp[] = {"HIPC_TEST=given", NULL};
    setenv("HIPC_TEST", "inherited", 1);
    assert_int_equal(run_helper(&out_pipe, argv, buf, sizeof buf), 0);
    assert_string_equal(buf, "inherited\n");
    hipc_process p;
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, envp, &out_pipe),
                     HIPC_OK);
    read_all(&p, buf, sizeof buf);
    assert_string_equal(buf, "given\n");
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    unsetenv("HIPC_TEST");
}

static void pidfd_becomes_readable_when_the_child_ends(void **state)
{
    (void)state;
    hipc_process p;
    spawn_ready(&p, "sleep");
    int pidfd = hipc_process_get_fd(&p, HIPC_PROCESS_PIDFD);
    if (pidfd == HIPC_E_UNSUPPORTED) {
        /* No pidfd here (valgrind does not know pidfd_open). */
        assert_int_equal(hipc_process_close(&p), HIPC_OK);
        hipc_test_skip("no pidfd: the kernel or valgrind lacks pidfd_open");
    }
    assert_true(pidfd >= 0);
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    assert_int_equal(hipc_process_signal(&p, 0), HIPC_OK);
    assert_int_equal(hipc_process_signal(&p, SIGUSR2), HIPC_OK);
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    int status = 0;
    assert_int_equal(hipc_process_wait(&p, &status, 0), HIPC_OK);
    assert_int_equal(status, -SIGUSR2);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
}

static void bad_arguments_and_handles_are_refused(void **state)
{
    (void)state;
    char *argv[] = {"proc_helper", "exit", "0", NULL};
    hipc_process p, zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(hipc_process_spawn(NULL, HELPER, argv, NULL, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_process_spawn(&p, NULL, argv, NULL, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_process_spawn(&p, HELPER, NULL, NULL, NULL),
                     HIPC_E_NULL);
    hipc_process_config bad = {.group = (enum hipc_process_group)7};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &bad),
                     HIPC_E_BAD_FLAGS);
    bad = (hipc_process_config){.pipe_flags = HIPC_PIPE_NONBLOCK};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &bad),
                     HIPC_E_BAD_FLAGS);
    bad = (hipc_process_config){.stdio = {HIPC_PROCESS_IO_STDOUT}};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &bad),
                     HIPC_E_BAD_FLAGS);
    bad = (hipc_process_config){.stdio = {(enum hipc_process_stdio)12}};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &bad),
                     HIPC_E_BAD_FLAGS);
    bad =
        (hipc_process_config){.stdio = {HIPC_PROCESS_IO_FD}, .stdio_fd = {-1}};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &bad),
                     HIPC_E_BAD_FD);
    assert_int_equal(hipc_process_wait(NULL, NULL, 0), HIPC_E_NULL);
    assert_int_equal(hipc_process_wait(&zero, NULL, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_signal(&zero, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_stop(&zero, NULL, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_close(&zero), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_get_fd(&zero, HIPC_PROCESS_PIDFD),
                     HIPC_E_BAD_HANDLE);
    /* A copy cannot act on the original's child. */
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, NULL), HIPC_OK);
    hipc_process copy;
    memcpy(&copy, &p, sizeof copy);
    assert_int_equal(hipc_process_signal(&copy, SIGKILL), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_close(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_process_signal(&p, -1), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_process_signal(&p, 65), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_process_wait(&p, NULL, HIPC_FOREVER), HIPC_OK);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_int_equal(hipc_process_signal(&p, 0), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_STDIN),
                     HIPC_E_STALE_HANDLE);
}

/* A caller that reaps the child itself breaks the rule the header states;
 * hipc then reports ECHILD rather than a status, and - holding a pidfd -
 * signals nothing: the pid may be anyone's now, the pidfd is not. */
static void child_reaped_behind_hipcs_back_is_reported(void **state)
{
    (void)state;
    hipc_process p;
    char *argv[] = {"proc_helper", "exit", "4", NULL};
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, NULL), HIPC_OK);
    int st;
    assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
    assert_int_equal(hipc_process_signal(&p, SIGKILL), HIPC_OK);
    int status = -1000;
    assert_int_equal(hipc_process_wait(&p, &status, HIPC_FOREVER),
                     HIPC_E_CHILD);
    assert_int_equal(p.sys_errno, ECHILD);
    assert_int_equal(status, -1000);
    assert_int_equal(hipc_process_stop(&p, &status, 0), HIPC_E_CHILD);
    assert_int_equal(hipc_process_signal(&p, 0), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_true(no_child_left());
}

/* Runs body in a child process with SIGCHLD ignored, so the disposition
 * cannot reach other tests. */
static void with_sigchld_ignored(int (*body)(void))
{
    fflush(NULL);
    pid_t tester = fork();
    assert_true(tester >= 0);
    if (tester == 0) {
        signal(SIGCHLD, SIG_IGN);
        _exit(body() ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(tester, 30), 0);
}

/* With SIGCHLD ignored the kernel reaps children itself: wait says
 * HIPC_E_CHILD (ECHILD) once the child has ended, and nothing is left. A
 * child that ends at once may be gone before spawn returns: spawn holds
 * it from the clone on, so it still succeeds, every time (a pidfd opened
 * after the clone failed here now and then, or named another process). */
static int spawn_twenty_that_end_at_once(void)
{
    hipc_process p;
    char *argv[] = {"proc_helper", "exit", "0", NULL};
    int ok = 1;
    for (int i = 0; i < 20 && ok; i++) {
        ok = hipc_process_spawn(&p, HELPER, argv, NULL, NULL) == HIPC_OK;
        int rc = hipc_process_wait(&p, NULL, 10 * SEC);
        ok = ok && rc == HIPC_E_CHILD && p.sys_errno == ECHILD;
        ok = ok && hipc_process_close(&p) == HIPC_OK;
    }
    /* A running child is killed and gone at close all the same. */
    hipc_process_config quiet = {.stdio = {0, HIPC_PROCESS_IO_NULL}};
    char *sleeper[] = {"proc_helper", "sleep", NULL};
    ok = ok && hipc_process_spawn(&p, HELPER, sleeper, NULL, &quiet) == HIPC_OK;
    ok = ok && hipc_process_close(&p) == HIPC_OK;
    return ok && no_child_left();
}

static void sigchld_ignored_gives_child_and_leaves_nothing(void **state)
{
    (void)state;
    with_sigchld_ignored(spawn_twenty_that_end_at_once);
}

#ifdef HIPC_FAULT_INJECTION
/* Runs where the parent takes its first step after the clone: returns once
 * the kernel has reaped every child (SIGCHLD is ignored), i.e. the child
 * spawn just made is gone before spawn has looked at it. */
static void wait_until_reaped(void *arg)
{
    int *reaped = arg;
    for (int i = 0; i < 10000 && !*reaped; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 &&
            errno == ECHILD)
            *reaped = 1;
        else
            (void)nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

/* The race above made certain: the child has ended and been reaped before
 * the parent's first step after the clone (its read of the exec-failure
 * pipe). A pidfd opened by pid there would fail (or name another process);
 * the clone's pidfd holds the child, so spawn succeeds and wait reports
 * ECHILD. */
static int spawn_one_reaped_before_the_parent_looks(void)
{
    int reaped = 0;
    hipc_fault_reset();
    hipc_fault_hook_nth(HIPC_SYS_READ, 1, wait_until_reaped, &reaped);
    hipc_process p;
    char *argv[] = {"proc_helper", "exit", "0", NULL};
    int ok = hipc_process_spawn(&p, HELPER, argv, NULL, NULL) == HIPC_OK;
    ok = ok && reaped && p.pidfd_ >= 0;
    /* The window was real: by pid, the child cannot be found. */
    ok = ok && syscall(SYS_pidfd_open, p.pid, 0) == -1 && errno == ESRCH;
    ok = ok && hipc_process_wait(&p, NULL, 10 * SEC) == HIPC_E_CHILD &&
         p.sys_errno == ECHILD;
    ok = ok && hipc_process_close(&p) == HIPC_OK && no_child_left();
    hipc_fault_reset();
    return ok;
}

static void child_reaped_before_spawn_returns_is_still_held(void **state)
{
    (void)state;
    with_sigchld_ignored(spawn_one_reaped_before_the_parent_looks);
}
#endif

/* Out of descriptors: the pipes cannot be made, nothing is left. */
static void descriptor_limit_is_reported_without_leaks(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t tester = fork();
    assert_true(tester >= 0);
    if (tester == 0) {
        /* Only the soft limit: valgrind refuses to move the hard one. */
        struct rlimit lim;
        if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
            _exit(2);
        if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > 64)
            lim.rlim_cur = 64;
        else
            lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            _exit(2);
        /* Every descriptor taken but one: too few for a pipe, enough
         * for the leak count to open /proc/self/fd. */
        int last = -1, fd;
        while ((fd = open("/dev/null", O_RDONLY)) >= 0)
            last = fd;
        close(last);
        int used = hipc_test_fd_count();
        if (used < (int)lim.rlim_cur - 4)
            _exit(3);
        hipc_process p;
        char *argv[] = {"proc_helper", "exit", "0", NULL};
        int rc = hipc_process_spawn(&p, HELPER, argv, NULL, &out_pipe);
        int ok = rc == HIPC_E_LIMIT && p.sys_errno == EMFILE;
        ok = ok && hipc_test_fd_count() == used && no_child_left();
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(tester, 30), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(child_holds_exactly_descriptors_0_1_2),
    cmocka_unit_test_setup_teardown(
        child_starts_with_no_signal_blocked_or_ignored, save_signals,
        restore_signals),
    cmocka_unit_test(exec_failures_come_back_as_exec_with_the_errno),
    cmocka_unit_test(exit_code_and_killing_signal_are_told_apart),
    cmocka_unit_test(wait_times_out_and_stop_ends_it),
    cmocka_unit_test(stop_kills_a_child_that_ignores_sigterm),
    cmocka_unit_test(close_without_wait_kills_and_reaps),
    cmocka_unit_test(pipes_carry_stdin_to_stdout),
    cmocka_unit_test(stderr_can_follow_stdout),
    cmocka_unit_test(stderr_can_follow_an_inherited_stdout),
    cmocka_unit_test(very_long_timeouts_end_with_the_child),
    cmocka_unit_test(copy_of_a_closed_handle_is_refused),
    cmocka_unit_test(stderr_on_its_own_pipe),
    cmocka_unit_test(caller_descriptors_become_the_childs),
    cmocka_unit_test(new_session_group_and_directory),
    cmocka_unit_test(environment_is_the_callers_or_the_one_given),
    cmocka_unit_test(pidfd_becomes_readable_when_the_child_ends),
    cmocka_unit_test(bad_arguments_and_handles_are_refused),
    cmocka_unit_test(child_reaped_behind_hipcs_back_is_reported),
    cmocka_unit_test(sigchld_ignored_gives_child_and_leaves_nothing),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(child_reaped_before_spawn_returns_is_still_held),
#endif
    cmocka_unit_test(descriptor_limit_is_reported_without_leaks),
};

HIPC_TEST_MAIN_NATIVE_ONLY(tests)
