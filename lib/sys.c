/* SPDX-License-Identifier: MIT */
/* hipc — the only file that calls into the kernel or reads errno. */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "sim.h"

/* While a simulated kernel runs (lib/sim.h, test builds only), the call is
 * answered by it and never reaches the kernel; SIM_FD only for the
 * simulation's descriptors. The fault plan is asked first. */
#ifdef HIPC_FAULT_INJECTION
#define SIM(expr)                                                              \
    do {                                                                       \
        if (hipc__sim_active())                                                \
            return (expr);                                                     \
    } while (0)
#define SIM_FD(fd, expr)                                                       \
    do {                                                                       \
        if (hipc__sim_active() && hipc__sim_fd(fd))                            \
            return (expr);                                                     \
    } while (0)
#else
#define SIM(expr)                                                              \
    do {                                                                       \
    } while (0)
#define SIM_FD(fd, expr) SIM(expr)
#endif
/* The same for calls on the simulation's memory. */
#ifdef HIPC_FAULT_INJECTION
#define SIM_MEM(addr, expr)                                                    \
    do {                                                                       \
        if (hipc__sim_active() && hipc__sim_mem(addr))                         \
            return (expr);                                                     \
    } while (0)
#else
#define SIM_MEM(addr, expr) SIM(expr)
#endif

/* Before a call that may open or close a real descriptor: a world's
 * harness may want to count them first (lib/sim.h). */
#ifdef HIPC_FAULT_INJECTION
#define REAL_FD_AHEAD() hipc__sim_real_fd_ahead()
#else
#define REAL_FD_AHEAD()                                                        \
    do {                                                                       \
    } while (0)
#endif

