/* SPDX-License-Identifier: MIT */
/* Fault injection over the process module (lib/process.c and the seam's
 * vfork child): every syscall of each scenario fails in turn with every
 * errno the kernel documents for it, the child's own steps (dup2, chdir,
 * setsid, setpgid, close_range, sigaction, execve) included; the driver
 * (tests/fault/driver.h) checks the code, the kept errno, and that no
 * descriptor, child or zombie is left. pidfd_open failing with ENOSYS runs
 * the pid fallback, close_range failing with ENOSYS or EINVAL the
 * descriptor-by-descriptor fallback; tests below check what those
 * fallbacks do, not only that they return. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/process.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("spawns processes")

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#ifndef SYS_close_range
#define SYS_close_range 436 /* the same number on every architecture */
#endif

/* What a spawn holds at its peak: three pipes, the exec-failure pipe,
 * the pidfd and /dev/null. */
#define SPAWN_PEAK_FDS 10
#define HELPER HIPC_PROC_HELPER
#define SEC 1000000000LL

struct proc_ctx {
    hipc_process p;
};

#define EXPECT(h, call, want)                                                  \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != (want)) {                                                   \
            *sys_errno = (h).sys_errno;                                        \
            return rc_ < 0 ? rc_ : HIPC_E_CORRUPT;                             \
        }                                                                      \
    } while (0)

static void proc_release(void *ctx)
{
    struct proc_ctx *x = ctx;
    (void)hipc_process_close(&x->p);
}

/* Pipes both ways, /dev/null for stderr, a directory and a new group:
 * every step of the child. */
static int echo_through_pipes(void *ctx, int *sys_errno)
{
    struct proc_ctx *x = ctx;
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_NULL},
                               .cwd = "/",
                               .group = HIPC_PROCESS_GROUP_NEW};
    char *argv[] = {"proc_helper", "echo", NULL};
    FAULT_STEP(x->p, hipc_process_spawn(&x->p, HELPER, argv, NULL, &cfg));
    FAULT_STEP(x->p.in, hipc_pipe_write_all(&x->p.in, "x", 1, NULL, 10 * SEC));
    FAULT_STEP(x->p.in, hipc_pipe_close(&x->p.in));
    char c;
    FAULT_STEP(x->p.out,
               hipc_pipe_read_exact(&x->p.out, &c, 1, NULL, 10 * SEC));
    int status = -1;
    FAULT_STEP(x->p, hipc_process_wait(&x->p, &status, 10 * SEC));
    EXPECT(x->p, status, 0);
    return hipc_process_close(&x->p);
}

/* A new session; stop with a grace period that SIGTERM meets. */
static int session_and_stop(void *ctx, int *sys_errno)
{
    struct proc_ctx *x = ctx;
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_NULL,
                                         HIPC_PROCESS_IO_PIPE},
                               .group = HIPC_PROCESS_GROUP_SESSION};
    char *argv[] = {"proc_helper", "sleep", NULL};
    FAULT_STEP(x->p, hipc_process_spawn(&x->p, HELPER, argv, NULL, &cfg));
    char buf[6];
    FAULT_STEP(x->p.out,
               hipc_pipe_read_exact(&x->p.out, buf, 6, NULL, 10 * SEC));
    FAULT_STEP(x->p, hipc_process_signal(&x->p, 0));
    int status = 0;
    FAULT_STEP(x->p, hipc_process_stop(&x->p, &status, 3 * SEC));
    EXPECT(x->p, status, -SIGTERM);
    return hipc_process_close(&x->p);
}

/* A child that ignores SIGTERM: stop's SIGKILL; and close with a child
 * still running. */
