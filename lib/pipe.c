/* hipc — pipes: validated descriptors, complete I/O, no SIGPIPE. */
#include "hipc/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hipc/config.h"
#include "hipc/error.h"
#include "hipc/frame.h"
#include "internal.h"
#include "procfs.h"
#include "sys.h"

#define PIPE_MAGIC 0x68506970u /* "hPip" while open */
#define PIPE_DEAD 0x64506970u  /* "dPip" once closed */

/* Private flag: the descriptors are non-blocking, so a timed write may
 * hand the kernel more than PIPE_BUF bytes at once. */
#define NONBLOCKING_ 0x100u

enum op { OP_WRITE, OP_READ_EXACT, OP_READ_SOME };

/* One transfer in progress. */
struct io {
    enum op op;
    int fd;
    const unsigned char *wbuf;
    unsigned char *rbuf;
    size_t len;
    size_t done;
    const struct timespec *deadline; /* NULL: wait as long as it takes */
    int attempted;  /* the caller made the first transfer: its result is */
    ssize_t first;  /* here, and run() starts by judging it */
    struct sigpipe_guard *guard; /* writes: how SIGPIPE is kept away */
};

/* The SIGPIPE state a writing call saves and restores. */
struct sigpipe_guard {
    sigset_t old;
    int active;      /* the mask was read (and possibly changed) */
    int was_pending; /* a SIGPIPE was pending before the write */
    int unmasked;    /* writes go without the mask (write_unmasked) */
};

static int check(const hipc_pipe *p)
{
    if (p == NULL)
        return HIPC_E_NULL;
    if (p->magic_ == PIPE_DEAD)
        return HIPC_E_STALE_HANDLE;
    /* A copy made by value still carries its original's address: acting on
     * it would use or close descriptors that the original holds, or that a
     * later handle got with the same numbers. */
    if (p->magic_ != PIPE_MAGIC || p->self_ != (uintptr_t)p)
        return HIPC_E_BAD_HANDLE;
    return HIPC_OK;
}

/* Records a failed syscall's errno and turns it into a code. */
static int fail(hipc_pipe *p, long neg)
{
    p->sys_errno = (int)-neg;
    return hipc__from_errno((int)-neg);
}

static int end_valid(enum hipc_pipe_end end)
{
    return end == HIPC_PIPE_READ_END || end == HIPC_PIPE_WRITE_END;
}

static int fd_of(const hipc_pipe *p, enum hipc_pipe_end end)
{
    return end == HIPC_PIPE_READ_END ? p->read_fd : p->write_fd;
}

/* Checks the handle and that it holds `end`; clears sys_errno. */
static int begin(hipc_pipe *p, enum hipc_pipe_end end, int *fd)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    p->sys_errno = 0;
    *fd = fd_of(p, end);
    return *fd < 0 ? HIPC_E_WRONG_END : HIPC_OK;
}

/* Either end will do (capacity and FIONREAD are properties of the pipe). */
static int begin_any(hipc_pipe *p, int *fd)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    p->sys_errno = 0;
    *fd = p->read_fd >= 0 ? p->read_fd : p->write_fd;
    return HIPC_OK;
}

static void set_done(size_t *done, size_t n)
{
    if (done != NULL)
        *done = n;
}

int hipc_pipe_create(hipc_pipe *p, unsigned flags)
{
    if (p == NULL)
        return HIPC_E_NULL;
    if ((flags & ~(unsigned)HIPC_PIPE_FLAGS_ALL_) != 0)
        return HIPC_E_BAD_FLAGS;
    *p = (hipc_pipe){.read_fd = -1, .write_fd = -1, .self_ = (uintptr_t)p};
    int sysflags = O_CLOEXEC;
    if (flags & HIPC_PIPE_NONBLOCK)
        sysflags |= O_NONBLOCK;
    if (flags & HIPC_PIPE_DIRECT)
        sysflags |= O_DIRECT;
    int fds[2];
    int rc = hipc_sys_pipe2(fds, sysflags);
    if (rc < 0) {
        p->sys_errno = -rc;
        return rc == -EINVAL ? HIPC_E_UNSUPPORTED : hipc__from_errno(-rc);
    }
    p->read_fd = fds[0];
    p->write_fd = fds[1];
    p->flags_ = flags | ((flags & HIPC_PIPE_NONBLOCK) ? NONBLOCKING_ : 0u);
    p->magic_ = PIPE_MAGIC;
    return HIPC_OK;
}

/* The three checks of an adopted descriptor, each with its own code. */
static int validate_fd(hipc_pipe *p, int fd, enum hipc_pipe_end end, int *fl)
{
    /* EBADF (not open) becomes HIPC_E_BAD_FD through the errno map. */
    int rc = hipc_sys_fcntl(fd, F_GETFD, 0);
    if (rc < 0)
        return fail(p, rc);
    struct stat st;
    rc = hipc_sys_fstat(fd, &st);
    if (rc < 0)
        return fail(p, rc);
    *fl = hipc_sys_fcntl(fd, F_GETFL, 0);
    if (*fl < 0)
        return fail(p, *fl);
    /* An O_PATH descriptor passes fstat but cannot be read or written. */
    if (*fl & O_PATH)
        return HIPC_E_BAD_FD;
    if (!S_ISFIFO(st.st_mode))
        return HIPC_E_NOT_PIPE;
    int acc = *fl & O_ACCMODE;
    int want = end == HIPC_PIPE_READ_END ? O_RDONLY : O_WRONLY;
    return acc == want || acc == O_RDWR ? HIPC_OK : HIPC_E_WRONG_END;
}

/* A read end may be told that its writer sends packets (HIPC_PIPE_DIRECT):
 * it cannot see that itself, since O_DIRECT is a flag of the write end's
 * file only, while a read drops what of a packet it does not take. */
static unsigned adopt_flags(enum hipc_pipe_end end)
{
    return HIPC_PIPE_SIGPIPE_IGNORED |
           (end == HIPC_PIPE_READ_END ? HIPC_PIPE_DIRECT : 0u);
}

