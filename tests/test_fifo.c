/* SPDX-License-Identifier: MIT */
/* hipc tests — named pipes: names, directories, modes, refusals,
 * deadlines, and two processes that share nothing but a name. */
#include "hipc/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("FIFOs, which a world does not simulate")

#ifdef SYS_poll
#define POLL_NR SYS_poll
#else
#define POLL_NR SYS_ppoll
#endif

#define MS 1000000LL

/* Each test's own private directory, removed (and so proven empty) at
 * its end. */
struct place {
    char dir[64];
    char path[128];
    hipc_fifo_dir d;
};

static void place_open(struct place *pl)
{
    strcpy(pl->dir, "/tmp/hipc-fifo-XXXXXX");
    assert_non_null(mkdtemp(pl->dir));
    snprintf(pl->path, sizeof pl->path, "%s/f", pl->dir);
    assert_int_equal(hipc_fifo_dir_open(&pl->d, pl->dir, NULL), HIPC_OK);
}

/* Fails the test when anything is left in the directory. */
static void place_close(struct place *pl)
{
    assert_int_equal(hipc_fifo_dir_close(&pl->d), HIPC_OK);
    assert_int_equal(rmdir(pl->dir), 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode;
}

/* ---- names, modes, handles --------------------------------------------- */

static void names_are_single_components(void **state)
{
    (void)state;
    char longest[NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[NAME_MAX] = '\0';
    assert_int_equal(hipc_fifo_check_name(longest), HIPC_OK);
    longest[NAME_MAX] = 'a';
    longest[NAME_MAX + 1] = '\0';
    assert_int_equal(hipc_fifo_check_name(longest), HIPC_E_BAD_PATH);
    assert_int_equal(hipc_fifo_check_name(NULL), HIPC_E_NULL);
    const char *bad[] = {"", ".", "..", "a/b", "/", "a/", "/a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hipc_fifo_check_name(bad[i]), HIPC_E_BAD_PATH);
    const char *good[] = {"...", ".a", "a..", "x", "fifo.0"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(hipc_fifo_check_name(good[i]), HIPC_OK);
}

static void every_call_checks_its_arguments_first(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    hipc_pipe p;
    assert_int_equal(hipc_fifo_create(&pl.d, NULL, 0600), HIPC_E_NULL);
    assert_int_equal(hipc_fifo_create(&pl.d, "..", 0600), HIPC_E_BAD_PATH);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0400), HIPC_E_BAD_MODE);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 01600), HIPC_E_BAD_MODE);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0200), HIPC_E_BAD_MODE);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, NULL,
                                    0),
                     HIPC_E_NULL);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, (enum hipc_pipe_end)7, &p,
                                    0),
                     HIPC_E_WRONG_END);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    -2),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_fifo_open(&pl.d, NULL, 0600, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_NULL);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0777 | 01000,
                                    HIPC_PIPE_READ_END, &p, 0),
                     HIPC_E_BAD_MODE);
    /* A failed open leaves a handle that every pipe call refuses. */
    assert_int_equal(hipc_pipe_close(&p), HIPC_E_BAD_HANDLE);
    place_close(&pl);
}

