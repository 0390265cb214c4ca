/* Fault injection over pipes (lib/pipe.c): plain and timed transfers,
 * frames, capacity, a reader that has gone (EPIPE without SIGPIPE), and a
 * spawned child, with every syscall failing in turn. */
#include <string.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

struct pipe_ctx {
    hipc_pipe p;
    hipc_pipe_child child;
};

static void pipe_release(void *p)
{
    struct pipe_ctx *x = p;
    (void)hipc_pipe_close(&x->p);
    int code = 0;
    (void)hipc_pipe_child_finish(&x->child, &code);
}

static int transfer(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[16];
    size_t done = 0, pending = 0;
    FAULT_STEP(x->p, hipc_pipe_create(&x->p, 0));
    FAULT_STEP(x->p, hipc_pipe_write_all(&x->p, "0123456789", 10, &done));
    FAULT_STEP(x->p, hipc_pipe_pending(&x->p, &pending));
    if (pending != 10)
        return HIPC_E_CORRUPT;
    FAULT_STEP(x->p, hipc_pipe_read_exact(&x->p, buf, 4, &done));
    FAULT_STEP(x->p, hipc_pipe_read_some(&x->p, buf, sizeof buf));
    FAULT_STEP(x->p, hipc_pipe_capacity(&x->p));
    FAULT_STEP(x->p, hipc_pipe_close_end(&x->p, HIPC_PIPE_WRITE_END));
    FAULT_STEP(x->p, hipc_pipe_close(&x->p));
    return HIPC_OK;
}

static int timed_and_frames(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    char buf[64];
    size_t done = 0, len = 0;
    FAULT_STEP(x->p, hipc_pipe_create(&x->p, HIPC_PIPE_NONBLOCK));
    FAULT_STEP(x->p, hipc_pipe_write_all_timed(&x->p, "abcdef", 6, 100, &done));
    FAULT_STEP(x->p, hipc_pipe_read_exact_timed(&x->p, buf, 6, 100, &done));
    FAULT_STEP(x->p, hipc_pipe_send_frame(&x->p, "frame", 5, 64));
    FAULT_STEP(x->p, hipc_pipe_recv_frame(&x->p, buf, sizeof buf, 64, &len));
    if (len != 5 || memcmp(buf, "frame", 5) != 0)
        return HIPC_E_CORRUPT;
    /* Nothing there: the deadline passes. */
    int rc = hipc_pipe_read_some_timed(&x->p, buf, sizeof buf, 1);
    if (rc != HIPC_E_TIMEDOUT) {
        *sys_errno = x->p.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->p, hipc_pipe_close(&x->p));
    return HIPC_OK;
}

/* The reader has gone: the write reports it, and the SIGPIPE the kernel
 * raised is consumed, so the process lives on. */
static int reader_gone(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    size_t done = 0;
    FAULT_STEP(x->p, hipc_pipe_create(&x->p, 0));
    FAULT_STEP(x->p, hipc_pipe_close_end(&x->p, HIPC_PIPE_READ_END));
    int rc = hipc_pipe_write_all(&x->p, "x", 1, &done);
    if (rc != HIPC_E_PEER_GONE) {
        *sys_errno = x->p.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->p, hipc_pipe_close(&x->p));
    return HIPC_OK;
}

static int capacity(void *p, int *sys_errno)
{
    struct pipe_ctx *x = p;
    size_t max = 0;
    int rc = hipc_pipe_max_size(&max, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    FAULT_STEP(x->p, hipc_pipe_create(&x->p, 0));
    FAULT_STEP(x->p, hipc_pipe_set_capacity(&x->p, 65536));
    rc = hipc_pipe_set_capacity(&x->p, max + 1);
    if (rc != HIPC_E_TOO_BIG) {
        *sys_errno = x->p.sys_errno;
        return rc < 0 ? rc : HIPC_E_CORRUPT;
    }
    FAULT_STEP(x->p, hipc_pipe_close(&x->p));
    return HIPC_OK;
}

static int child_says_hello(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)stream;
    (void)arg;
    size_t done = 0;
    return hipc_pipe_write_all(pipe, "hello", 5, &done) == HIPC_OK ? 7 : 1;
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
    FAULT_STEP(x->child.pipe, hipc_pipe_read_exact(&x->child.pipe, buf, 5, &done));
    rc = hipc_pipe_child_finish(&x->child, &code);
    if (rc != HIPC_OK) {
        *sys_errno = x->child.sys_errno;
        return rc;
    }
    return code == 7 && memcmp(buf, "hello", 5) == 0 ? HIPC_OK
                                                     : HIPC_E_CORRUPT;
}

static int child_reads_hello(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)arg;
    char buf[8];
    size_t n = fread(buf, 1, 5, stream);
    (void)pipe;
    return n == 5 && memcmp(buf, "hello", 5) == 0 ? 9 : 1;
}

/* Both ends as streams: the parent's output is flushed by finish. */
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
    rc = hipc_pipe_child_finish(&x->child, &code);
    if (rc != HIPC_OK) {
        *sys_errno = x->child.sys_errno;
        return rc;
    }
    return code == 9 ? HIPC_OK : HIPC_E_CORRUPT;
}

/* What the kernel answers is kept; these are the meanings particular to
 * pipes: EPERM from F_SETPIPE_SZ is the user's pipe memory limit, EBUSY
 * more data in the pipe than the new size holds; ECHILD from the reaping
 * waitpid is HIPC_E_CHILD; EAGAIN from fork is a process limit. */
static int pipe_accepts(enum hipc_sys_call call, int err, int rc)
{
    /* Restoring the signal mask after a write cannot fail with a valid
     * mask; the library does not look. Consuming the SIGPIPE only tidies
     * up after a write whose outcome is already known. An EPIPE is what
     * the reader-gone scenario waits for. */
    if (rc == HIPC_OK)
        return call == HIPC_SYS_SIGMASK || call == HIPC_SYS_SIGTIMEDWAIT ||
               (call == HIPC_SYS_WRITE && err == EPIPE);
    if (call == HIPC_SYS_FCNTL && err == EPERM)
        return rc == HIPC_E_LIMIT;
    if (call == HIPC_SYS_WAITPID && err == ECHILD)
        return rc == HIPC_E_CHILD;
    if (call == HIPC_SYS_FORK && err == EAGAIN)
        return rc == HIPC_E_LIMIT;
    if (call == HIPC_SYS_FCNTL && err == EBUSY)
        return rc == HIPC_E_BAD_STATE;
    return 0;
}

static void pipe_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"pipe: create, write, pending, read, close", transfer, pipe_release,
         pipe_accepts},
        {"pipe: non-blocking timed I/O, frames, timeout", timed_and_frames,
         pipe_release, pipe_accepts},
        {"pipe: write with the reader gone", reader_gone, pipe_release,
         pipe_accepts},
        {"pipe: max size, set capacity, too big", capacity, pipe_release,
         pipe_accepts},
        {"pipe: spawn a writing child, read, finish", spawn_and_finish,
         pipe_release, pipe_accepts},
        {"pipe: spawn with streams both sides", spawn_with_streams,
         pipe_release, pipe_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pipe_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN_BOTH_GUARDS(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
