/* SPDX-License-Identifier: MIT */
/* hipc — the syscall seam.
 *
 * lib/sys.c (and this header, for the inline read and write below) is the
 * only place in the library that calls into the kernel or reads errno. Each wrapper returns the call's result, or -errno on failure,
 * so the code above it never looks at errno (the way musl's __syscall does).
 *
 * In a build with HIPC_FAULT_INJECTION defined every wrapper first asks the
 * fault plan (lib/fault.h) whether to fail, interrupt or shorten this call;
 * in a normal build those checks compile to nothing.
 */
#ifndef HIPC_SYS_H
#define HIPC_SYS_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Every call the seam knows, so a fault plan can name one. (Laid out by
 * hand: clang-format would indent each line of the list further.) */
/* clang-format off */
#define HIPC_SYS_CALLS(X)                                                      \
    X(SHMGET) X(SHMAT) X(SHMDT) X(SHMCTL) X(PIPE2) X(READ) X(WRITE) X(CLOSE)  \
    X(FCNTL) X(FSTAT) X(STAT) X(OPEN) X(POLL) X(IOCTL) X(FORK) X(WAITPID)     \
    X(KILL) X(SIGMASK) X(SIGTIMEDWAIT) X(SIGPENDING) X(CLOCK) X(FUTEX)        \
    X(MADVISE) X(DUP2) X(FDOPEN) X(GETPID) X(OPENAT) X(MKFIFOAT)          \
    X(UNLINKAT) X(FCHMOD) X(CLONE) X(EXECVE) X(CHDIR) X(SETSID) X(SETPGID)  \
    X(CLOSE_RANGE) X(SIGACTION) X(PIDFD_OPEN) X(PIDFD_SIGNAL) X(READLINK)   \
    X(SOCKET) X(BIND) X(SENDTO) X(EPOLL_CREATE) X(EPOLL_CTL)                 \
    X(TIMERFD_CREATE) X(TIMERFD_SETTIME)

enum hipc__sys_call {
#define HIPC_SYS_ENUM_(name) HIPC_SYS_##name,
    HIPC_SYS_CALLS(HIPC_SYS_ENUM_)
#undef HIPC_SYS_ENUM_
    HIPC_SYS_COUNT_
};
/* clang-format on */

int hipc__sys_shmget(key_t key, size_t size, int flags);
/* On success stores the address in *addr and returns 0. */
int hipc__sys_shmat(int id, const void *want, int flags, void **addr);
int hipc__sys_shmdt(const void *addr);
int hipc__sys_shmctl(int id, int cmd, struct shmid_ds *ds);

int hipc__sys_pipe2(int fds[2], int flags);
#ifdef HIPC_FAULT_INJECTION
ssize_t hipc__sys_read(int fd, void *buf, size_t len);
ssize_t hipc__sys_write(int fd, const void *buf, size_t len);
#else
/* read and write are the pipe's hot path, so without a fault plan they are
 * defined here, inline: the wrapper's call and return around the syscall
 * cost about 4 % of a 64-byte pipe write on the machines hipc is measured
 * on (one thread, write + read, interleaved against the raw calls), more
 * than their few instructions suggest - branch and return predictions are
 * cold after each trip into the kernel. Still the seam: nothing outside
 * sys.h and sys.c calls the kernel or reads errno. */
#include <errno.h>
#include <unistd.h>

static inline ssize_t hipc__sys_read(int fd, void *buf, size_t len)
{
    ssize_t n = read(fd, buf, len);
    return n >= 0 ? n : errno > 0 ? -(ssize_t)errno : -EIO;
}

static inline ssize_t hipc__sys_write(int fd, const void *buf, size_t len)
{
    ssize_t n = write(fd, buf, len);
    return n >= 0 ? n : errno > 0 ? -(ssize_t)errno : -EIO;
}
#endif
int hipc__sys_close(int fd);

/* Whether `fd` is one of a simulated kernel's descriptors while one runs
 * (lib/sim.h). A write to one reaches no kernel and so cannot raise
 * SIGPIPE: the pipe module asks once per writing call and then skips its
 * SIGPIPE guard, whose signal-mask calls would be real syscalls, the only
 * ones left in a simulated write. A real descriptor written inside a
 * world is guarded as always. Without a fault plan the answer is the
 * constant 0, so a release build asks nothing and keeps its code. */
#ifdef HIPC_FAULT_INJECTION
int hipc__sys_fd_is_sim(int fd);
#else
#define hipc__sys_fd_is_sim(fd) ((void)(fd), 0)
#endif
int hipc__sys_fcntl(int fd, int cmd, int arg);
int hipc__sys_fstat(int fd, struct stat *st);
int hipc__sys_stat(const char *path, struct stat *st);
int hipc__sys_open(const char *path, int flags);
int hipc__sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int hipc__sys_ioctl_int(int fd, unsigned long req, int *out);
int hipc__sys_dup2(int from, int to);