static void garbage_copied_and_closed_handles_are_refused(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    hipc_fifo_dir zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(hipc_fifo_create(&zero, "f", 0600), HIPC_E_BAD_HANDLE);
    hipc_fifo_dir copy = pl.d;
    assert_int_equal(hipc_fifo_create(&copy, "f", 0600), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_fifo_dir_close(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_fifo_dir_close(NULL), HIPC_E_NULL);
    assert_int_equal(hipc_fifo_create(NULL, "f", 0600), HIPC_E_NULL);
    place_close(&pl);
    assert_int_equal(hipc_fifo_dir_close(&pl.d), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_E_STALE_HANDLE);
}

/* ---- the directory ----------------------------------------------------- */

static void directory_arguments_are_checked(void **state)
{
    (void)state;
    hipc_fifo_dir d;
    hipc_fifo_config bad = {.flags = 0x80u};
    assert_int_equal(hipc_fifo_dir_open(NULL, "/tmp", NULL), HIPC_E_NULL);
    assert_int_equal(hipc_fifo_dir_open(&d, NULL, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_fifo_dir_open(&d, "/tmp", &bad), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_fifo_dir_open(&d, "", NULL), HIPC_E_BAD_PATH);
    static char longest[PATH_MAX + 1];
    memset(longest, 'a', PATH_MAX);
    assert_int_equal(hipc_fifo_dir_open(&d, longest, NULL), HIPC_E_BAD_PATH);
    assert_int_equal(hipc_fifo_dir_open(&d, "/nonexistent-hipc", NULL),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(d.sys_errno, ENOENT);
    assert_int_equal(hipc_fifo_dir_open(&d, "/dev/null", NULL),
                     HIPC_E_BAD_PATH);
    assert_int_equal(d.sys_errno, 0);
    assert_int_equal(hipc_fifo_dir_open(&d, "/dev/null/x", NULL),
                     HIPC_E_BAD_PATH);
    assert_int_equal(d.sys_errno, ENOTDIR);
    /* /tmp is world-writable but sticky, and owned by root. */
    assert_int_equal(hipc_fifo_dir_open(&d, "/tmp", NULL), HIPC_OK);
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
}

static void a_symlinked_or_open_directory_is_refused(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    char link[128], sub[128];
    snprintf(link, sizeof link, "%s/link", pl.dir);
    snprintf(sub, sizeof sub, "%s/sub", pl.dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(symlink(sub, link), 0);
    hipc_fifo_dir d;
    assert_int_equal(hipc_fifo_dir_open(&d, link, NULL), HIPC_E_UNSAFE);
    assert_int_equal(d.sys_errno, 0);
    /* Writable by others and not sticky: anyone could swap the FIFO. */
    assert_int_equal(chmod(sub, 0777), 0);
    assert_int_equal(hipc_fifo_dir_open(&d, sub, NULL), HIPC_E_UNSAFE);
    assert_int_equal(d.sys_errno, 0);
    assert_int_equal(chmod(sub, 0770), 0);
    assert_int_equal(hipc_fifo_dir_open(&d, sub, NULL), HIPC_E_UNSAFE);
    assert_int_equal(chmod(sub, 01777), 0);
    assert_int_equal(hipc_fifo_dir_open(&d, sub, NULL), HIPC_OK);
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(rmdir(sub), 0);
    place_close(&pl);
}

/* Needs root (and a uid 65534 the kernel maps): else skipped. */
static int can_chown(const char *path)
{
    return chown(path, HIPC_TEST_UID, HIPC_TEST_GID) == 0;
}

static void a_directory_of_another_user_is_refused(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", pl.dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    if (!can_chown(sub)) {
        rmdir(sub);
        place_close(&pl);
        hipc_test_skip("chown to an unprivileged uid needs root");
    }
    hipc_fifo_dir d;
    assert_int_equal(hipc_fifo_dir_open(&d, sub, NULL), HIPC_E_UNSAFE);
    /* Unless its owner is the one the FIFOs are expected from. */
    hipc_fifo_config cfg = {.flags = HIPC_FIFO_OWNER, .owner = HIPC_TEST_UID};
    assert_int_equal(hipc_fifo_dir_open(&d, sub, &cfg), HIPC_OK);
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(rmdir(sub), 0);
    place_close(&pl);
}

/* ---- create and remove ------------------------------------------------- */

static void create_gives_the_exact_mode_whatever_the_umask(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    mode_t old = umask(077);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0666), HIPC_OK);
    umask(old);
    mode_t m = mode_of(pl.path);
    assert_true(S_ISFIFO(m));
    assert_int_equal(m & 07777, 0666);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_E_EXISTS);
    assert_int_equal(pl.d.sys_errno, EEXIST);
    /* The mode asked of remove must cover the FIFO's. */
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_E_UNSAFE);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0666), HIPC_OK);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0666), HIPC_E_NOT_FOUND);
    assert_int_equal(pl.d.sys_errno, ENOENT);
    place_close(&pl);
}