/* Fails the call early when the fault plan says so (test builds only). */
#define FAULT_POINT(call)                                                      \
    do {                                                                       \
        int fault_ = hipc_fault_errno(HIPC_SYS_##call);                        \
        if (fault_ != 0)                                                       \
            return -fault_;                                                    \
    } while (0)

/* The same where only the arguments tell whether the kernel could
 * interrupt the call (`can`: HIPC_FAULT_CAN_* bits). */
#define FAULT_POINT_IF(call, can)                                              \
    do {                                                                       \
        int fault_ = hipc_fault_errno_if(HIPC_SYS_##call, (can));              \
        if (fault_ != 0)                                                       \
            return -fault_;                                                    \
    } while (0)

/* The same for a transfer: the kind of descriptor decides. */
#define FAULT_POINT_FD(call, fd)                                               \
    do {                                                                       \
        int fault_ = hipc_fault_errno_fd(HIPC_SYS_##call, (fd));               \
        if (fault_ != 0)                                                       \
            return -fault_;                                                    \
    } while (0)

/* errno is read exactly once, right after the failing call. A failed
 * call that left errno at 0 would be a libc bug; -EIO keeps it an error. */
static int neg_errno(void)
{
    /* GCOVR_EXCL_BR_START [libc]: libc always sets errno */
    return errno > 0 ? -errno : -EIO;
    /* GCOVR_EXCL_BR_STOP */
}

int hipc__sys_shmget(key_t key, size_t size, int flags)
{
    FAULT_POINT(SHMGET);
    SIM(hipc__sim_shmget(key, size, flags));
    int id = shmget(key, size, flags);
    return id < 0 ? neg_errno() : id;
}

int hipc__sys_shmat(int id, const void *want, int flags, void **addr)
{
    FAULT_POINT(SHMAT);
    SIM(hipc__sim_shmat(id, want, flags, addr));
    void *p = shmat(id, want, flags);
    if (p == (void *)-1)
        return neg_errno();
    *addr = p;
    return 0;
}

/* An injected failure still detaches: shmdt only fails when nothing was
 * attached there, so a failure that left the mapping behind would be one
 * the kernel never produces. */
int hipc__sys_shmdt(const void *addr)
{
    int fault = hipc_fault_errno(HIPC_SYS_SHMDT);
    int r;
#ifdef HIPC_FAULT_INJECTION
    if (hipc__sim_active())
        r = hipc__sim_shmdt(addr);
    else
#endif
        r = shmdt(addr) < 0 ? neg_errno() : 0;
    return fault != 0 ? -fault : r;
}

int hipc__sys_shmctl(int id, int cmd, struct shmid_ds *ds)
{
    FAULT_POINT(SHMCTL);
    SIM(hipc__sim_shmctl(id, cmd, ds));
    int r = shmctl(id, cmd, ds);
    return r < 0 ? neg_errno() : r;
}

int hipc__sys_pipe2(int fds[2], int flags)
{
    FAULT_POINT(PIPE2);
    SIM(hipc__sim_pipe2(fds, flags));
    return pipe2(fds, flags) < 0 ? neg_errno() : 0;
}

#ifdef HIPC_FAULT_INJECTION /* otherwise inline in sys.h */
ssize_t hipc__sys_read(int fd, void *buf, size_t len)
{
    FAULT_POINT_FD(READ, fd);
    SIM_FD(fd,
           hipc__sim_read(fd, buf, hipc_fault_len_fd(HIPC_SYS_READ, fd, len)));
    ssize_t n = read(fd, buf, hipc_fault_len_fd(HIPC_SYS_READ, fd, len));
    return n < 0 ? neg_errno() : n;
}

ssize_t hipc__sys_write(int fd, const void *buf, size_t len)
{
    FAULT_POINT_FD(WRITE, fd);
    SIM_FD(fd, hipc__sim_write(fd, buf,
                               hipc_fault_len_fd(HIPC_SYS_WRITE, fd, len)));
    ssize_t n = write(fd, buf, hipc_fault_len_fd(HIPC_SYS_WRITE, fd, len));
    return n < 0 ? neg_errno() : n;
}
#endif

/* Linux releases the descriptor even when close reports EINTR, so the
 * caller must never retry; the error is passed up for information only. */
int hipc__sys_close(int fd)
{
    /* An injected failure releases the descriptor too, as Linux does. */
    int fault = hipc_fault_errno(HIPC_SYS_CLOSE);
    int r;
#ifdef HIPC_FAULT_INJECTION
    if (hipc__sim_active() && hipc__sim_fd(fd))
        r = hipc__sim_close(fd);
    else
#endif
    {
        REAL_FD_AHEAD();
        r = close(fd) < 0 ? neg_errno() : 0;
    }
    return fault != 0 ? -fault : r;
}

#ifdef HIPC_FAULT_INJECTION
/* No fault point: it is a question about the seam, not a syscall. */
int hipc__sys_fd_is_sim(int fd)
{
    return hipc__sim_active() && hipc__sim_fd(fd);
}
#endif

int hipc__sys_fcntl(int fd, int cmd, int arg)
{
    FAULT_POINT(FCNTL);
    SIM_FD(fd, hipc__sim_fcntl(fd, cmd, arg));
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        REAL_FD_AHEAD();
    int r = fcntl(fd, cmd, arg);
    return r < 0 ? neg_errno() : r;
}

int hipc__sys_fstat(int fd, struct stat *st)
{
    FAULT_POINT(FSTAT);
    SIM_FD(fd, hipc__sim_fstat(fd, st));
    return fstat(fd, st) < 0 ? neg_errno() : 0;
}

#ifdef HIPC_FAULT_INJECTION
/* A simulated world's memos of /proc/self (lib/sim.h): the real answer at
 * the first look that succeeds, the same answer after it. A failure is
 * not kept (EMFILE passes); the real call then answers, and says why. */
static void memo_text(const char *path, struct hipc__sim_memo *m)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = read(fd, m->text, sizeof m->text); /* EBADF if no fd */
    m->len = (size_t)n;
    m->have = n >= 0;
    (void)close(fd);
}

static int memo_link(const struct hipc__sim_memo *m, char *buf, size_t cap)
{
    if (m->len >= cap)
        return -ENAMETOOLONG;
    memcpy(buf, m->text, m->len + 1);
    return (int)m->len;
}
#endif

int hipc__sys_stat(const char *path, struct stat *st)
{
    FAULT_POINT(STAT);
#ifdef HIPC_FAULT_INJECTION
    struct hipc__sim_memo *m =
        hipc__sim_active() ? hipc__sim_memo(path, HIPC__SIM_MEMO_STAT) : NULL;
    if (m != NULL && m->have) {
        *st = m->st;
        return 0;
    }
    int r = stat(path, st) < 0 ? neg_errno() : 0;
    if (m != NULL) {
        m->st = *st;
        m->have = r == 0;
    }
    return r;
#else
    return stat(path, st) < 0 ? neg_errno() : 0;
#endif
}

int hipc__sys_open(const char *path, int flags)
{
    FAULT_POINT(OPEN);
#ifdef HIPC_FAULT_INJECTION
    struct hipc__sim_memo *m =
        hipc__sim_active() ? hipc__sim_memo(path, HIPC__SIM_MEMO_TEXT) : NULL;
    if (m != NULL && !m->have)
        memo_text(path, m);
    int sim = hipc__sim_active() ? hipc__sim_open(path, flags) : 1;
    if (sim != 1)
        return sim;
#endif
    REAL_FD_AHEAD();
    int fd = open(path, flags | O_CLOEXEC);
    return fd < 0 ? neg_errno() : fd;
}

int hipc__sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    FAULT_POINT(POLL);
    SIM(hipc__sim_poll(fds, n, timeout_ms));
    int r = poll(fds, n, timeout_ms);
    return r < 0 ? neg_errno() : r;
}

int hipc__sys_ioctl_int(int fd, unsigned long req, int *out)
{
    FAULT_POINT(IOCTL);
    SIM_FD(fd, hipc__sim_ioctl_int(fd, req, out));
    /* Through syscall(): glibc declares ioctl's request unsigned long, musl
     * int (as POSIX does), and either conversion warns on the other libc. */
    return syscall(SYS_ioctl, fd, req, out) < 0 ? neg_errno() : 0;
}

int hipc__sys_dup2(int from, int to)
{
    FAULT_POINT(DUP2);
    SIM_FD(from, -ENOSYS);
    SIM_FD(to, -ENOSYS);
    REAL_FD_AHEAD();
    int r = dup2(from, to);
    return r < 0 ? neg_errno() : r;
}

int hipc__sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    /* Opening a FIFO blocks until its other side comes, unless O_NONBLOCK. */
    FAULT_POINT_IF(OPENAT, (flags & O_NONBLOCK) ? 0u : HIPC_FAULT_CAN_EINTR);
    REAL_FD_AHEAD();
    int fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
    return fd < 0 ? neg_errno() : fd;
}

