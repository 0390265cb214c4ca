/* SPDX-License-Identifier: MIT */
/* hipc fuzz support — see support.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hipc/error.h"
#ifdef HIPC_FAULT_INJECTION
#include "hipc/testing.h"
#endif

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

/* As non-root, a user namespace that maps us to root lets us own a new IPC
 * namespace too. */
static int isolate_as_user(void)
{
    char map[64];
    unsigned long uid = (unsigned long)getuid();
    unsigned long gid = (unsigned long)getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0)
        return -1;
    snprintf(map, sizeof map, "0 %lu 1", uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        return -1;
    (void)write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %lu 1", gid);
    return write_file("/proc/self/gid_map", map);
}

/* Set once, before any input runs; never changed afterwards. */
static int isolated;

int hipc_fuzz_isolated(void)
{
    return isolated;
}

void hipc_fuzz_isolate(void)
{
    if (unshare(CLONE_NEWIPC) == 0 || isolate_as_user() == 0) {
        isolated = 1;
        return;
    }
    const char *allow = getenv(HIPC_FUZZ_ALLOW_HOST_ENV);
    if (allow != NULL && strcmp(allow, "1") == 0) {
        fprintf(stderr,
                "hipc fuzz: no private IPC namespace; running in the "
                "machine's own because %s=1\n",
                HIPC_FUZZ_ALLOW_HOST_ENV);
        return;
    }
    fprintf(stderr,
            "hipc fuzz: cannot make a private IPC namespace; refusing "
            "to run on the machine's own (set %s=1 to allow)\n",
            HIPC_FUZZ_ALLOW_HOST_ENV);
    exit(HIPC_FUZZ_SKIP_STATUS);
}

static int write_ulong(const char *path, unsigned long v)
{
    char text[32];
    snprintf(text, sizeof text, "%lu", v);
    return write_file(path, text);
}

int hipc_fuzz_limit_shm(unsigned long shmmax, unsigned long shmall,
                        unsigned long shmmni)
{
#ifdef HIPC_FAULT_INJECTION
    /* A simulated kernel (HIPC_FAULT_SIM=1) gets the limits instead. */
    hipc_testing_sim_usage u;
    if (hipc_testing_get_sim(&u) == HIPC_OK && u.running) {
        hipc_testing_sim_limits l = {shmmax, shmall, shmmni};
        (void)hipc_testing_sim_end();
        return hipc_testing_sim_begin(&l) == HIPC_OK ? 0 : -1;
    }
#endif
    if (!isolated)
        return -1;
    int rc = write_ulong("/proc/sys/kernel/shmmax", shmmax);
    rc |= write_ulong("/proc/sys/kernel/shmall", shmall);
    rc |= write_ulong("/proc/sys/kernel/shmmni", shmmni);
    return rc;
}

/* With getdents64 into a static buffer rather than opendir, which
 * allocates 32 KiB (filled, under ASan) for every count: a world's inputs
 * count often. */
int hipc_fuzz_fd_count(void)
{
    static _Alignas(8) char buf[4096];
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    int n = 0;
    long got;
    while ((got = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long at = 0; at < got;) {
            const struct dirent64 *e = (const void *)(buf + at);
            n += e->d_name[0] != '.';
            at += e->d_reclen;
        }
    }
    close(dir);
    return got < 0 ? -1 : n - 1; /* the directory's own descriptor */
}

