/* SPDX-License-Identifier: MIT */
/* hipc — running and supervising programs over pipes. */
#include "hipc/process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "hipc/error.h"
#include "internal.h"
#include "sys.h"

#define PROC_MAGIC 0x68507263u /* "hPrc" while open */
#define PROC_DEAD 0x64507263u  /* "dPrc" once closed */

/* reaped_: the child is still there, was reaped with a status, or was
 * reaped by someone else (ECHILD: no status to give). */
enum { ALIVE = 0, REAPED = 1, REAPED_ELSEWHERE = 2 };

/* The longest nap between two looks at a child in the pid fallback, where
 * nothing wakes the parent when the child ends. */
#define NAP_MAX_MS 16

static int check(const hipc_process *p)
{
    if (p == NULL)
        return HIPC_E_NULL;
    if (p->magic_ == PROC_DEAD && p->self_ == (uintptr_t)p)
        return HIPC_E_STALE_HANDLE;
    if (p->magic_ != PROC_MAGIC || p->self_ != (uintptr_t)p)
        return HIPC_E_BAD_HANDLE;
    return HIPC_OK;
}

static int fail(hipc_process *p, long neg)
{
    return hipc__fail(&p->sys_errno, neg);
}

/* ---- time ---------------------------------------------------------- */

static int timeout_valid(int64_t timeout_ns)
{
    return timeout_ns >= 0 || timeout_ns == HIPC_FOREVER;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    (void)hipc__sys_clock_monotonic(&ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A deadline far enough away to be forever (about 292 years). */
static int64_t deadline_after(int64_t timeout_ns)
{
    int64_t now = now_ns();
    if (timeout_ns == HIPC_FOREVER || timeout_ns > INT64_MAX - now)
        return INT64_MAX;
    return now + timeout_ns;
}

/* Milliseconds left, rounded up (poll's unit); -1 for forever. */
static int ms_left(int64_t deadline)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- reaping ------------------------------------------------------- */

static void record(hipc_process *p, int status)
{
    p->reaped_ = REAPED;
    p->status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* What a reaped child left: HIPC_OK and its status, or HIPC_E_CHILD. */
static int report(hipc_process *p, int *status)
{
    if (p->reaped_ == REAPED_ELSEWHERE) {
        p->sys_errno = ECHILD;
        return HIPC_E_CHILD;
    }
    if (status != NULL)
        *status = p->status_;
    return HIPC_OK;
}

/* One waitpid: 1 when the child is gone (reaped here or elsewhere), 0
 * when it still runs (or the call was interrupted), or a code. */
static int try_reap(hipc_process *p, int options)
{
    int status = 0;
    pid_t r = hipc__sys_waitpid(p->pid, &status, options);
    if (r == p->pid) {
        record(p, status);
        return 1;
    }
    if (r == -ECHILD) {
        p->reaped_ = REAPED_ELSEWHERE;
        return 1;
    }
    return r >= 0 || r == -EINTR ? 0 : fail(p, r);
}

/* Sleeps until the child may have ended or `ms` pass: on its pidfd, or
 * a nap in the fallback. */
static int doze(hipc_process *p, int ms, int *nap)
{
    struct pollfd pfd = {.fd = p->pidfd_, .events = POLLIN};
    int r;
    if (p->pidfd_ >= 0) {
        r = hipc__sys_poll(&pfd, 1, ms);
    } else {
        r = hipc__sys_poll(NULL, 0, ms >= 0 && ms < *nap ? ms : *nap);
        *nap = *nap < NAP_MAX_MS / 2 ? *nap * 2 : NAP_MAX_MS;
    }
    return r >= 0 || r == -EINTR ? HIPC_OK : fail(p, r);
}

static int wait_until(hipc_process *p, int64_t timeout_ns)
{
    int r, nap = 1;
    if (timeout_ns == HIPC_FOREVER) {
        while ((r = try_reap(p, 0)) == 0)
            ;
        return r < 0 ? r : HIPC_OK;
    }
    int64_t deadline = deadline_after(timeout_ns);
    for (;;) {
        if ((r = try_reap(p, WNOHANG)) != 0)
            return r < 0 ? r : HIPC_OK;
        int ms = ms_left(deadline);
        if (ms == 0)
            return timeout_ns == 0 ? HIPC_E_AGAIN : HIPC_E_TIMEDOUT;
        if ((r = doze(p, ms, &nap)) != HIPC_OK)
            return r;
    }
}

int hipc_process_wait(hipc_process *p, int *status, int64_t timeout_ns)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (!timeout_valid(timeout_ns))
        return HIPC_E_BAD_TIMEOUT;
    p->sys_errno = 0;
    if (p->reaped_ == ALIVE && (rc = wait_until(p, timeout_ns)) != HIPC_OK)
        return rc;
    return report(p, status);
}

/* ---- signals ------------------------------------------------------- */

static int send(hipc_process *p, int sig)
{
    int r = p->pidfd_ >= 0 ? hipc__sys_pidfd_signal(p->pidfd_, sig) : -ENOSYS;
    /* ENOSYS with a pidfd: an emulator (valgrind) that passes CLONE_PIDFD
     * to the kernel but knows no pidfd_send_signal; the kernels that make
     * pidfds all have it. */
    if (r == -ENOSYS)
        r = hipc__sys_kill(p->pid, sig);
    /* ESRCH: it has ended and only waits to be reaped. */
    return r >= 0 || r == -ESRCH ? HIPC_OK : fail(p, r);
}

int hipc_process_signal(hipc_process *p, int sig)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (sig < 0 || sig >= NSIG)
        return HIPC_E_BAD_FLAGS;
    p->sys_errno = 0;
    if (p->reaped_ != ALIVE)
        return HIPC_E_BAD_STATE;
    return send(p, sig);
}

/* SIGKILL and a wait that only ends when the child has. A refused
 * SIGKILL (EPERM: a set-user-ID program) leaves it running: waiting then
 * could last for ever. */
static int kill_and_reap(hipc_process *p)
{
    int rc = send(p, SIGKILL);
    return rc != HIPC_OK ? rc : wait_until(p, HIPC_FOREVER);
}

int hipc_process_stop(hipc_process *p, int *status, int64_t grace_ns)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (!timeout_valid(grace_ns))
        return HIPC_E_BAD_TIMEOUT;
    p->sys_errno = 0;
    if (p->reaped_ == ALIVE) {
        rc = send(p, SIGTERM);
        if (rc == HIPC_OK)
            rc = wait_until(p, grace_ns);
        /* Whatever went wrong, the child does not outlive stop. */
        if (p->reaped_ == ALIVE) {
            int kill_rc = kill_and_reap(p);
            if (kill_rc != HIPC_OK)
                return kill_rc;
            /* An error before SIGKILL (the grace's end is none). */
            if (rc != HIPC_OK && rc != HIPC_E_AGAIN && rc != HIPC_E_TIMEDOUT)
                return rc;
        }
    }
    return report(p, status);
}