int hipc__sys_mkfifoat(int dirfd, const char *name, mode_t mode)
{
    FAULT_POINT(MKFIFOAT);
    SIM(-ENOSYS);
    return mkfifoat(dirfd, name, mode) < 0 ? neg_errno() : 0;
}

int hipc__sys_unlinkat(int dirfd, const char *name, int flags)
{
    FAULT_POINT(UNLINKAT);
    return unlinkat(dirfd, name, flags) < 0 ? neg_errno() : 0;
}

int hipc__sys_fchmod(int fd, mode_t mode)
{
    FAULT_POINT(FCHMOD);
    return fchmod(fd, mode) < 0 ? neg_errno() : 0;
}

pid_t hipc__sys_fork(void)
{
    FAULT_POINT(FORK);
    SIM(-ENOSYS);
    pid_t pid = fork();
    return pid < 0 ? neg_errno() : pid;
}

/* WNOHANG never sleeps, so it is never interrupted. The kernel says
 * ECHILD only once the child is gone (reaped elsewhere, or at once because
 * SIGCHLD is ignored), so an injected ECHILD reaps it first; one still
 * running is killed for that, as if it had ended and been reaped by
 * someone else. */
pid_t hipc__sys_waitpid(pid_t pid, int *status, int options)
{
    int fault =
        hipc_fault_errno_if(HIPC_SYS_WAITPID, hipc_fault_can_wait(options));
    if (fault == ECHILD && pid > 0 && waitpid(pid, status, WNOHANG) == 0) {
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, status, 0);
    } else if (fault == ECHILD) {
        (void)waitpid(pid, status, options);
    }
    if (fault != 0)
        return -fault;
    pid_t r = waitpid(pid, status, options);
    return r < 0 ? neg_errno() : r;
}

int hipc__sys_kill(pid_t pid, int sig)
{
    FAULT_POINT(KILL);
    return kill(pid, sig) < 0 ? neg_errno() : 0;
}

pid_t hipc__sys_getpid(void)
{
    SIM(hipc__sim_pid());
    return getpid();
}

uid_t hipc__sys_geteuid(void)
{
    SIM(hipc__sim_euid());
    return geteuid();
}

gid_t hipc__sys_getegid(void)
{
    SIM(hipc__sim_egid());
    return getegid();
}

int hipc__sys_readlink(const char *path, char *buf, size_t cap)
{
    FAULT_POINT(READLINK);
#ifdef HIPC_FAULT_INJECTION
    struct hipc__sim_memo *m =
        hipc__sim_active() ? hipc__sim_memo(path, HIPC__SIM_MEMO_LINK) : NULL;
    if (m != NULL && m->have)
        return memo_link(m, buf, cap);
#endif
    ssize_t n = readlink(path, buf, cap);
    if (n < 0)
        return neg_errno();
    if ((size_t)n >= cap)
        return -ENAMETOOLONG;
    buf[n] = '\0';
#ifdef HIPC_FAULT_INJECTION
    if (m != NULL) {
        m->len = (size_t)n;
        m->have = snprintf(m->text, sizeof m->text, "%s", buf) == (int)n;
    }
#endif
    return (int)n;
}

/* pthread_sigmask reports its error as the return value, not in errno. */
int hipc__sys_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    FAULT_POINT(SIGMASK);
    int r = pthread_sigmask(how, set, old);
    return r != 0 ? -r : 0;
}