int hipc_pipe_adopt(hipc_pipe *p, int fd, enum hipc_pipe_end end, unsigned flags)
{
    if (p == NULL)
        return HIPC_E_NULL;
    if (!end_valid(end) || (flags & ~adopt_flags(end)) != 0)
        return HIPC_E_BAD_FLAGS;
    *p = (hipc_pipe){.read_fd = -1, .write_fd = -1, .self_ = (uintptr_t)p};
    if (fd < 0)
        return HIPC_E_BAD_FD;
    int fl = 0;
    int rc = validate_fd(p, fd, end, &fl);
    if (rc != HIPC_OK)
        return rc;
    if (end == HIPC_PIPE_READ_END)
        p->read_fd = fd;
    else
        p->write_fd = fd;
    p->flags_ = flags | ((fl & O_NONBLOCK) ? NONBLOCKING_ : 0u);
    p->magic_ = PIPE_MAGIC;
    return HIPC_OK;
}

int hipc_pipe_fd(const hipc_pipe *p, enum hipc_pipe_end end)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (!end_valid(end))
        return HIPC_E_BAD_FLAGS;
    int fd = fd_of(p, end);
    return fd < 0 ? HIPC_E_WRONG_END : fd;
}

/* Closes one descriptor slot; a handle with no ends left is closed. */
static int drop_end(hipc_pipe *p, int *slot)
{
    int rc = hipc_sys_close(*slot);
    *slot = -1;
    if (slot == &p->write_fd)
        p->send_done_ = 0; /* a frame still owed is given up */
    if (p->read_fd < 0 && p->write_fd < 0)
        p->magic_ = PIPE_DEAD;
    return rc < 0 ? fail(p, rc) : HIPC_OK;
}

int hipc_pipe_close_end(hipc_pipe *p, enum hipc_pipe_end end)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (!end_valid(end))
        return HIPC_E_BAD_FLAGS;
    p->sys_errno = 0;
    int *slot = end == HIPC_PIPE_READ_END ? &p->read_fd : &p->write_fd;
    return *slot < 0 ? HIPC_E_WRONG_END : drop_end(p, slot);
}

int hipc_pipe_close(hipc_pipe *p)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    p->sys_errno = 0;
    if (p->read_fd >= 0)
        rc = drop_end(p, &p->read_fd);
    if (p->write_fd >= 0) {
        int rc2 = drop_end(p, &p->write_fd);
        rc = rc != HIPC_OK ? rc : rc2;
    }
    p->magic_ = PIPE_DEAD;
    return rc;
}

/* ---- SIGPIPE ------------------------------------------------------------ */

/* SIGPIPE. A write to a pipe whose reader has gone raises SIGPIPE, which
 * kills a caller that neither ignores nor blocks it. Since Linux 6.18 a
 * write can carry RWF_NOSIGNAL and simply fail with EPIPE: hipc uses that
 * until the kernel refuses the flag once (then, for the whole process,
 * it falls back to blocking SIGPIPE around each writing call, which costs
 * two rt_sigprocmask calls per call: 0.3x the raw loop's rate at 64
 * bytes, where RWF_NOSIGNAL costs nothing measurable). */
static _Atomic int nosig_refused;

int hipc__pipe_set_nosignal(int on)
{
    return !atomic_exchange_explicit(&nosig_refused, !on, memory_order_relaxed);
}

/* The SigPnd line's key; the scanner matches it across reads. */
static const char sigpnd_key[] = "\nSigPnd:\t";

static void scan_value(struct hipc__sigpnd *s, char c)
{
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (c == '\n' && s->digits > 0)
        s->state = HIPC__SIGPND_DONE;
    else if (v < 0 || ++s->digits > 32) /* 128 signals on MIPS */
        s->state = HIPC__SIGPND_BAD;
    else
        s->mask = s->mask << 4 | (unsigned)v;
}

void hipc__pipe_scan_sigpnd(struct hipc__sigpnd *s, const char *buf, size_t len)
{
    const unsigned keylen = sizeof sigpnd_key - 1;
    for (size_t i = 0; i < len && (s->state == 0 || s->state == 1); i++) {
        if (s->state == 1)
            scan_value(s, buf[i]);
        else if (buf[i] == sigpnd_key[s->matched])
            s->state = ++s->matched == keylen;
        else
            s->matched = buf[i] == '\n';
    }
}

static int scan_chunk(void *ctx, const char *data, size_t len)
{
    struct hipc__sigpnd *s = ctx;
    hipc__pipe_scan_sigpnd(s, data, len);
    return s->state == HIPC__SIGPND_DONE; /* found: stop reading */
}

/* Whether SIGPIPE is pending for this thread itself, which sigpending()
 * cannot tell from one pending for the whole process: 0, 1, or a hipc
 * code with the errno in p->sys_errno (a status file without a SigPnd
 * value, which no Linux writes, is HIPC_E_CORRUPT). */
static int thread_has_sigpipe(hipc_pipe *p)
{
    struct hipc__sigpnd s = {0};
    char buf[256];
    int rc = hipc__procfs_stream("/proc/thread-self/status", buf, sizeof buf,
                                 scan_chunk, &s, &p->sys_errno);
    if (rc < 0)
        return rc;
    return s.state != HIPC__SIGPND_DONE ? HIPC_E_CORRUPT
                                        : (int)(s.mask >> (SIGPIPE - 1) & 1u);
}

/* Blocks SIGPIPE on this thread before a write. When the caller had it
 * blocked already, a SIGPIPE may be pending from before. One pending for
 * this thread makes the kernel drop the one our write raises (a standard
 * signal is queued once), so then nothing may be consumed; one pending
 * for the process only leaves ours to be taken (sigtimedwait takes the
 * thread's own first). sigpending() shows both as one, so the thread's
 * own is read from /proc. When SIGPIPE was not blocked, nothing can be
 * pending (it would have been delivered), so the common path costs a
 * single rt_sigprocmask here. */