/* Named things relative to a directory descriptor (AT_FDCWD for the
 * working directory): the FIFO module opens a directory once and then
 * works only below it, so a path swapped under it cannot redirect it.
 * openat always adds O_CLOEXEC. */
int hipc__sys_openat(int dirfd, const char *path, int flags, mode_t mode);
int hipc__sys_mkfifoat(int dirfd, const char *name, mode_t mode);
int hipc__sys_unlinkat(int dirfd, const char *name, int flags);
int hipc__sys_fchmod(int fd, mode_t mode);

pid_t hipc__sys_fork(void);
pid_t hipc__sys_waitpid(pid_t pid, int *status, int options);
int hipc__sys_kill(pid_t pid, int sig);
pid_t hipc__sys_getpid(void);
/* The effective uid, which the kernel stamps on what the caller creates
 * (unless setfsuid changed the file-system uid). Never fails. */
uid_t hipc__sys_geteuid(void);
/* The effective gid, likewise (the simulated kernel's permission checks). */
gid_t hipc__sys_getegid(void);
/* readlink into buf, NUL-terminated; the length, or -errno (-ENAMETOOLONG
 * when the target does not fit). */
int hipc__sys_readlink(const char *path, char *buf, size_t cap);

int hipc__sys_sigmask(int how, const sigset_t *set, sigset_t *old);

int hipc__sys_sigtimedwait(const sigset_t *set, const struct timespec *timeout);
int hipc__sys_sigpending(sigset_t *set);

int hipc__sys_clock_monotonic(struct timespec *ts);
/* FUTEX_WAIT on a shared (not private) word; ts is a relative timeout or NULL. */
int hipc__sys_futex_wait(const unsigned *word, unsigned expected,
                         const struct timespec *ts);
int hipc__sys_futex_wake(const unsigned *word, int count);
int hipc__sys_madvise(void *addr, size_t len, int advice);
/* Linux 5.14's advice values, for C libraries whose headers predate them
 * (musl, older glibc): a kernel without them answers EINVAL. */
#include <sys/mman.h>
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* fdopen never fails with a useful errno on its own; the seam keeps it. */
#include <stdio.h>
int hipc__sys_fdopen(int fd, const char *mode, FILE **out);
/* A stream whose reads and writes are the caller's functions (glibc and
 * musl both have fopencookie). FDOPEN's fault point. */
int hipc__sys_fopencookie(void *cookie, const char *mode,
                          cookie_io_functions_t fns, FILE **out);
/* For those functions: stdio reports their failure through errno. */
void hipc__sys_set_errno(int err);

/* The page size, read once from the auxiliary vector and cached (the
 * value cannot change while the process runs, so this is not mutable state
 * in any meaningful sense). */
size_t hipc__sys_page_size(void);

/* Any clock (CLOCK_REALTIME, CLOCK_BOOTTIME...), for comparing a process's
 * start time with a segment's ctime. */
int hipc__sys_clock_gettime(clockid_t clock, struct timespec *ts);
/* Clock ticks per second, the unit of /proc/PID/stat start times. */
long hipc__sys_clock_ticks(void);

/* Pipes and streams (pipe module). writev shares WRITE's fault point,
 * fclose CLOSE's. */
#include <sys/uio.h>
ssize_t hipc__sys_writev(int fd, const struct iovec *iov, int count);

/* writev with RWF_NOSIGNAL (pwritev2 at the current position): a write to
 * a pipe with no reader fails with -EPIPE and raises no SIGPIPE. Linux
 * 6.18+; older kernels answer -EOPNOTSUPP (unknown flag) or -ENOSYS (no
 * pwritev2), having written nothing. A fault plan sees it as a WRITE. */
ssize_t hipc__sys_writev_nosignal(int fd, const struct iovec *iov, int count);
/* readv, for packet-mode pipes: one read takes one whole packet, so a
 * fault plan fails or interrupts it as a READ but never shortens it. */
ssize_t hipc__sys_readv(int fd, const struct iovec *iov, int count);
int hipc__sys_fclose(FILE *f);
/* fflush(NULL): every output stream of the process. */
int hipc__sys_fflush_all(void);
/* _exit, for a forked child that must not return into its caller. */
_Noreturn void hipc__sys_exit(int status);