int hipc__sys_sigtimedwait(const sigset_t *set, const struct timespec *timeout)
{
    /* A zero timeout only polls: it reports EAGAIN, never EINTR. */
    FAULT_POINT_IF(SIGTIMEDWAIT, hipc_fault_can_timeout(timeout));
    int sig = sigtimedwait(set, NULL, timeout);
    return sig < 0 ? neg_errno() : sig;
}

int hipc__sys_sigpending(sigset_t *set)
{
    FAULT_POINT(SIGPENDING);
    return sigpending(set) < 0 ? neg_errno() : 0;
}

int hipc__sys_clock_monotonic(struct timespec *ts)
{
    /* CLOCK_MONOTONIC always exists, and a bad `ts` faults in the vDSO
     * rather than failing, so this never reports an error. */
    /* GCOVR_EXCL_BR_START [libc]: CLOCK_MONOTONIC cannot fail */
    return clock_gettime(CLOCK_MONOTONIC, ts) < 0 ? neg_errno() : 0;
    /* GCOVR_EXCL_BR_STOP */
}

#ifdef HIPC_FAULT_INJECTION
/* A futex wait on the world's memory. The world has one thread and no
 * other process, so nobody can change the word: a wait sleeps out its
 * timeout, as the kernel's would (interrupted, it ends early, which its
 * caller's clock sees either way), and an endless one could never end.
 * A word in real memory (a caller's own mapping, perhaps shared with a
 * real child) is the kernel's to wait on and to wake: its waker may be
 * outside the world. */
static int sim_futex_wait(const unsigned *word, unsigned expected,
                          const struct timespec *ts)
{
    int changed = __atomic_load_n(word, __ATOMIC_RELAXED) != expected;
    if (!changed && ts != NULL)
        (void)nanosleep(ts, NULL);
    return changed ? -EAGAIN : ts != NULL ? -ETIMEDOUT : -ENOSYS;
}
#endif

int hipc__sys_futex_wait(const unsigned *word, unsigned expected,
                         const struct timespec *ts)
{
    FAULT_POINT(FUTEX);
    SIM_MEM(word, sim_futex_wait(word, expected, ts));
    long r = syscall(SYS_futex, word, FUTEX_WAIT, expected, ts, NULL, 0);
    return r < 0 ? neg_errno() : 0;
}

int hipc__sys_futex_wake(const unsigned *word, int count)
{
    /* Waking never sleeps: no EINTR, no EAGAIN. */
    FAULT_POINT_IF(FUTEX, 0u);
    SIM_MEM(word, 0); /* nobody else in the world can be waiting */
    long r = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
    return r < 0 ? neg_errno() : (int)r;
}

int hipc__sys_madvise(void *addr, size_t len, int advice)
{
    FAULT_POINT(MADVISE);
    SIM_MEM(addr, 0);
    return madvise(addr, len, advice) < 0 ? neg_errno() : 0;
}

int hipc__sys_fdopen(int fd, const char *mode, FILE **out)
{
    FAULT_POINT(FDOPEN);
    FILE *f = fdopen(fd, mode);
    if (f == NULL)
        return neg_errno();
    *out = f;
    return 0;
}

int hipc__sys_fopencookie(void *cookie, const char *mode,
                          cookie_io_functions_t fns, FILE **out)
{
    FAULT_POINT(FDOPEN);
    FILE *f = fopencookie(cookie, mode, fns);
    /* GCOVR_EXCL_START [libc]: fopencookie fails only when malloc does */
    if (f == NULL)
        return neg_errno();
    /* GCOVR_EXCL_STOP */
    *out = f;
    return 0;
}

void hipc__sys_set_errno(int err)
{
    errno = err;
}

size_t hipc__sys_page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    /* Linux always reports the page size (AT_PAGESZ); the fallback only
     * keeps the arithmetic above safe. */
    /* GCOVR_EXCL_BR_START [libc]: Linux always reports the page size */
    return ps > 0 ? (size_t)ps : 4096u;
    /* GCOVR_EXCL_BR_STOP */
}

int hipc__sys_clock_gettime(clockid_t clock, struct timespec *ts)
{
    FAULT_POINT(CLOCK);
    if (clock_gettime(clock, ts) < 0)
        return neg_errno();
    if (clock == CLOCK_REALTIME)
        ts->tv_sec += (time_t)hipc_fault_realtime_shift();
    return 0;
}