static int guard_mask(hipc_pipe *p, struct sigpipe_guard *g)
{
    g->active = 0;
    g->was_pending = 0;
    g->unmasked = 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    int rc = hipc_sys_sigmask(SIG_BLOCK, &set, &g->old);
    if (rc < 0)
        return fail(p, rc);
    g->active = 1;
    if (!sigismember(&g->old, SIGPIPE))
        return HIPC_OK;
    sigset_t pending;
    rc = hipc_sys_sigpending(&pending);
    if (rc < 0)
        return fail(p, rc);
    if (!sigismember(&pending, SIGPIPE))
        return HIPC_OK;
    rc = thread_has_sigpipe(p);
    if (rc < 0)
        return rc;
    g->was_pending = rc;
    return HIPC_OK;
}

/* What write_unmasked returns when the write needs the mask after all:
 * the kernel does not know RWF_NOSIGNAL (and so wrote nothing). */
#define NEEDS_MASK ((ssize_t)INT_MIN)

static HIPC_INLINE ssize_t plain_writev(int fd, const struct iovec *iov,
                                        int count)
{
    return count == 1 ? hipc_sys_write(fd, iov[0].iov_base, iov[0].iov_len)
                      : hipc_sys_writev(fd, iov, count);
}

/* One write with no mask around it: plain for a handle whose caller keeps
 * SIGPIPE away, with RWF_NOSIGNAL otherwise - the one place that decides.
 * The first refusal of the flag switches the whole process to the mask. */
static HIPC_INLINE ssize_t write_unmasked(const hipc_pipe *p, int fd,
                                          const struct iovec *iov, int count)
{
    if (p->flags_ & HIPC_PIPE_SIGPIPE_IGNORED)
        return plain_writev(fd, iov, count);
    if (atomic_load_explicit(&nosig_refused, memory_order_relaxed))
        return NEEDS_MASK;
    ssize_t n = hipc_sys_writev_nosignal(fd, iov, count);
    if (n != -EOPNOTSUPP && n != -ENOSYS)
        return n;
    atomic_store_explicit(&nosig_refused, 1, memory_order_relaxed);
    return NEEDS_MASK;
}

/* Sets up the guard for a writing call: unmasked writes while they can
 * be had (see write_unmasked), the mask otherwise. */
static int guard_enter(hipc_pipe *p, struct sigpipe_guard *g)
{
    g->active = 0;
    g->was_pending = 0;
    g->unmasked = (p->flags_ & HIPC_PIPE_SIGPIPE_IGNORED) ||
                  !atomic_load_explicit(&nosig_refused, memory_order_relaxed);
    return g->unmasked ? HIPC_OK : guard_mask(p, g);
}

/* One write under the guard `g` (NULL: none). When an unmasked write
 * turns out to need the mask, the guard takes it and the same write goes
 * again, plainly. */
static ssize_t guarded_writev(hipc_pipe *p, struct sigpipe_guard *g, int fd,
                              const struct iovec *iov, int count)
{
    if (g != NULL && g->unmasked) {
        ssize_t n = write_unmasked(p, fd, iov, count);
        if (n != NEEDS_MASK)
            return n;
        if (guard_mask(p, g) != HIPC_OK)
            return -(ssize_t)p->sys_errno;
    }
    return plain_writev(fd, iov, count);
}

/* Non-zero when SIGPIPE is pending, or when that cannot be found out. */
static int sigpipe_pending(void)
{
    sigset_t pending;
    return hipc_sys_sigpending(&pending) < 0 || sigismember(&pending, SIGPIPE);
}

/* Consumes the SIGPIPE our write raised (only after EPIPE, so a
 * successful write pays nothing here) and restores the mask if we
 * changed it. The signal the kernel sends for EPIPE is directed at this
 * thread, and sigtimedwait takes thread-directed signals first, so a
 * process-wide SIGPIPE that arrived meanwhile stays pending. */
static void guard_leave(struct sigpipe_guard *g, int saw_epipe)
{
    if (!g->active)
        return;
    int consumed = 1;
    if (saw_epipe && !g->was_pending) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        const struct timespec zero = {0, 0};
        int r;
        while ((r = hipc_sys_sigtimedwait(&set, &zero)) == -EINTR)
            ;
        /* The kernel raises SIGPIPE with every EPIPE, so anything but
         * SIGPIPE here is unexpected (fault injection makes it happen).
         * Unblocking a SIGPIPE that is still pending would kill the
         * caller: then it stays blocked instead. */
        consumed = r == SIGPIPE || (r == -EAGAIN && !sigpipe_pending());
    }
    if (consumed && !sigismember(&g->old, SIGPIPE))
        hipc_sys_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- Deadlines ---------------------------------------------------------- */

/* CLOCK_MONOTONIC cannot fail (see lib/sys.c), so deadlines need no
 * error path. */
static void deadline_after(int timeout_ms, struct timespec *dl)
{
    hipc_sys_clock_monotonic(dl);
    dl->tv_sec += timeout_ms / 1000;
    dl->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl->tv_nsec >= 1000000000L) {
        dl->tv_sec++;
        dl->tv_nsec -= 1000000000L;
    }
}

/* Milliseconds left until the deadline, rounded up so that a poll never
 * ends before it; 0 once it has passed. */
static int remaining_ms(const struct timespec *dl)
{
    struct timespec now;
    hipc_sys_clock_monotonic(&now);
    long long ns = (long long)(dl->tv_sec - now.tv_sec) * 1000000000LL +
                   (dl->tv_nsec - now.tv_nsec);
    return ns <= 0 ? 0 : (int)((ns + 999999LL) / 1000000LL);
}

/* 1 when the descriptor is ready, 0 when the deadline passed first. An
 * interrupted poll goes round again against the same deadline. */
