/* SPDX-License-Identifier: MIT */
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

_Static_assert(HIPC_PIPE_ATOMIC_BYTES == PIPE_BUF,
               "HIPC_PIPE_ATOMIC_BYTES must be the kernel's PIPE_BUF");

#define PIPE_MAGIC 0x68506970u /* "hPip" while open */
#define PIPE_DEAD 0x64506970u  /* "dPip" once closed */

enum op { OP_WRITE, OP_READ_EXACT, OP_READ_SOME };

/* How a writing call keeps SIGPIPE away (see "SIGPIPE" below). */
enum guard_how {
    GUARD_PLAIN,    /* nothing to do: the caller ignores it, or a read */
    GUARD_NOSIGNAL, /* every write carries RWF_NOSIGNAL */
    GUARD_MASK      /* SIGPIPE is blocked for the length of the call */
};

/* The SIGPIPE state a writing call saves and restores. Only SIGPIPE's
 * own bit of the old mask is kept (not a 128-byte sigset_t, which every
 * transfer would zero): the call changes no other bit. */
struct sigpipe_guard {
    enum guard_how how;
    int active;      /* the mask was read (and possibly changed) */
    int was_blocked; /* SIGPIPE was blocked before the call */
    int was_pending; /* a SIGPIPE was pending before the write */
    int saw_epipe;   /* a write met a gone reader: its SIGPIPE is ours */
};

/* The first syscall of a transfer, when a fast path has made it already. */
struct tried {
    int made;
    ssize_t n;
};
#define NOT_TRIED ((struct tried){.made = 0})

/* How long a call may wait, decided once from its timeout_ns. */
enum wait_how {
    WAIT_NOT,     /* 0: try once, never wait (HIPC_E_AGAIN) */
    WAIT_UNTIL,   /* > 0: until the deadline (HIPC_E_TIMEDOUT) */
    WAIT_FOREVER, /* HIPC_FOREVER: until done or the peer is gone */
};

/* One transfer in progress: all of its loop's state, held by value by the
 * call that runs it. A write sends its iovecs one after the other (a frame
 * is a header and a payload); a read fills rbuf. */
struct xfer {
    enum op op;
    int fd;
    int nonblocking;
    enum wait_how wait;
    int ready;     /* the descriptor can be tried without polling first */
    int confirmed; /* one EAGAIN was seen: the next one stands */
    size_t len;    /* bytes in all */
    size_t done;
    struct iovec iov[2];
    int iovcnt;
    unsigned char *rbuf;
    int64_t deadline; /* CLOCK_MONOTONIC ns, for WAIT_UNTIL */
    struct tried first;
    struct sigpipe_guard guard;
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

/* The handle's own code when it is not a usable one, else `code`: for a
 * call whose other argument is wrong, since the handle is checked first. */
static int check_or(const hipc_pipe *p, int code)
{
    int rc = check(p);
    return rc != HIPC_OK ? rc : code;
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
    int rc = hipc__sys_pipe2(fds, sysflags);
    if (rc < 0)
        return rc == -EINVAL
                   ? hipc__fail_as(&p->sys_errno, rc, HIPC_E_UNSUPPORTED)
                   : hipc__fail(&p->sys_errno, rc);
    p->read_fd = fds[0];
    p->write_fd = fds[1];
    p->flags_ = flags;
    p->nonblocking_ = (flags & HIPC_PIPE_NONBLOCK) != 0;
    p->magic_ = PIPE_MAGIC;
    return HIPC_OK;
}

/* The three checks of an adopted descriptor, each with its own code. */
static int validate_fd(hipc_pipe *p, int fd, enum hipc_pipe_end end, int *fl)
{
    /* EBADF (not open) becomes HIPC_E_BAD_FD through the errno map. */
    int rc = hipc__sys_fcntl(fd, F_GETFD, 0);
    if (rc < 0)
        return hipc__fail(&p->sys_errno, rc);
    struct stat st;
    rc = hipc__sys_fstat(fd, &st);
    if (rc < 0)
        return hipc__fail(&p->sys_errno, rc);
    *fl = hipc__sys_fcntl(fd, F_GETFL, 0);
    if (*fl < 0)
        return hipc__fail(&p->sys_errno, *fl);
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

int hipc_pipe_adopt(hipc_pipe *p, int fd, enum hipc_pipe_end end,
                    unsigned flags)
{
    if (p == NULL)
        return HIPC_E_NULL;
    if (!end_valid(end))
        return HIPC_E_WRONG_END;
    if ((flags & ~adopt_flags(end)) != 0)
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
    p->flags_ = flags;
    p->nonblocking_ = (fl & O_NONBLOCK) != 0;
    p->magic_ = PIPE_MAGIC;
    return HIPC_OK;
}

int hipc_pipe_get_fd(const hipc_pipe *p, enum hipc_pipe_end end)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (!end_valid(end))
        return HIPC_E_WRONG_END;
    int fd = fd_of(p, end);
    return fd < 0 ? HIPC_E_WRONG_END : fd;
}

/* Closes one descriptor slot; a handle with no ends left is closed. */
static int drop_end(hipc_pipe *p, int *slot)
{
    int rc = hipc__sys_close(*slot);
    *slot = -1;
    if (slot == &p->write_fd)
        p->send_done_ = 0; /* a frame still owed is given up */
    if (p->read_fd < 0 && p->write_fd < 0)
        p->magic_ = PIPE_DEAD;
    return rc < 0 ? hipc__fail(&p->sys_errno, rc) : HIPC_OK;
}

int hipc_pipe_close_end(hipc_pipe *p, enum hipc_pipe_end end)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (!end_valid(end))
        return HIPC_E_WRONG_END;
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
 * two rt_sigprocmask calls per call, where RWF_NOSIGNAL costs only what
 * pwritev2 costs over write; bench/RESULTS.md has the figures). */
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
    g->how = GUARD_MASK;
    g->active = 0;
    g->was_pending = 0;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    int rc = hipc__sys_sigmask(SIG_BLOCK, &set, &old);
    if (rc < 0)
        return hipc__fail(&p->sys_errno, rc);
    g->active = 1;
    g->was_blocked = sigismember(&old, SIGPIPE);
    if (!g->was_blocked)
        return HIPC_OK;
    sigset_t pending;
    rc = hipc__sys_sigpending(&pending);
    if (rc < 0)
        return hipc__fail(&p->sys_errno, rc);
    if (!sigismember(&pending, SIGPIPE))
        return HIPC_OK;
    rc = thread_has_sigpipe(p);
    if (rc < 0)
        return rc;
    g->was_pending = rc;
    return HIPC_OK;
}