long hipc__sys_clock_ticks(void)
{
    long t = sysconf(_SC_CLK_TCK);
    /* Linux always reports the tick rate (AT_CLKTCK). */
    /* GCOVR_EXCL_BR_START [libc]: Linux always reports the tick rate */
    return t > 0 ? t : 100;
    /* GCOVR_EXCL_BR_STOP */
}

#ifdef HIPC_FAULT_INJECTION
/* A planned short writev moves a prefix of the first buffer, in a
 * simulated world as on the kernel: *one becomes that prefix, and *iov
 * points at it. Returns how many buffers to write. */
static int planned_writev(int fd, const struct iovec **iov, int count,
                          struct iovec *one)
{
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += (*iov)[i].iov_len;
    size_t allowed = hipc_fault_len_fd(HIPC_SYS_WRITE, fd, total);
    if (count == 0 || allowed >= total)
        return count;
    one->iov_base = (*iov)[0].iov_base;
    one->iov_len = allowed < (*iov)[0].iov_len ? allowed : (*iov)[0].iov_len;
    *iov = one;
    return 1;
}
#define PLANNED_WRITEV(fd, iov, count)                                         \
    struct iovec one_;                                                         \
    count = planned_writev(fd, &iov, count, &one_)
#else
#define PLANNED_WRITEV(fd, iov, count) (void)0
#endif

ssize_t hipc__sys_writev(int fd, const struct iovec *iov, int count)
{
    FAULT_POINT_FD(WRITE, fd);
    PLANNED_WRITEV(fd, iov, count);
    SIM_FD(fd, hipc__sim_writev(fd, iov, count));
    ssize_t n = writev(fd, iov, count);
    return n < 0 ? neg_errno() : n;
}

#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100 /* include/uapi/linux/fs.h, Linux 6.18 */
#endif

/* Through syscall(2): musl has no pwritev2 wrapper, and glibc's emulates
 * it on old kernels only for flags it knows. An offset of -1 (the current
 * position, which is what a pipe has) goes as -1 in both halves, which
 * the kernel joins into -1 on 32- and 64-bit alike. */
ssize_t hipc__sys_writev_nosignal(int fd, const struct iovec *iov, int count)
{
    FAULT_POINT_FD(WRITE, fd);
    PLANNED_WRITEV(fd, iov, count);
    SIM_FD(fd, hipc__sim_writev(fd, iov, count));
#ifdef SYS_pwritev2
    long n = syscall(SYS_pwritev2, fd, iov, count, -1L, -1L, RWF_NOSIGNAL);
    return n < 0 ? neg_errno() : (ssize_t)n;
#else
    (void)iov;
    (void)count;
    /* GCOVR_EXCL_START [kernel]: every Linux target has pwritev2 */
    return -ENOSYS;
    /* GCOVR_EXCL_STOP */
#endif
}

ssize_t hipc__sys_readv(int fd, const struct iovec *iov, int count)
{
    FAULT_POINT_FD(READ, fd);
    SIM_FD(fd, hipc__sim_readv(fd, iov, count));
    ssize_t n = readv(fd, iov, count);
    return n < 0 ? neg_errno() : n;
}

/* fclose releases the stream and its descriptor even when the final
 * flush fails; the error is reported for information. */
int hipc__sys_fclose(FILE *f)
{
    /* An injected failure releases the stream too, as fclose always does. */
    int fault = hipc_fault_errno(HIPC_SYS_CLOSE);
    REAL_FD_AHEAD();
    int r = fclose(f) != 0 ? neg_errno() : 0;
    return fault != 0 ? -fault : r;
}

int hipc__sys_fflush_all(void)
{
    return fflush(NULL) != 0 ? neg_errno() : 0;
}

void hipc__sys_exit(int status)
{
    _exit(status);
}

/* mincore shares MADVISE's fault point, as writev shares WRITE's: both ask
 * the kernel about the pages of a mapping. */
int hipc__sys_mincore(void *addr, size_t len, unsigned char *vec)
{
    FAULT_POINT(MADVISE);
#ifdef HIPC_FAULT_INJECTION
    /* The arena is ordinary memory of this process: every page present. */
    if (hipc__sim_active() && hipc__sim_mem(addr)) {
        size_t page = hipc__sys_page_size();
        memset(vec, 1, (len + page - 1) / page);
        return 0;
    }
#endif
    return mincore(addr, len, vec) < 0 ? neg_errno() : 0;
}

/* Running a program: see sys.h. Nothing below `vfork() == 0` may touch
 * memory the parent uses (the child shares it until it execs), nor the
 * fault plan, nor return from this function. */

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000 /* Linux 5.2 */
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2) /* Linux 5.11 */
#endif

/* The child runs on a stack ASan does not know (and under TSan in a
 * copy): instrumented, its calls to noreturn functions make ASan warn
 * on the child's stderr. Its code is left uninstrumented; it touches
 * only its own stack and the plan. */