static int wait_ready(hipc_pipe *p, const struct io *io)
{
    for (;;) {
        int ms = remaining_ms(io->deadline);
        struct pollfd pfd = {.fd = io->fd,
                             .events = io->op == OP_WRITE ? POLLOUT : POLLIN};
        int rc = hipc_sys_poll(&pfd, 1, ms);
        if (rc > 0)
            return 1;
        if (rc == 0 && ms == 0)
            return 0;
        if (rc < 0 && rc != -EINTR)
            return fail(p, rc);
    }
}

/* ---- The transfer loop -------------------------------------------------- */

static ssize_t io_once(hipc_pipe *p, const struct io *io)
{
    size_t want = io->len - io->done;
    if (io->op != OP_WRITE)
        return hipc_sys_read(io->fd, io->rbuf + io->done, want);
    /* After POLLOUT a blocking pipe has room for PIPE_BUF bytes at least;
     * asking for more could block past the deadline. */
    if (io->deadline != NULL && !(p->flags_ & NONBLOCKING_) && want > PIPE_BUF)
        want = PIPE_BUF;
    struct iovec v = {.iov_base = (void *)(uintptr_t)(io->wbuf + io->done),
                      .iov_len = want};
    return guarded_writev(p, io->guard, io->fd, &v, 1);
}

/* What run() does after a transfer that moved nothing. */
#define RETRY_ 1

/* RETRY_ to go round again, or the code the transfer ends with. */
static int stop_or_retry(hipc_pipe *p, const struct io *io, ssize_t n,
                         int *confirmed, int *epipe)
{
    /* Only a read returns 0 (end of file): write(2) on a pipe never
     * accepts 0 of n > 0 bytes. */
    if (n == 0)
        return io->done == 0 ? HIPC_E_EOF : HIPC_E_TRUNCATED;
    if (n == -EINTR || (n == -EAGAIN && io->deadline != NULL))
        return RETRY_;
    /* Without a deadline, EAGAIN is reported only when a second attempt
     * agrees: a single retry is as cheap as asking poll, and unlike poll
     * it is exact (a pipe whose slots are all in use still takes a small
     * write into its last page). */
    if (n == -EAGAIN && !*confirmed) {
        *confirmed = 1;
        return RETRY_;
    }
    if (n == -EPIPE && epipe != NULL)
        *epipe = 1;
    return fail(p, n);
}

/* Moves bytes until the transfer is complete, the peer is gone, the
 * deadline passes or an error occurs. *epipe is set on EPIPE. */
static int run(hipc_pipe *p, struct io *io, int *epipe)
{
    /* A non-blocking descriptor cannot block, so a timed transfer tries
     * it first and polls only after EAGAIN; a blocking one polls first. */
    int nonblocking = (p->flags_ & NONBLOCKING_) != 0;
    int ready = nonblocking, confirmed = 0;
    while (io->done < io->len) {
        if (io->deadline != NULL && !ready) {
            int r = wait_ready(p, io);
            if (r <= 0)
                return r == 0 ? HIPC_E_TIMEDOUT : r;
        }
        ssize_t n = io->attempted ? io->first : io_once(p, io);
        io->attempted = 0;
        /* A transfer interrupted after poll said "ready" is retried at
         * once: the descriptor is still ready, so it cannot block. */
        ready = n == -EINTR || (n > 0 && nonblocking);
        if (n <= 0) {
            int rc = stop_or_retry(p, io, n, &confirmed, epipe);
            if (rc != RETRY_)
                return rc;
            continue;
        }
        io->done += (size_t)n;
        confirmed = 0;
        if (io->op == OP_READ_SOME)
            break;
    }
    return HIPC_OK;
}

static int run_write(hipc_pipe *p, struct io *io)
{
    struct sigpipe_guard g;
    int rc = guard_enter(p, &g);
    if (rc != HIPC_OK)
        return rc;
    int epipe = 0;
    io->guard = &g;
    rc = run(p, io, &epipe);
    io->guard = NULL; /* `g` dies with this frame */
    guard_leave(&g, epipe);
    return rc;
}

/* Validates, arms the deadline (timeout_ms < 0: none) and runs. */
static int transfer(hipc_pipe *p, struct io *io, int timeout_ms, size_t *done)
{
    set_done(done, 0);
    enum hipc_pipe_end end =
        io->op == OP_WRITE ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
    int rc = begin(p, end, &io->fd);
    if (rc != HIPC_OK)
        return rc;
    if (io->wbuf == NULL && io->rbuf == NULL && io->len != 0)
        return HIPC_E_NULL;
    if (io->len > (size_t)SSIZE_MAX)
        return HIPC_E_BAD_SIZE;
    /* Bytes written now would land inside the frame still owed. */
    if (io->op == OP_WRITE && p->send_done_ != 0)
        return HIPC_E_BAD_STATE;
    struct timespec dl;
    if (timeout_ms >= 0) {
        deadline_after(timeout_ms, &dl);
        io->deadline = &dl;
    }
    int epipe = 0;
    rc = io->op == OP_WRITE ? run_write(p, io) : run(p, io, &epipe);
    /* `dl` dies with this frame: leave no pointer to it in the caller's io. */
    io->deadline = NULL;
    set_done(done, io->done);
    return rc;
}

HIPC_NOINLINE static int write_op(hipc_pipe *p, const void *buf, size_t len, int timeout_ms,
                    size_t *done)
{
    struct io io = {.op = OP_WRITE, .wbuf = buf, .len = len};
    return transfer(p, &io, timeout_ms, done);
}

HIPC_NOINLINE static int read_op(hipc_pipe *p, enum op op, void *buf, size_t len,
                   int timeout_ms, size_t *done)
{
    struct io io = {.op = op, .rbuf = buf, .len = len};
    return transfer(p, &io, timeout_ms, done);
}

