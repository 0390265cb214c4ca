/* SPDX-License-Identifier: MIT */
/* hipc tests — shared support. Test code may use libc directly; only the
 * library itself goes through lib/sys.c. */
#define _GNU_SOURCE
#include "support.h"

#include "fault.h"
#include "internal.h"

#ifdef HIPC_FAULT_INJECTION
#include "hipc/testing.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int hipc_test_isolate(void)
{
    if (unshare(CLONE_NEWIPC) == 0)
        return 1;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0)
        return 0;
    char map[64];
    snprintf(map, sizeof map, "0 %lu 1", (unsigned long)uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        return 0;
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %lu 1", (unsigned long)gid);
    return write_file("/proc/self/gid_map", map) == 0;
}

/* What a simulated world holds (all zero when none runs, and in builds
 * without the fault plan). */
struct world {
    int running;
    size_t segments;
    size_t descriptors;
};

static struct world sim_usage(void)
{
    struct world w = {0, 0, 0};
#ifdef HIPC_FAULT_INJECTION
    hipc_testing_sim_usage u;
    if (hipc_testing_get_sim(&u) == 0 && u.running) {
        w.running = 1;
        w.segments = u.segments;
        w.descriptors = u.descriptors;
    }
#endif
    return w;
}

int hipc_test_in_sim(void)
{
    return sim_usage().running;
}

int hipc_test_fd_count(void)
{
    int world = (int)sim_usage().descriptors;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return world + n - 1; /* the directory stream's own descriptor */
}

int hipc_test_free_fds(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY ||
        lim.rlim_cur > INT_MAX)
        return INT_MAX;
    return (int)lim.rlim_cur - hipc_test_fd_count();
}

int hipc_test_make_orphan(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        ssize_t n = write(fds[1], &id, sizeof id);
        _exit(n == (ssize_t)sizeof id ? 0 : 1);
    }
    int id = -1;
    ssize_t n = pid > 0 ? read(fds[0], &id, sizeof id) : -1;
    close(fds[0]);
    close(fds[1]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return n == (ssize_t)sizeof id ? id : -1;
}

int hipc_test_shm_count(void)
{
    if (hipc_test_in_sim())
        return (int)sim_usage().segments;
    return hipc_test_kernel_shm_count();
}

int hipc_test_kernel_shm_count(void)
{
    FILE *f = fopen("/proc/sysvipc/shm", "re");
    if (f == NULL)
        return -1;
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n')
            lines++;
    fclose(f);
    return lines - 1; /* header line */
}

int hipc_test_drop_privileges(void)
{
    if (setgroups(0, NULL) != 0 && errno != EPERM)
        return -1;
    if (setgid(HIPC_TEST_GID) != 0 || setuid(HIPC_TEST_UID) != 0)
        return -1;
    /* Prove it: regaining root must be impossible now. */
    return setuid(0) == 0 ? -1 : 0;
}

int hipc_test_wait_child(pid_t pid, unsigned seconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= (time_t)seconds) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        /* Polling a child's exit: 1 ms steps bound the wait, they do not
         * stand in for synchronisation. */
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

static const char *program_needs;

void hipc_test_program_needs_kernel(const char *why)
{
    program_needs = why;
}

static void needs_the_real_kernel(void **state)
{
    (void)state;
    hipc_test_skip(program_needs);
}