/* ---- closing ------------------------------------------------------- */

/* Closes the parent's end of one pipe, unless the caller has already. */
static int close_pipe(hipc_process *p, hipc_pipe *pipe, unsigned bit)
{
    if (!(p->pipes_ & bit))
        return HIPC_OK;
    int rc = hipc_pipe_close(pipe);
    if (rc == HIPC_E_STALE_HANDLE)
        return HIPC_OK;
    if (rc != HIPC_OK)
        p->sys_errno = pipe->sys_errno;
    return rc;
}

static int keep_first(int rc, int next)
{
    return rc != HIPC_OK ? rc : next;
}

int hipc_process_close(hipc_process *p)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    p->sys_errno = 0;
    /* A child that cannot be killed keeps the handle open: closing it
     * would leave a child nobody can reap through hipc. */
    if (p->reaped_ == ALIVE && (rc = kill_and_reap(p)) != HIPC_OK &&
        p->reaped_ == ALIVE)
        return rc;
    rc = keep_first(rc, close_pipe(p, &p->in, 1u));
    rc = keep_first(rc, close_pipe(p, &p->out, 2u));
    rc = keep_first(rc, close_pipe(p, &p->err, 4u));
    if (p->pidfd_ >= 0) {
        int r = hipc__sys_close(p->pidfd_);
        p->pidfd_ = -1;
        rc = keep_first(rc, r < 0 ? fail(p, r) : HIPC_OK);
    }
    p->magic_ = PROC_DEAD;
    return rc;
}