/* read_some hands back a count as an int; larger requests are capped. */
static int read_some_op(hipc_pipe *p, void *buf, size_t len, int timeout_ms)
{
    if (len == 0 || len > (size_t)SSIZE_MAX)
        return check(p) != HIPC_OK ? check(p) : HIPC_E_BAD_SIZE;
    size_t got = 0;
    int rc = read_op(p, OP_READ_SOME, buf, len > INT_MAX ? INT_MAX : len,
                     timeout_ms, &got);
    return rc != HIPC_OK ? rc : (int)got;
}

/* The common case of an untimed transfer - a valid handle, nothing to
 * guard, one syscall moves it all - costs a few checks and the syscall;
 * the general path (about 100 instructions more per call, 10 % of a
 * 64-byte pipe write here) then only judges what that first syscall did. */
/* The rest of a transfer whose first syscall returned `first`. Out of
 * line, so that the fast path builds no struct io (and has no address-taken
 * local for the stack protector to guard). */
HIPC_NOINLINE static int finish(hipc_pipe *p, enum op op,
                                            const void *buf, size_t len,
                                            ssize_t first, size_t *done)
{
    struct io io = {.op = op, .len = len, .attempted = 1, .first = first};
    if (op == OP_WRITE)
        io.wbuf = buf;
    else
        io.rbuf = (void *)(uintptr_t)buf;
    return transfer(p, &io, -1, done);
}

/* The fast paths take lengths from 1 to SSIZE_MAX: above it the kernel's
 * -errno would pass for a count (len - 1 wraps for 0, so one compare). */
#define FAST_LEN_(len) ((size_t)(len) - 1u < (size_t)SSIZE_MAX)

/* A handle the fast paths may use: open, not a copy. */
#define FAST_HANDLE_(p)                                                        \
    ((p) != NULL && (p)->magic_ == PIPE_MAGIC && (p)->self_ == (uintptr_t)(p))

int hipc_pipe_write_all(hipc_pipe *p, const void *buf, size_t len, size_t *done)
{
    if (!FAST_HANDLE_(p) || p->write_fd < 0 || buf == NULL ||
        !FAST_LEN_(len) || p->send_done_ != 0)
        return write_op(p, buf, len, -1, done);
    struct iovec v = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    ssize_t n = write_unmasked(p, p->write_fd, &v, 1);
    if (n == NEEDS_MASK)
        return write_op(p, buf, len, -1, done);
    p->sys_errno = 0;
    if (n != (ssize_t)len)
        return finish(p, OP_WRITE, buf, len, n, done);
    set_done(done, len);
    return HIPC_OK;
}

int hipc_pipe_read_exact(hipc_pipe *p, void *buf, size_t len, size_t *done)
{
    if (!FAST_HANDLE_(p) || p->read_fd < 0 || buf == NULL || !FAST_LEN_(len))
        return read_op(p, OP_READ_EXACT, buf, len, -1, done);
    p->sys_errno = 0;
    ssize_t n = hipc_sys_read(p->read_fd, buf, len);
    if (n != (ssize_t)len)
        return finish(p, OP_READ_EXACT, buf, len, n, done);
    set_done(done, len);
    return HIPC_OK;
}

int hipc_pipe_read_some(hipc_pipe *p, void *buf, size_t len)
{
    return read_some_op(p, buf, len, -1);
}

int hipc_pipe_write_all_timed(hipc_pipe *p, const void *buf, size_t len,
                              int timeout_ms, size_t *done)
{
    set_done(done, 0);
    if (timeout_ms < 0)
        return check(p) != HIPC_OK ? check(p) : HIPC_E_BAD_TIMEOUT;
    return write_op(p, buf, len, timeout_ms, done);
}

int hipc_pipe_read_exact_timed(hipc_pipe *p, void *buf, size_t len,
                               int timeout_ms, size_t *done)
{
    set_done(done, 0);
    if (timeout_ms < 0)
        return check(p) != HIPC_OK ? check(p) : HIPC_E_BAD_TIMEOUT;
    return read_op(p, OP_READ_EXACT, buf, len, timeout_ms, done);
}

int hipc_pipe_read_some_timed(hipc_pipe *p, void *buf, size_t len, int timeout_ms)
{
    if (timeout_ms < 0)
        return check(p) != HIPC_OK ? check(p) : HIPC_E_BAD_TIMEOUT;
    return read_some_op(p, buf, len, timeout_ms);
}

/* ---- Capacity ----------------------------------------------------------- */

int hipc_pipe_max_size(size_t *bytes, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (bytes == NULL)
        return HIPC_E_NULL;
    uint64_t v = 0;
    int rc = hipc__procfs_value("/proc/sys/fs/pipe-max-size", SIZE_MAX, &v,
                                sys_errno);
    if (rc == HIPC_OK)
        *bytes = (size_t)v;
    return rc;
}

int hipc_pipe_capacity(hipc_pipe *p)
{
    int fd = -1;
    int rc = begin_any(p, &fd);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_sys_fcntl(fd, F_GETPIPE_SZ, 0);
    return rc < 0 ? fail(p, rc) : rc;
}