int hipc_test_run_group(const char *name, const struct CMUnitTest *tests,
                        size_t count)
{
    static const struct CMUnitTest skipped[] = {
        cmocka_unit_test(needs_the_real_kernel)};
    if (program_needs != NULL && hipc_test_in_sim()) {
        tests = skipped;
        count = 1;
    }
    int isolated = hipc_test_isolate();
    int fds0 = hipc_test_fd_count();
    int shm0 = hipc_test_shm_count();
    if (!isolated)
        fprintf(stderr,
                "%s: no private IPC namespace; checking leaks "
                "against a snapshot\n",
                name);
    /* HIPC_TEST_FILTER=name (cmocka's wildcards) runs only matching
     * tests: for repeating one test many times, e.g. under load. */
    if (getenv("HIPC_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("HIPC_TEST_FILTER"));
    int failed = _cmocka_run_group_tests(name, tests, count, NULL, NULL);
    int fds1 = hipc_test_fd_count();
    int shm1 = hipc_test_shm_count();
    if (fds1 != fds0 || shm1 != shm0) {
        fprintf(stderr, "%s: LEAK: descriptors %d -> %d, segments %d -> %d\n",
                name, fds0, fds1, shm0, shm1);
        failed++;
    }
    return failed == 0 ? 0 : 1;
}

/* The SIGPIPE guard of the group now running: 1 RWF_NOSIGNAL, 0 the mask.
 * Every pipe fixture returns the library to it. */
static int group_nosignal = 1;

int hipc_test_run_group_both_guards(const char *name,
                                    const struct CMUnitTest *tests,
                                    size_t count)
{
    char label[512];
    int was = hipc__pipe_set_nosignal(1);
    int rc = 0;
    for (int nosignal = 1; nosignal >= 0; nosignal--) {
        snprintf(label, sizeof label, "%s [%s]", name,
                 nosignal ? "RWF_NOSIGNAL" : "signal mask");
        group_nosignal = nosignal;
        hipc__pipe_set_nosignal(nosignal);
        rc |= hipc_test_run_group(label, tests, count);
    }
    group_nosignal = 1;
    hipc__pipe_set_nosignal(was);
    return rc;
}

static int guard_setup_as(void **state, int nosignal)
{
    hipc__pipe_set_nosignal(nosignal);
    return hipc_test_fd_setup(state);
}

int hipc_test_guard_setup(void **state)
{
    return guard_setup_as(state, group_nosignal);
}

int hipc_test_mask_setup(void **state)
{
    return guard_setup_as(state, 0);
}

int hipc_test_nosignal_setup(void **state)
{
    return guard_setup_as(state, 1);
}

/* The mode goes back first: the leak check below may fail the test. */
int hipc_test_guard_teardown(void **state)
{
    hipc__pipe_set_nosignal(group_nosignal);
    return hipc_test_fd_teardown(state);
}

/* What identifies a process in /proc/PID/stat: the command name (field 2),
 * the state letter (field 3) and the start time (field 22). The name may
 * hold spaces and ')', so fields after it are counted from the last ')'. */
struct stat_view {
    char comm[64];
    char state;
    unsigned long long start;
};

static int read_stat_view(pid_t pid, struct stat_view *v)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '(');
    char *p = strrchr(buf, ')');
    if (open_paren == NULL || p == NULL || p[1] != ' ')
        return -1;
    memset(v, 0, sizeof *v);
    size_t len = (size_t)(p - open_paren - 1);
    memcpy(v->comm, open_paren + 1,
           len < sizeof v->comm ? len : sizeof v->comm - 1);
    v->state = p[2];
    for (int field = 2; p != NULL && field < 22; field++)
        p = strchr(p + 1, ' ');
    v->start = p != NULL ? strtoull(p + 1, NULL, 10) : 0;
    return 0;
}

time_t hipc_test_kernel_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0)
        return (time_t)-1;
    return ts.tv_sec;
}

int hipc_test_under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre != NULL && strstr(pre, "vgpreload") != NULL;
}

int hipc_test_own_stat_is_faked(void)
{
    pid_t self = getpid();
    struct stat_view mine;
    if (read_stat_view(self, &mine) != 0)
        return 1;
    /* The kernel always prints a state letter; qemu-user 7.2 prints 0. */
    if (!((mine.state >= 'A' && mine.state <= 'Z') ||
          (mine.state >= 'a' && mine.state <= 'z')))
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        /* Here the file is another process's: the kernel's own view. */
        struct stat_view theirs;
        if (read_stat_view(self, &theirs) != 0)
            _exit(1);
        _exit(theirs.start == mine.start && strcmp(theirs.comm, mine.comm) == 0
                  ? 0
                  : 1);
    }
    return hipc_test_wait_child(pid, 30) != 0;
}

/* The syscall number /proc says `pid` (a process or a thread) is blocked
 * in, or -1 while it is not sleeping in one. */