static int stop_kill_and_close_running(void *ctx, int *sys_errno)
{
    struct proc_ctx *x = ctx;
    char *argv[] = {"proc_helper", "ignore-term", NULL};
    hipc_process_config cfg = {.stdio = {0, HIPC_PROCESS_IO_PIPE}};
    FAULT_STEP(x->p, hipc_process_spawn(&x->p, HELPER, argv, NULL, &cfg));
    char buf[6];
    FAULT_STEP(x->p.out,
               hipc_pipe_read_exact(&x->p.out, buf, 6, NULL, 10 * SEC));
    int status = 0;
    FAULT_STEP(x->p, hipc_process_stop(&x->p, &status, 0));
    EXPECT(x->p, status, -SIGKILL);
    FAULT_STEP(x->p, hipc_process_close(&x->p));
    FAULT_STEP(x->p, hipc_process_spawn(&x->p, HELPER, argv, NULL, NULL));
    return hipc_process_close(&x->p);
}

/* run: feed and collect through poll. */
static int run_echo(void *ctx, int *sys_errno)
{
    (void)ctx;
    char out[8];
    char *argv[] = {"proc_helper", "echo", NULL};
    hipc_process_io io = {.in = "hello",
                          .in_len = 5,
                          .out = out,
                          .out_cap = sizeof out};
    int rc =
        hipc_process_run(HELPER, argv, NULL, NULL, &io, sys_errno, 10 * SEC);
    if (rc != HIPC_OK)
        return rc;
    return io.out_len == 5 && io.status == 0 ? HIPC_OK : HIPC_E_CORRUPT;
}

/* The child's steps come back as HIPC_E_EXEC; fallbacks succeed. */
static int proc_accepts(enum hipc__sys_call call, int err, int rc)
{
    switch (call) {
    case HIPC_SYS_DUP2:
    case HIPC_SYS_CHDIR:
    case HIPC_SYS_SETSID:
    case HIPC_SYS_SETPGID:
    case HIPC_SYS_SIGACTION:
    case HIPC_SYS_EXECVE:
        return rc == HIPC_E_EXEC;
    case HIPC_SYS_CLOSE_RANGE:
        return err == ENOSYS || err == EINVAL ? rc == HIPC_OK
                                              : rc == HIPC_E_EXEC;
    case HIPC_SYS_PIDFD_OPEN:
        /* ENOSYS and EINVAL: a clone without CLONE_PIDFD, the pid
         * fallback. */
        return (err == ENOSYS || err == EINVAL) && rc == HIPC_OK;
    case HIPC_SYS_PIDFD_SIGNAL:
        return (err == ESRCH || err == ENOSYS) && rc == HIPC_OK;
    case HIPC_SYS_CLONE:
        return err == EAGAIN && rc == HIPC_E_LIMIT;
    case HIPC_SYS_WAITPID:
        /* close and stop have done their work when the child is gone. */
        return err == ECHILD && (rc == HIPC_E_CHILD || rc == HIPC_OK);
    case HIPC_SYS_WRITE:
        /* The child "stopped reading": run feeds no more, and the echo
         * (the scenario's check) comes back short. */
        return err == EPIPE && rc == HIPC_E_CORRUPT;
    default:
        return 0;
    }
}