static void remove_refuses_what_is_not_our_fifo(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    assert_int_equal(symlink("/dev/null", pl.path), 0);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_E_UNSAFE);
    assert_int_equal(unlink(pl.path), 0);
    int fd = open(pl.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_E_NOT_PIPE);
    assert_int_equal(unlink(pl.path), 0);
    assert_int_equal(mkfifo(pl.path, 0600), 0);
    if (can_chown(pl.path))
        assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_E_UNSAFE);
    assert_int_equal(unlink(pl.path), 0);
    place_close(&pl);
}

/* ---- refusals at open -------------------------------------------------- */

static void open_refuses_symlinks_files_and_wider_modes(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    hipc_pipe p;
    char real[128];
    snprintf(real, sizeof real, "%s/real", pl.dir);
    assert_int_equal(mkfifo(real, 0600), 0);
    assert_int_equal(symlink("real", pl.path), 0);
    for (int e = 0; e < 2; e++) {
        enum hipc_pipe_end end = e ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
        assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, end, &p, 0),
                         HIPC_E_UNSAFE);
        assert_int_equal(pl.d.sys_errno, ELOOP);
    }
    assert_int_equal(unlink(pl.path), 0);
    int fd = open(pl.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    for (int e = 0; e < 2; e++) {
        enum hipc_pipe_end end = e ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
        assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, end, &p, 0),
                         HIPC_E_NOT_PIPE);
    }
    assert_int_equal(unlink(pl.path), 0);
    assert_int_equal(mkdir(pl.path, 0700), 0);
    for (int e = 0; e < 2; e++) {
        enum hipc_pipe_end end = e ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
        assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, end, &p, 0),
                         HIPC_E_NOT_PIPE);
    }
    assert_int_equal(pl.d.sys_errno, EISDIR);
    assert_int_equal(rmdir(pl.path), 0);
    /* A socket: a read side cannot open it, a write side finds no reader. */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, pl.path);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0777, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_NOT_PIPE);
    assert_int_equal(pl.d.sys_errno, ENXIO);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0777, HIPC_PIPE_WRITE_END, &p,
                                    0),
                     HIPC_E_AGAIN);
    assert_int_equal(close(s), 0);
    assert_int_equal(unlink(pl.path), 0);
    assert_int_equal(chmod(real, 0620), 0);
    assert_int_equal(hipc_fifo_open(&pl.d, "real", 0600, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_UNSAFE);
    assert_int_equal(pl.d.sys_errno, 0);
    assert_int_equal(chmod(real, 04600), 0);
    assert_int_equal(hipc_fifo_open(&pl.d, "real", 0666, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_UNSAFE);
    /* Narrower than asked is accepted. */
    assert_int_equal(chmod(real, 0600), 0);
    assert_int_equal(hipc_fifo_open(&pl.d, "real", 0666, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_AGAIN);
    assert_int_equal(unlink(real), 0);
    place_close(&pl);
}

static void a_fifo_of_another_owner_is_refused_unless_expected(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    if (!can_chown(pl.path)) {
        unlink(pl.path);
        place_close(&pl);
        hipc_test_skip("chown to an unprivileged uid needs root");
    }
    hipc_pipe p;
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_UNSAFE);
    hipc_fifo_dir other;
    hipc_fifo_config cfg = {.flags = HIPC_FIFO_OWNER, .owner = HIPC_TEST_UID};
    assert_int_equal(hipc_fifo_dir_open(&other, pl.dir, &cfg), HIPC_OK);
    assert_int_equal(hipc_fifo_open(&other, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_AGAIN);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_E_UNSAFE);
    assert_int_equal(hipc_fifo_remove(&other, "f", 0600), HIPC_OK);
    assert_int_equal(hipc_fifo_dir_close(&other), HIPC_OK);
    place_close(&pl);
}

/* A child dropped to an unprivileged uid: what it may not do, it cannot. */
static int unprivileged_child(const char *dir, const char *sub)
{
    if (hipc_test_drop_privileges() != 0)
        return 10;
    hipc_fifo_dir d;
    hipc_pipe p;
    /* The root-owned directory is fine, its root-owned FIFO is not ours. */
    if (hipc_fifo_dir_open(&d, dir, NULL) != HIPC_OK)
        return 11;
    if (hipc_fifo_open(&d, "f", 0666, HIPC_PIPE_READ_END, &p, 0) !=
        HIPC_E_UNSAFE)
        return 12;
    /* Not writable for us: creating is refused by the kernel. */
    if (hipc_fifo_create(&d, "mine", 0600) != HIPC_E_PERM ||
        d.sys_errno != EACCES)
        return 13;
    hipc_fifo_dir_close(&d);
    /* Expecting root's FIFO: the mode 0600 keeps us out. */
    hipc_fifo_config cfg = {.flags = HIPC_FIFO_OWNER, .owner = 0};
    if (hipc_fifo_dir_open(&d, dir, &cfg) != HIPC_OK)
        return 14;
    if (hipc_fifo_open(&d, "g", 0600, HIPC_PIPE_WRITE_END, &p, 0) !=
            HIPC_E_PERM ||
        d.sys_errno != EACCES)
        return 15;
    hipc_fifo_dir_close(&d);
    /* A directory we cannot enter: opened (O_PATH needs no search
     * permission on it), but nothing can be made or opened in it. */
    if (hipc_fifo_dir_open(&d, sub, NULL) != HIPC_OK)
        return 16;
    if (hipc_fifo_create(&d, "mine", 0600) != HIPC_E_PERM ||
        hipc_fifo_open(&d, "mine", 0600, HIPC_PIPE_READ_END, &p, 0) !=
            HIPC_E_PERM ||
        hipc_fifo_open(&d, "mine", 0600, HIPC_PIPE_WRITE_END, &p, 0) !=
            HIPC_E_PERM)
        return 17;
    hipc_fifo_dir_close(&d);
    return 0;
}

static void an_unprivileged_process_is_kept_out(void **state)
{
    (void)state;
    if (geteuid() != 0)
        hipc_test_skip("dropping privileges needs root");
    struct place pl;
    place_open(&pl);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", pl.dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chmod(pl.dir, 0755), 0);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0666), HIPC_OK);
    assert_int_equal(hipc_fifo_create(&pl.d, "g", 0600), HIPC_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(unprivileged_child(pl.dir, sub));
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0666), HIPC_OK);
    assert_int_equal(hipc_fifo_remove(&pl.d, "g", 0600), HIPC_OK);
    assert_int_equal(rmdir(sub), 0);
    place_close(&pl);
}