#define CHILD_CODE __attribute__((no_sanitize_address))

/* The child's calls: 0, or -errno; an injected errno fails the step
 * without calling the kernel. */
#define CHILD_CALL(plan, step, expr)                                           \
    ((plan)->inject[step] != 0 ? -(plan)->inject[step]                         \
                               : ((expr) < 0 ? -errno : 0))

CHILD_CODE static _Noreturn void child_fail(int errfd,
                                            enum hipc__exec_step step, int neg)
{
    struct hipc__exec_failure f = {.step = (int)step, .err = -neg};
    /* A pipe write of 8 bytes is atomic; nothing can be done if it
     * fails, and the parent then sees only the exit status. */
    (void)!write(errfd, &f, sizeof f);
    syscall(SYS_exit_group, 127);
    /* GCOVR_EXCL_START [kernel]: exit_group does not return */
    __builtin_unreachable();
    /* GCOVR_EXCL_STOP */
}

/* GCOVR_EXCL_BR_START [child]: the vfork child's calls. A real failure of
 * one cannot be caused from a test (valid descriptors, a child that is no
 * group leader, an execve that returns only failing); the fault plan's
 * failures, injected in the parent before each call (inject[]), take
 * those paths and are counted by lines. */
/* Moves a descriptor below 3 that is about to be overwritten out of the
 * way (to 3 or above, close-on-exec). */
CHILD_CODE static int child_lift(int *fd, int keep)
{
    if (*fd < 0 || *fd >= 3 || *fd == keep)
        return 0;
    int r = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    return r < 0 ? -errno : (*fd = r, 0);
}

/* Locals only: the parent's plan is not written. */
CHILD_CODE static int child_redirect(const struct hipc__exec_plan *plan,
                                     int *errfd)
{
    if (plan->inject[HIPC__EXEC_DUP] != 0)
        return -plan->inject[HIPC__EXEC_DUP];
    int src[3] = {plan->src[0], plan->src[1], plan->src[2]};
    int r = child_lift(errfd, -1);
    for (int i = 0; i < 3 && r == 0; i++)
        r = child_lift(&src[i], i);
    for (int i = 0; i < 3 && r == 0; i++) {
        if (src[i] < 0)
            continue;
        r = src[i] == i ? fcntl(i, F_SETFD, 0) : dup2(src[i], i);
        r = r < 0 ? -errno : 0;
    }
    return r;
}

/* Closes what /proc/self/fd lists from 3 up (but errfd and the listing's
 * own descriptor), pass after pass until a pass finds nothing: a listing
 * read while closing may skip entries. 0, or -1 without /proc. */
CHILD_CODE static int child_close_listed(int errfd)
{
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    int found;
    do {
        found = 0;
        _Alignas(struct dirent64) char buf[1024];
        long n;
        (void)lseek(dir, 0, SEEK_SET);
        while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
            for (long at = 0; at < n;) {
                const struct dirent64 *d = (const void *)(buf + at);
                long fd = strtol(d->d_name, NULL, 10);
                at += d->d_reclen;
                if (fd >= 3 && fd != errfd && fd != dir && d->d_name[0] != '.')
                    found = close((int)fd) == 0 || found;
            }
        }
    } while (found);
    (void)close(dir);
    return 0;
}

/* Without close_range: every descriptor /proc lists, or without /proc
 * every one up to the soft limit (one opened before the limit was
 * lowered stays then). The failure pipe is spared until execve closes
 * it. */
CHILD_CODE static void child_close_each(int errfd)
{
    if (child_close_listed(errfd) == 0)
        return;
    struct rlimit lim;
    long max = 1024;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        lim.rlim_cur < INT32_MAX)
        max = (long)lim.rlim_cur;
    for (long fd = 3; fd < max; fd++)
        if (fd != errfd)
            (void)close((int)fd);
}

CHILD_CODE static int child_close_range(const struct hipc__exec_plan *plan,
                                        int errfd)
{
    int r = CHILD_CALL(plan, HIPC__EXEC_CLOSE_RANGE,
                       syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC));
    /* ENOSYS before Linux 5.9, EINVAL (the flag) before 5.11. */
    if (r == -ENOSYS || r == -EINVAL) {
        child_close_each(errfd);
        r = 0;
    }
    return r;
}

/* execve sets every caught signal back to its default itself; only an
 * ignored one would stay ignored, so those are reset here. Then the mask
 * is emptied. (The C library refuses its own internal signals, which are
 * never ignored.) */
