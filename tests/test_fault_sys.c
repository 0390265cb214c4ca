/* SPDX-License-Identifier: MIT */
/* Tests for the syscall seam (lib/sys.c) and, in the fault build, for the
 * fault plan itself (lib/fault.c): each wrapper passes the kernel's answer
 * up as -errno, and each planned or transparent fault does exactly what
 * lib/fault.h promises. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/error.h"
#include "support.h"
#include "sys.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "checks each seam call against the kernel's own answer")

/* Transparent modes from the environment would change what these tests
 * see; they switch them off and check the plain behaviour. */
static int plain_plan(void **state)
{
    (void)state;
#ifdef HIPC_FAULT_INJECTION
    hipc_fault_reset();
    hipc_fault_set_mode("none");
#endif
    return 0;
}

static void segment_calls_pass_the_kernels_errno_up(void **state)
{
    (void)state;
    void *addr = NULL;
    struct shmid_ds ds;
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 0, IPC_CREAT), -EINVAL);
    assert_int_equal(hipc__sys_shmat(-1, NULL, 0, &addr), -EINVAL);
    assert_null(addr);
    assert_int_equal(hipc__sys_shmdt(&addr), -EINVAL);
    assert_int_equal(hipc__sys_shmctl(-1, IPC_STAT, &ds), -EINVAL);
}

/* The calls the FIFO module makes below a directory descriptor, on a FIFO
 * in a fresh directory: each succeeds, then fails with the kernel's errno. */
static void path_calls_report_and_succeed(void **state)
{
    (void)state;
    char dir[] = "/tmp/hipc-test-sys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int d = hipc__sys_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0);
    assert_true(d >= 0);
    assert_int_equal(hipc__sys_mkfifoat(d, "f", 0600), 0);
    assert_int_equal(hipc__sys_mkfifoat(d, "f", 0600), -EEXIST);
    int fd = hipc__sys_openat(d, "f", O_RDONLY | O_NONBLOCK | O_NOFOLLOW, 0);
    assert_true(fd >= 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    assert_int_equal(hipc__sys_fchmod(fd, 0640), 0);
    struct stat st;
    assert_int_equal(hipc__sys_fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hipc__sys_fchmod(fd, 0600), -EBADF);
    assert_int_equal(hipc__sys_unlinkat(d, "f", 0), 0);
    assert_int_equal(hipc__sys_unlinkat(d, "f", 0), -ENOENT);
    assert_int_equal(hipc__sys_openat(d, "f", O_RDONLY, 0), -ENOENT);
    assert_int_equal(hipc__sys_close(d), 0);
    assert_int_equal(rmdir(dir), 0);
    /* readlink: the target, NUL-terminated; one that does not fit is
     * refused rather than cut. */
    char link[32], want[32];
    snprintf(want, sizeof want, "%ld", (long)getpid());
    assert_int_equal(hipc__sys_readlink("/proc/self", link, sizeof link),
                     (int)strlen(want));
    assert_string_equal(link, want);
    assert_int_equal(hipc__sys_readlink("/proc/self", link, 1), -ENAMETOOLONG);
    assert_int_equal(hipc__sys_readlink("/", link, sizeof link), -EINVAL);
}

static void segment_calls_succeed_in_order(void **state)
{
    (void)state;
    void *addr = NULL;
    struct shmid_ds ds;
    int id = hipc__sys_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &addr), 0);
    assert_non_null(addr);
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_segsz, 4096);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmdt(addr), 0);
}