int hipc_pipe_set_capacity(hipc_pipe *p, size_t bytes)
{
    int fd = -1;
    int rc = begin_any(p, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (bytes == 0)
        return HIPC_E_BAD_SIZE;
    size_t max = 0;
    rc = hipc_pipe_max_size(&max, &p->sys_errno);
    if (rc != HIPC_OK)
        return rc;
    if (bytes > max || bytes > INT_MAX)
        return HIPC_E_TOO_BIG;
    rc = hipc_sys_fcntl(fd, F_SETPIPE_SZ, (int)bytes);
    if (rc >= 0)
        return rc;
    /* EBUSY: more data waiting than the new size holds. EPERM: the
     * user's pipe memory (fs/pipe-user-pages-*) is used up. */
    if (rc == -EBUSY || rc == -EPERM) {
        p->sys_errno = -rc;
        return rc == -EBUSY ? HIPC_E_BAD_STATE : HIPC_E_LIMIT;
    }
    return fail(p, rc);
}

int hipc_pipe_pending(hipc_pipe *p, size_t *bytes)
{
    int fd = -1;
    int rc = begin_any(p, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (bytes == NULL)
        return HIPC_E_NULL;
    int n = 0;
    rc = hipc_sys_ioctl_int(fd, FIONREAD, &n);
    if (rc < 0)
        return fail(p, rc);
    *bytes = n < 0 ? 0u : (size_t)n;
    return HIPC_OK;
}

/* ---- Frames ------------------------------------------------------------- */

#define HDR_ HIPC_FRAME_HEADER_BYTES

/* Takes on the frame a send is asked for. A begun frame is owed until all
 * of it is out: only the same payload (address and length) may go on
 * with it, since the bytes already sent cannot be taken back and any
 * other would be spliced into it. */
static int claim_frame(hipc_pipe *p, const void *payload, size_t len)
{
    uintptr_t id = (uintptr_t)payload;
    if (p->send_done_ != 0)
        return id == p->send_buf_ && len == p->send_len_ ? HIPC_OK
                                                         : HIPC_E_BAD_STATE;
    p->send_buf_ = id;
    p->send_len_ = len;
    return HIPC_OK;
}

/* The iovecs for what is left of a frame after `sent` of its bytes. */
static int frame_iov(struct iovec iov[2], const unsigned char *hdr,
                     const void *payload, size_t len, size_t sent)
{
    int k = 0;
    if (sent < HDR_)
        iov[k++] = (struct iovec){(void *)(uintptr_t)(hdr + sent), HDR_ - sent};
    size_t off = sent < HDR_ ? 0 : sent - HDR_;
    if (off < len)
        iov[k++] = (struct iovec){(void *)((uintptr_t)payload + off), len - off};
    return k;
}

/* One piece of the frame (header or payload) through the transfer loop,
 * from `base`, its first byte's place in the frame; the handle keeps
 * what went out. */
static int send_piece(hipc_pipe *p, struct sigpipe_guard *g, const void *buf,
                      size_t len, size_t base, int *epipe)
{
    struct io io = {.op = OP_WRITE, .fd = p->write_fd, .wbuf = buf,
                    .len = len, .done = p->send_done_ - base, .guard = g};
    int rc = run(p, &io, epipe);
    p->send_done_ = base + io.done;
    return rc;
}

/* One writev, retried after EINTR; EAGAIN only when a second try agrees,
 * as run() does, so that the frame is not split for a passing EAGAIN. */
static ssize_t writev_once(hipc_pipe *p, struct sigpipe_guard *g,
                           const struct iovec *iov, int count)
{
    int confirmed = 0;
    for (;;) {
        ssize_t n = guarded_writev(p, g, p->write_fd, iov, count);
        if (n == -EAGAIN && !confirmed)
            confirmed = 1;
        else if (n != -EINTR)
            return n;
    }
}

/* Sends what the frame still owes: one writev first (a frame of at most
 * PIPE_BUF bytes lands in one piece), then header and payload in turn. */
static int send_owed(hipc_pipe *p, struct sigpipe_guard *g,
                     const unsigned char *hdr, const void *payload, int *epipe)
{
    struct iovec iov[2];
    int count = frame_iov(iov, hdr, payload, p->send_len_, p->send_done_);
    ssize_t n = writev_once(p, g, iov, count);
    if (n < 0) {
        *epipe = n == -EPIPE;
        return fail(p, n);
    }
    p->send_done_ += (size_t)n;
    int rc = HIPC_OK;
    if (p->send_done_ < HDR_)
        rc = send_piece(p, g, hdr, HDR_, 0, epipe);
    if (rc == HIPC_OK)
        rc = send_piece(p, g, payload, p->send_len_, HDR_, epipe);
    return rc;
}

int hipc_pipe_send_frame(hipc_pipe *p, const void *payload, size_t len,
                         size_t max_payload)
{
    int fd = -1;
    int rc = begin(p, HIPC_PIPE_WRITE_END, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (payload == NULL && len != 0)
        return HIPC_E_NULL;
    unsigned char hdr[HDR_];
    rc = hipc_frame_encode_header(hdr, len, max_payload);
    if (rc != HIPC_OK)
        return rc;
    if ((rc = claim_frame(p, payload, len)) != HIPC_OK)
        return rc;
    struct sigpipe_guard g;
    rc = guard_enter(p, &g);
    if (rc != HIPC_OK)
        return rc;
    int epipe = 0;
    rc = send_owed(p, &g, hdr, payload, &epipe);
    guard_leave(&g, epipe);
    if (rc == HIPC_OK)
        p->send_done_ = 0; /* complete: nothing is owed */
    return rc;
}

int hipc_pipe_frame_owed(const hipc_pipe *p, size_t *bytes)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (bytes == NULL)
        return HIPC_E_NULL;
    *bytes = p->send_done_ == 0 ? 0 : HDR_ + p->send_len_ - p->send_done_;
    return HIPC_OK;
}

/* Runs a frame read that may resume an earlier one: on a non-blocking pipe
 * HIPC_E_AGAIN can come mid-frame, and the bytes already taken must not be
 * lost, so `base` (bytes of the frame before this part) plus what this part
 * got is kept in the handle until the frame is complete or has failed. */
_Static_assert(sizeof(((hipc_pipe *)0)->frame_hdr_) == HIPC_FRAME_HEADER_BYTES,
               "hipc_pipe keeps exactly one frame header");

static int frame_part(hipc_pipe *p, struct io *io, size_t base)
{
    int rc = run(p, io, NULL);
    p->frame_got_ = rc == HIPC_E_AGAIN ? base + io->done : 0;
    return rc;
}

/* One packet (packet mode), retried after EINTR; EAGAIN only when a
 * second try agrees, as run() does. */
static ssize_t read_packet(int fd, const struct iovec *iov, int count)
{
    int confirmed = 0;
    for (;;) {
        ssize_t k = hipc_sys_readv(fd, iov, count);
        if (k == -EAGAIN && !confirmed)
            confirmed = 1;
        else if (k != -EINTR)
            return k;
    }
}

/* Checks the frame after a packet brought its bytes up to `got`: none of
 * them may lie past the frame, and a frame of at most PIPE_BUF bytes (which
 * a sender writes atomically) must have come as exactly one packet. */
static int packet_fits(const hipc_pipe *p, size_t before, size_t got,
                       size_t max_payload, size_t *n)
{
    int rc = hipc_frame_decode_header(p->frame_hdr_, HDR_, max_payload, n);
    if (rc != HIPC_OK)
        return rc;
    if (got - HDR_ > *n)
        return HIPC_E_CORRUPT;
    int whole = HDR_ + *n <= PIPE_BUF;
    if (before < HDR_ && whole && (before != 0 || got != HDR_ + *n))
        return HIPC_E_CORRUPT;
    return HIPC_OK;
}

/* Packet mode: a read takes one whole packet and drops what does not fit,
 * so every read offers room for all the frame may still hold (its payload
 * space, `cap` while the length is unknown) and one byte more, which only
 * a packet reaching past its frame can fill. */
static int recv_packets(hipc_pipe *p, int fd, unsigned char *buf, size_t cap,
                        size_t max_payload, size_t *len)
{
    size_t got = p->frame_got_, n = cap;
    unsigned char probe;
    /* Resuming: the header is in the handle already. */
    int rc = got < HDR_ ? HIPC_OK : packet_fits(p, got, got, max_payload, &n);
    while (rc == HIPC_OK && (got < HDR_ || got < HDR_ + n)) {
        size_t off = got < HDR_ ? 0 : got - HDR_;
        struct iovec iov[3];
        int k = 0;
        if (got < HDR_)
            iov[k++] = (struct iovec){p->frame_hdr_ + got, HDR_ - got};
        iov[k++] = (struct iovec){buf + off, n - off};
        iov[k++] = (struct iovec){&probe, 1};
        ssize_t r = read_packet(fd, iov, k);
        if (r <= 0) {
            p->frame_got_ = r == -EAGAIN ? got : 0;
            if (r < 0)
                return fail(p, r);
            return got == 0 ? HIPC_E_EOF : HIPC_E_TRUNCATED;
        }
        size_t before = got;
        got += (size_t)r;
        if (got >= HDR_)
            rc = packet_fits(p, before, got, max_payload, &n);
    }
    p->frame_got_ = 0;
    if (rc == HIPC_OK)
        *len = n;
    return rc;
}

int hipc_pipe_recv_frame(hipc_pipe *p, void *buf, size_t cap,
                         size_t max_payload, size_t *len)
{
    int fd = -1;
    int rc = begin(p, HIPC_PIPE_READ_END, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (buf == NULL || len == NULL)
        return HIPC_E_NULL;
    *len = 0;
    if (max_payload > HIPC_MAX_MSG_BYTES)
        return HIPC_E_TOO_BIG;
    size_t eff = max_payload != 0 ? max_payload : HIPC_MAX_MSG_BYTES;
    if (cap < eff)
        return HIPC_E_BUF_TOO_SMALL;
    if (p->flags_ & HIPC_PIPE_DIRECT)
        return recv_packets(p, fd, buf, eff, max_payload, len);
    const size_t hlen = sizeof p->frame_hdr_;
    size_t got = p->frame_got_;
    struct io io = {.op = OP_READ_EXACT, .fd = fd, .rbuf = p->frame_hdr_,
                    .len = hlen, .done = got < hlen ? got : hlen};
    if ((rc = frame_part(p, &io, 0)) != HIPC_OK)
        return rc;
    size_t n = 0;
    rc = hipc_frame_decode_header(p->frame_hdr_, hlen, max_payload, &n);
    if (rc != HIPC_OK)
        return rc;
    io = (struct io){.op = OP_READ_EXACT, .fd = fd, .rbuf = buf, .len = n,
                     .done = got > hlen ? got - hlen : 0};
    rc = frame_part(p, &io, hlen);
    /* The header promised a payload: its absence is a truncated frame. */
    if (rc == HIPC_E_EOF)
        rc = HIPC_E_TRUNCATED;
    if (rc == HIPC_OK)
        *len = n;
    return rc;
}

/* ---- Parent and child --------------------------------------------------- */

#define CHILD_MAGIC 0x68436864u /* "hChd" while the child is unreaped */
#define CHILD_DEAD 0x64436864u

/* The end each side keeps. */
static enum hipc_pipe_end own_end(unsigned flags, int in_child)
{
    int writes = (flags & HIPC_SPAWN_CHILD_WRITES) ? in_child : !in_child;
    return writes ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
}

/* Forgets a descriptor that a stream now owns (fclose closes it). */
static void hand_to_stream(hipc_pipe *p)
{
    p->read_fd = -1;
    p->write_fd = -1;
    p->magic_ = PIPE_DEAD;
}

/* Runs in the child and never returns: the child must not fall back
 * into the caller's code after fork. */
static _Noreturn void run_child(hipc_pipe *p, unsigned flags,
                                hipc_pipe_child_fn fn, void *arg)
{
    enum hipc_pipe_end mine = own_end(flags, 1);
    hipc_pipe_close_end(p, mine == HIPC_PIPE_READ_END ? HIPC_PIPE_WRITE_END
                                                      : HIPC_PIPE_READ_END);
    FILE *stream = NULL;
    const char *mode = mine == HIPC_PIPE_READ_END ? "r" : "w";
    /* fdopen fails only for want of memory, and the fault plan never
     * fires in a forked child, so the exit below is not reached in tests. */
    if ((flags & HIPC_SPAWN_CHILD_STREAM) &&
        hipc_sys_fdopen(fd_of(p, mine), mode, &stream) < 0)
        hipc_sys_exit(HIPC_SPAWN_SETUP_FAILED); /* GCOVR_EXCL_LINE */
    int code = fn(p, stream, arg);
    /* The final flushes below (of the child's stream, and fflush(NULL))
     * may meet a parent that has gone. SIGPIPE stays blocked from here to
     * _exit, where a pending one dies with the process: the child ends
     * with fn's value, not killed inside hipc. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    (void)hipc_sys_sigmask(SIG_BLOCK, &set, NULL);
    if (stream != NULL) {
        hand_to_stream(p);
        hipc_sys_fclose(stream);
    } else if (check(p) == HIPC_OK) {
        hipc_pipe_close(p);
    }
    /* What fn printed is flushed here; the parent flushed its own buffers
     * before the fork, so nothing is printed twice. */
    hipc_sys_fflush_all();
    hipc_sys_exit(code & 0xff);
}

/* Undoes a spawn whose parent side failed after the fork. */
static void abandon_child(hipc_pipe_child *c)
{
    hipc_pipe_close(&c->pipe);
    hipc_sys_kill(c->pid, SIGKILL);
    int status = 0;
    while (hipc_sys_waitpid(c->pid, &status, 0) == -EINTR)
        ;
}

static int spawn_fail(hipc_pipe_child *c, int neg)
{
    c->sys_errno = -neg;
    return neg == -EAGAIN ? HIPC_E_LIMIT : hipc__from_errno(-neg);
}

int hipc_pipe_spawn(hipc_pipe_child *child, unsigned flags,
                    hipc_pipe_child_fn fn, void *arg)
{
    if (child == NULL || fn == NULL)
        return HIPC_E_NULL;
    if ((flags & ~(unsigned)HIPC_SPAWN_FLAGS_ALL_) != 0)
        return HIPC_E_BAD_FLAGS;
    *child = (hipc_pipe_child){.pid = -1};
    int rc = hipc_pipe_create(&child->pipe, 0);
    if (rc != HIPC_OK) {
        child->sys_errno = child->pipe.sys_errno;
        return rc;
    }
    /* Buffered output would otherwise be inherited and printed twice. */
    hipc_sys_fflush_all();
    pid_t pid = hipc_sys_fork();
    if (pid < 0) {
        hipc_pipe_close(&child->pipe);
        return spawn_fail(child, pid);
    }
    if (pid == 0)
        run_child(&child->pipe, flags, fn, arg);
    child->pid = pid;
    enum hipc_pipe_end mine = own_end(flags, 0);
    hipc_pipe_close_end(&child->pipe, mine == HIPC_PIPE_READ_END
                                          ? HIPC_PIPE_WRITE_END
                                          : HIPC_PIPE_READ_END);
    if (flags & HIPC_SPAWN_PARENT_STREAM) {
        rc = hipc_sys_fdopen(fd_of(&child->pipe, mine),
                             mine == HIPC_PIPE_READ_END ? "r" : "w",
                             &child->stream);
        if (rc < 0) {
            abandon_child(child);
            return spawn_fail(child, rc);
        }
    }
    child->magic_ = CHILD_MAGIC;
    return HIPC_OK;
}

/* Closes the parent's end; the stream's final flush may meet a gone
 * reader, so it runs under the SIGPIPE guard. *closed says whether the end
 * is gone: only a failure to set up the guard leaves it open. */
static int close_parent_end(hipc_pipe_child *c, int *closed)
{
    *closed = 1;
    if (c->stream == NULL) {
        if (check(&c->pipe) != HIPC_OK)
            return HIPC_OK;
        /* The child handle reports the errno, as on the stream path. */
        int rc = hipc_pipe_close(&c->pipe);
        if (rc != HIPC_OK)
            c->sys_errno = c->pipe.sys_errno;
        return rc;
    }
    /* stdio's writes cannot carry RWF_NOSIGNAL: the mask, always (unless
     * the caller keeps SIGPIPE away). */
    struct sigpipe_guard g = {.active = 0};
    int rc = c->pipe.flags_ & HIPC_PIPE_SIGPIPE_IGNORED
                 ? HIPC_OK
                 : guard_mask(&c->pipe, &g);
    if (rc != HIPC_OK) {
        *closed = 0;
        c->sys_errno = c->pipe.sys_errno;
        return rc;
    }
    FILE *stream = c->stream;
    c->stream = NULL;
    hand_to_stream(&c->pipe);
    rc = hipc_sys_fclose(stream);
    guard_leave(&g, rc == -EPIPE);
    if (rc < 0) {
        c->sys_errno = -rc;
        return hipc__from_errno(-rc);
    }
    return HIPC_OK;
}

static int reap(hipc_pipe_child *c, int *code)
{
    int status = 0;
    pid_t r;
    while ((r = hipc_sys_waitpid(c->pid, &status, 0)) == -EINTR)
        ;
    if (r < 0) {
        c->sys_errno = -r;
        return r == -ECHILD ? HIPC_E_CHILD : hipc__from_errno(-r);
    }
    if (WIFEXITED(status)) {
        *code = WEXITSTATUS(status);
        return HIPC_OK;
    }
    *code = 128 + WTERMSIG(status);
    return HIPC_E_CHILD;
}

int hipc_pipe_child_finish(hipc_pipe_child *child, int *exit_code)
{
    if (child == NULL)
        return HIPC_E_NULL;
    if (child->magic_ == CHILD_DEAD)
        return HIPC_E_STALE_HANDLE;
    if (child->magic_ != CHILD_MAGIC)
        return HIPC_E_BAD_HANDLE;
    child->sys_errno = 0;
    int code = -1, closed = 0;
    int close_rc = close_parent_end(child, &closed);
    /* With its end still open the child might wait for ever: leave the
     * handle as it was, so the caller can try again. */
    if (!closed)
        return close_rc;
    int rc = reap(child, &code);
    child->magic_ = CHILD_DEAD;
    if (exit_code != NULL)
        *exit_code = code;
    return rc != HIPC_OK ? rc : close_rc;
}