/* Running a program (process module).
 *
 * hipc__sys_spawn() starts a child with clone(CLONE_VM | CLONE_VFORK) on
 * a stack of its own, as posix_spawn does (the parent's thread waits
 * until the child has called execve or ended, and no page table is
 * copied), with CLONE_PIDFD: the pidfd exists before the child can end,
 * so no reaping behind hipc's back (SIGCHLD ignored, a wait(-1)
 * elsewhere) can hand it another process. The child works through the
 * plan below with raw syscalls only, touching no memory but its own
 * stack and writing nothing back but its failure record into errfd.
 * Where clone is emulated by fork (valgrind) the same code runs
 * unchanged.
 *
 * The child, in order: makes each src[i] descriptor i (dup2, or clearing
 * close-on-exec where it is i already); changes to cwd; starts a new
 * session or process group; marks every descriptor from 3 up
 * close-on-exec (close_range with CLOSE_RANGE_CLOEXEC; where the kernel
 * has not got it, closes each one /proc/self/fd lists, or without /proc
 * each one up to the soft RLIMIT_NOFILE, sparing errfd); sets every signal's action to the default and
 * unblocks them all; execve. A failing step writes a struct
 * hipc__exec_failure to errfd (close-on-exec: a successful execve closes
 * it, so the parent reads end of file) and the child ends with status 127
 * through exit_group, running no exit handler.
 *
 * The caller must have blocked every signal (hipc__sys_block_signals) so
 * that no handler of the parent's runs in the child. The fault plan is
 * asked, in the parent before clone, for CLONE, for PIDFD_OPEN (ENOSYS or
 * EINVAL: a child without a pidfd; another errno: clone's failure) and for each step the
 * child will make (DUP2 once for the redirections, CHDIR, SETSID or
 * SETPGID, CLOSE_RANGE, SIGACTION, EXECVE); an injected errno makes the
 * child fail that step as if the kernel had refused it (CLOSE_RANGE's
 * ENOSYS and EINVAL take the fallback instead). */
enum hipc__exec_step {
    HIPC__EXEC_DUP,
    HIPC__EXEC_CHDIR,
    HIPC__EXEC_GROUP,
    HIPC__EXEC_CLOSE_RANGE,
    HIPC__EXEC_SIGNALS,
    HIPC__EXEC_EXECVE,
    HIPC__EXEC_STEPS_
};
enum hipc__exec_group {
    HIPC__GROUP_SAME,
    HIPC__GROUP_NEW,
    HIPC__GROUP_SESSION
};
struct hipc__exec_plan {
    const char *path;
    char *const *argv;
    char *const *envp; /* NULL: the caller's environment (environ) */
    int src[3];        /* -1: leave descriptor i as it is */
    int errfd;         /* write end of a close-on-exec pipe */
    const char *cwd;   /* NULL: stay */
    enum hipc__exec_group group;
    int inject[HIPC__EXEC_STEPS_]; /* set by the seam, not the caller */
};
struct hipc__exec_failure {
    int step; /* enum hipc__exec_step */
    int err;  /* positive errno */
};
/* Returns the child's pid (> 0) and *pidfd (a close-on-exec descriptor,
 * or -1 where the kernel makes none), or -errno (no child). */
pid_t hipc__sys_spawn(struct hipc__exec_plan *plan, int *pidfd);
/* Blocks every signal on the calling thread, the ones the C library keeps
 * for itself included (a raw rt_sigprocmask); *old gets the mask before.
 * Restore with hipc__sys_sigmask(SIG_SETMASK, old, NULL). SIGMASK's
 * fault point. */
int hipc__sys_block_signals(sigset_t *old);
/* Puts back the mask block_signals saved. No fault point: with a mask the
 * kernel gave, it cannot fail. */
void hipc__sys_restore_signals(const sigset_t *old);
int hipc__sys_pidfd_signal(int pidfd, int sig);

/* Which pages of a mapping are in memory (one byte per page, bit 0).
 * Shares MADVISE's fault point. */
int hipc__sys_mincore(void *addr, size_t len, unsigned char *vec);

/* The doorbell (lib/bell.c): a datagram socket in the abstract unix
 * namespace, a timer and an epoll set, all close-on-exec and
 * non-blocking. `name` is the abstract name without its leading NUL byte
 * (`len` bytes). sendto never raises SIGPIPE and never waits. */
int hipc__sys_socket_dgram(void);
int hipc__sys_bind_abstract(int fd, const char *name, size_t len);
int hipc__sys_sendto_abstract(int fd, const void *buf, size_t n,
                              const char *name, size_t len);
int hipc__sys_epoll_create(void);
/* Adds `fd` to epoll set `ep` for EPOLLIN. */
int hipc__sys_epoll_add(int ep, int fd);
int hipc__sys_timerfd_create(void);
/* Arms timer `fd` to expire once, `ns` (> 0) from now; the expirations
 * counted so far are dropped, so the timer reads as not expired. */
int hipc__sys_timerfd_once(int fd, int64_t ns);

#endif