int hipc_process_get_fd(const hipc_process *p, enum hipc_process_stream which)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (which == HIPC_PROCESS_PIDFD) {
        if (p->reaped_ != ALIVE)
            return HIPC_E_BAD_STATE;
        return p->pidfd_ < 0 ? HIPC_E_UNSUPPORTED : p->pidfd_;
    }
    if ((unsigned)which > HIPC_PROCESS_STDERR)
        return HIPC_E_BAD_FLAGS;
    if (!(p->pipes_ & (1u << which)))
        return HIPC_E_WRONG_END;
    const hipc_pipe *pipe = which == HIPC_PROCESS_STDIN    ? &p->in
                            : which == HIPC_PROCESS_STDOUT ? &p->out
                                                           : &p->err;
    rc = hipc_pipe_get_fd(pipe, which == HIPC_PROCESS_STDIN
                                    ? HIPC_PIPE_WRITE_END
                                    : HIPC_PIPE_READ_END);
    return rc == HIPC_E_STALE_HANDLE ? HIPC_E_WRONG_END : rc;
}

/* ---- spawning ------------------------------------------------------ */

static int config_valid(const hipc_process_config *c)
{
    if ((unsigned)c->group > HIPC_PROCESS_GROUP_SESSION ||
        (c->pipe_flags & ~(unsigned)HIPC_PIPE_SIGPIPE_IGNORED) != 0)
        return HIPC_E_BAD_FLAGS;
    for (int i = 0; i < 3; i++) {
        enum hipc_process_stdio io = c->stdio[i];
        if ((unsigned)io > HIPC_PROCESS_IO_STDOUT ||
            (io == HIPC_PROCESS_IO_STDOUT && i != HIPC_PROCESS_STDERR))
            return HIPC_E_BAD_FLAGS;
        if (io == HIPC_PROCESS_IO_FD && c->stdio_fd[i] < 0)
            return HIPC_E_BAD_FD;
    }
    return HIPC_OK;
}

static hipc_pipe *pipe_of(hipc_process *p, int i)
{
    return i == 0 ? &p->in : i == 1 ? &p->out : &p->err;
}

/* Undoes the descriptors of a spawn that failed (its child, if any, is
 * reaped already). */
static void release(hipc_process *p, int devnull)
{
    for (int i = 0; i < 3; i++)
        if (p->pipes_ & (1u << i))
            (void)hipc_pipe_close(pipe_of(p, i));
    p->pipes_ = 0;
    if (devnull >= 0)
        (void)hipc__sys_close(devnull);
    if (p->pidfd_ >= 0)
        (void)hipc__sys_close(p->pidfd_);
    p->pidfd_ = -1;
}

