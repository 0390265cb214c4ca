/* SPDX-License-Identifier: MIT */
/* What a simulated world spares a writer and a harness: a write to a
 * simulated pipe makes no signal-mask call (it cannot raise SIGPIPE),
 * while a real pipe written inside the same world is still guarded (its
 * reader gone: HIPC_E_PEER_GONE, and the process lives); and the hook
 * through which a fuzz harness learns that hipc is about to open or close
 * a real descriptor fires before exactly those calls. */
#include "hipc/config.h"

#ifdef HIPC_TESTING
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "hipc/testing.h"
#include "internal.h"
#include "sim.h"
#include "support.h"
#include "sys.h"

static int sim_setup(void **state)
{
    (void)hipc_testing_sim_end(); /* HIPC_FAULT_SIM=1 began one */
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_OK);
    int rc = hipc_test_fd_setup(state);
    /* Counting calls needs them made once each: no transparent retries. */
    assert_int_equal(hipc_testing_set_modes(NULL), HIPC_OK);
    return rc;
}

static int sim_teardown(void **state)
{
    hipc_testing_sim_usage u;
    hipc__sim_real_fd_hook = NULL;
    hipc__pipe_set_nosignal(1);
    hipc_testing_reset();
    assert_int_equal(hipc_testing_get_sim(&u), HIPC_OK);
    assert_int_equal(u.descriptors, 0);
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
    return hipc_test_fd_teardown(state);
}

static unsigned long signal_calls(void)
{
    static const hipc_testing_call kinds[] = {HIPC_CALL_SIGMASK,
                                              HIPC_CALL_SIGPENDING,
                                              HIPC_CALL_SIGTIMEDWAIT};
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        unsigned long n = 0;
        assert_int_equal(hipc_testing_get_calls(kinds[i], &n), HIPC_OK);
        sum += n;
    }
    return sum;
}

static int sigpipe_pending(void)
{
    sigset_t set;
    assert_int_equal(sigpending(&set), 0);
    return sigismember(&set, SIGPIPE);
}

/* Both guards (RWF_NOSIGNAL and the mask), every writing path (the fast
 * one, a timed transfer, a frame), then the reader gone: no signal call
 * at all, and a mask planned to fail every time is never met. */
static void simulated_write_skips_guard(void **state)
{
    (void)state;
    char buf[64];
    size_t done = 0;
    for (int nosignal = 1; nosignal >= 0; nosignal--) {
        hipc__pipe_set_nosignal(nosignal);
        hipc_pipe p;
        assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
        assert_true(hipc__sys_fd_is_sim(p.write_fd));
        assert_int_equal(hipc_testing_fail_every(HIPC_CALL_SIGMASK, EINVAL),
                         HIPC_OK);
        unsigned long before = signal_calls();
        assert_int_equal(hipc_pipe_write_all(&p, "abc", 3, &done, HIPC_FOREVER),
                         HIPC_OK);
        assert_int_equal(hipc_pipe_write_all(&p, "def", 3, &done, 1000000000),
                         HIPC_OK);
        assert_int_equal(hipc_pipe_send_frame(&p, "gh", 2, 16, 0), HIPC_OK);
        assert_int_equal(hipc_pipe_read_exact(&p, buf, 6, &done, 0), HIPC_OK);
        assert_memory_equal(buf, "abcdef", 6);
        assert_int_equal(hipc_pipe_recv_frame(&p, buf, sizeof buf, 16, 0), 2);
        assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_READ_END), HIPC_OK);
        assert_int_equal(hipc_pipe_write_all(&p, "x", 1, &done, HIPC_FOREVER),
                         HIPC_E_PEER_GONE);
        assert_int_equal(p.sys_errno, EPIPE);
        assert_int_equal(hipc_pipe_write_all(&p, "x", 1, &done, 0),
                         HIPC_E_PEER_GONE);
        assert_int_equal(hipc_pipe_send_frame(&p, "y", 1, 16, 0),
                         HIPC_E_PEER_GONE);
        assert_int_equal(signal_calls(), before);
        assert_false(sigpipe_pending());
        hipc_testing_reset();
        assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    }
}