static void descriptor_calls_pass_the_kernels_errno_up(void **state)
{
    (void)state;
    int fds[2];
    char c = 0;
    struct stat st;
    int v = 0;
    FILE *f = NULL;
    assert_int_equal(hipc__sys_pipe2(fds, -1), -EINVAL);
    assert_int_equal(hipc__sys_read(-1, &c, 1), -EBADF);
    assert_int_equal(hipc__sys_write(-1, &c, 1), -EBADF);
    assert_int_equal(hipc__sys_close(-1), -EBADF);
    assert_int_equal(hipc__sys_fcntl(-1, F_GETFL, 0), -EBADF);
    assert_int_equal(hipc__sys_fstat(-1, &st), -EBADF);
    assert_int_equal(hipc__sys_stat("/nonexistent/hipc", &st), -ENOENT);
    assert_int_equal(hipc__sys_open("/nonexistent/hipc", O_RDONLY), -ENOENT);
    assert_int_equal(hipc__sys_ioctl_int(-1, FIONREAD, &v), -EBADF);
    assert_int_equal(hipc__sys_dup2(-1, 100), -EBADF);
    /* musl accepts any descriptor here; both libcs refuse a bad mode. */
    assert_int_equal(hipc__sys_fdopen(0, "x", &f), -EINVAL);
    assert_null(f);
}

static void on_tick(int sig)
{
    (void)sig;
}

/* A real interruption: in a child, a 1 ms interval timer whose handler
 * does not ask for restarting breaks a poll that would wait 10 s. */