/* Opens what the child's descriptor `i` will be; src[i] gets it. */
static int open_stdio(hipc_process *p, const hipc_process_config *c,
                      struct hipc__exec_plan *plan, int i, int *devnull)
{
    switch (c->stdio[i]) {
    case HIPC_PROCESS_IO_NULL:
        if (*devnull < 0) {
            int fd = hipc__sys_open("/dev/null", O_RDWR);
            if (fd < 0)
                return fail(p, fd);
            *devnull = fd;
        }
        plan->src[i] = *devnull;
        return HIPC_OK;
    case HIPC_PROCESS_IO_PIPE: {
        hipc_pipe *pipe = pipe_of(p, i);
        int rc = hipc_pipe_create(pipe, c->pipe_flags);
        if (rc != HIPC_OK) {
            p->sys_errno = pipe->sys_errno;
            return rc;
        }
        p->pipes_ |= 1u << i;
        plan->src[i] = i == 0 ? pipe->read_fd : pipe->write_fd;
        return HIPC_OK;
    }
    case HIPC_PROCESS_IO_FD:
        plan->src[i] = c->stdio_fd[i];
        return HIPC_OK;
    case HIPC_PROCESS_IO_STDOUT:
        plan->src[i] = plan->src[1] >= 0 ? plan->src[1] : 1;
        return HIPC_OK;
    default:
        plan->src[i] = -1;
        return HIPC_OK;
    }
}

/* Reads the child's failure record: 1 and *f filled when it failed
 * before execve, 0 when execve closed the pipe, or a code. */
