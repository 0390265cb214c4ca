/* SPDX-License-Identifier: MIT */
/* hipc — the simulated kernel behind the syscall seam (test builds only).
 *
 * With HIPC_FAULT_INJECTION defined, lib/sys.c asks hipc__sim_active()
 * before each System V shm call, each call on a descriptor, and each call
 * the simulation refuses (fork, clone, futex wait): while a simulation
 * runs (hipc_testing_sim_begin, or HIPC_FAULT_SIM=1 at start) the call is
 * answered here from process memory and never reaches the kernel. The
 * fault plan is asked first, so planned failures and transparent modes
 * apply to simulated calls as to real ones. Descriptors the simulation
 * hands out start at HIPC__SIM_FD_BASE, above any real one
 * (RLIMIT_NOFILE's hard ceiling, nr_open, is 1 << 20).
 *
 * Functions return what the seam's wrappers return: the result, or -errno.
 */
#ifndef HIPC_SIM_H
#define HIPC_SIM_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/types.h>

#define HIPC__SIM_FD_BASE (1 << 20)
/* Segment slots, the largest SHMMNI (HIPC_TESTING_SIM_SEGMENTS). */
#define HIPC__SIM_SEGS 256

#ifdef HIPC_FAULT_INJECTION

/* The /proc/self files hipc reads to identify this process, fixed for a
 * world at their first look (filled by lib/sys.c with the real call, then
 * answered from here): texts opened and read, stat(2) results, and the
 * /proc/self link. */
enum hipc__sim_memo_kind {
    HIPC__SIM_MEMO_TEXT,
    HIPC__SIM_MEMO_STAT,
    HIPC__SIM_MEMO_LINK
};
struct hipc__sim_memo {
    int have; /* filled in this world (by a real call that succeeded) */
    size_t len;
    char text[1024]; /* a stat line with every field at its widest fits */
    struct stat st;
};
/* The memo of `path` if it is one of `kind`'s paths, else NULL. */
struct hipc__sim_memo *hipc__sim_memo(const char *path,
                                      enum hipc__sim_memo_kind kind);

/* The world's pid and effective ids: this process's at begin, or at the
 * first look after a fork (in the child). */
pid_t hipc__sim_pid(void);
uid_t hipc__sim_euid(void);
gid_t hipc__sim_egid(void);
/* Takes the process's pid and ids again: at begin, after a fork. */
void hipc__sim_reidentify(void);

/* Non-zero while a simulation runs. Read by every wrapper, so a plain
 * variable: begin and end only while no other thread is inside hipc. */
extern int hipc__sim_on;
#define hipc__sim_active() (hipc__sim_on != 0)

/* Called, while a world runs and when set, before each call the seam
 * lets through to the kernel that may open or close a real descriptor
 * (open, openat, dup2, fcntl's F_DUPFD, close, fclose): a fuzz harness
 * counts the process's descriptors there, at the first such call of an
 * input, and so pays for a leak check only in the inputs that could
 * leak. NULL: nothing is called. */
extern void (*hipc__sim_real_fd_hook)(void);
void hipc__sim_real_fd_ahead(void);

/* Limits of a simulated world; 0 in a field: the default. 64 bits, as
 * hipc_testing_sim_limits's, so that a limit too big for a 32-bit size_t
 * is refused rather than cut. */
struct hipc__sim_limits {
    uint64_t shmmax; /* bytes in one segment */
    uint64_t shmall; /* pages in all segments */
    uint64_t shmmni; /* segments */
};
/* Starts an empty world: 0, -EBUSY (one runs), -EINVAL (a limit above
 * what the tables and the arena hold). */
int hipc__sim_begin(const struct hipc__sim_limits *lim);
/* Frees the world: 0, or -ENOENT (none runs). */
int hipc__sim_end(void);
/* Bytes in the arena (HIPC_SIM_ARENA_BYTES). */
size_t hipc__sim_arena_size(void);
/* What is in use: segments, attachments, descriptors, arena pages. */
void hipc__sim_usage(size_t *segs, size_t *attached, size_t *fds,
                     size_t *pages);

int hipc__sim_shmget(key_t key, size_t size, int flags);
int hipc__sim_shmat(int id, const void *want, int flags, void **addr);
int hipc__sim_shmdt(const void *addr);
int hipc__sim_shmctl(int id, int cmd, struct shmid_ds *ds);

/* Whether `fd` is one of the simulation's numbers (open or not). */
#define hipc__sim_fd(fd) ((fd) >= HIPC__SIM_FD_BASE)
int hipc__sim_pipe2(int fds[2], int flags);
ssize_t hipc__sim_read(int fd, void *buf, size_t len);
ssize_t hipc__sim_write(int fd, const void *buf, size_t len);
int hipc__sim_close(int fd);
int hipc__sim_fcntl(int fd, int cmd, int arg);
int hipc__sim_fstat(int fd, struct stat *st);
/* For the fault plan, without a syscall: -1 not open, 0 a file (the
 * sysctl texts), 1 a blocking pipe end, 2 a non-blocking one. */
int hipc__sim_fd_kind(int fd);
int hipc__sim_ioctl_int(int fd, unsigned long req, int *out);
struct iovec;
ssize_t hipc__sim_writev(int fd, const struct iovec *iov, int count);
ssize_t hipc__sim_readv(int fd, const struct iovec *iov, int count);
/* Whether `addr` is in the simulation's memory (madvise, mincore). */
int hipc__sim_mem(const void *addr);
int hipc__sim_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
/* /proc/sys/kernel/shm{max,all,mni} read the world's limits, a filled
 * text memo its text; other processes' /proc and
 * /proc/sysvipc are -ENOSYS; 1 otherwise (the caller opens the real
 * file). */
int hipc__sim_open(const char *path, int flags);

#endif
#endif
