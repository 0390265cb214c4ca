/* SPDX-License-Identifier: MIT */
/* Fault injection over pipes (lib/pipe.c), the one driver program: every
 * syscall of each scenario fails in turn with every errno the kernel
 * documents for it, and the driver (tests/fault/driver.h) checks the
 * code, the kept errno, and that no descriptor or child is left behind.
 * Plain, timed and adopted transfers, frames (packet mode too), capacity,
 * a reader that has gone (EPIPE without SIGPIPE, with SIGPIPE blocked and
 * pending too) and spawned children; each run with RWF_NOSIGNAL and with
 * the signal-mask guard. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

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

struct pipe_ctx {
    hipc_pipe a, b;
    hipc_pipe_child child;
    int raw[2]; /* descriptors + 1, so a zeroed context holds none */
};

/* Expects `want` from a call, as the scenario's normal outcome. */
#define EXPECT(h, call, want)                                                  \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != (want)) {                                                   \
            *sys_errno = (h).sys_errno;                                        \
            return rc_ < 0 ? rc_ : HIPC_E_CORRUPT;                             \
        }                                                                      \
    } while (0)

static void pipe_release(void *p)
{
    struct pipe_ctx *x = p;
    (void)hipc_pipe_close(&x->a);
    (void)hipc_pipe_close(&x->b);
    /* A careful caller finishes a child it still holds, and reaps one
     * whose finish failed half-way. */
    if (hipc_pipe_child_finish(&x->child, NULL, HIPC_FOREVER) != HIPC_OK &&
        x->child.pid > 0)
        while (waitpid(x->child.pid, NULL, 0) < 0 && errno == EINTR)
            ;
    for (int i = 0; i < 2; i++)
        if (x->raw[i] > 0)
            close(x->raw[i] - 1);
}

