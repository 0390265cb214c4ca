/* SPDX-License-Identifier: MIT */
/* Tests for pipes and signals: SIGPIPE never kills and never leaves a
 * trace, and EINTR from a real handler (installed without SA_RESTART) is
 * absorbed without extending a deadline.
 *
 * Each case that touches signal state runs in a forked child, so the
 * process's own dispositions, mask and pending set start clean every time
 * and a failure cannot kill the suite. Children report failures on stderr
 * and through their exit code. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "support.h"

/* Milliseconds as the nanoseconds every timeout takes. */
#define MS(ms) ((int64_t)(ms)*1000000)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "child: check failed at line %d: %s\n", __LINE__,  \
                    #cond);                                                    \
            _exit(1);                                                          \
        }                                                                      \
    } while (0)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs fn in a forked child and expects it to exit with 0. */
static void in_child(void (*fn)(void))
{
    int fds = hipc_test_fd_count();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_test_fd_count(), fds);
}

/* ---- SIGPIPE state ------------------------------------------------------ */

struct sigstate {
    struct sigaction act;
    sigset_t mask;
    sigset_t pending;
};

static void snap(struct sigstate *s)
{
    CHECK(sigaction(SIGPIPE, NULL, &s->act) == 0);
    CHECK(pthread_sigmask(SIG_SETMASK, NULL, &s->mask) == 0);
    CHECK(sigpending(&s->pending) == 0);
}