static long syscall_now(pid_t pid)
{
    char path[64], buf[256];
    struct stat_view v;
    if (read_stat_view(pid, &v) != 0 || v.state != 'S')
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/syscall", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    long nr = -1;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return sscanf(buf, "%ld", &nr) == 1 ? nr : -1;
}

/* Polls until `pid` sleeps in a syscall that `want` accepts (any, when
 * `want` is negative); returns its number, or -1 after about five
 * seconds. Bounded polling of another task's state, not synchronisation:
 * the caller's assertions never depend on the timing. */
static long poll_blocked(pid_t pid, long want)
{
    for (int i = 0; i < 5000; i++) {
        long nr = syscall_now(pid);
        if (nr >= 0 && (want < 0 || nr == want))
            return nr;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return -1;
}

int hipc_test_wait_blocked_in(pid_t pid, long nr)
{
    return poll_blocked(pid, nr) == nr;
}

int hipc_test_syscall_numbers_are_foreign(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(fds[1]);
        _exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
    }
    close(fds[0]);
    long nr = pid > 0 ? poll_blocked(pid, -1) : SYS_read;
    if (write(fds[1], "x", 1) != 1)
        nr = -1;
    close(fds[1]);
    if (pid > 0)
        hipc_test_wait_child(pid, 30);
    return nr != SYS_read;
}

static int fds_at_setup;

int hipc_test_fd_setup(void **state)
{
    (void)state;
#ifdef HIPC_FAULT_INJECTION
    hipc_fault_reset();
#endif
    fds_at_setup = hipc_test_fd_count();
    return 0;
}

int hipc_test_fd_teardown(void **state)
{
    (void)state;
#ifdef HIPC_FAULT_INJECTION
    hipc_fault_reset();
#endif
    assert_int_equal(hipc_test_fd_count(), fds_at_setup);
    return 0;
}

int hipc_test_transfers_may_be_short(void)
{
#ifdef HIPC_FAULT_INJECTION
    return strstr(hipc_fault_mode(), "short") != NULL;
#else
    return 0;
#endif
}

void hipc_test_fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 131u + seed);
}

/* ---- doorbells ----------------------------------------------------------- */

int hipc_test_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, ms);
    assert_true(n >= 0);
    return n == 1 && (p.revents & POLLIN) != 0;
}

int64_t hipc_test_now_ns(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int hipc_test_drains_may_stop_early(void)
{
    const char *m = getenv("HIPC_FAULT_MODE");
    return m != NULL && strstr(m, "eagain") != NULL;
}

void hipc_test_assert_quiet_since(int fd, int64_t since, int64_t slice_ns)
{
    if (hipc_test_readable(fd, 0) && !hipc_test_drains_may_stop_early())
        assert_true(hipc_test_now_ns() - since >= slice_ns);
}

int hipc_test_bells_in_proc(void)
{
    FILE *f = fopen("/proc/net/unix", "r");
    assert_non_null(f);
    char line[512], mine[32];
    snprintf(mine, sizeof mine, "@hipc.bell.%08x.", (unsigned)getpid());
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, mine) != NULL;
    fclose(f);
    return n;
}

/* The bell's socket, found from the epoll set handed out: the set's
 * targets are listed in /proc/self/fdinfo ("tfd: N"), and the socket is
 * the one that fstat calls a socket. -1 when there is none. */
static int bell_socket_of(int epfd)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int sock = -1, t;
    while (sock < 0 && fgets(line, sizeof line, f) != NULL) {
        struct stat st;
        if (sscanf(line, "tfd: %d", &t) == 1 && fstat(t, &st) == 0 &&
            S_ISSOCK(st.st_mode))
            sock = t;
    }
    fclose(f);
    return sock;
}

int hipc_test_bell_has_ring(int epfd)
{
    int sock = bell_socket_of(epfd);
    assert_true(sock >= 0);
    unsigned char b;
    return recv(sock, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

int hipc_test_bell_take_rings(int epfd)
{
    int sock = bell_socket_of(epfd);
    assert_true(sock >= 0);
    unsigned char b[8];
    int n = 0;
    while (recv(sock, b, sizeof b, MSG_DONTWAIT) >= 0)
        n++;
    assert_int_equal(errno, EAGAIN);
    return n;
}