CHILD_CODE static int child_signals(const struct hipc__exec_plan *plan)
{
    if (plan->inject[HIPC__EXEC_SIGNALS] != 0)
        return -plan->inject[HIPC__EXEC_SIGNALS];
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            (void)sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    return sigprocmask(SIG_SETMASK, &none, NULL) < 0 ? -errno : 0;
}

CHILD_CODE static _Noreturn void child_exec(const struct hipc__exec_plan *plan)
{
    int errfd = plan->errfd;
    int r = child_redirect(plan, &errfd);
    if (r != 0)
        child_fail(errfd, HIPC__EXEC_DUP, r);
    if (plan->cwd != NULL &&
        (r = CHILD_CALL(plan, HIPC__EXEC_CHDIR, chdir(plan->cwd))) != 0)
        child_fail(errfd, HIPC__EXEC_CHDIR, r);
    if (plan->group == HIPC__GROUP_SESSION)
        r = CHILD_CALL(plan, HIPC__EXEC_GROUP, setsid());
    else if (plan->group == HIPC__GROUP_NEW)
        r = CHILD_CALL(plan, HIPC__EXEC_GROUP, setpgid(0, 0));
    if (r != 0)
        child_fail(errfd, HIPC__EXEC_GROUP, r);
    if ((r = child_close_range(plan, errfd)) != 0)
        child_fail(errfd, HIPC__EXEC_CLOSE_RANGE, r);
    if ((r = child_signals(plan)) != 0)
        child_fail(errfd, HIPC__EXEC_SIGNALS, r);
    char *const *envp = plan->envp != NULL ? plan->envp : environ;
    r = CHILD_CALL(plan, HIPC__EXEC_EXECVE,
                   execve(plan->path, plan->argv, envp));
    child_fail(errfd, HIPC__EXEC_EXECVE, r);
}

/* GCOVR_EXCL_BR_STOP */

#ifdef HIPC_FAULT_INJECTION
/* Asks the fault plan, in the parent, about each step the child makes. */
static void plan_faults(struct hipc__exec_plan *plan)
{
    memset(plan->inject, 0, sizeof plan->inject);
    if (plan->src[0] >= 0 || plan->src[1] >= 0 || plan->src[2] >= 0)
        plan->inject[HIPC__EXEC_DUP] = hipc_fault_errno(HIPC_SYS_DUP2);
    if (plan->cwd != NULL)
        plan->inject[HIPC__EXEC_CHDIR] = hipc_fault_errno(HIPC_SYS_CHDIR);
    if (plan->group == HIPC__GROUP_SESSION)
        plan->inject[HIPC__EXEC_GROUP] = hipc_fault_errno(HIPC_SYS_SETSID);
    else if (plan->group == HIPC__GROUP_NEW)
        plan->inject[HIPC__EXEC_GROUP] = hipc_fault_errno(HIPC_SYS_SETPGID);
    plan->inject[HIPC__EXEC_CLOSE_RANGE] =
        hipc_fault_errno(HIPC_SYS_CLOSE_RANGE);
    plan->inject[HIPC__EXEC_SIGNALS] = hipc_fault_errno(HIPC_SYS_SIGACTION);
    plan->inject[HIPC__EXEC_EXECVE] = hipc_fault_errno(HIPC_SYS_EXECVE);
}
#endif

/* The child starts here, on its own stack, sharing the parent's memory
 * until execve: what vfork does, with the pidfd made by the same call. */
CHILD_CODE static int child_main(void *arg)
{
    child_exec(arg);
}

/* Big enough for child_exec under the sanitizers; never touched past
 * what the child uses (MAP_NORESERVE). */
#define CHILD_STACK (64 * 1024)

/* One clone: the child (> 0) with *pidfd set when `flags` asks for it,
 * or -errno. The stack is unmapped once the child has exec'd or ended:
 * CLONE_VFORK holds the parent until then. */
static pid_t clone_child(struct hipc__exec_plan *plan, int flags, int *pidfd)
{
    char *stack =
        mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    /* GCOVR_EXCL_BR_START [kernel]: 64 KiB of address space and a new
     * process are refused only by a kernel out of memory or processes;
     * CLONE's fault point, in front of both, gives the callers those
     * answers. */
    /* The stack grows down on every architecture hipc builds for. */
    pid_t pid = stack == MAP_FAILED ? -1
                                    : clone(child_main, stack + CHILD_STACK,
                                            flags, plan, pidfd);
    pid = pid < 0 ? neg_errno() : pid;
    if (stack != MAP_FAILED)
        (void)munmap(stack, CHILD_STACK);
    /* GCOVR_EXCL_BR_STOP */
    return pid;
}

/* TSan takes every clone for a fork and breaks its own state in a child
 * that shares the parent's memory: there the child gets a copy. */