/* A FIFO of mode 0400 is one hipc_fifo_create() is still making: a writer
 * (here unprivileged, so its open fails with EACCES) waits for it. */
static void an_unprivileged_writer_waits_while_the_fifo_is_made(void **state)
{
    (void)state;
    if (geteuid() != 0)
        hipc_test_skip("dropping privileges needs root");
    struct place pl;
    place_open(&pl);
    assert_int_equal(chmod(pl.dir, 0755), 0);
    assert_int_equal(mkfifo(pl.path, 0400), 0);
    assert_int_equal(chown(pl.path, HIPC_TEST_UID, HIPC_TEST_GID), 0);
    assert_int_equal(chmod(pl.path, 0400), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hipc_fifo_dir d;
        hipc_pipe p;
        size_t done = 0;
        if (hipc_test_drop_privileges() != 0 ||
            hipc_fifo_dir_open(&d, pl.dir, NULL) != HIPC_OK ||
            hipc_fifo_open(&d, "f", 0600, HIPC_PIPE_WRITE_END, &p,
                           HIPC_FOREVER) != HIPC_OK ||
            hipc_pipe_write_all(&p, "m", 1, &done, 5000 * MS) != HIPC_OK)
            _exit(1);
        _exit(0);
    }
    if (!hipc_test_syscall_numbers_are_foreign())
        assert_true(hipc_test_wait_blocked_in(pid, POLL_NR));
    int r = open(pl.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(r >= 0);
    assert_int_equal(chmod(pl.path, 0600), 0);
    struct pollfd pfd = {.fd = r, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    char c = 0;
    assert_int_equal(read(r, &c, 1), 1);
    assert_int_equal(c, 'm');
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
    assert_int_equal(close(r), 0);
    assert_int_equal(unlink(pl.path), 0);
    place_close(&pl);
}

/* ---- deadlines --------------------------------------------------------- */

static void a_side_without_peer_gives_up_at_its_deadline(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    hipc_pipe p;
    /* No name yet. */
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_AGAIN);
    assert_int_equal(pl.d.sys_errno, ENOENT);
    int64_t t0 = now_ns();
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_WRITE_END, &p,
                                    30 * MS),
                     HIPC_E_TIMEDOUT);
    assert_true(now_ns() - t0 >= 30 * MS);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    for (int e = 0; e < 2; e++) {
        enum hipc_pipe_end end = e ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
        assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, end, &p, 0),
                         HIPC_E_AGAIN);
        assert_int_equal(pl.d.sys_errno, e ? ENXIO : 0);
        t0 = now_ns();
        assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, end, &p, 30 * MS),
                         HIPC_E_TIMEDOUT);
        int64_t took = now_ns() - t0;
        assert_true(took >= 30 * MS);
        assert_true(took < 5000 * MS);
    }
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