static int same_set(const sigset_t *a, const sigset_t *b)
{
    for (int sig = 1; sig < SIGRTMIN; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    return 1;
}

static void check_unchanged(const struct sigstate *before)
{
    struct sigstate after;
    snap(&after);
    CHECK(after.act.sa_handler == before->act.sa_handler);
    CHECK(after.act.sa_flags == before->act.sa_flags);
    CHECK(same_set(&after.mask, &before->mask));
    CHECK(same_set(&after.pending, &before->pending));
}

/* A pipe whose reader is gone. */
static void readerless(hipc_pipe *p, unsigned flags)
{
    CHECK(hipc_pipe_create(p, flags) == HIPC_OK);
    CHECK(hipc_pipe_close_end(p, HIPC_PIPE_READ_END) == HIPC_OK);
}

/* Every writing entry point meets the gone reader. */
static void write_every_way(hipc_pipe *p)
{
    size_t done = 99;
    CHECK(hipc_pipe_write_all(p, "x", 1, &done, HIPC_FOREVER) ==
          HIPC_E_PEER_GONE);
    CHECK(done == 0);
    CHECK(p->sys_errno == EPIPE);
    CHECK(hipc_pipe_write_all(p, "x", 1, &done, MS(100)) == HIPC_E_PEER_GONE);
    CHECK(hipc_pipe_send_frame(p, "x", 1, 0, HIPC_FOREVER) == HIPC_E_PEER_GONE);
}

static void default_disposition_child(void)
{
    struct sigstate before;
    snap(&before);
    CHECK(before.act.sa_handler == SIG_DFL);
    hipc_pipe p;
    readerless(&p, 0);
    write_every_way(&p);
    check_unchanged(&before);
    CHECK(!sigismember(&before.pending, SIGPIPE));
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void writer_without_reader_gets_peer_gone_and_survives(void **state)
{
    (void)state;
    in_child(default_disposition_child);
}

static volatile sig_atomic_t handler_hits;

static void count_signal(int sig)
{
    (void)sig;
    handler_hits++;
}

static void handler_child(void)
{
    handler_hits = 0; /* the parent's count, inherited, is not ours */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
    struct sigstate before;
    snap(&before);
    hipc_pipe p;
    readerless(&p, 0);
    write_every_way(&p);
    check_unchanged(&before);
    CHECK(handler_hits == 0);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void callers_sigpipe_handler_is_neither_called_nor_replaced(void **state)
{
    (void)state;
    in_child(handler_child);
}

static void sigpipe_blocked(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
}

static void blocked_child(void)
{
    sigpipe_blocked();
    struct sigstate before;
    snap(&before);
    hipc_pipe p;
    readerless(&p, 0);
    write_every_way(&p);
    /* Our writes raised SIGPIPE three times; none is left behind. */
    check_unchanged(&before);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void
sigpipe_blocked_by_the_caller_stays_blocked_and_not_pending(void **state)
{
    (void)state;
    in_child(blocked_child);
}

/* Counts the SIGPIPEs pending on this thread by taking them. */
static int take_pending_sigpipes(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    const struct timespec zero = {0, 0};
    int n = 0;
    while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
        n++;
    return n;
}

/* Whether SIGPIPE is pending in one queue of this thread's status:
 * "SigPnd" (this thread's own) or "ShdPnd" (the process's). */
static int sigpipe_in(const char *queue)
{
    char buf[4096], key[16];
    int fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    CHECK(n > 0);
    buf[n] = '\0';
    snprintf(key, sizeof key, "\n%s:\t", queue);
    const char *at = strstr(buf, key);
    CHECK(at != NULL);
    unsigned long long mask = strtoull(at + strlen(key), NULL, 16);
    return (int)(mask >> (SIGPIPE - 1) & 1u);
}

/* Exactly the caller's SIGPIPE is left, in the queue it was in. */
static void only_the_callers_sigpipe_is_left(int thread, int process)
{
    CHECK(sigpipe_in("SigPnd") == thread);
    CHECK(sigpipe_in("ShdPnd") == process);
    CHECK(take_pending_sigpipes() == thread + process);
}

static void pre_pending_thread_child(void)
{
    sigpipe_blocked();
    CHECK(raise(SIGPIPE) == 0);
    struct sigstate before;
    snap(&before);
    CHECK(sigismember(&before.pending, SIGPIPE));
    hipc_pipe p;
    readerless(&p, 0);
    write_every_way(&p);
    check_unchanged(&before);
    only_the_callers_sigpipe_is_left(1, 0);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void sigpipe_pending_before_the_call_survives_it(void **state)
{
    (void)state;
    in_child(pre_pending_thread_child);
}

static void pre_pending_process_child(void)
{
    sigpipe_blocked();
    /* Process-directed this time: kill, not raise. */
    CHECK(kill(getpid(), SIGPIPE) == 0);
    struct sigstate before;
    snap(&before);
    CHECK(sigismember(&before.pending, SIGPIPE));
    hipc_pipe p;
    readerless(&p, 0);
    write_every_way(&p);
    check_unchanged(&before);
    /* Our write's SIGPIPE went to this thread's queue and was taken from
     * there: the process's stays, alone. */
    only_the_callers_sigpipe_is_left(0, 1);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void both_pending_child(void)
{
    sigpipe_blocked();
    CHECK(raise(SIGPIPE) == 0);
    CHECK(kill(getpid(), SIGPIPE) == 0);
    hipc_pipe p;
    readerless(&p, 0);
    write_every_way(&p);
    only_the_callers_sigpipe_is_left(1, 1);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void thread_and_process_pending_sigpipes_both_survive(void **state)
{
    (void)state;
    in_child(both_pending_child);
}

static void process_wide_pending_sigpipe_survives_the_call(void **state)
{
    (void)state;
    hipc_test_needs_kernel("a real pipe's SIGPIPE");
    in_child(pre_pending_process_child);
}

static void ignored_child(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
    /* The flag's promise is "ignored", which a blocked signal is not: the
     * kernel keeps a blocked SIGPIPE pending even when ignored (pipe.h).
     * Ignored, it can be unblocked safely (a started test may inherit it
     * blocked, as in the hostile stage). */
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &pipe_only, NULL) == 0);
    struct sigstate before;
    snap(&before);
    hipc_pipe p;
    readerless(&p, HIPC_PIPE_SIGPIPE_IGNORED);
    write_every_way(&p);
    check_unchanged(&before);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
    /* Without the flag, an ignoring caller is protected just the same. */
    readerless(&p, 0);
    write_every_way(&p);
    check_unchanged(&before);
    CHECK(hipc_pipe_close(&p) == HIPC_OK);
}

static void caller_that_ignores_sigpipe_may_skip_the_mask(void **state)
{
    (void)state;
    in_child(ignored_child);
}

/* ---- EINTR from real signals -------------------------------------------- */

/* The handler acknowledges each signal on a pipe, so the sender knows
 * it has run (write is async-signal-safe). */
static int ack_fd = -1;

static void ack_signal(int sig)
{
    (void)sig;
    handler_hits++;
    ssize_t r = write(ack_fd, "!", 1);
    (void)r;
}

/* SIGUSR1 with the acknowledging handler and no SA_RESTART, so a blocked
 * read, write or poll really returns EINTR. */
static void install_ack_handler(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ack_signal;
    sa.sa_flags = 0;
    assert_int_equal(sigaction(SIGUSR1, &sa, old), 0);
    handler_hits = 0;
}

/* /proc/PID/syscall: "NR ARG1 ..." while blocked in a syscall. */
static int blocked_in(pid_t pid, long nr1, long nr2, long fd)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/syscall", (long)pid);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return 0;
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long nr = -1;
    unsigned long arg = 0;
    if (sscanf(buf, "%ld 0x%lx", &nr, &arg) != 2)
        return 0;
    return (nr == nr1 || nr == nr2) && (fd < 0 || (long)arg == fd);
}

static int readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
}

/* In a child: spins until the parent blocks in the syscall, then signals
 * it and waits for the handler's acknowledgement. Returns 0 once `stop`
 * is readable (the parent is done) or after `limit_ms`. */
static int interrupt_parent(long nr1, long nr2, long fd, int ack, int stop,
                            long long limit_ms)
{
    pid_t parent = getppid();
    long long t0 = now_ms();
    while (!blocked_in(parent, nr1, nr2, fd)) {
        if ((stop >= 0 && readable(stop)) || now_ms() - t0 > limit_ms)
            return 0;
        sched_yield();
    }
    CHECK(kill(parent, SIGUSR1) == 0);
    char c;
    CHECK(read(ack, &c, 1) == 1);
    return 1;
}

struct sig_pipes {
    int ack[2];
    int stop[2];
};

static void open_sig_pipes(struct sig_pipes *s)
{
    assert_int_equal(pipe2(s->ack, O_CLOEXEC), 0);
    assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
    ack_fd = s->ack[1];
}

static void close_sig_pipes(struct sig_pipes *s)
{
    for (int i = 0; i < 2; i++) {
        close(s->ack[i]);
        close(s->stop[i]);
    }
    ack_fd = -1;
}

static void read_exact_absorbs_eintr_from_a_real_handler(void **state)
{
    (void)state;
    hipc_test_needs_kernel("a second process on the same pipe");
    if (hipc_test_syscall_numbers_are_foreign())
        hipc_test_skip(HIPC_TEST_FOREIGN_SYSCALL_REASON);
    int fds = hipc_test_fd_count();
    struct sigaction old;
    struct sig_pipes s;
    install_ack_handler(&old);
    open_sig_pipes(&s);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        CHECK(interrupt_parent(SYS_read, SYS_read, p.read_fd, s.ack[0], -1,
                               10000));
        /* Only now does the data arrive: the read cannot have finished
         * before the signal, so it really was interrupted. */
        CHECK(write(p.write_fd, "payload", 7) == 7);
        _exit(0);
    }
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    char buf[8] = {0};
    size_t done = 0;
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 7, &done, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(done, 7);
    assert_string_equal(buf, "payload");
    assert_int_equal(handler_hits, 1);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    close_sig_pipes(&s);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    assert_int_equal(hipc_test_fd_count(), fds);
}

static void
write_all_absorbs_eintr_and_short_writes_from_a_real_handler(void **state)
{
    (void)state;
    hipc_test_needs_kernel("a second process on the same pipe");
    if (hipc_test_syscall_numbers_are_foreign())
        hipc_test_skip(HIPC_TEST_FOREIGN_SYSCALL_REASON);
    int fds = hipc_test_fd_count();
    struct sigaction old;
    struct sig_pipes s;
    install_ack_handler(&old);
    open_sig_pipes(&s);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    size_t len = 256u * 1024u;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 7u + 1u);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The pipe fills; the parent blocks in its write (pwritev2 when
         * the kernel takes RWF_NOSIGNAL); interrupt it. */
        CHECK(interrupt_parent(SYS_write, SYS_pwritev2, p.write_fd, s.ack[0],
                               -1, 10000));
        CHECK(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END) == HIPC_OK);
        unsigned char chunk[4096];
        for (size_t got = 0; got < len;) {
            int n = hipc_pipe_read_some(&p, chunk, sizeof chunk, HIPC_FOREVER);
            CHECK(n > 0);
            for (int i = 0; i < n; i++)
                CHECK(chunk[i] == (unsigned char)((got + (size_t)i) * 7u + 1u));
            got += (size_t)n;
        }
        CHECK(hipc_pipe_read_some(&p, chunk, 1, HIPC_FOREVER) == HIPC_E_EOF);
        _exit(0);
    }
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_READ_END), HIPC_OK);
    size_t done = 0;
    assert_int_equal(hipc_pipe_write_all(&p, buf, len, &done, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(done, len);
    assert_int_equal(handler_hits, 1);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    free(buf);
    close_sig_pipes(&s);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    assert_int_equal(hipc_test_fd_count(), fds);
}

#ifndef SYS_poll
#define SYS_poll SYS_ppoll
#endif

/* The child interrupts the parent's poll again and again, as soon as it
 * is blocked, until the parent says it is done or 8 s pass. An
 * implementation that restarted the timeout on EINTR would never finish
 * before the child gave up; ours returns at the deadline. */
static void signals_do_not_extend_a_deadline(void **state)
{
    (void)state;
    hipc_test_needs_kernel("a real poll that a signal interrupts");
    if (hipc_test_syscall_numbers_are_foreign())
        hipc_test_skip(HIPC_TEST_FOREIGN_SYSCALL_REASON);
    int fds = hipc_test_fd_count();
    struct sigaction old;
    struct sig_pipes s;
    install_ack_handler(&old);
    open_sig_pipes(&s);
    hipc_pipe p;
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int sent = 0;
        while (interrupt_parent(SYS_poll, SYS_ppoll, -1, s.ack[0], s.stop[0],
                                8000))
            sent++;
        _exit(sent > 0 ? 0 : 3);
    }
    const int timeout = 300;
    char buf[4];
    size_t done = 99;
    long long t0 = now_ms();
    int rc = hipc_pipe_read_exact(&p, buf, sizeof buf, &done, MS(timeout));
    long long elapsed = now_ms() - t0;
    assert_int_equal(write(s.stop[1], "x", 1), 1);
    assert_int_equal(rc, HIPC_E_TIMEDOUT);
    assert_int_equal(done, 0);
    assert_true(elapsed >= timeout);
    assert_true(elapsed < 8000);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_true(handler_hits >= 1);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    close_sig_pipes(&s);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    assert_int_equal(hipc_test_fd_count(), fds);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(writer_without_reader_gets_peer_gone_and_survives),
    cmocka_unit_test(callers_sigpipe_handler_is_neither_called_nor_replaced),
    cmocka_unit_test(
        sigpipe_blocked_by_the_caller_stays_blocked_and_not_pending),
    cmocka_unit_test(sigpipe_pending_before_the_call_survives_it),
    cmocka_unit_test(process_wide_pending_sigpipe_survives_the_call),
    cmocka_unit_test(thread_and_process_pending_sigpipes_both_survive),
    cmocka_unit_test(caller_that_ignores_sigpipe_may_skip_the_mask),
    cmocka_unit_test(read_exact_absorbs_eintr_from_a_real_handler),
    cmocka_unit_test(
        write_all_absorbs_eintr_and_short_writes_from_a_real_handler),
    cmocka_unit_test(signals_do_not_extend_a_deadline),
};

HIPC_TEST_MAIN_BOTH_GUARDS(tests)