#if defined(__SANITIZE_THREAD__)
#define CLONE_SHARED 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CLONE_SHARED 0
#endif
#endif
#ifndef CLONE_SHARED
#define CLONE_SHARED CLONE_VM
#endif

pid_t hipc__sys_spawn(struct hipc__exec_plan *plan, int *pidfd)
{
    FAULT_POINT(CLONE);
    SIM(-ENOSYS);
    *pidfd = -1;
    int flags = CLONE_SHARED | CLONE_VFORK | SIGCHLD;
    /* PIDFD_OPEN's point stands for the pidfd clone makes: ENOSYS or
     * EINVAL, a kernel without it (a child all the same); any other errno,
     * clone's failure with CLONE_PIDFD (no child). */
    int no_pidfd = hipc_fault_errno(HIPC_SYS_PIDFD_OPEN);
    if (no_pidfd != 0 && no_pidfd != ENOSYS && no_pidfd != EINVAL)
        return -no_pidfd;
#ifdef HIPC_FAULT_INJECTION
    plan_faults(plan);
#else
    memset(plan->inject, 0, sizeof plan->inject);
#endif
    /* A kernel before Linux 5.2 ignores the flag: *pidfd stays -1. */
    pid_t pid =
        no_pidfd != 0 ? -EINVAL : clone_child(plan, flags | CLONE_PIDFD, pidfd);
    /* EINVAL: no CLONE_PIDFD here (an emulator, a kernel refusing it). */
    if (pid == -EINVAL)
        pid = clone_child(plan, flags, pidfd);
    return pid;
}

/* Through the raw call: the C library's wrappers leave its own internal
 * signals unblocked, and their handlers must not run in a vfork child
 * either. The kernel's set is 64 bits on every architecture hipc builds
 * for (the C library's sigset_t is larger, its head the same bits). */
int hipc__sys_block_signals(sigset_t *old)
{
    FAULT_POINT(SIGMASK);
    sigset_t all;
    memset(&all, 0xff, sizeof all); /* sigfillset leaves glibc's out */
    sigemptyset(old);
    long r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, old, 8);
    return r < 0 ? neg_errno() : 0;
}

void hipc__sys_restore_signals(const sigset_t *old)
{
    (void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, 8);
}

int hipc__sys_pidfd_signal(int pidfd, int sig)
{
    FAULT_POINT(PIDFD_SIGNAL);
    SIM(-ENOSYS);
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? neg_errno()
                                                                   : 0;
}

/* ---- the doorbell -------------------------------------------------------- */

int hipc__sys_socket_dgram(void)
{
    FAULT_POINT(SOCKET);
    SIM(-ENOSYS);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    return fd < 0 ? neg_errno() : fd;
}

/* An abstract address: a NUL byte, then the name (no terminating NUL). */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *name,
                               size_t len)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (len > sizeof a->sun_path - 1)
        len = sizeof a->sun_path - 1;
    memcpy(a->sun_path + 1, name, len);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

int hipc__sys_bind_abstract(int fd, const char *name, size_t len)
{
    FAULT_POINT(BIND);
    struct sockaddr_un a;
    socklen_t n = abstract_addr(&a, name, len);
    return bind(fd, (const struct sockaddr *)&a, n) < 0 ? neg_errno() : 0;
}

int hipc__sys_sendto_abstract(int fd, const void *buf, size_t n,
                              const char *name, size_t len)
{
    /* MSG_DONTWAIT: never sleeps, so never interrupted. */
    FAULT_POINT_IF(SENDTO, HIPC_FAULT_CAN_EAGAIN);
    struct sockaddr_un a;
    socklen_t an = abstract_addr(&a, name, len);
    ssize_t r = sendto(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&a, an);
    return r < 0 ? neg_errno() : (int)r;
}

int hipc__sys_epoll_create(void)
{
    FAULT_POINT(EPOLL_CREATE);
    SIM(-ENOSYS);
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? neg_errno() : fd;
}

int hipc__sys_epoll_add(int ep, int fd)
{
    FAULT_POINT(EPOLL_CTL);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? neg_errno() : 0;
}

int hipc__sys_timerfd_create(void)
{
    FAULT_POINT(TIMERFD_CREATE);
    SIM(-ENOSYS);
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    return fd < 0 ? neg_errno() : fd;
}

int hipc__sys_timerfd_once(int fd, int64_t ns)
{
    FAULT_POINT(TIMERFD_SETTIME);
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(ns / 1000000000);
    it.it_value.tv_nsec = (long)(ns % 1000000000);
    return timerfd_settime(fd, 0, &it, NULL) < 0 ? neg_errno() : 0;
}