/* A read side waits for the writer's first byte, or its close. */
static void a_reader_sees_a_writer_that_only_opens_and_closes(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    int r = open(pl.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    int w = open(pl.path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(r >= 0 && w >= 0);
    hipc_pipe p;
    /* A silent writer is not seen. */
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    0),
                     HIPC_E_AGAIN);
    close(w);
    close(r);
    /* One that comes (after the reader opened) and goes: opened, and the
     * stream has ended. */
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!hipc_test_syscall_numbers_are_foreign() &&
            !hipc_test_wait_blocked_in(parent, POLL_NR))
            _exit(1);
        int fd = -1;
        while (fd < 0)
            fd = open(pl.path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        _exit(close(fd) == 0 ? 0 : 1);
    }
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
    char c;
    size_t done = 9;
    assert_int_equal(hipc_pipe_read_exact(&p, &c, 1, &done, 5000 * MS),
                     HIPC_E_EOF);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

/* The write side: a reader that leaves at once makes the first write
 * HIPC_E_PEER_GONE, and the writer survives (SIGPIPE is at its default). */
static void a_writer_whose_reader_left_gets_peer_gone(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    int r = open(pl.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(r >= 0);
    hipc_pipe p;
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_WRITE_END, &p,
                                    0),
                     HIPC_OK);
    close(r);
    size_t done = 9;
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, &done, 100 * MS),
                     HIPC_E_PEER_GONE);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

/* A deadline hundreds of years away is kept as one, not overflowed. */
static void the_longest_timeouts_do_not_overflow(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    int r = open(pl.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(r >= 0);
    hipc_pipe w, rd;
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_WRITE_END, &w,
                                    INT64_MAX),
                     HIPC_OK);
    size_t done = 0;
    assert_int_equal(hipc_pipe_write_all(&w, "y", 1, &done, 0), HIPC_OK);
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &rd,
                                    INT64_MAX / 2),
                     HIPC_OK);
    char c = 0;
    assert_int_equal(hipc_pipe_read_exact(&rd, &c, 1, &done, 0), HIPC_OK);
    assert_int_equal(c, 'y');
    assert_int_equal(hipc_pipe_close(&rd), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&w), HIPC_OK);
    assert_int_equal(close(r), 0);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