static int one_process(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[128];
    size_t len = 0;
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, 0));
    FAULT_STEP(x->a, hipc_pipe_write_all(&x->a, "0123456789", 10, NULL,
                                         HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_read_exact(&x->a, buf, 10, NULL, HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_send_frame(&x->a, "frame", 5, sizeof buf,
                                          HIPC_FOREVER));
    FAULT_STEP(x->a, recv_len(&x->a, buf, sizeof buf, sizeof buf, HIPC_FOREVER,
                              &len));
    if (len != 5 || memcmp(buf, "frame", 5) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->a, hipc_pipe_set_capacity(&x->a, 8192));
    FAULT_STEP(x->a, hipc_pipe_get_capacity(&x->a));
    FAULT_STEP(x->a, hipc_pipe_write_all(&x->a, "abc", 3, NULL, HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_get_pending(&x->a, &len));
    FAULT_STEP(x->a, hipc_pipe_close_end(&x->a, HIPC_PIPE_WRITE_END));
    FAULT_STEP(x->a, hipc_pipe_read_some(&x->a, buf, 1, HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_read_exact(&x->a, buf, 2, NULL, HIPC_FOREVER));
    EXPECT(x->a, hipc_pipe_read_some(&x->a, buf, sizeof buf, HIPC_FOREVER),
           HIPC_E_EOF);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

static int create_write_pending_read(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[16];
    size_t done = 0, pending = 0;
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, 0));
    FAULT_STEP(x->a, hipc_pipe_write_all(&x->a, "0123456789", 10, &done,
                                         HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_get_pending(&x->a, &pending));
    if (pending != 10)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->a, hipc_pipe_read_exact(&x->a, buf, 4, &done, HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_read_some(&x->a, buf, sizeof buf, HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_get_capacity(&x->a));
    FAULT_STEP(x->a, hipc_pipe_close_end(&x->a, HIPC_PIPE_WRITE_END));
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

static int timed_and_frames(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[64];
    size_t done = 0, len = 0;
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, HIPC_PIPE_NONBLOCK));
    FAULT_STEP(x->a, hipc_pipe_write_all(&x->a, "abcdef", 6, &done, MS(100)));
    FAULT_STEP(x->a, hipc_pipe_read_exact(&x->a, buf, 6, &done, MS(100)));
    FAULT_STEP(x->a, hipc_pipe_send_frame(&x->a, "frame", 5, 64, 0));
    FAULT_STEP(x->a, recv_len(&x->a, buf, sizeof buf, 64, 0, &len));
    if (len != 5 || memcmp(buf, "frame", 5) != 0)
        return HIPC_E_CORRUPT;
    /* Nothing there: the deadline passes. */
    EXPECT(x->a, hipc_pipe_read_some(&x->a, buf, sizeof buf, MS(1)),
           HIPC_E_TIMEDOUT);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

static int capacity_limits(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    size_t max = 0;
    int rc = hipc_pipe_get_max_size(&max, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, 0));
    FAULT_STEP(x->a, hipc_pipe_set_capacity(&x->a, 65536));
    EXPECT(x->a, hipc_pipe_set_capacity(&x->a, max + 1), HIPC_E_TOO_BIG);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

static int child_says_hello(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)stream;
    (void)arg;
    size_t done = 0;
    return hipc_pipe_write_all(pipe, "hello", 5, &done, HIPC_FOREVER) == HIPC_OK
               ? 7
               : 1;
}

static int spawn_and_finish(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[8];
    size_t done = 0;
    int code = -1;
    int rc = hipc_pipe_spawn(&x->child, HIPC_SPAWN_CHILD_WRITES,
                             child_says_hello, NULL);
    if (rc != HIPC_OK) {
        *sys_errno = x->child.sys_errno;
        return rc;
    }
    FAULT_STEP(x->child.pipe, hipc_pipe_read_exact(&x->child.pipe, buf, 5,
                                                   &done, HIPC_FOREVER));
    rc = hipc_pipe_child_finish(&x->child, &code, HIPC_FOREVER);
    if (rc != HIPC_OK) {
        *sys_errno = x->child.sys_errno;
        return rc;
    }
    return code == 7 && memcmp(buf, "hello", 5) == 0 ? HIPC_OK : HIPC_E_CORRUPT;
}

static int child_drains(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)stream;
    (void)arg;
    char buf[64];
    while (hipc_pipe_read_some(pipe, buf, sizeof buf, HIPC_FOREVER) > 0)
        ;
    return 3;
}

/* Timed frames on a blocking pipe (poll before each transfer) and a timed
 * finish, which naps between looks at a child that has not ended yet. */
static int timed_frames_and_finish(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[64];
    size_t len = 0;
    int code = -1;
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, 0));
    FAULT_STEP(x->a, hipc_pipe_send_frame(&x->a, "timed", 5, 64, MS(1000)));
    FAULT_STEP(x->a, recv_len(&x->a, buf, sizeof buf, 64, MS(1000), &len));
    if (len != 5 || memcmp(buf, "timed", 5) != 0)
        return HIPC_E_CORRUPT;
    EXPECT(x->a, recv_len(&x->a, buf, sizeof buf, 64, 0, &len), HIPC_E_AGAIN);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    FAULT_STEP(x->child, hipc_pipe_spawn(&x->child, 0, child_drains, NULL));
    FAULT_STEP(x->child.pipe,
               hipc_pipe_write_all(&x->child.pipe, "abc", 3, NULL, MS(1000)));
    FAULT_STEP(x->child, hipc_pipe_child_finish(&x->child, &code, MS(10000)));
    return code == 3 ? HIPC_OK : HIPC_E_CHILD;
}

static int child_reads_hello(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)arg;
    char buf[8];
    size_t n = fread(buf, 1, 5, stream);
    (void)pipe;
    return n == 5 && memcmp(buf, "hello", 5) == 0 ? 9 : 1;
}

/* Both ends as streams: the parent's output is flushed by finish; the
 * child checks what it got. */