void hipc_fuzz_check_fds(int expected)
{
    int now = hipc_fuzz_fd_count();
    if (now == expected)
        return;
    char what[512];
    int used = snprintf(what, sizeof what,
                        "%d descriptors open, %d expected:", now, expected);
    for (int fd = 0; fd < 64 && used > 0 && (size_t)used < sizeof what; fd++) {
        char link[32], target[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        used += snprintf(what + used, sizeof what - (size_t)used, " %d=%s", fd,
                         target);
    }
    hipc_fuzz_fail(__FILE__, __LINE__, what);
}

#ifdef HIPC_FAULT_INJECTION
/* The seam's wrappers (lib/sys.h): answered by the simulated kernel while
 * one runs (lib/sim.h's switch). */
extern int hipc__sim_on;
int hipc__sys_shmctl(int id, int cmd, struct shmid_ds *ds);
int hipc__sys_pipe2(int fds[2], int flags);
int hipc__sys_close(int fd);
int hipc__sys_fcntl(int fd, int cmd, int arg);
int hipc__sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int hipc__sys_ioctl_int(int fd, unsigned long req, int *out);
ssize_t hipc__sys_read(int fd, void *buf, size_t len);
ssize_t hipc__sys_write(int fd, const void *buf, size_t len);
int hipc__sys_open(const char *path, int flags);
int hipc__sys_fd_is_sim(int fd);
extern void (*hipc__sim_real_fd_hook)(void);
#define SEAM(call) (hipc__sim_on != 0 ? from_seam(call) : -2)
#else
#define SEAM(call) (-2L)
#endif

#ifdef HIPC_FAULT_INJECTION
/* A wrapper's -errno as libc reports it. */
static long from_seam(long r)
{
    if (r >= 0)
        return r;
    errno = (int)-r;
    return -1;
}
#endif

int hipc_fuzz_sim_running(void)
{
#ifdef HIPC_FAULT_INJECTION
    return hipc__sim_on != 0;
#else
    return 0;
#endif
}

int hipc_fuzz_shmctl(int id, int cmd, struct shmid_ds *ds)
{
#ifdef HIPC_FAULT_INJECTION
    return (int)from_seam(hipc__sys_shmctl(id, cmd, ds));
#else
    return shmctl(id, cmd, ds);
#endif
}

/* -2 from SEAM: no simulation runs, libc's call. */
int hipc_fuzz_pipe2(int fds[2], int flags)
{
    long r = SEAM(hipc__sys_pipe2(fds, flags));
    return r != -2 ? (int)r : pipe2(fds, flags);
}

int hipc_fuzz_close(int fd)
{
    long r = SEAM(hipc__sys_close(fd));
    return r != -2 ? (int)r : close(fd);
}

int hipc_fuzz_fcntl(int fd, int cmd, int arg)
{
    long r = SEAM(hipc__sys_fcntl(fd, cmd, arg));
    return r != -2 ? (int)r : fcntl(fd, cmd, arg);
}

int hipc_fuzz_poll(struct pollfd *fds, unsigned long n, int timeout_ms)
{
    long r = SEAM(hipc__sys_poll(fds, (nfds_t)n, timeout_ms));
    return r != -2 ? (int)r : poll(fds, (nfds_t)n, timeout_ms);
}

int hipc_fuzz_fionread(int fd, int *out)
{
    long r = SEAM(hipc__sys_ioctl_int(fd, FIONREAD, out));
    return r != -2 ? (int)r : ioctl(fd, FIONREAD, out);
}

long hipc_fuzz_read(int fd, void *buf, size_t len)
{
    long r = SEAM(hipc__sys_read(fd, buf, len));
    return r != -2 ? r : (long)read(fd, buf, len);
}

long hipc_fuzz_write(int fd, const void *buf, size_t len)
{
    long r = SEAM(hipc__sys_write(fd, buf, len));
    return r != -2 ? r : (long)write(fd, buf, len);
}

static long sim_descriptors(void)
{
#ifdef HIPC_FAULT_INJECTION
    hipc_testing_sim_usage u;
    if (hipc_testing_get_sim(&u) == HIPC_OK && u.running)
        return (long)u.descriptors;
#endif
    return -1;
}

/* hipc's signal calls so far (counted by the fault plan), 0 without one. */
static unsigned long signal_calls(void)
{
    unsigned long sum = 0;
#ifdef HIPC_FAULT_INJECTION
    static const hipc_testing_call kinds[] = {HIPC_CALL_SIGMASK,
                                              HIPC_CALL_SIGPENDING,
                                              HIPC_CALL_SIGTIMEDWAIT};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        unsigned long n = 0;
        if (hipc_testing_get_calls(kinds[i], &n) == HIPC_OK)
            sum += n;
    }
#endif
    return sum;
}

/* The input under way (NULL between inputs), and whether it has touched
 * a real descriptor: filled by real_fd_ahead. */
static hipc_fuzz_fds *current;
static int touched;

/* Before a real descriptor is opened or closed: the input's count is
 * taken now, at its first such call, if its mark did not take it. */
static void real_fd_ahead(void)
{
    if (current == NULL)
        return;
    touched = 1;
    if (current->count < 0)
        current->count = hipc_fuzz_fd_count();
}

void hipc_fuzz_real_fd_ahead(void)
{
    real_fd_ahead();
}

int hipc_fuzz_fd_is_sim(int fd)
{
#ifdef HIPC_FAULT_INJECTION
    return hipc__sys_fd_is_sim(fd);
#else
    (void)fd;
    return 0;
#endif
}

#ifdef HIPC_FAULT_INJECTION
/* The leak check's own test, before the first input in a world: a real
 * descriptor that an input opens through hipc's seam and leaves open
 * must be seen (the seam told the harness before the open), and seen
 * gone once closed. A check that could not see it fails the run. */