/* Exits with `code` when `e` is false: the child's checks. */
#define CK(e, code)                                                            \
    do {                                                                       \
        if (!(e)) {                                                            \
            fprintf(stderr, "child: %s failed\n", #e);                         \
            _exit(code);                                                       \
        }                                                                      \
    } while (0)

/* A real pipe whose reader has gone, written through hipc inside a
 * world, with SIGPIPE's default action (death) and unblocked: both
 * guards must hold, the mask one with its real calls. */
static int real_write_in_world(int nosignal)
{
    int fds[2];
    size_t done = 0;
    hipc_pipe p;
    hipc__pipe_set_nosignal(nosignal);
    CK(pipe2(fds, O_CLOEXEC) == 0, 2);
    CK(hipc_pipe_adopt(&p, fds[1], HIPC_PIPE_WRITE_END, 0) == HIPC_OK, 3);
    CK(!hipc__sys_fd_is_sim(fds[1]), 4);
    CK(close(fds[0]) == 0, 5);
    unsigned long masks = 0, after = 0;
    CK(hipc_testing_get_calls(HIPC_CALL_SIGMASK, &masks) == HIPC_OK, 6);
    CK(hipc_pipe_write_all(&p, "x", 1, &done, HIPC_FOREVER) == HIPC_E_PEER_GONE,
       7);
    /* For ever: a world answers poll for every descriptor, and refuses
     * it for a real one (a call that may wait would poll first). */
    CK(hipc_pipe_send_frame(&p, "y", 1, 16, HIPC_FOREVER) == HIPC_E_PEER_GONE,
       8);
    CK(hipc_testing_get_calls(HIPC_CALL_SIGMASK, &after) == HIPC_OK, 6);
    /* The mask guard blocks and unblocks around each of the two calls
     * (where RWF_NOSIGNAL works it needs none). */
    CK(nosignal || after >= masks + 4, 9);
    sigset_t set, mask;
    CK(sigpending(&set) == 0 && !sigismember(&set, SIGPIPE), 10);
    CK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0 && !sigismember(&mask, SIGPIPE),
       11);
    CK(hipc_pipe_close(&p) == HIPC_OK, 12);
    return 0;
}

static void real_pipe_in_world_still_guarded(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        CK(sigaction(SIGPIPE, &sa, NULL) == 0, 1);
        CK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0, 1);
        CK(hipc__sim_active(), 1);
        real_write_in_world(1);
        real_write_in_world(0);
        _exit(0);
    }
    /* 128 + SIGPIPE: a guard let the signal through and it killed. */
    assert_int_equal(hipc_test_wait_child(pid, 60), 0);
}

/* The hook: how many times it fired, and the descriptors open then. */
static int hook_calls;
static int hook_fds;

static void on_real_fd(void)
{
    hook_calls++;
    hook_fds = hipc_test_fd_count();
}

static void hook_fires_before_real_descriptors(void **state)
{
    (void)state;
    hipc__sim_real_fd_hook = on_real_fd;
    int fds[2];
    /* Simulated descriptors, and probes of real ones: not a word. */
    assert_int_equal(hipc__sys_pipe2(fds, 0), 0);
    assert_int_equal(hipc__sys_fcntl(fds[0], F_DUPFD, 0) < 0, 1);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    assert_true(hipc__sys_fcntl(0, F_GETFD, 0) >= 0);
    assert_int_equal(hook_calls, 0);
    /* Each call that may open or close a real one: first the hook, with
     * the descriptor not yet open (or still open). */
    int before = hipc_test_fd_count();
    int fd = hipc__sys_open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_fds, before);
    int plain = hipc__sys_fcntl(fd, F_DUPFD, 0);
    assert_true(plain >= 0);
    assert_int_equal(hook_calls, 2);
    assert_int_equal(hipc__sys_close(plain), 0);
    hook_calls -= 2; /* counted from here as before */
    int dup = hipc__sys_fcntl(fd, F_DUPFD_CLOEXEC, 0);
    assert_true(dup >= 0);
    assert_int_equal(hook_calls, 2);
    assert_int_equal(hipc__sys_dup2(fd, dup), dup);
    assert_int_equal(hook_calls, 3);
    int at = hipc__sys_openat(AT_FDCWD, "/dev/null", O_RDONLY, 0);
    assert_true(at >= 0);
    assert_int_equal(hook_calls, 4);
    assert_int_equal(hook_fds, before + 2);
    FILE *f = NULL;
    assert_int_equal(hipc__sys_fdopen(at, "r", &f), 0);
    assert_int_equal(hipc__sys_fclose(f), 0);
    assert_int_equal(hook_calls, 5);
    assert_int_equal(hipc__sys_close(dup), 0);
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hook_calls, 7);
    assert_int_equal(hook_fds, before + 1);
    /* No world: no hook, whatever is set. */
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
    fd = hipc__sys_open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hook_calls, 7);
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_OK);
    /* A world without a hook: the calls go on as always. */
    hipc__sim_real_fd_hook = NULL;
    fd = hipc__sys_open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hook_calls, 7);
}

#define T(f) cmocka_unit_test_setup_teardown(f, sim_setup, sim_teardown)
static const struct CMUnitTest tests[] = {
    T(simulated_write_skips_guard),
    T(real_pipe_in_world_still_guarded),
    T(hook_fires_before_real_descriptors),
};
HIPC_TEST_MAIN(tests)
#else
#include "support.h"
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