static int spawn_with_streams(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    int code = -1;
    int rc = hipc_pipe_spawn(&x->child,
                             HIPC_SPAWN_PARENT_STREAM | HIPC_SPAWN_CHILD_STREAM,
                             child_reads_hello, NULL);
    if (rc != HIPC_OK) {
        *sys_errno = x->child.sys_errno;
        return rc;
    }
    if (fputs("hello", x->child.stream) < 0)
        return HIPC_E_SYS;
    rc = hipc_pipe_child_finish(&x->child, &code, HIPC_FOREVER);
    if (rc != HIPC_OK) {
        *sys_errno = x->child.sys_errno;
        return rc;
    }
    return code == 9 ? HIPC_OK : HIPC_E_CORRUPT;
}

static int adopted_and_timed(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[16];
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return HIPC_E_SYS;
    x->raw[0] = fds[0] + 1;
    x->raw[1] = fds[1] + 1;
    FAULT_STEP(x->a, hipc_pipe_adopt(&x->a, fds[0], HIPC_PIPE_READ_END, 0));
    x->raw[0] = 0;
    FAULT_STEP(x->b, hipc_pipe_adopt(&x->b, fds[1], HIPC_PIPE_WRITE_END, 0));
    x->raw[1] = 0;
    FAULT_STEP(x->b, hipc_pipe_write_all(&x->b, "timed", 5, NULL, MS(1000)));
    FAULT_STEP(x->a, hipc_pipe_read_exact(&x->a, buf, 5, NULL, MS(1000)));
    EXPECT(x->a, hipc_pipe_read_some(&x->a, buf, sizeof buf, MS(1)),
           HIPC_E_TIMEDOUT);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    FAULT_STEP(x->b, hipc_pipe_close(&x->b));
    return HIPC_OK;
}

static int reader_gone(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, 0));
    FAULT_STEP(x->a, hipc_pipe_close_end(&x->a, HIPC_PIPE_READ_END));
    EXPECT(x->a, hipc_pipe_write_all(&x->a, "x", 1, NULL, HIPC_FOREVER),
           HIPC_E_PEER_GONE);
    EXPECT(x->a, hipc_pipe_send_frame(&x->a, "y", 1, 0, HIPC_FOREVER),
           HIPC_E_PEER_GONE);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

/* Whether this kernel has packet-mode pipes, found before driving. */
static int have_packets;

/* Packet mode, if the kernel has it: frames read whole, packet by packet. */
static int packet_frames(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    static char big[6000];
    static char buf[6000];
    size_t len = 0;
    if (!have_packets)
        return HIPC_OK; /* nothing to drive here */
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, HIPC_PIPE_DIRECT));
    FAULT_STEP(x->a,
               hipc_pipe_send_frame(&x->a, "hi", 2, sizeof buf, HIPC_FOREVER));
    FAULT_STEP(x->a, hipc_pipe_send_frame(&x->a, big, sizeof big, sizeof buf,
                                          HIPC_FOREVER));
    FAULT_STEP(x->a, recv_len(&x->a, buf, sizeof buf, sizeof buf, HIPC_FOREVER,
                              &len));
    if (len != 2 || memcmp(buf, "hi", 2) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->a, recv_len(&x->a, buf, sizeof buf, sizeof buf, HIPC_FOREVER,
                              &len));
    if (len != sizeof big)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

static void sigpipe_mask(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(how, &set, NULL);
}

/* The caller has SIGPIPE blocked, with one pending for the process: the
 * mask fallback reads the thread's own pending set from /proc. */
static int gone_with_sigpipe_pending(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    sigpipe_mask(SIG_BLOCK);
    kill(getpid(), SIGPIPE);
    FAULT_STEP(x->a, hipc_pipe_create(&x->a, 0));
    FAULT_STEP(x->a, hipc_pipe_close_end(&x->a, HIPC_PIPE_READ_END));
    EXPECT(x->a, hipc_pipe_send_frame(&x->a, "y", 1, 0, HIPC_FOREVER),
           HIPC_E_PEER_GONE);
    FAULT_STEP(x->a, hipc_pipe_close(&x->a));
    return HIPC_OK;
}