static void poll_passes_the_kernels_errno_up(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_tick;
        struct itimerval every_ms = {{0, 1000}, {0, 1000}};
        if (sigaction(SIGALRM, &sa, NULL) != 0 ||
            setitimer(ITIMER_REAL, &every_ms, NULL) != 0)
            _exit(2);
        _exit(hipc__sys_poll(NULL, 0, 10000) == -EINTR ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
}

static void descriptor_calls_succeed_on_a_pipe(void **state)
{
    (void)state;
    int fds[2];
    char out = 'x', in = 0;
    struct stat st;
    int avail = 0;
    assert_int_equal(hipc__sys_pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(hipc__sys_write(fds[1], &out, 1), 1);
    assert_int_equal(hipc__sys_ioctl_int(fds[0], FIONREAD, &avail), 0);
    assert_int_equal(avail, 1);
    struct pollfd p = {fds[0], POLLIN, 0};
    assert_int_equal(hipc__sys_poll(&p, 1, 0), 1);
    assert_int_equal(hipc__sys_read(fds[0], &in, 1), 1);
    assert_int_equal(in, 'x');
    assert_true(hipc__sys_fcntl(fds[0], F_GETFD, 0) & FD_CLOEXEC);
    assert_int_equal(hipc__sys_fstat(fds[0], &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(hipc__sys_stat("/proc/self", &st), 0);
    int dup = hipc__sys_dup2(fds[0], fds[1] + 1);
    assert_int_equal(dup, fds[1] + 1);
    FILE *f = NULL;
    assert_int_equal(hipc__sys_fdopen(dup, "r", &f), 0);
    fclose(f);
    int fd = hipc__sys_open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
}

static void process_calls_report_and_succeed(void **state)
{
    (void)state;
    int status = 0;
    assert_int_equal(hipc__sys_waitpid(-1, &status, WNOHANG), -ECHILD);
    assert_int_equal(hipc__sys_kill(INT_MAX, 0), -ESRCH);
    assert_int_equal(hipc__sys_kill(hipc__sys_getpid(), 0), 0);
    assert_int_equal(hipc__sys_getpid(), getpid());
    pid_t pid = hipc__sys_fork();
    if (pid == 0)
        _exit(7);
    assert_true(pid > 0);
    assert_int_equal(hipc__sys_waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

/* An unprivileged user allowed no more processes cannot fork (root is
 * exempt from RLIMIT_NPROC, so the child drops its privileges first). */
static void fork_passes_the_kernels_errno_up(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit none = {0, 0};
        if (hipc_test_drop_privileges() != 0 ||
            setrlimit(RLIMIT_NPROC, &none) != 0)
            _exit(2);
        pid_t again = hipc__sys_fork();
        if (again == 0)
            _exit(0);
        _exit(again == -EAGAIN ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
}

static void signal_calls_report_and_succeed(void **state)
{
    (void)state;
    sigset_t set, old, pending;
    struct timespec zero = {0, 0};
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    assert_int_equal(hipc__sys_sigmask(12345, &set, &old), -EINVAL);
    assert_int_equal(hipc__sys_sigmask(SIG_BLOCK, &set, &old), 0);
    assert_int_equal(hipc__sys_sigtimedwait(&set, &zero), -EAGAIN);
    raise(SIGUSR1);
    assert_int_equal(hipc__sys_sigpending(&pending), 0);
    assert_true(sigismember(&pending, SIGUSR1));
    assert_int_equal(hipc__sys_sigtimedwait(&set, &zero), SIGUSR1);
    assert_int_equal(hipc__sys_sigmask(SIG_SETMASK, &old, NULL), 0);
    /* The kernel cannot write the set into a read-only page. */
    sigset_t *ro =
        mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(ro != MAP_FAILED);
    assert_int_equal(hipc__sys_sigpending(ro), -EFAULT);
    munmap(ro, 4096);
}

static void time_futex_and_memory_calls_report_and_succeed(void **state)
{
    (void)state;
    struct timespec now, tiny = {0, 1000};
    unsigned word = 1;
    assert_int_equal(hipc__sys_clock_monotonic(&now), 0);
    assert_int_equal(hipc__sys_clock_gettime(CLOCK_BOOTTIME, &now), 0);
    assert_int_equal(hipc__sys_clock_gettime((clockid_t)-100, &now), -EINVAL);
    assert_true(hipc__sys_clock_ticks() > 0);
    assert_int_equal(hipc__sys_futex_wait(&word, 2, NULL), -EAGAIN);
    assert_int_equal(hipc__sys_futex_wait(&word, 1, &tiny), -ETIMEDOUT);
    assert_int_equal(hipc__sys_futex_wake(&word, 1), 0);
    /* A futex word must be 4-byte aligned. */
    unsigned pair[2] = {0, 0};
    assert_int_equal(
        hipc__sys_futex_wake((const unsigned *)((const char *)pair + 1), 1),
        -EINVAL);
    size_t page = hipc__sys_page_size();
    assert_true(page >= 4096 && (page & (page - 1)) == 0);
    char *map = mmap(NULL, page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(hipc__sys_madvise(map + 1, page, MADV_DONTNEED), -EINVAL);
    assert_int_equal(hipc__sys_madvise(map, page, MADV_DONTNEED), 0);
    munmap(map, page);
}

/* The doorbell's wrappers pass the kernel's refusals on: bad
 * descriptors, and no descriptor left under a zero RLIMIT_NOFILE. */
static void doorbell_calls_report_real_failures(void **state)
{
    (void)state;
    char longname[200];
    memset(longname, 'n', sizeof longname);
    assert_int_equal(hipc__sys_bind_abstract(-1, "n", 1), -EBADF);
    /* A name longer than an address holds is cut, not overrun. */
    assert_int_equal(hipc__sys_bind_abstract(-1, longname, sizeof longname),
                     -EBADF);
    assert_int_equal(hipc__sys_sendto_abstract(-1, "x", 1, "n", 1), -EBADF);
    assert_int_equal(hipc__sys_epoll_add(-1, -1), -EBADF);
    assert_int_equal(hipc__sys_timerfd_once(-1, 1), -EBADF);
    struct rlimit old, none;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    none = old;
    none.rlim_cur = 0;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
    int s = hipc__sys_socket_dgram(), e = hipc__sys_epoll_create();
    int t = hipc__sys_timerfd_create();
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(s, -EMFILE);
    assert_int_equal(e, -EMFILE);
    assert_int_equal(t, -EMFILE);
}

#ifdef HIPC_FAULT_INJECTION
/* Calls wrapper `call` once with harmless arguments; returns its result. */
static long call_once(enum hipc__sys_call call)
{
    static unsigned word;
    struct stat st;
    struct timespec ts = {0, 0};
    void *addr = NULL;
    int fds[2], v = 0;
    FILE *f = NULL;
    char path[32];
    sigset_t set;
    sigemptyset(&set);
    switch (call) {
    case HIPC_SYS_SHMGET:
        return hipc__sys_shmget(IPC_PRIVATE, 0, 0);
    case HIPC_SYS_SHMAT:
        return hipc__sys_shmat(-1, NULL, 0, &addr);
    case HIPC_SYS_SHMDT:
        return hipc__sys_shmdt(&word);
    case HIPC_SYS_SHMCTL:
        return hipc__sys_shmctl(-1, IPC_STAT, NULL);
    case HIPC_SYS_PIPE2:
        return hipc__sys_pipe2(fds, -1);
    case HIPC_SYS_READ:
        return hipc__sys_read(-1, &v, 1);
    case HIPC_SYS_WRITE:
        return hipc__sys_write(-1, &v, 1);
    case HIPC_SYS_CLOSE:
        return hipc__sys_close(-1);
    case HIPC_SYS_FCNTL:
        return hipc__sys_fcntl(-1, F_GETFL, 0);
    case HIPC_SYS_FSTAT:
        return hipc__sys_fstat(-1, &st);
    case HIPC_SYS_STAT:
        return hipc__sys_stat("/", &st);
    case HIPC_SYS_OPEN:
        return hipc__sys_open("/nonexistent/hipc", O_RDONLY);
    case HIPC_SYS_POLL:
        return hipc__sys_poll(NULL, 0, 0);
    case HIPC_SYS_IOCTL:
        return hipc__sys_ioctl_int(-1, FIONREAD, &v);
    case HIPC_SYS_WAITPID:
        return hipc__sys_waitpid(-1, NULL, WNOHANG);
    case HIPC_SYS_KILL:
        return hipc__sys_kill(INT_MAX, 0);
    case HIPC_SYS_SIGMASK:
        return hipc__sys_sigmask(SIG_BLOCK, &set, NULL);
    case HIPC_SYS_SIGTIMEDWAIT:
        return hipc__sys_sigtimedwait(&set, &ts);
    case HIPC_SYS_SIGPENDING:
        return hipc__sys_sigpending(&set);
    case HIPC_SYS_FUTEX:
        return hipc__sys_futex_wake(&word, 1);
    case HIPC_SYS_MADVISE:
        return hipc__sys_madvise(&word, 1, MADV_NORMAL);
    case HIPC_SYS_DUP2:
        return hipc__sys_dup2(-1, 100);
    case HIPC_SYS_FDOPEN:
        return hipc__sys_fdopen(-1, "r", &f);
    case HIPC_SYS_CLOCK:
        return hipc__sys_clock_gettime(CLOCK_REALTIME, &ts);
    case HIPC_SYS_OPENAT:
        return hipc__sys_openat(AT_FDCWD, "/", O_RDONLY, 0);
    case HIPC_SYS_MKFIFOAT:
        return hipc__sys_mkfifoat(-1, "f", 0600);
    case HIPC_SYS_UNLINKAT:
        return hipc__sys_unlinkat(-1, "f", 0);
    case HIPC_SYS_FCHMOD:
        return hipc__sys_fchmod(-1, 0600);
    case HIPC_SYS_CLONE: {
        struct hipc__exec_plan plan;
        memset(&plan, 0, sizeof plan);
        int pidfd;
        return hipc__sys_spawn(&plan, &pidfd); /* fails before the clone */
    }
    case HIPC_SYS_PIDFD_OPEN: {
        /* An errno other than ENOSYS and EINVAL is clone's: no child. */
        struct hipc__exec_plan plan;
        memset(&plan, 0, sizeof plan);
        int pidfd;
        return hipc__sys_spawn(&plan, &pidfd);
    }
    case HIPC_SYS_PIDFD_SIGNAL:
        return hipc__sys_pidfd_signal(-1, 0);
    case HIPC_SYS_READLINK:
        return hipc__sys_readlink("/proc/self", path, sizeof path);
    case HIPC_SYS_SOCKET:
        return hipc__sys_socket_dgram();
    case HIPC_SYS_BIND:
        return hipc__sys_bind_abstract(-1, "f", 1);
    case HIPC_SYS_SENDTO:
        return hipc__sys_sendto_abstract(-1, &v, 1, "f", 1);
    case HIPC_SYS_EPOLL_CREATE:
        return hipc__sys_epoll_create();
    case HIPC_SYS_EPOLL_CTL:
        return hipc__sys_epoll_add(-1, -1);
    case HIPC_SYS_TIMERFD_CREATE:
        return hipc__sys_timerfd_create();
    case HIPC_SYS_TIMERFD_SETTIME:
        return hipc__sys_timerfd_once(-1, 1);
    default:
        return -ENOSYS;
    }
}

static void every_fault_point_fails_with_the_planned_errno(void **state)
{
    (void)state;
    for (int k = 0; k < HIPC_SYS_COUNT_; k++) {
        enum hipc__sys_call call = (enum hipc__sys_call)k;
        /* fork is left out: a real fork here would be a second process
         * running this loop; its fault point is tested on its own. */
        if (call == HIPC_SYS_FORK || call == HIPC_SYS_GETPID)
            continue;
        /* The vfork child's steps fail in the child and come back through
         * its failure pipe: tests/test_fault_process.c drives them. */
        if (call == HIPC_SYS_EXECVE || call == HIPC_SYS_CHDIR ||
            call == HIPC_SYS_SETSID || call == HIPC_SYS_SETPGID ||
            call == HIPC_SYS_CLOSE_RANGE || call == HIPC_SYS_SIGACTION)
            continue;
        hipc_fault_fail_nth(call, 1, ENOTRECOVERABLE);
        assert_int_equal(call_once(call), -ENOTRECOVERABLE);
        assert_true(hipc_fault_fired());
        assert_int_equal(hipc_fault_calls(call), 1);
    }
    hipc_fault_fail_nth(HIPC_SYS_FORK, 1, EAGAIN);
    assert_int_equal(hipc__sys_fork(), -EAGAIN);
    hipc_fault_reset();
}

/* An injected ECHILD reaps the child first, as the kernel only says so
 * once there is no child left to wait for. */
static void an_injected_echild_leaves_no_child_behind(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    hipc_fault_fail_nth(HIPC_SYS_WAITPID, 1, ECHILD);
    assert_int_equal(hipc__sys_waitpid(pid, NULL, 0), -ECHILD);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    hipc_fault_reset();
}

static void only_the_nth_call_of_its_kind_fails_and_only_once(void **state)
{
    (void)state;
    struct stat st;
    hipc_fault_fail_nth(HIPC_SYS_STAT, 3, ENOMEM);
    assert_int_equal(hipc__sys_stat("/", &st), 0);
    assert_int_equal(hipc__sys_fstat(0, &st), 0);
    assert_int_equal(hipc__sys_stat("/", &st), 0);
    assert_false(hipc_fault_fired());
    assert_int_equal(hipc__sys_stat("/", &st), -ENOMEM);
    assert_true(hipc_fault_fired());
    assert_int_equal(hipc__sys_stat("/", &st), 0);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_STAT), 4);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_COUNT_), 5);
    hipc_fault_reset();
    assert_int_equal(hipc_fault_calls(HIPC_SYS_COUNT_), 0);
}

static void the_nth_call_of_any_kind_can_fail(void **state)
{
    (void)state;
    struct stat st;
    hipc_fault_fail_nth(HIPC_SYS_COUNT_, 2, EACCES);
    assert_int_equal(hipc__sys_stat("/", &st), 0);
    assert_int_equal(hipc__sys_fstat(0, &st), -EACCES);
    assert_int_equal(hipc__sys_stat("/", &st), 0);
    hipc_fault_reset();
}

static void a_forked_child_never_fires_its_parents_plan(void **state)
{
    (void)state;
    struct stat st;
    hipc_fault_fail_nth(HIPC_SYS_STAT, 1, EIO);
    pid_t pid = fork();
    if (pid == 0)
        _exit(hipc__sys_stat("/", &st) == 0 && !hipc_fault_fired() ? 0 : 1);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc__sys_stat("/", &st), -EIO);
    hipc_fault_reset();
}

static void
eintr_first_interrupts_only_blocking_calls_and_alternates(void **state)
{
    (void)state;
    int fds[2];
    char buf[4] = "abc";
    struct timespec zero = {0, 0};
    unsigned word = 0;
    sigset_t set;
    sigemptyset(&set);
    hipc_fault_eintr_first(1);
    assert_int_equal(hipc__sys_pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(hipc__sys_write(fds[1], buf, 3), -EINTR);
    assert_int_equal(hipc__sys_write(fds[1], buf, 3), 3);
    assert_int_equal(hipc__sys_read(fds[0], buf, 3), -EINTR);
    assert_int_equal(hipc__sys_read(fds[0], buf, 3), 3);
    assert_int_equal(hipc__sys_poll(NULL, 0, 0), -EINTR);
    assert_int_equal(hipc__sys_poll(NULL, 0, 0), 0);
    /* Calls that never sleep are never interrupted. */
    assert_int_equal(hipc__sys_waitpid(-1, NULL, WNOHANG), -ECHILD);
    assert_int_equal(hipc__sys_sigtimedwait(&set, &zero), -EAGAIN);
    assert_int_equal(hipc__sys_futex_wake(&word, 1), 0);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    /* Nor is a transfer on a regular file, or on a descriptor not open. */
    int fd = hipc__sys_open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= 0);
    assert_true(hipc__sys_read(fd, buf, 1) == 1);
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hipc__sys_read(-1, buf, 1), -EBADF);
    assert_int_equal(hipc_fault_can_wait(0), HIPC_FAULT_CAN_EINTR);
    assert_int_equal(hipc_fault_can_timeout(NULL), HIPC_FAULT_CAN_EINTR);
    hipc_fault_reset();
}

static void eagain_first_hits_only_non_blocking_transfers(void **state)
{
    (void)state;
    int fds[2];
    char buf[2] = "a";
    unsigned word = 5;
    struct timespec tiny = {0, 1000};
    hipc_fault_eagain_first(1);
    assert_int_equal(hipc__sys_pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    assert_int_equal(hipc__sys_write(fds[1], buf, 1), -EAGAIN);
    assert_int_equal(hipc__sys_write(fds[1], buf, 1), 1);
    assert_int_equal(hipc__sys_read(fds[0], buf, 1), -EAGAIN);
    assert_int_equal(hipc__sys_read(fds[0], buf, 1), 1);
    assert_int_equal(hipc__sys_futex_wait(&word, 5, &tiny), -EAGAIN);
    assert_int_equal(hipc__sys_futex_wait(&word, 5, &tiny), -ETIMEDOUT);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    hipc_fault_reset();
}

static void short_io_shortens_all_but_atomic_pipe_writes(void **state)
{
    (void)state;
    int fds[2];
    static char big[PIPE_BUF + 1];
    char buf[8] = "1234567";
    hipc_fault_short_io(1);
    assert_int_equal(hipc__sys_pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(hipc__sys_write(fds[1], buf, 7), 7);
    assert_int_equal(hipc__sys_read(fds[0], buf, 7), 1);
    assert_int_equal(hipc__sys_write(fds[1], big, sizeof big), 1);
    assert_int_equal(hipc_fault_len(HIPC_SYS_WRITE, 7), 7);
    assert_int_equal(hipc_fault_len(HIPC_SYS_WRITE, sizeof big), 1);
    assert_int_equal(hipc_fault_len(HIPC_SYS_READ, 7), 1);
    assert_int_equal(hipc_fault_len_fd(HIPC_SYS_WRITE, -1, 7), 7);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_int_equal(hipc__sys_write(fd, buf, 7), 1);
    close(fd);
    /* Files return all they are asked for. */
    fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    assert_int_equal(hipc__sys_read(fd, buf, 7), 7);
    close(fd);
    hipc_fault_reset();
}

/* Proves that a suite run under HIPC_FAULT_MODE really runs under it:
 * reset returns to exactly the modes the environment asked for. */
static void reset_returns_to_the_modes_of_the_environment(void **state)
{
    (void)state;
    const char *env = getenv("HIPC_FAULT_MODE");
    char want[64];
    assert_int_equal(hipc_fault_set_mode(env), 0);
    snprintf(want, sizeof want, "%s", hipc_fault_mode());
    hipc_fault_set_mode("eintr,eagain,short=7");
    hipc_fault_reset();
    assert_string_equal(hipc_fault_mode(), want);
    printf("fault modes in force: %s\n", want);
}

/* writev under short mode: nothing to write stays nothing, and a short
 * first piece that fails reports the kernel's errno. */
static void a_short_writev_reports_its_failure(void **state)
{
    (void)state;
    int fds[2];
    static char big[PIPE_BUF + 1];
    struct iovec iov = {big, sizeof big};
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    assert_int_equal(hipc__sys_pipe2(fds, O_CLOEXEC), 0);
    hipc_fault_short_io(1);
    assert_int_equal(hipc__sys_writev(fds[1], NULL, 0), 0);
    assert_int_equal(hipc__sys_writev(fds[1], &iov, 1), 1);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    assert_int_equal(hipc__sys_writev(fds[1], &iov, 1), -EPIPE);
    struct timespec zero = {0, 0};
    assert_int_equal(sigtimedwait(&set, NULL, &zero), SIGPIPE);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    hipc_fault_reset();
}

static void modes_parse_from_words_and_print_back(void **state)
{
    (void)state;
    assert_int_equal(hipc_fault_set_mode("eintr,eagain,short"), 0);
    assert_string_equal(hipc_fault_mode(), "eintr,eagain,short=1");
    assert_int_equal(hipc_fault_set_mode("short=512,,eintr"), 0);
    assert_string_equal(hipc_fault_mode(), "eintr,short=512");
    assert_int_equal(hipc_fault_set_mode("eagain"), 0);
    assert_string_equal(hipc_fault_mode(), "eagain");
    assert_int_equal(hipc_fault_set_mode(NULL), 0);
    assert_string_equal(hipc_fault_mode(), "none");
    assert_int_equal(hipc_fault_set_mode("none"), 0);
    assert_int_equal(hipc_fault_set_mode("eintr,bogus"), -1);
    assert_string_equal(hipc_fault_mode(), "none");
    assert_int_equal(hipc_fault_set_mode("short=x"), -1);
    assert_int_equal(hipc_fault_set_mode("short=99999999"), -1);
    hipc_fault_reset();
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(segment_calls_pass_the_kernels_errno_up, plain_plan),
    cmocka_unit_test_setup(segment_calls_succeed_in_order, plain_plan),
    cmocka_unit_test_setup(path_calls_report_and_succeed, plain_plan),
    cmocka_unit_test_setup(descriptor_calls_pass_the_kernels_errno_up,
                           plain_plan),
    cmocka_unit_test_setup(poll_passes_the_kernels_errno_up, plain_plan),
    cmocka_unit_test_setup(descriptor_calls_succeed_on_a_pipe, plain_plan),
    cmocka_unit_test_setup(doorbell_calls_report_real_failures, plain_plan),
    cmocka_unit_test_setup(process_calls_report_and_succeed, plain_plan),
    cmocka_unit_test_setup(fork_passes_the_kernels_errno_up, plain_plan),
    cmocka_unit_test_setup(signal_calls_report_and_succeed, plain_plan),
    cmocka_unit_test_setup(time_futex_and_memory_calls_report_and_succeed,
                           plain_plan),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test_setup(every_fault_point_fails_with_the_planned_errno,
                           plain_plan),
    cmocka_unit_test_setup(an_injected_echild_leaves_no_child_behind,
                           plain_plan),
    cmocka_unit_test_setup(only_the_nth_call_of_its_kind_fails_and_only_once,
                           plain_plan),
    cmocka_unit_test_setup(the_nth_call_of_any_kind_can_fail, plain_plan),
    cmocka_unit_test_setup(a_forked_child_never_fires_its_parents_plan,
                           plain_plan),
    cmocka_unit_test_setup(
        eintr_first_interrupts_only_blocking_calls_and_alternates, plain_plan),
    cmocka_unit_test_setup(eagain_first_hits_only_non_blocking_transfers,
                           plain_plan),
    cmocka_unit_test_setup(short_io_shortens_all_but_atomic_pipe_writes,
                           plain_plan),
    cmocka_unit_test_setup(a_short_writev_reports_its_failure, plain_plan),
    cmocka_unit_test_setup(modes_parse_from_words_and_print_back, plain_plan),
    cmocka_unit_test(reset_returns_to_the_modes_of_the_environment),
#endif
};

HIPC_TEST_MAIN(tests)