static void self_check(void)
{
    hipc_fuzz_fds m = {-1, 0, 0};
    current = &m;
    int fd;
    while ((fd = hipc__sys_open("/dev/null", O_RDONLY)) == -EINTR)
        ;
    int seen = fd >= 0 && m.count >= 0 && hipc_fuzz_fd_count() == m.count + 1;
    if (fd >= 0)
        (void)hipc__sys_close(fd);
    int gone = m.count >= 0 && hipc_fuzz_fd_count() == m.count;
    current = NULL;
    if (!seen || !gone)
        hipc_fuzz_fail(__FILE__, __LINE__,
                       "the real-descriptor leak check did not see a "
                       "descriptor opened through hipc's seam");
}
#endif

void hipc_fuzz_fds_mark(hipc_fuzz_fds *m)
{
    static unsigned long inputs;
    m->sim = sim_descriptors();
#ifdef HIPC_FAULT_INJECTION
    static int checked;
    if (m->sim >= 0 && !checked) {
        hipc__sim_real_fd_hook = real_fd_ahead;
        self_check();
        checked = 1;
    }
#endif
    m->sig = signal_calls();
    int full = m->sim < 0 || inputs % HIPC_FUZZ_FD_FULL_EVERY == 0;
    inputs++;
    m->count = full ? hipc_fuzz_fd_count() : -1;
    touched = 0;
    current = m;
}

int hipc_fuzz_fds_touched_real(const hipc_fuzz_fds *m)
{
    return m->sim < 0 || touched || signal_calls() != m->sig;
}

void hipc_fuzz_fds_check(const hipc_fuzz_fds *m)
{
    current = NULL;
    if (m->count >= 0)
        hipc_fuzz_check_fds(m->count);
    HIPC_FUZZ_CHECK(sim_descriptors() == m->sim);
}

/* One syscall instead of parsing /proc/sysvipc/shm: cheap enough to run
 * after every iteration. */
int hipc_fuzz_shm_count(void)
{
    struct shm_info info;
    memset(&info, 0, sizeof info);
    if (hipc_fuzz_shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info) < 0)
        return -1;
    return info.used_ids;
}

void hipc_fuzz_trace(const char *op, int slot, long rc)
{
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("HIPC_FUZZ_TRACE");
        on = v != NULL && strcmp(v, "1") == 0;
    }
    if (on)
        fprintf(stderr, "  %-12s slot %d -> %ld (%s)\n", op, slot, rc,
                hipc_err_name((int)rc));
}

/* AFL++ hides a child's stderr: with HIPC_FUZZ_FAIL_LOG set, the reason
 * for an abort is appended to that file as well. */
void hipc_fuzz_fail(const char *file, int line, const char *what)
{
    int err = errno;
    fprintf(stderr, "%s:%d: fuzz invariant failed: %s (errno %d)\n", file, line,
            what, err);
    const char *log = getenv("HIPC_FUZZ_FAIL_LOG");
    FILE *f = log != NULL ? fopen(log, "ae") : NULL;
    if (f != NULL) {
        fprintf(f, "%s:%d: fuzz invariant failed: %s (errno %d)\n", file, line,
                what, err);
        fclose(f);
    }
    abort();
}

void hipc_fuzz_check_code(long rc, const char *file, int line, const char *what)
{
    if (rc >= 0 || (rc >= (long)HIPC_ERROR_LAST_ && hipc_err_is_known((int)rc)))
        return;
    fprintf(stderr, "%s:%d: %s returned %ld, not a hipc code\n", file, line,
            what, rc);
    abort();
}

uint8_t hipc_fuzz_u8(hipc_fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t hipc_fuzz_u16(hipc_fuzz_in *in)
{
    uint16_t v = hipc_fuzz_u8(in);
    return (uint16_t)(v | (unsigned)hipc_fuzz_u8(in) << 8);
}

uint32_t hipc_fuzz_u32(hipc_fuzz_in *in)
{
    uint32_t v = hipc_fuzz_u16(in);
    return v | (uint32_t)hipc_fuzz_u16(in) << 16;
}

uint64_t hipc_fuzz_u64(hipc_fuzz_in *in)
{
    uint64_t v = hipc_fuzz_u32(in);
    return v | (uint64_t)hipc_fuzz_u32(in) << 32;
}

size_t hipc_fuzz_bytes(hipc_fuzz_in *in, size_t want, const uint8_t **out)
{
    size_t take = want < in->n ? want : in->n;
    *out = in->p;
    in->p += take;
    in->n -= take;
    return take;
}