static void process_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    hipc_test_skip_unless_free_fds(SPAWN_PEAK_FDS);
    static const struct fault_scenario scenarios[] = {
        {"process: echo through pipes, cwd, new group", echo_through_pipes,
         proc_release, proc_accepts},
        {"process: new session, signal, stop", session_and_stop, proc_release,
         proc_accepts},
        {"process: stop kills, close a running child",
         stop_kill_and_close_running, proc_release, proc_accepts},
        {"process: run feeds and collects", run_echo, proc_release,
         proc_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

/* The pid fallback: no pidfd, and everything still works, waiting with a
 * timeout by naps. */
static void without_pidfd_the_pid_fallback_works(void **state)
{
    (void)state;
    hipc_process p;
    char *argv[] = {"proc_helper", "sleep", NULL};
    hipc_process_config cfg = {.stdio = {0, HIPC_PROCESS_IO_PIPE}};
    hipc_fault_fail_nth(HIPC_SYS_PIDFD_OPEN, 1, ENOSYS);
    assert_int_equal(hipc_process_spawn(&p, HELPER, argv, NULL, &cfg), HIPC_OK);
    assert_true(hipc_fault_fired());
    assert_int_equal(hipc_process_get_fd(&p, HIPC_PROCESS_PIDFD),
                     HIPC_E_UNSUPPORTED);
    char buf[6];
    assert_int_equal(hipc_pipe_read_exact(&p.out, buf, 6, NULL, 10 * SEC),
                     HIPC_OK);
    assert_int_equal(hipc_process_wait(&p, NULL, 20000000), HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_process_signal(&p, SIGUSR1), HIPC_OK);
    int status = 0;
    /* Longer than the clock's range: naps until the child has ended. */
    assert_int_equal(hipc_process_wait(&p, &status, INT64_MAX - 1), HIPC_OK);
    assert_int_equal(status, -SIGUSR1);
    assert_int_equal(hipc_process_close(&p), HIPC_OK);
    assert_true(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

/* Without close_range the child closes descriptor by descriptor: it
 * still holds exactly 0, 1 and 2. */
static void without_close_range_the_child_still_holds_three(void **state)
{
    (void)state;
    int errs[] = {ENOSYS, EINVAL};
    for (int i = 0; i < 2; i++) {
        int loose = dup(0);
        assert_true(loose >= 3);
        char out[64];
        char *argv[] = {"proc_helper", "fds", NULL};
        hipc_process_io io = {.out = out, .out_cap = sizeof out - 1};
        hipc_fault_fail_nth(HIPC_SYS_CLOSE_RANGE, 1, errs[i]);
        assert_int_equal(hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL,
                                          10 * SEC),
                         HIPC_OK);
        assert_true(hipc_fault_fired());
        out[io.out_len] = '\0';
        assert_string_equal(out, "0 1 2\n");
        close(loose);
        hipc_fault_reset();
    }
}

/* Without close_range and without /proc (a tmpfs over it, in a mount
 * namespace of a child of the test): the child closes every descriptor
 * up to the soft limit instead. */
static void
without_close_range_or_proc_the_limit_bounds_the_closing(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t tester = fork();
    assert_true(tester >= 0);
    if (tester == 0) {
        /* Only descriptors below the limit, the ones this case is about:
         * one above it (inherited) would survive without /proc. */
        (void)syscall(SYS_close_range, 3u, ~0u, 0u);
        if (unshare(CLONE_NEWNS) != 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("none", "/proc", "tmpfs", 0, NULL) != 0)
            _exit(77);
        struct rlimit lim;
        int top = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur > 41
                      ? 40
                      : (int)lim.rlim_cur - 1;
        int loose = dup(0);
        int high = fcntl(0, F_DUPFD, top);
        char out[64];
        char *argv[] = {"proc_helper", "fds", NULL};
        hipc_process_io io = {.out = out, .out_cap = sizeof out - 1};
        hipc_fault_fail_nth(HIPC_SYS_CLOSE_RANGE, 1, ENOSYS);
        int rc =
            hipc_process_run(HELPER, argv, NULL, NULL, &io, NULL, 10 * SEC);
        out[rc == HIPC_OK ? io.out_len : 0] = '\0';
        int ok = loose >= 3 && high == top && rc == HIPC_OK &&
                 hipc_fault_fired() && strcmp(out, "0 1 2\n") == 0;
        _exit(ok ? 0 : 1);
    }
    int status = hipc_test_wait_child(tester, 30);
    if (status == 77)
        hipc_test_skip("no mount namespace to hide /proc in");
    assert_int_equal(status, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(
        process_scenarios_survive_every_syscall_failure, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(without_pidfd_the_pid_fallback_works,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(
        without_close_range_the_child_still_holds_three, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test(without_close_range_or_proc_the_limit_bounds_the_closing),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
