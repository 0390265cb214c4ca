/* SPDX-License-Identifier: MIT */
/* Resource exhaustion, for real: the kernel's own limits reached, not
 * simulated. SHMMNI, SHMALL and SHMMAX are lowered in a private IPC
 * namespace of a forked child (they are per namespace, so nothing outside
 * changes); RLIMIT_NOFILE is brought to the edge in a child. Each time the
 * right code comes back, nothing leaks, and room made again makes the
 * next call work. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "hipc/pipe.h"
#include "hipc/shm.h"
#include "proc.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("sets the kernel's limits in /proc/sys")

static int write_sysctl(const char *path, unsigned long v)
{
    char text[32];
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int n = snprintf(text, sizeof text, "%lu\n", v);
    ssize_t w = write(fd, text, (size_t)n);
    close(fd);
    return w == n ? 0 : -1;
}

/* Child exit codes: 0 passed, 77 the namespace or sysctl could not be
 * had here (skipped), anything else the line of the failed check. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            _exit(__LINE__ % 200 + 1);                                         \
        }                                                                      \
    } while (0)

static int own_namespace(void)
{
    return unshare(CLONE_NEWIPC) == 0 && hipc_test_shm_count() == 0;
}

static void run_child(void (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int code = hipc_test_wait_child(pid, 60);
    if (code == 77)
        skip();
    assert_int_equal(code, 0);
}

static void shmmni_body(void)
{
    if (!own_namespace() || write_sysctl("/proc/sys/kernel/shmmni", 2) != 0)
        _exit(77);
    hipc_shm_limits lim;
    CHECK(hipc_shm_get_limits(&lim, NULL) == HIPC_OK && lim.shmmni == 2);
    hipc_shm a, b, c;
    hipc_shm_config cfg = {.size = 100};
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_OK);
    CHECK(hipc_shm_create(&b, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_OK);
    CHECK(hipc_shm_create(&c, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_E_LIMIT);
    CHECK(c.sys_errno == ENOSPC);
    CHECK(hipc_test_shm_count() == 2);
    /* Room again: one removed (and detached), the next create works. */
    CHECK(hipc_shm_remove(&a) == HIPC_OK && hipc_shm_close(&a) == HIPC_OK);
    CHECK(hipc_shm_create(&c, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_OK);
    CHECK(hipc_shm_remove(&b) == HIPC_OK && hipc_shm_close(&b) == HIPC_OK);
    CHECK(hipc_shm_remove(&c) == HIPC_OK && hipc_shm_close(&c) == HIPC_OK);
    CHECK(hipc_test_shm_count() == 0);
}

static void shmmni_reached_is_limit_with_enospc(void **state)
{
    (void)state;
    run_child(shmmni_body);
}

static void shmall_body(void)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!own_namespace() || write_sysctl("/proc/sys/kernel/shmall", 4) != 0)
        _exit(77);
    hipc_shm a, b;
    /* Larger than SHMALL on its own: refused before the kernel is asked. */
    hipc_shm_config big = {.size = (size_t)page * 5};
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &big) == HIPC_E_LIMIT);
    CHECK(a.sys_errno == 0);
    /* Fits alone, but not beside another: the kernel says ENOSPC. */
    hipc_shm_config three = {.size = (size_t)page * 2 + 1};
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &three) == HIPC_OK);
    CHECK(hipc_shm_create(&b, HIPC_SHM_KEY_PRIVATE, &three) == HIPC_E_LIMIT);
    CHECK(b.sys_errno == ENOSPC);
    CHECK(hipc_test_shm_count() == 1);
    CHECK(hipc_shm_remove(&a) == HIPC_OK && hipc_shm_close(&a) == HIPC_OK);
    CHECK(hipc_shm_create(&b, HIPC_SHM_KEY_PRIVATE, &three) == HIPC_OK);
    CHECK(hipc_shm_remove(&b) == HIPC_OK && hipc_shm_close(&b) == HIPC_OK);
    CHECK(hipc_test_shm_count() == 0);
}

static void shmall_reached_is_limit(void **state)
{
    (void)state;
    run_child(shmall_body);
}

static void shmmax_body(void)
{
    if (!own_namespace() || write_sysctl("/proc/sys/kernel/shmmax", 8192) != 0)
        _exit(77);
    hipc_shm a;
    hipc_shm_config over = {.size = 8192};
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &over) == HIPC_E_LIMIT);
    CHECK(a.sys_errno == 0);
    hipc_shm_config under = {.size = 8192 - HIPC_SHM_HEADER_SIZE};
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &under) == HIPC_OK);
    CHECK(hipc_shm_remove(&a) == HIPC_OK && hipc_shm_close(&a) == HIPC_OK);
    CHECK(hipc_test_shm_count() == 0);
}

static void shmmax_exceeded_is_limit(void **state)
{
    (void)state;
    run_child(shmmax_body);
}

/* Leaves exactly `spare` descriptors free: every one below `lowest` is
 * taken, and the next open lands on the lowest free one. */
static void leave_free(int lowest, int spare)
{
    struct rlimit lim;
    CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    lim.rlim_cur = (rlim_t)(lowest + spare);
    CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
}