/* Whether this handle's writes need no guard: the caller keeps SIGPIPE
 * away itself, or the write end is a simulated kernel's descriptor, which
 * raises no signal (asked once per writing call: see hipc__sys_fd_is_sim;
 * the mask's calls would be the only real syscalls of a simulated write). */
static HIPC_INLINE int unguarded(const hipc_pipe *p)
{
    return (p->flags_ & HIPC_PIPE_SIGPIPE_IGNORED) ||
           hipc__sys_fd_is_sim(p->write_fd);
}

/* How this handle's writes keep SIGPIPE away: not at all when unguarded,
 * with RWF_NOSIGNAL until the kernel has refused it once, else with the
 * mask. The one place that decides. */
static HIPC_INLINE enum guard_how guard_how_for(const hipc_pipe *p)
{
    if (unguarded(p))
        return GUARD_PLAIN;
    return atomic_load_explicit(&nosig_refused, memory_order_relaxed)
               ? GUARD_MASK
               : GUARD_NOSIGNAL;
}

/* Whether a write with RWF_NOSIGNAL came back refused: the kernel does not
 * know the flag (and wrote nothing). The first refusal switches the whole
 * process to the mask. */
static int nosignal_refused(ssize_t n)
{
    if (n != -EOPNOTSUPP && n != -ENOSYS)
        return 0;
    atomic_store_explicit(&nosig_refused, 1, memory_order_relaxed);
    return 1;
}

/* Sets up the guard for a writing call. */
static int guard_enter(hipc_pipe *p, struct sigpipe_guard *g)
{
    g->how = guard_how_for(p);
    g->active = 0;
    g->was_pending = 0;
    g->saw_epipe = 0;
    return g->how == GUARD_MASK ? guard_mask(p, g) : HIPC_OK;
}

/* Non-zero when SIGPIPE is pending, or when that cannot be found out. */
static int sigpipe_pending(void)
{
    sigset_t pending;
    return hipc__sys_sigpending(&pending) < 0 || sigismember(&pending, SIGPIPE);
}

/* Consumes the SIGPIPE our write raised (only after EPIPE, so a
 * successful write pays nothing here) and restores the mask if we
 * changed it. The signal the kernel sends for EPIPE is directed at this
 * thread, and sigtimedwait takes thread-directed signals first, so a
 * process-wide SIGPIPE that arrived meanwhile stays pending. */