static int read_failure(hipc_process *p, int fd, struct hipc__exec_failure *f)
{
    unsigned char *b = (unsigned char *)f;
    size_t got = 0;
    while (got < sizeof *f) {
        ssize_t n = hipc__sys_read(fd, b + got, sizeof *f - got);
        if (n == -EINTR)
            continue;
        if (n < 0)
            return fail(p, n);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return got == sizeof *f;
}

/* Runs the child and learns whether it reached execve. The child's end of
 * the failure pipe is closed before reading, so end of file means exec. */
static int start(hipc_process *p, struct hipc__exec_plan *plan)
{
    int efd[2];
    int r = hipc__sys_pipe2(efd, O_CLOEXEC);
    if (r < 0)
        return fail(p, r);
    sigset_t old;
    if ((r = hipc__sys_block_signals(&old)) < 0) {
        (void)hipc__sys_close(efd[0]);
        (void)hipc__sys_close(efd[1]);
        return fail(p, r);
    }
    plan->errfd = efd[1];
    int pidfd = -1;
    pid_t pid = hipc__sys_spawn(plan, &pidfd);
    hipc__sys_restore_signals(&old);
    (void)hipc__sys_close(efd[1]);
    if (pid < 0) {
        (void)hipc__sys_close(efd[0]);
        return pid == -EAGAIN ? hipc__fail_as(&p->sys_errno, pid, HIPC_E_LIMIT)
                              : fail(p, pid);
    }
    p->pid = pid;
    p->pidfd_ = pidfd; /* -1: the pid fallback, see hipc/process.h */
    struct hipc__exec_failure f = {0, 0};
    int rc = read_failure(p, efd[0], &f);
    (void)hipc__sys_close(efd[0]);
    if (rc == 0)
        return HIPC_OK;
    (void)kill_and_reap(p);
    if (rc == 1) {
        p->sys_errno = f.err;
        return HIPC_E_EXEC;
    }
    return rc;
}

/* The parent keeps one end of each pipe; the child has the other now. */
static void keep_parent_ends(hipc_process *p)
{
    if (p->pipes_ & 1u)
        (void)hipc_pipe_close_end(&p->in, HIPC_PIPE_READ_END);
    if (p->pipes_ & 2u)
        (void)hipc_pipe_close_end(&p->out, HIPC_PIPE_WRITE_END);
    if (p->pipes_ & 4u)
        (void)hipc_pipe_close_end(&p->err, HIPC_PIPE_WRITE_END);
}

int hipc_process_spawn(hipc_process *p, const char *path, char *const argv[],
                       char *const envp[], const hipc_process_config *cfg)
{
    static const hipc_process_config defaults;
    if (p == NULL || path == NULL || argv == NULL)
        return HIPC_E_NULL;
    const hipc_process_config *c = cfg != NULL ? cfg : &defaults;
    int rc = config_valid(c);
    if (rc != HIPC_OK)
        return rc;
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->pidfd_ = -1;
    p->self_ = (uintptr_t)p;
    p->magic_ = PROC_MAGIC;
    struct hipc__exec_plan plan = {.path = path,
                                   .argv = argv,
                                   .envp = envp,
                                   .cwd = c->cwd,
                                   .group = (enum hipc__exec_group)c->group};
    int devnull = -1;
    for (int i = 0; i < 3 && rc == HIPC_OK; i++)
        rc = open_stdio(p, c, &plan, i, &devnull);
    if (rc == HIPC_OK)
        rc = start(p, &plan);
    if (rc != HIPC_OK) {
        release(p, devnull);
        p->magic_ = PROC_DEAD;
        return rc;
    }
    keep_parent_ends(p);
    if (devnull >= 0)
        (void)hipc__sys_close(devnull);
    return HIPC_OK;
}

/* ---- run ----------------------------------------------------------- */

/* One hipc_process_run in progress. */
struct run {
    hipc_process p;
    hipc_process_io *io;
    int feeding, reading, truncated;
    int64_t deadline;
};

static int stop_feeding(struct run *r)
{
    r->feeding = 0;
    int rc = hipc_pipe_close(&r->p.in);
    return rc == HIPC_OK ? HIPC_OK : (r->p.sys_errno = r->p.in.sys_errno, rc);
}

static int stop_reading(struct run *r)
{
    r->reading = 0;
    int rc = hipc_pipe_close(&r->p.out);
    return rc == HIPC_OK ? HIPC_OK : (r->p.sys_errno = r->p.out.sys_errno, rc);
}

/* Writes what the pipe takes now, at most PIPE_BUF bytes (never blocks:
 * timeout 0). A child that stopped reading ends the feeding. */
static int feed(struct run *r)
{
    hipc_process_io *io = r->io;
    size_t rest = io->in_len - io->in_done, n = 0;
    size_t chunk =
        rest < HIPC_PIPE_ATOMIC_BYTES ? rest : HIPC_PIPE_ATOMIC_BYTES;
    int rc = hipc_pipe_write_all(&r->p.in, (const char *)io->in + io->in_done,
                                 chunk, &n, 0);
    io->in_done += n;
    if (rc == HIPC_E_PEER_GONE || io->in_done == io->in_len)
        return stop_feeding(r);
    if (rc == HIPC_OK || rc == HIPC_E_AGAIN)
        return HIPC_OK;
    r->p.sys_errno = r->p.in.sys_errno;
    return rc;
}

/* Reads what is there; past the cap, one byte more says there was more. */
static int drain(struct run *r)
{
    hipc_process_io *io = r->io;
    unsigned char extra;
    int full = io->out_len == io->out_cap;
    void *to = full ? (void *)&extra : (char *)io->out + io->out_len;
    int n = hipc_pipe_read_some(&r->p.out, to,
                                full ? 1 : io->out_cap - io->out_len, 0);
    if (n > 0 && !full) {
        io->out_len += (size_t)n;
        return HIPC_OK;
    }
    if (n > 0 || n == HIPC_E_EOF) {
        r->truncated = n > 0;
        return stop_reading(r);
    }
    r->p.sys_errno = r->p.out.sys_errno;
    return n == HIPC_E_AGAIN ? HIPC_OK : n;
}

/* One round: poll both pipes, then move what can move. */
static int pump(struct run *r)
{
    struct pollfd fds[2];
    nfds_t n = 0;
    if (r->feeding)
        fds[n++] = (struct pollfd){.fd = r->p.in.write_fd, .events = POLLOUT};
    if (r->reading)
        fds[n++] = (struct pollfd){.fd = r->p.out.read_fd, .events = POLLIN};
    int ms = ms_left(r->deadline);
    if (ms == 0)
        return HIPC_E_TIMEDOUT;
    int k = hipc__sys_poll(fds, n, ms);
    if (k == -EINTR || k == 0)
        return HIPC_OK;
    if (k < 0)
        return fail(&r->p, k);
    int rc = HIPC_OK;
    nfds_t i = 0;
    if (r->feeding && fds[i++].revents != 0)
        rc = feed(r);
    if (rc == HIPC_OK && r->reading && fds[i].revents != 0)
        rc = drain(r);
    return rc;
}

static int run_args_valid(const char *path, int have_argv,
                          const hipc_process_io *io, int64_t timeout_ns)
{
    if (path == NULL || !have_argv || io == NULL ||
        (io->in == NULL && io->in_len > 0) ||
        (io->out == NULL && io->out_cap > 0))
        return HIPC_E_NULL;
    return timeout_ns > 0 || timeout_ns == HIPC_FOREVER ? HIPC_OK
                                                        : HIPC_E_BAD_TIMEOUT;
}

static int run_config(const hipc_process_config *cfg, const hipc_process_io *io,
                      hipc_process_config *c)
{
    if (cfg != NULL)
        *c = *cfg;
    else
        memset(c, 0, sizeof *c);
    for (int i = 0; i < 3; i++)
        if (c->stdio[i] == HIPC_PROCESS_IO_PIPE)
            return HIPC_E_BAD_FLAGS;
    if (io->in != NULL)
        c->stdio[HIPC_PROCESS_STDIN] = HIPC_PROCESS_IO_PIPE;
    if (io->out != NULL)
        c->stdio[HIPC_PROCESS_STDOUT] = HIPC_PROCESS_IO_PIPE;
    return HIPC_OK;
}

/* Feeds and drains until both are done, then waits for the end; at the
 * deadline, or on any failure, the child is killed (close does that). */
static int supervise(struct run *r)
{
    int rc = HIPC_OK;
    if (r->feeding && r->io->in_len == 0)
        rc = stop_feeding(r);
    while (rc == HIPC_OK && (r->feeding || r->reading))
        rc = pump(r);
    if (rc != HIPC_OK)
        return rc;
    int64_t left =
        r->deadline == INT64_MAX ? HIPC_FOREVER : r->deadline - now_ns();
    rc = hipc_process_wait(&r->p, &r->io->status,
                           left > 0 || left == HIPC_FOREVER ? left : 0);
    /* AGAIN: the deadline passed between the last look and this wait. */
    return rc == HIPC_E_AGAIN ? HIPC_E_TIMEDOUT : rc;
}

int hipc_process_run(const char *path, char *const argv[], char *const envp[],
                     const hipc_process_config *cfg, hipc_process_io *io,
                     int *sys_errno, int64_t timeout_ns)
{
    hipc__set_errno(sys_errno, 0);
    int rc = run_args_valid(path, argv != NULL, io, timeout_ns);
    hipc_process_config c;
    if (rc == HIPC_OK)
        rc = run_config(cfg, io, &c);
    if (rc != HIPC_OK)
        return rc;
    io->in_done = io->out_len = 0;
    io->status = 0;
    struct run r = {.io = io,
                    .feeding = io->in != NULL,
                    .reading = io->out != NULL,
                    .deadline = deadline_after(timeout_ns)};
    rc = hipc_process_spawn(&r.p, path, argv, envp, &c);
    if (rc != HIPC_OK) {
        hipc__set_errno(sys_errno, r.p.sys_errno);
        return rc;
    }
    rc = supervise(&r);
    int err = r.p.sys_errno;
    int close_rc = hipc_process_close(&r.p);
    if (rc == HIPC_OK && close_rc != HIPC_OK) {
        rc = close_rc;
        err = r.p.sys_errno;
    }
    hipc__set_errno(sys_errno, rc == HIPC_OK ? 0 : err);
    return rc == HIPC_OK && r.truncated ? HIPC_E_BUF_TOO_SMALL : rc;
}