static void nofile_body(void)
{
    hipc_shm a;
    hipc_shm_config cfg = {.size = 64};
    uint64_t start = 0;
    int err = 0;
    hipc_seg_entry e[2];
    size_t total = 0;
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(lowest >= 0);
    close(lowest);
    int open0 = hipc_test_fd_count();
    leave_free(lowest, 0);
    CHECK(hipc__proc_start_time(getpid(), &start, &err) == HIPC_E_LIMIT);
    CHECK(err == EMFILE);
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_E_LIMIT);
    CHECK(a.sys_errno == EMFILE);
    CHECK(hipc_inspect_list(e, 2, &total, 0, &err) == HIPC_E_LIMIT);
    CHECK(err == EMFILE);
    /* One free descriptor is all any of them needs at a time. */
    leave_free(lowest, 1);
    CHECK(hipc__proc_start_time(getpid(), &start, &err) == HIPC_OK);
    CHECK(hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_OK);
    CHECK(hipc_inspect_list(e, 2, &total, 0, &err) >= 1);
    CHECK(hipc_shm_remove(&a) == HIPC_OK && hipc_shm_close(&a) == HIPC_OK);
    CHECK(hipc_test_fd_count() == open0);
}

static void nofile_at_the_edge_is_limit_with_emfile(void **state)
{
    (void)state;
    run_child(nofile_body);
}

static unsigned long read_ulong(const char *path)
{
    char text[32] = "";
    unsigned long v = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    return n > 0 && sscanf(text, "%lu", &v) == 1 ? v : 0;
}

static int child_does_nothing(hipc_pipe *pipe, FILE *stream, void *arg)
{
    (void)pipe;
    (void)stream;
    (void)arg;
    return 0;
}

static void nofile_pipe_body(void)
{
    hipc_pipe p;
    hipc_pipe_child c;
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(lowest >= 0);
    close(lowest);
    int open0 = hipc_test_fd_count();
    /* A pipe needs two descriptors: with one free it cannot be made. */
    leave_free(lowest, 1);
    CHECK(hipc_pipe_create(&p, 0) == HIPC_E_LIMIT && p.sys_errno == EMFILE);
    CHECK(hipc_pipe_spawn(&c, 0, child_does_nothing, NULL) == HIPC_E_LIMIT);
    CHECK(c.sys_errno == EMFILE);
    CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
    leave_free(lowest, 2);
    CHECK(hipc_pipe_create(&p, 0) == HIPC_OK && hipc_pipe_close(&p) == HIPC_OK);
    int code = -1;
    CHECK(hipc_pipe_spawn(&c, 0, child_does_nothing, NULL) == HIPC_OK);
    CHECK(hipc_pipe_child_finish(&c, &code, HIPC_FOREVER) == HIPC_OK &&
          code == 0);
    leave_free(lowest, 3);
    CHECK(hipc_test_fd_count() == open0);
}

static void nofile_at_the_edge_refuses_pipes_and_spawns(void **state)
{
    (void)state;
    run_child(nofile_pipe_body);
}

/* pipe-max-size is the largest capacity an unprivileged process may ask
 * for; hipc refuses more before asking the kernel, even as root (whom
 * the kernel would let exceed it). */
static void pipe_max_size_exceeded_is_too_big(void **state)
{
    (void)state;
    size_t max = 0;
    hipc_pipe p;
    assert_int_equal(hipc_pipe_get_max_size(&max, NULL), HIPC_OK);
    assert_int_equal(max, read_ulong("/proc/sys/fs/pipe-max-size"));
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_set_capacity(&p, max + 1), HIPC_E_TOO_BIG);
    assert_int_equal(p.sys_errno, 0);
    assert_true(hipc_pipe_set_capacity(&p, max) >= (int)max);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* An unprivileged user whose pipes hold more than pipe-user-pages-soft
 * pages may not grow another: the kernel's EPERM is HIPC_E_LIMIT, and
 * room made again lets the next one grow. */
#define PAGES_UID 64997

static void user_pipe_pages_body(void)
{
    enum { MANY = 200 };
    static hipc_pipe pipes[MANY];
    unsigned long soft = read_ulong("/proc/sys/fs/pipe-user-pages-soft");
    size_t max = 0;
    if (soft == 0 || hipc_pipe_get_max_size(&max, NULL) != HIPC_OK ||
        (soft * 4096ul) / max + 8 > MANY)
        _exit(77);
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 2 * MANY + 32)
        _exit(77);
    /* A uid of its own: pipe pages are counted per user, and using up
     * those of the shared unprivileged test user could starve other
     * tests running as it at the same time. */
    if (setgroups(0, NULL) != 0 || setgid(PAGES_UID) != 0 ||
        setuid(PAGES_UID) != 0)
        _exit(77);
    CHECK(setuid(0) != 0);
    int n = 0, rc = HIPC_OK;
    for (; n < MANY; n++) {
        CHECK(hipc_pipe_create(&pipes[n], 0) == HIPC_OK);
        rc = hipc_pipe_set_capacity(&pipes[n], max);
        if (rc < 0)
            break;
    }
    CHECK(n < MANY && rc == HIPC_E_LIMIT && pipes[n].sys_errno == EPERM);
    for (int i = 0; i <= n; i++)
        CHECK(hipc_pipe_close(&pipes[i]) == HIPC_OK);
    CHECK(hipc_pipe_create(&pipes[0], 0) == HIPC_OK);
    CHECK(hipc_pipe_set_capacity(&pipes[0], max) >= (int)max);
    CHECK(hipc_pipe_close(&pipes[0]) == HIPC_OK);
}

static void user_pipe_pages_exhausted_is_limit(void **state)
{
    (void)state;
    run_child(user_pipe_pages_body);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shmmni_reached_is_limit_with_enospc),
    cmocka_unit_test(shmall_reached_is_limit),
    cmocka_unit_test(shmmax_exceeded_is_limit),
    cmocka_unit_test(nofile_at_the_edge_is_limit_with_emfile),
    cmocka_unit_test(nofile_at_the_edge_refuses_pipes_and_spawns),
    cmocka_unit_test(pipe_max_size_exceeded_is_too_big),
    cmocka_unit_test(user_pipe_pages_exhausted_is_limit),
};

HIPC_TEST_MAIN(tests)