/* ---- two processes that share nothing but the name --------------------- */

/* More than a pipe holds, so the writer must wait for the reader. */
#define BYTES (100 * 1024)
/* Deadlines that only a hang reaches: under the fault build's 1-byte
 * transfers the stream takes hundreds of thousands of syscalls. */
#define LONG (60000 * MS)

/* Each side opens the directory itself: nothing but the name is shared. */
static int side(const char *dir, enum hipc_pipe_end end, int64_t timeout)
{
    static unsigned char buf[BYTES], want[BYTES];
    hipc_fifo_dir d;
    hipc_pipe p;
    if (hipc_fifo_dir_open(&d, dir, NULL) != HIPC_OK)
        return 20;
    if (hipc_fifo_open(&d, "f", 0600, end, &p, timeout) != HIPC_OK)
        return 21;
    hipc_test_fill(want, BYTES, 7);
    size_t done = 0;
    if (end == HIPC_PIPE_WRITE_END) {
        if (hipc_pipe_write_all(&p, want, BYTES, &done, LONG) != HIPC_OK)
            return 22;
    } else {
        if (hipc_pipe_read_exact(&p, buf, BYTES, &done, LONG) != HIPC_OK ||
            memcmp(buf, want, BYTES) != 0)
            return 23;
        if (hipc_pipe_read_exact(&p, buf, 1, &done, LONG) != HIPC_E_EOF)
            return 24;
    }
    if (hipc_pipe_close(&p) != HIPC_OK || hipc_fifo_dir_close(&d) != HIPC_OK)
        return 25;
    return 0;
}

static pid_t start_side(const char *dir, enum hipc_pipe_end end)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(side(dir, end, LONG));
    return pid;
}