static void guard_leave(const struct sigpipe_guard *g)
{
    if (!g->active)
        return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    int consumed = 1;
    if (g->saw_epipe && !g->was_pending) {
        const struct timespec zero = {0, 0};
        int r;
        while ((r = hipc__sys_sigtimedwait(&set, &zero)) == -EINTR)
            ;
        /* The kernel raises SIGPIPE with every EPIPE, so anything but
         * SIGPIPE here is unexpected (fault injection makes it happen).
         * Unblocking a SIGPIPE that is still pending would kill the
         * caller: then it stays blocked instead. */
        consumed = r == SIGPIPE || (r == -EAGAIN && !sigpipe_pending());
    }
    if (consumed && !g->was_blocked)
        hipc__sys_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- Deadlines ---------------------------------------------------------- */

static int timeout_valid(int64_t timeout_ns)
{
    return timeout_ns >= 0 || timeout_ns == HIPC_FOREVER;
}

static enum wait_how wait_for(int64_t timeout_ns)
{
    return timeout_ns == 0              ? WAIT_NOT
           : timeout_ns == HIPC_FOREVER ? WAIT_FOREVER
                                        : WAIT_UNTIL;
}

/* CLOCK_MONOTONIC cannot fail (see lib/sys.c), so deadlines need no
 * error path. */
static int64_t now_ns(void)
{
    struct timespec ts;
    hipc__sys_clock_monotonic(&ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The absolute deadline of a timeout > 0; a sum past INT64_MAX is
 * INT64_MAX, hundreds of years away. */
static int64_t deadline_after(int64_t timeout_ns)
{
    int64_t now = now_ns();
    return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

/* poll's argument: -1 for ever, 0 to look only, else the milliseconds
 * left, rounded up so that a poll never ends before the deadline. */
static int poll_ms(enum wait_how wait, int64_t deadline)
{
    if (wait != WAIT_UNTIL)
        return wait == WAIT_FOREVER ? -1 : 0;
    int64_t ns = deadline - now_ns();
    if (ns <= 0)
        return 0;
    int64_t ms = (ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* What a wait that ran out reports: a call that was not to wait at all
 * would have blocked; a timed one timed out. */
static int ran_out(enum wait_how wait)
{
    return wait == WAIT_NOT ? HIPC_E_AGAIN : HIPC_E_TIMEDOUT;
}

/* HIPC_OK once the descriptor is ready, HIPC_E_AGAIN or HIPC_E_TIMEDOUT
 * when the deadline passed first. An interrupted poll goes round again
 * against the same deadline, so a signal never extends it. */
static int wait_ready(hipc_pipe *p, const struct xfer *x)
{
    for (;;) {
        int ms = poll_ms(x->wait, x->deadline);
        struct pollfd pfd = {.fd = x->fd,
                             .events = x->op == OP_WRITE ? POLLOUT : POLLIN};
        int rc = hipc__sys_poll(&pfd, 1, ms);
        if (rc > 0)
            return HIPC_OK;
        if (rc == 0 && ms == 0)
            return ran_out(x->wait);
        if (rc < 0 && rc != -EINTR)
            return hipc__fail(&p->sys_errno, rc);
    }
}

/* Whether the next try must wait for the descriptor first. A blocking
 * descriptor waits inside the syscall when the call may wait for ever,
 * and is polled otherwise (so that timeout 0 never blocks); a
 * non-blocking one is tried first and polled after EAGAIN, unless the
 * call may not wait at all. */
static int must_poll(const struct xfer *x)
{
    if (x->ready)
        return 0;
    return x->nonblocking ? x->wait != WAIT_NOT : x->wait != WAIT_FOREVER;
}

/* Sets up the waiting of a call whose timeout has been checked. */
static void arm(struct xfer *x, int64_t timeout_ns)
{
    x->wait = wait_for(timeout_ns);
    /* Only WAIT_UNTIL reads it, but every wait passes it on. */
    x->deadline = x->wait == WAIT_UNTIL ? deadline_after(timeout_ns) : 0;
    /* A non-blocking descriptor cannot block, so it is tried first. */
    x->ready = x->nonblocking;
    x->confirmed = 0;
}

/* ---- The transfer loop -------------------------------------------------- */

/* The iovecs of what is left to write after `done` bytes. */
static int rest_of(const struct xfer *x, struct iovec v[2])
{
    size_t skip = x->done;
    int k = 0;
    for (int i = 0; i < x->iovcnt; i++) {
        size_t len = x->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        v[k++] = (struct iovec){(unsigned char *)x->iov[i].iov_base + skip,
                                len - skip};
        skip = 0;
    }
    return k;
}

/* After POLLOUT a blocking pipe has room for PIPE_BUF bytes at least;
 * asking for more could block past the deadline. A frame's header and
 * payload together are cut, so a frame of at most PIPE_BUF bytes still
 * goes in one piece. */
static int cap_to_pipe_buf(struct iovec v[2], int k)
{
    size_t room = PIPE_BUF;
    for (int i = 0; i < k; i++) {
        if (v[i].iov_len >= room) {
            v[i].iov_len = room;
            return i + 1;
        }
        room -= v[i].iov_len;
    }
    return k;
}

/* One try at the rest of the transfer: a count, or -errno. A write goes
 * as its guard says. */
static ssize_t try_once(const struct xfer *x)
{
    if (x->op != OP_WRITE)
        return hipc__sys_read(x->fd, x->rbuf + x->done, x->len - x->done);
    struct iovec v[2];
    int k = rest_of(x, v);
    if (!x->nonblocking && x->wait != WAIT_FOREVER)
        k = cap_to_pipe_buf(v, k);
    if (x->guard.how == GUARD_NOSIGNAL)
        return hipc__sys_writev_nosignal(x->fd, v, k);
    return k == 1 ? hipc__sys_write(x->fd, v[0].iov_base, v[0].iov_len)
                  : hipc__sys_writev(x->fd, v, k);
}

/* Judges a try that moved nothing (n <= 0): HIPC_OK when the transfer
 * goes on, else the code it ends with. */
static int judge(hipc_pipe *p, struct xfer *x, ssize_t n)
{
    /* Only a read returns 0 (end of file): write(2) on a pipe never
     * accepts 0 of n > 0 bytes. */
    if (n == 0)
        return x->done == 0 ? HIPC_E_EOF : HIPC_E_TRUNCATED;
    /* A call that may wait polls next (x->ready is 0 now). */
    if (n == -EINTR || (n == -EAGAIN && x->wait != WAIT_NOT))
        return HIPC_OK;
    /* A call that may not wait reports EAGAIN only when a second attempt
     * agrees: a single retry is as cheap as asking poll, and unlike poll
     * it is exact (a pipe whose slots are all in use still takes a small
     * write into its last page). */
    if (n == -EAGAIN && !x->confirmed) {
        x->confirmed = 1;
        return HIPC_OK;
    }
    /* Refused, the write moved nothing and the descriptor is as ready as
     * it was: the same write goes again at once, under the mask. */
    if (x->guard.how == GUARD_NOSIGNAL && nosignal_refused(n)) {
        x->ready = 1;
        return guard_mask(p, &x->guard);
    }
    if (n == -EPIPE)
        x->guard.saw_epipe = 1;
    return hipc__fail(&p->sys_errno, n);
}

/* Moves bytes until the transfer is complete, the peer is gone, the
 * deadline passes or an error occurs. */
static int run(hipc_pipe *p, struct xfer *x)
{
    while (x->done < x->len) {
        int rc = must_poll(x) ? wait_ready(p, x) : HIPC_OK;
        if (rc != HIPC_OK)
            return rc;
        ssize_t n = x->first.made ? x->first.n : try_once(x);
        x->first.made = 0;
        /* A transfer interrupted after poll said "ready" is retried at
         * once: the descriptor is still ready, so it cannot block. */
        x->ready = n == -EINTR || (n > 0 && x->nonblocking);
        if (n <= 0) {
            if ((rc = judge(p, x, n)) != HIPC_OK)
                return rc;
            continue;
        }
        x->done += (size_t)n;
        x->confirmed = 0;
        if (x->op == OP_READ_SOME)
            break;
    }
    return HIPC_OK;
}

/* Checks what a transfer was asked for and takes on its buffer. */
static int admit(hipc_pipe *p, struct xfer *x, const void *buf,
                 int64_t timeout_ns)
{
    int rc =
        begin(p, x->op == OP_WRITE ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END,
              &x->fd);
    if (rc != HIPC_OK)
        return rc;
    if (!timeout_valid(timeout_ns))
        return HIPC_E_BAD_TIMEOUT;
    if (buf == NULL && x->len != 0)
        return HIPC_E_NULL;
    if (x->len > (size_t)SSIZE_MAX)
        return HIPC_E_BAD_SIZE;
    /* Bytes written now would land inside the frame still owed. */
    if (x->op == OP_WRITE && p->send_done_ != 0)
        return HIPC_E_BAD_STATE;
    x->nonblocking = (int)p->nonblocking_;
    x->iov[0] = (struct iovec){(void *)(uintptr_t)buf, x->len};
    x->iovcnt = 1;
    x->rbuf = (unsigned char *)(uintptr_t)buf;
    arm(x, timeout_ns);
    return HIPC_OK;
}

/* A whole transfer: validates, arms the deadline, guards a write and
 * runs. `first` is a try a fast path made already. Out of line, so that
 * the fast paths build no struct xfer (and have no address-taken local
 * for the stack protector to guard). */
HIPC_NOINLINE static int transfer(hipc_pipe *p, enum op op, const void *buf,
                                  size_t len, int64_t timeout_ns,
                                  struct tried first, size_t *done)
{
    set_done(done, 0);
    /* Set field by field rather than zeroed whole (a rep stos on every
     * call that misses a fast path): run() reads nothing that is not set
     * here, in admit() or in guard_enter(). */
    struct xfer x;
    x.op = op;
    x.len = len;
    x.done = 0;
    x.guard.how = GUARD_PLAIN; /* a read's: guard_enter sets a write's */
    x.guard.active = 0;
    x.guard.saw_epipe = 0;
    int rc = admit(p, &x, buf, timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    x.first = first;
    if (op == OP_WRITE && (rc = guard_enter(p, &x.guard)) != HIPC_OK)
        return rc;
    rc = run(p, &x);
    guard_leave(&x.guard);
    set_done(done, x.done);
    return rc;
}

/* The common case - a valid handle, a call that may wait for ever or a
 * descriptor that cannot block, nothing to guard, one syscall moves it
 * all - costs a few checks and the syscall; anything else goes to
 * transfer(), which then only judges what that first syscall did. */

/* The fast paths take lengths from 1 to SSIZE_MAX: above it the kernel's
 * -errno would pass for a count (len - 1 wraps for 0, so one compare). */
#define FAST_LEN_(len) ((size_t)(len)-1u < (size_t)SSIZE_MAX)

/* A handle the fast paths may use: open, not a copy. */
#define FAST_HANDLE_(p)                                                        \
    ((p) != NULL && (p)->magic_ == PIPE_MAGIC && (p)->self_ == (uintptr_t)(p))

/* A try without poll first is right: the call may block for ever, or the
 * descriptor cannot block (a bad timeout goes the slow way, to its code). */
#define FAST_WAIT_(p, t)                                                       \
    ((t) == HIPC_FOREVER || ((p)->nonblocking_ && (t) >= 0))

/* The fast path's one write, for a handle whose guard is not the mask. */
static HIPC_INLINE ssize_t write_unmasked(const hipc_pipe *p, const void *buf,
                                          size_t len)
{
    if (unguarded(p))
        return hipc__sys_write(p->write_fd, buf, len);
    struct iovec v = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    return hipc__sys_writev_nosignal(p->write_fd, &v, 1);
}

int hipc_pipe_write_all(hipc_pipe *p, const void *buf, size_t len, size_t *done,
                        int64_t timeout_ns)
{
    if (!FAST_HANDLE_(p) || p->write_fd < 0 || buf == NULL || !FAST_LEN_(len) ||
        !FAST_WAIT_(p, timeout_ns) || p->send_done_ != 0 ||
        guard_how_for(p) == GUARD_MASK)
        return transfer(p, OP_WRITE, buf, len, timeout_ns, NOT_TRIED, done);
    ssize_t n = write_unmasked(p, buf, len);
    p->sys_errno = 0;
    if (n == (ssize_t)len) {
        set_done(done, len);
        return HIPC_OK;
    }
    /* Refused, the flag wrote nothing: the write starts again, masked. */
    struct tried first = {.made = 1, .n = n};
    if (!unguarded(p) && nosignal_refused(n))
        first = NOT_TRIED;
    return transfer(p, OP_WRITE, buf, len, timeout_ns, first, done);
}

int hipc_pipe_read_exact(hipc_pipe *p, void *buf, size_t len, size_t *done,
                         int64_t timeout_ns)
{
    if (!FAST_HANDLE_(p) || p->read_fd < 0 || buf == NULL || !FAST_LEN_(len) ||
        !FAST_WAIT_(p, timeout_ns))
        return transfer(p, OP_READ_EXACT, buf, len, timeout_ns, NOT_TRIED,
                        done);
    p->sys_errno = 0;
    ssize_t n = hipc__sys_read(p->read_fd, buf, len);
    if (n != (ssize_t)len)
        return transfer(p, OP_READ_EXACT, buf, len, timeout_ns,
                        (struct tried){.made = 1, .n = n}, done);
    set_done(done, len);
    return HIPC_OK;
}

/* read_some hands back a count as an int; larger requests are capped. A
 * bad timeout is named before a bad length, as in the other calls. */
int hipc_pipe_read_some(hipc_pipe *p, void *buf, size_t len, int64_t timeout_ns)
{
    if (!timeout_valid(timeout_ns))
        return check_or(p, HIPC_E_BAD_TIMEOUT);
    if (len == 0 || len > (size_t)SSIZE_MAX)
        return check_or(p, HIPC_E_BAD_SIZE);
    size_t got = 0;
    int rc = transfer(p, OP_READ_SOME, buf, len > INT_MAX ? INT_MAX : len,
                      timeout_ns, NOT_TRIED, &got);
    return rc != HIPC_OK ? rc : (int)got;
}

/* ---- Capacity ----------------------------------------------------------- */

int hipc_pipe_get_max_size(size_t *bytes, int *sys_errno)
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

int hipc_pipe_get_capacity(hipc_pipe *p)
{
    int fd = -1;
    int rc = begin_any(p, &fd);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc__sys_fcntl(fd, F_GETPIPE_SZ, 0);
    return rc < 0 ? hipc__fail(&p->sys_errno, rc) : rc;
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
    rc = hipc_pipe_get_max_size(&max, &p->sys_errno);
    if (rc != HIPC_OK)
        return rc;
    if (bytes > max || bytes > INT_MAX)
        return HIPC_E_TOO_BIG;
    rc = hipc__sys_fcntl(fd, F_SETPIPE_SZ, (int)bytes);
    if (rc >= 0)
        return rc;
    /* EBUSY: more data waiting than the new size holds. EPERM: the
     * user's pipe memory (fs/pipe-user-pages-*) is used up. */
    if (rc == -EBUSY)
        return hipc__fail_as(&p->sys_errno, rc, HIPC_E_BAD_STATE);
    if (rc == -EPERM)
        return hipc__fail_as(&p->sys_errno, rc, HIPC_E_LIMIT);
    return hipc__fail(&p->sys_errno, rc);
}

int hipc_pipe_get_pending(hipc_pipe *p, size_t *bytes)
{
    int fd = -1;
    int rc = begin_any(p, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (bytes == NULL)
        return HIPC_E_NULL;
    int n = 0;
    rc = hipc__sys_ioctl_int(fd, FIONREAD, &n);
    if (rc < 0)
        return hipc__fail(&p->sys_errno, rc);
    *bytes = n < 0 ? 0u : (size_t)n;
    return HIPC_OK;
}

/* ---- Frames ------------------------------------------------------------- */

#define HDR_ HIPC_FRAME_HEADER_BYTES

/* Frames carry at most HIPC_MAX_MSG_BYTES, so recv_frame's length fits
 * its int result. */
_Static_assert(HIPC_MAX_MSG_BYTES <= INT_MAX,
               "a frame's length must fit recv_frame's int result");

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

int hipc_pipe_send_frame(hipc_pipe *p, const void *payload, size_t len,
                         size_t max_payload, int64_t timeout_ns)
{
    int fd = -1;
    int rc = begin(p, HIPC_PIPE_WRITE_END, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (!timeout_valid(timeout_ns))
        return HIPC_E_BAD_TIMEOUT;
    if (payload == NULL && len != 0)
        return HIPC_E_NULL;
    unsigned char hdr[HDR_];
    rc = hipc_frame_encode_header(hdr, len, max_payload);
    if (rc != HIPC_OK)
        return rc;
    if ((rc = claim_frame(p, payload, len)) != HIPC_OK)
        return rc;
    /* Header and payload go in one writev (a frame of at most PIPE_BUF
     * bytes lands in one piece), from where an earlier call left off. */
    struct xfer x = {.op = OP_WRITE,
                     .fd = fd,
                     .nonblocking = (int)p->nonblocking_,
                     .len = HDR_ + len,
                     .done = p->send_done_,
                     .iovcnt = 2,
                     .iov = {{hdr, HDR_}, {(void *)(uintptr_t)payload, len}}};
    arm(&x, timeout_ns);
    if ((rc = guard_enter(p, &x.guard)) != HIPC_OK)
        return rc;
    rc = run(p, &x);
    guard_leave(&x.guard);
    /* Complete, nothing is owed; else the bytes out so far are. */
    p->send_done_ = rc == HIPC_OK ? 0 : x.done;
    return rc;
}

int hipc_pipe_get_frame_owed(const hipc_pipe *p, size_t *bytes)
{
    int rc = check(p);
    if (rc != HIPC_OK)
        return rc;
    if (bytes == NULL)
        return HIPC_E_NULL;
    *bytes = p->send_done_ == 0 ? 0 : HDR_ + p->send_len_ - p->send_done_;
    return HIPC_OK;
}

/* Whether a frame read that stopped with `rc` keeps its place: a call
 * that could not wait long enough leaves what it took in the handle
 * (header) and the buffer (payload) for the next call to go on from. */
static int keeps_place(int rc)
{
    return rc == HIPC_E_AGAIN || rc == HIPC_E_TIMEDOUT;
}

/* Runs a frame read that may resume an earlier one: on a non-blocking pipe
 * HIPC_E_AGAIN can come mid-frame, and the bytes already taken must not be
 * lost, so `base` (bytes of the frame before this part) plus what this part
 * got is kept in the handle until the frame is complete or has failed. */
_Static_assert(sizeof(((hipc_pipe *)0)->frame_hdr_) == HIPC_FRAME_HEADER_BYTES,
               "hipc_pipe keeps exactly one frame header");

static int frame_part(hipc_pipe *p, struct xfer *x, size_t base)
{
    int rc = run(p, x);
    p->frame_got_ = keeps_place(rc) ? base + x->done : 0;
    return rc;
}

/* One packet (packet mode): waits as the call may (x holds its waiting
 * state), retries after EINTR, and takes EAGAIN of a call that may not
 * wait only when a second try agrees, as run() does. A count, or a hipc
 * code. */
static ssize_t read_packet(hipc_pipe *p, struct xfer *x,
                           const struct iovec *iov, int count)
{
    for (;;) {
        int rc = must_poll(x) ? wait_ready(p, x) : HIPC_OK;
        if (rc != HIPC_OK)
            return rc;
        ssize_t k = hipc__sys_readv(x->fd, iov, count);
        x->ready = k == -EINTR;
        if (k >= 0)
            return k;
        if ((rc = judge(p, x, k)) != HIPC_OK)
            return rc;
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
        return HIPC_E_BAD_FRAME;
    int whole = HDR_ + *n <= PIPE_BUF;
    if (before < HDR_ && whole && (before != 0 || got != HDR_ + *n))
        return HIPC_E_BAD_FRAME;
    return HIPC_OK;
}

/* Packet mode: a read takes one whole packet and drops what does not fit,
 * so every read offers room for all the frame may still hold (its payload
 * space, `cap` while the length is unknown) and one byte more, which only
 * a packet reaching past its frame can fill. The frame's length, or a
 * negative code. */
/* buf is written by readv through the iovec, which clang-tidy cannot see. */
/* NOLINTNEXTLINE(readability-non-const-parameter) */
static int recv_packets(hipc_pipe *p, struct xfer *x, unsigned char *buf,
                        size_t cap, size_t max_payload)
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
        ssize_t r = read_packet(p, x, iov, k);
        if (r <= 0) {
            p->frame_got_ = keeps_place((int)r) ? got : 0;
            if (r < 0)
                return (int)r;
            return got == 0 ? HIPC_E_EOF : HIPC_E_TRUNCATED;
        }
        size_t before = got;
        got += (size_t)r;
        if (got >= HDR_)
            rc = packet_fits(p, before, got, max_payload, &n);
    }
    p->frame_got_ = 0;
    return rc == HIPC_OK ? (int)n : rc;
}

/* A byte stream: the header into the handle, then the payload into buf,
 * each part going on from where an earlier call stopped. The frame's
 * length, or a negative code. */
static int recv_stream(hipc_pipe *p, struct xfer *x, unsigned char *buf,
                       size_t max_payload)
{
    const size_t hlen = sizeof p->frame_hdr_;
    size_t got = p->frame_got_;
    x->op = OP_READ_EXACT;
    x->rbuf = p->frame_hdr_;
    x->len = hlen;
    x->done = got < hlen ? got : hlen;
    int rc = frame_part(p, x, 0);
    if (rc != HIPC_OK)
        return rc;
    size_t n = 0;
    rc = hipc_frame_decode_header(p->frame_hdr_, hlen, max_payload, &n);
    if (rc != HIPC_OK)
        return rc;
    x->rbuf = buf;
    x->len = n;
    x->done = got > hlen ? got - hlen : 0;
    rc = frame_part(p, x, hlen);
    /* The header promised a payload: its absence is a truncated frame. */
    if (rc == HIPC_E_EOF)
        rc = HIPC_E_TRUNCATED;
    return rc == HIPC_OK ? (int)n : rc;
}

int hipc_pipe_recv_frame(hipc_pipe *p, void *buf, size_t cap,
                         size_t max_payload, int64_t timeout_ns)
{
    int fd = -1;
    int rc = begin(p, HIPC_PIPE_READ_END, &fd);
    if (rc != HIPC_OK)
        return rc;
    if (!timeout_valid(timeout_ns))
        return HIPC_E_BAD_TIMEOUT;
    if (buf == NULL)
        return HIPC_E_NULL;
    if (max_payload > HIPC_MAX_MSG_BYTES)
        return HIPC_E_TOO_BIG;
    size_t eff = max_payload != 0 ? max_payload : HIPC_MAX_MSG_BYTES;
    if (cap < eff)
        return HIPC_E_BUF_TOO_SMALL;
    /* One deadline for the whole frame, header and payload. */
    struct xfer x = {.op = OP_READ_SOME,
                     .fd = fd,
                     .nonblocking = (int)p->nonblocking_,
                     .guard = {.how = GUARD_PLAIN}};
    arm(&x, timeout_ns);
    if (p->flags_ & HIPC_PIPE_DIRECT)
        return recv_packets(p, &x, buf, eff, max_payload);
    return recv_stream(p, &x, buf, max_payload);
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
        hipc__sys_fdopen(fd_of(p, mine), mode, &stream) < 0)
        /* GCOVR_EXCL_START [child]: no fault plan in a forked child */
        hipc__sys_exit(HIPC_SPAWN_SETUP_FAILED);
    /* GCOVR_EXCL_STOP */
    int code = fn(p, stream, arg);
    /* The final flushes below (of the child's stream, and fflush(NULL))
     * may meet a parent that has gone. SIGPIPE stays blocked from here to
     * _exit, where a pending one dies with the process: the child ends
     * with fn's value, not killed inside hipc. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    (void)hipc__sys_sigmask(SIG_BLOCK, &set, NULL);
    if (stream != NULL) {
        hand_to_stream(p);
        hipc__sys_fclose(stream);
    } else if (check(p) == HIPC_OK) {
        hipc_pipe_close(p);
    }
    /* What fn printed is flushed here; the parent flushed its own buffers
     * before the fork, so nothing is printed twice. */
    hipc__sys_fflush_all();
    hipc__sys_exit(code & 0xff);
}

/* The parent's writing stream: stdio's buffer, emptied through
 * hipc_pipe_write_all, so a child that has gone is EPIPE from fwrite or
 * fflush, never SIGPIPE. The stream owns the pipe end: its close closes
 * it. */
static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
    hipc_pipe *p = cookie;
    size_t done = 0;
    int rc = hipc_pipe_write_all(p, buf, len, &done, HIPC_FOREVER);
    /* glibc's fwrite takes a cookie's -1 for a count and reads past the
     * caller's buffer, but marks the stream in error (ferror, EOF from
     * fflush) on a short count; musl marks it only on -1 and takes a
     * short count for progress. So each is told the way it hears. */
    if (rc == HIPC_OK)
        return (ssize_t)done;
    hipc__sys_set_errno(p->sys_errno > 0 ? p->sys_errno : EIO);
#ifdef __GLIBC__
    return (ssize_t)done;
#else
    return -1;
#endif
}

static int stream_close(void *cookie)
{
    hipc_pipe *p = cookie;
    if (hipc_pipe_close(p) == HIPC_OK)
        return 0;
    hipc__sys_set_errno(p->sys_errno);
    return -1;
}

static int open_parent_stream(hipc_pipe_child *c, enum hipc_pipe_end mine)
{
    if (mine == HIPC_PIPE_READ_END)
        return hipc__sys_fdopen(fd_of(&c->pipe, mine), "r", &c->stream);
    cookie_io_functions_t fns = {.write = stream_write, .close = stream_close};
    return hipc__sys_fopencookie(&c->pipe, "w", fns, &c->stream);
}

/* Undoes a spawn whose parent side failed after the fork. */
static void abandon_child(hipc_pipe_child *c)
{
    hipc_pipe_close(&c->pipe);
    hipc__sys_kill(c->pid, SIGKILL);
    int status = 0;
    while (hipc__sys_waitpid(c->pid, &status, 0) == -EINTR)
        ;
}

/* fork's EAGAIN is a process limit. */
static int spawn_fail(hipc_pipe_child *c, int neg)
{
    return neg == -EAGAIN ? hipc__fail_as(&c->sys_errno, neg, HIPC_E_LIMIT)
                          : hipc__fail(&c->sys_errno, neg);
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
    hipc__sys_fflush_all();
    pid_t pid = hipc__sys_fork();
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
        rc = open_parent_stream(child, mine);
        if (rc < 0) {
            abandon_child(child);
            return spawn_fail(child, rc);
        }
    }
    child->magic_ = CHILD_MAGIC;
    return HIPC_OK;
}

/* Closes the parent's end. A writing stream's final flush goes through
 * hipc_pipe_write_all and its close through hipc_pipe_close, so a gone
 * reader is EPIPE there and raises no SIGPIPE: nothing here may consume
 * one (a SIGPIPE pending for the process is the caller's, not ours). */
static int close_parent_end(hipc_pipe_child *c)
{
    if (c->stream == NULL) {
        if (check(&c->pipe) != HIPC_OK)
            return HIPC_OK;
        /* The child handle reports the errno, as on the stream path. */
        int rc = hipc_pipe_close(&c->pipe);
        if (rc != HIPC_OK)
            c->sys_errno = c->pipe.sys_errno;
        return rc;
    }
    FILE *stream = c->stream;
    c->stream = NULL;
    /* A reading stream owns the descriptor itself; a writing one closes
     * the pipe through stream_close. */
    if (c->pipe.write_fd < 0)
        hand_to_stream(&c->pipe);
    int rc = hipc__sys_fclose(stream);
    return rc < 0 ? hipc__fail(&c->sys_errno, rc) : HIPC_OK;
}

/* The status of a child that has ended: HIPC_OK with its exit code, or
 * HIPC_E_CHILD with 128 + the signal that killed it. */
static int judge_status(int status, int *code)
{
    if (WIFEXITED(status)) {
        *code = WEXITSTATUS(status);
        return HIPC_OK;
    }
    *code = 128 + WTERMSIG(status);
    return HIPC_E_CHILD;
}

/* The longest nap between two looks at a child that has not ended: short
 * enough that an ended child is seen soon, long enough that waiting costs
 * next to nothing. Without a descriptor for the child (pidfd) the wait
 * cannot be woken by its end. */
#define REAP_NAP_MAX_MS 16

/* Waits for the child to end, as long as `timeout_ns` allows, and reaps
 * it. *gone says whether the child is reaped (here, or elsewhere: ECHILD);
 * after any other outcome it may still run, and the handle stays valid. */
static int reap(hipc_pipe_child *c, int *code, int64_t timeout_ns, int *gone)
{
    enum wait_how wait = wait_for(timeout_ns);
    int64_t deadline = wait == WAIT_UNTIL ? deadline_after(timeout_ns) : 0;
    int status = 0, nap = 1;
    for (;;) {
        pid_t r = hipc__sys_waitpid(c->pid, &status,
                                    wait == WAIT_FOREVER ? 0 : WNOHANG);
        *gone = r == c->pid || r == -ECHILD;
        if (r == c->pid)
            return judge_status(status, code);
        if (r < 0 && r != -EINTR)
            return r == -ECHILD ? hipc__fail_as(&c->sys_errno, r, HIPC_E_CHILD)
                                : hipc__fail(&c->sys_errno, r);
        if (r < 0)
            continue;
        int ms = poll_ms(wait, deadline);
        if (ms == 0)
            return ran_out(wait);
        /* A nap through poll with no descriptors; its EINTR is harmless. */
        r = hipc__sys_poll(NULL, 0, ms < nap ? ms : nap);
        if (r < 0 && r != -EINTR)
            return hipc__fail(&c->sys_errno, r);
        nap = nap < REAP_NAP_MAX_MS / 2 ? nap * 2 : REAP_NAP_MAX_MS;
    }
}

static int check_child(const hipc_pipe_child *c)
{
    if (c == NULL)
        return HIPC_E_NULL;
    if (c->magic_ == CHILD_DEAD)
        return HIPC_E_STALE_HANDLE;
    return c->magic_ != CHILD_MAGIC ? HIPC_E_BAD_HANDLE : HIPC_OK;
}

int hipc_pipe_child_finish(hipc_pipe_child *child, int *exit_code,
                           int64_t timeout_ns)
{
    int rc = check_child(child);
    if (rc != HIPC_OK)
        return rc;
    if (!timeout_valid(timeout_ns))
        return HIPC_E_BAD_TIMEOUT;
    child->sys_errno = 0;
    int code = -1;
    /* A call after a timeout finds the end closed already (close returns
     * HIPC_OK then); a flush error from the first call is kept until the
     * child is reaped. */
    int close_rc = close_parent_end(child);
    if (close_rc != HIPC_OK)
        child->close_rc_ = close_rc;
    int gone = 0;
    rc = reap(child, &code, timeout_ns, &gone);
    if (exit_code != NULL)
        *exit_code = code;
    if (!gone)
        return rc;
    child->magic_ = CHILD_DEAD;
    return rc != HIPC_OK ? rc : child->close_rc_;
}