/* Takes every SIGPIPE left pending, then unblocks it as it was. */
static void pending_release(void *p)
{
    pipe_release(p);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    const struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
        ;
    sigpipe_mask(SIG_UNBLOCK);
}

static int read_lines(hipc_pipe *pipe, FILE *in, void *arg)
{
    (void)pipe;
    (void)arg;
    char line[32];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL)
        n++;
    return n == 2 ? 0 : 1;
}

static int parent_and_child(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    int code = -1;
    FAULT_STEP(x->child, hipc_pipe_spawn(&x->child,
                                         HIPC_SPAWN_PARENT_STREAM |
                                             HIPC_SPAWN_CHILD_STREAM,
                                         read_lines, NULL));
    if (fputs("one\ntwo\n", x->child.stream) < 0)
        return HIPC_E_SYS;
    FAULT_STEP(x->child,
               hipc_pipe_child_finish(&x->child, &code, HIPC_FOREVER));
    return code == 0 ? HIPC_OK : HIPC_E_CHILD;
}

/* Beyond the default mapping (the driver's fault_expected_code): fork's
 * EAGAIN is a process limit, and F_SETPIPE_SZ's EPERM the user's pipe
 * memory limit. Consuming our own SIGPIPE and restoring the mask
 * afterwards are best effort: the write's outcome stands. (ECHILD from
 * waitpid and EBUSY from F_SETPIPE_SZ need no entry: the driver takes any
 * known code for an errno whose meaning depends on the call, and the
 * tests of lib/pipe.c check HIPC_E_CHILD and HIPC_E_BAD_STATE exactly.) */
static int pipe_accepts(enum hipc__sys_call call, int err, int rc)
{
    if ((call == HIPC_SYS_FORK && err == EAGAIN) ||
        (call == HIPC_SYS_FCNTL && err == EPERM))
        return rc == HIPC_E_LIMIT;
    return rc == HIPC_OK &&
           (call == HIPC_SYS_SIGTIMEDWAIT || call == HIPC_SYS_SIGMASK);
}

/* An injected EPIPE is the gone reader these scenarios expect anyway; in
 * every other scenario it must come back as HIPC_E_PEER_GONE. */
static int gone_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (call == HIPC_SYS_WRITE && err == EPIPE)
        return rc == HIPC_OK;
    return pipe_accepts(call, err, rc);
}

static void pipe_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    hipc_test_needs_kernel("spawns processes");
    static const struct fault_scenario scenarios[] = {
        {"pipe: create, write, pending, read, close", create_write_pending_read,
         pipe_release, pipe_accepts},
        {"pipe: write, read, frames, capacity, eof", one_process, pipe_release,
         pipe_accepts},
        {"pipe: non-blocking timed I/O, frames, timeout", timed_and_frames,
         pipe_release, pipe_accepts},
        {"pipe: adopt both ends, timed transfers", adopted_and_timed,
         pipe_release, pipe_accepts},
        {"pipe: timed frames on a blocking pipe, timed finish",
         timed_frames_and_finish, pipe_release, pipe_accepts},
        {"pipe: max size, set capacity, too big", capacity_limits, pipe_release,
         pipe_accepts},
        {"pipe: writes to a gone reader", reader_gone, pipe_release,
         gone_accepts},
        {"pipe: gone reader, SIGPIPE blocked and pending",
         gone_with_sigpipe_pending, pending_release, gone_accepts},
        {"pipe: packet-mode frames", packet_frames, pipe_release, pipe_accepts},
        {"pipe: spawn a writing child, read, finish", spawn_and_finish,
         pipe_release, pipe_accepts},
        {"pipe: spawn with streams both sides", spawn_with_streams,
         pipe_release, pipe_accepts},
        {"pipe: spawn with streams, the child counts lines", parent_and_child,
         pipe_release, pipe_accepts},
    };
    int fds[2];
    have_packets = pipe2(fds, O_CLOEXEC | O_DIRECT) == 0;
    if (have_packets) {
        close(fds[0]);
        close(fds[1]);
    }
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    HIPC_PIPE_TEST(pipe_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN_BOTH_GUARDS(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