static void meet(enum hipc_pipe_end first)
{
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    pid_t a = start_side(pl.dir, first);
    /* The first side is really waiting (in poll) before the second comes. */
    if (!hipc_test_syscall_numbers_are_foreign())
        assert_true(hipc_test_wait_blocked_in(a, POLL_NR));
    pid_t b =
        start_side(pl.dir, first == HIPC_PIPE_READ_END ? HIPC_PIPE_WRITE_END
                                                       : HIPC_PIPE_READ_END);
    assert_int_equal(hipc_test_wait_child(a, 90), 0);
    assert_int_equal(hipc_test_wait_child(b, 90), 0);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

static void unrelated_processes_meet_reader_first(void **state)
{
    (void)state;
    meet(HIPC_PIPE_READ_END);
}

static void unrelated_processes_meet_writer_first(void **state)
{
    (void)state;
    meet(HIPC_PIPE_WRITE_END);
}

/* The writer may come before the FIFO exists: it waits for the name. */
static void a_writer_waits_for_the_name_to_appear(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    pid_t w = start_side(pl.dir, HIPC_PIPE_WRITE_END);
    if (!hipc_test_syscall_numbers_are_foreign())
        assert_true(hipc_test_wait_blocked_in(w, POLL_NR));
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    assert_int_equal(side(pl.dir, HIPC_PIPE_READ_END, LONG), 0);
    assert_int_equal(hipc_test_wait_child(w, 90), 0);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

/* A reader waits on the FIFO it opened; one made anew under the name is
 * another FIFO, where a writer finds no reader. Neither blocks for ever. */
static void a_fifo_recreated_under_a_waiting_reader_is_another(void **state)
{
    (void)state;
    /* KNOWN (issue 14): under valgrind this case ends with one descriptor
     * more than it began with; not yet explained, so not run there. */
    if (hipc_test_under_valgrind())
        hipc_test_skip("known descriptor count mismatch under valgrind "
                       "(issue 14, open)");
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    fflush(NULL);
    pid_t r = fork();
    assert_true(r >= 0);
    if (r == 0) {
        hipc_pipe p;
        int rc =
            hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p, 300 * MS);
        _exit(rc == HIPC_E_TIMEDOUT ? 0 : 1);
    }
    if (!hipc_test_syscall_numbers_are_foreign())
        assert_true(hipc_test_wait_blocked_in(r, POLL_NR));
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    hipc_pipe p;
    assert_int_equal(hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_WRITE_END, &p,
                                    0),
                     HIPC_E_AGAIN);
    assert_int_equal(pl.d.sys_errno, ENXIO);
    assert_int_equal(hipc_test_wait_child(r, 10), 0);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

/* A writer arriving around the reader's deadline: the reader either got
 * it (and all its data) or timed out, never anything else, and leaks
 * nothing either way. */
static void a_peer_arriving_at_the_deadline_is_all_or_nothing(void **state)
{
    (void)state;
    struct place pl;
    place_open(&pl);
    assert_int_equal(hipc_fifo_create(&pl.d, "f", 0600), HIPC_OK);
    int got = 0, missed = 0;
    for (int i = 0; i < 12; i++) {
        fflush(NULL);
        pid_t w = fork();
        assert_true(w >= 0);
        if (w == 0) {
            /* The reader may give up between this open and write. */
            signal(SIGPIPE, SIG_IGN);
            struct timespec ts = {0, (long)(i % 6) * 2 * MS};
            nanosleep(&ts, NULL);
            int fd = open(pl.path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            _exit(fd < 0 || write(fd, "ok", 2) == 2 || errno == EPIPE ? 0 : 1);
        }
        hipc_pipe p;
        int rc =
            hipc_fifo_open(&pl.d, "f", 0600, HIPC_PIPE_READ_END, &p, 5 * MS);
        if (rc == HIPC_OK) {
            char buf[2];
            size_t done = 0;
            assert_int_equal(hipc_pipe_read_exact(&p, buf, 2, &done, 0),
                             HIPC_OK);
            assert_memory_equal(buf, "ok", 2);
            assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
            got++;
        } else {
            assert_int_equal(rc, HIPC_E_TIMEDOUT);
            missed++;
        }
        assert_int_equal(hipc_test_wait_child(w, 10), 0);
    }
    assert_int_equal(got + missed, 12);
    assert_int_equal(hipc_fifo_remove(&pl.d, "f", 0600), HIPC_OK);
    place_close(&pl);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    T(names_are_single_components),
    T(every_call_checks_its_arguments_first),
    T(garbage_copied_and_closed_handles_are_refused),
    T(directory_arguments_are_checked),
    T(a_symlinked_or_open_directory_is_refused),
    T(a_directory_of_another_user_is_refused),
    T(create_gives_the_exact_mode_whatever_the_umask),
    T(remove_refuses_what_is_not_our_fifo),
    T(open_refuses_symlinks_files_and_wider_modes),
    T(a_fifo_of_another_owner_is_refused_unless_expected),
    T(an_unprivileged_process_is_kept_out),
    T(an_unprivileged_writer_waits_while_the_fifo_is_made),
    T(a_side_without_peer_gives_up_at_its_deadline),
    T(a_reader_sees_a_writer_that_only_opens_and_closes),
    T(a_writer_whose_reader_left_gets_peer_gone),
    T(the_longest_timeouts_do_not_overflow),
    T(unrelated_processes_meet_reader_first),
    T(unrelated_processes_meet_writer_first),
    T(a_writer_waits_for_the_name_to_appear),
    T(a_fifo_recreated_under_a_waiting_reader_is_another),
    T(a_peer_arriving_at_the_deadline_is_all_or_nothing),
};

HIPC_TEST_MAIN(tests)
