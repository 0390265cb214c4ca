/* SPDX-License-Identifier: MIT */
/* Fault injection over named pipes (lib/fifo.c): every syscall of each
 * scenario fails in turn with every errno the kernel documents for it;
 * the driver (tests/fault/driver.h) checks the code, the kept errno and
 * that no descriptor or child is left, and the next clean run proves that
 * no FIFO was left behind either (its mkfifoat would meet the leftover).
 * Then the races no test could time, set off right before a chosen call:
 * an attacker swapping the new FIFO for a symlink or a file between
 * mkfifoat and open, and the FIFO removed and made anew between a
 * writer's tries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/fifo.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("FIFOs, which a world does not simulate")

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define MS(ms) ((int64_t)(ms)*1000000)

/* The private directory of the whole program, made by main's test. */
static char dir[64];
static char path[128];

struct fifo_ctx {
    hipc_fifo_dir d;
    hipc_pipe w, r;
    int raw;       /* a plain reader's descriptor + 1 (0: none) */
    int create_rc; /* 1 until create was called */
    int removed;
};

/* What create left in place: ours after success, or when it judged the
 * FIFO not its own (it then leaves it, as documented). */
static int fifo_left(const struct fifo_ctx *c)
{
    return (c->create_rc == HIPC_OK && !c->removed) ||
           c->create_rc == HIPC_E_UNSAFE || c->create_rc == HIPC_E_NOT_PIPE;
}

static void fifo_cleanup(void *ctx)
{
    struct fifo_ctx *c = ctx;
    hipc_pipe_close(&c->w);
    hipc_pipe_close(&c->r);
    if (c->raw > 0)
        close(c->raw - 1);
    if (fifo_left(c))
        unlink(path);
    hipc_fifo_dir_close(&c->d);
}

static int start(struct fifo_ctx *c, int *sys_errno, mode_t mode)
{
    c->create_rc = 1;
    FAULT_STEP(c->d, hipc_fifo_dir_open(&c->d, dir, NULL));
    c->create_rc = hipc_fifo_create(&c->d, "f", mode);
    FAULT_STEP(c->d, c->create_rc);
    return HIPC_OK;
}

static int finish(struct fifo_ctx *c, int *sys_errno, mode_t mode)
{
    FAULT_STEP(c->d, hipc_fifo_remove(&c->d, "f", mode));
    c->removed = 1;
    FAULT_STEP(c->d, hipc_fifo_dir_close(&c->d));
    return HIPC_OK;
}

static int run_create_remove(void *ctx, int *sys_errno)
{
    struct fifo_ctx *c = ctx;
    int rc = start(c, sys_errno, 0640);
    return rc != HIPC_OK ? rc : finish(c, sys_errno, 0640);
}

/* A plain reader makes the write side open at once; the write's bytes make
 * the read side open at once. */
static int run_meet(void *ctx, int *sys_errno)
{
    struct fifo_ctx *c = ctx;
    int rc = start(c, sys_errno, 0600);
    if (rc != HIPC_OK)
        return rc;
    c->raw = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) + 1;
    FAULT_STEP(c->d, hipc_fifo_open(&c->d, "f", 0600, HIPC_PIPE_WRITE_END,
                                    &c->w, MS(1000)));
    size_t done = 0;
    FAULT_STEP(c->w, hipc_pipe_write_all(&c->w, "hello", 5, &done, MS(1000)));
    FAULT_STEP(c->d, hipc_fifo_open(&c->d, "f", 0600, HIPC_PIPE_READ_END, &c->r,
                                    MS(1000)));
    char buf[5];
    FAULT_STEP(c->r, hipc_pipe_read_exact(&c->r, buf, 5, &done, MS(1000)));
    if (memcmp(buf, "hello", 5) != 0)
        return HIPC_E_CORRUPT;
    FAULT_STEP(c->w, hipc_pipe_close(&c->w));
    FAULT_STEP(c->r, hipc_pipe_close(&c->r));
    return finish(c, sys_errno, 0600);
}

/* No peer comes: both sides must give up at their deadline (which is this
 * scenario's success), through naps and polls that can fail. */
static int expect_timeout(struct fifo_ctx *c, enum hipc_pipe_end end,
                          int *sys_errno)
{
    hipc_pipe *p = end == HIPC_PIPE_READ_END ? &c->r : &c->w;
    int rc = hipc_fifo_open(&c->d, "f", 0600, end, p, MS(3));
    if (rc == HIPC_E_TIMEDOUT)
        return HIPC_OK;
    *sys_errno = c->d.sys_errno;
    return rc == HIPC_OK ? HIPC_E_BAD_STATE : rc;
}

static int run_no_peer(void *ctx, int *sys_errno)
{
    struct fifo_ctx *c = ctx;
    int rc = start(c, sys_errno, 0600);
    if (rc == HIPC_OK)
        rc = expect_timeout(c, HIPC_PIPE_WRITE_END, sys_errno);
    if (rc == HIPC_OK)
        rc = expect_timeout(c, HIPC_PIPE_READ_END, sys_errno);
    return rc != HIPC_OK ? rc : finish(c, sys_errno, 0600);
}

/* Answers that are right for this module beyond the common mapping. */
static int fifo_accept(enum hipc__sys_call call, int err, int rc)
{
    if (call != HIPC_SYS_OPENAT)
        return 0;
    /* No name yet, or no reader yet: tried again within the deadline. */
    if ((err == ENOENT || err == ENXIO) && rc == HIPC_OK)
        return 1;
    /* A read side meets ENXIO only at a socket. */
    if (err == ENXIO && rc == HIPC_E_NOT_PIPE)
        return 1;
    return err == ELOOP && rc == HIPC_E_UNSAFE;
}

static const struct fault_scenario scenarios[] = {
    {"fifo create, remove", run_create_remove, fifo_cleanup, fifo_accept},
    {"fifo write side, read side, transfer", run_meet, fifo_cleanup,
     fifo_accept},
    {"fifo sides with no peer time out", run_no_peer, fifo_cleanup,
     fifo_accept},
};

static void make_dir(void)
{
    strcpy(dir, "/tmp/hipc-fifo-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
}

static void
every_fifo_syscall_failure_is_reported_and_leaves_nothing(void **state)
{
    (void)state;
    make_dir();
    FAULT_DRIVE_ALL(scenarios);
    /* Empty: nothing any case made is left. */
    assert_int_equal(rmdir(dir), 0);
}

/* ---- races set off right before a chosen call --------------------------- */

static void swap_for_symlink(void *arg)
{
    (void)arg;
    if (unlink(path) != 0 || symlink("/dev/null", path) != 0)
        abort();
}

static void swap_for_file(void *arg)
{
    (void)arg;
    if (unlink(path) != 0)
        abort();
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) != 0)
        abort();
}

static mode_t lmode(void)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode;
}

/* Between mkfifoat and the open that checks it, the FIFO is replaced:
 * create refuses, and leaves the attacker's object alone. */
static void a_fifo_swapped_before_create_checks_it_is_refused(void **state)
{
    (void)state;
    make_dir();
    hipc_fifo_dir d;
    assert_int_equal(hipc_fifo_dir_open(&d, dir, NULL), HIPC_OK);
    hipc_fault_hook_nth(HIPC_SYS_OPENAT, 1, swap_for_symlink, NULL);
    assert_int_equal(hipc_fifo_create(&d, "f", 0600), HIPC_E_UNSAFE);
    assert_int_equal(d.sys_errno, ELOOP);
    assert_true(S_ISLNK(lmode()));
    assert_int_equal(unlink(path), 0);
    hipc_fault_hook_nth(HIPC_SYS_OPENAT, 1, swap_for_file, NULL);
    assert_int_equal(hipc_fifo_create(&d, "f", 0600), HIPC_E_NOT_PIPE);
    assert_true(S_ISREG(lmode()));
    assert_int_equal(unlink(path), 0);
    hipc_fault_reset();
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(rmdir(dir), 0);
}

/* Between the check of the name and the use of it there is nothing: the
 * descriptor opened is the one checked. Swapped right before a side's
 * open, the swap is seen. */
static void a_fifo_swapped_before_open_is_refused(void **state)
{
    (void)state;
    make_dir();
    hipc_fifo_dir d;
    hipc_pipe p;
    assert_int_equal(hipc_fifo_dir_open(&d, dir, NULL), HIPC_OK);
    for (int e = 0; e < 2; e++) {
        enum hipc_pipe_end end = e ? HIPC_PIPE_WRITE_END : HIPC_PIPE_READ_END;
        assert_int_equal(hipc_fifo_create(&d, "f", 0600), HIPC_OK);
        hipc_fault_hook_nth(HIPC_SYS_OPENAT, 1, swap_for_symlink, NULL);
        assert_int_equal(hipc_fifo_open(&d, "f", 0600, end, &p, MS(50)),
                         HIPC_E_UNSAFE);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(hipc_fifo_create(&d, "f", 0600), HIPC_OK);
        hipc_fault_hook_nth(HIPC_SYS_OPENAT, 1, swap_for_file, NULL);
        assert_int_equal(hipc_fifo_open(&d, "f", 0600, end, &p, MS(50)),
                         HIPC_E_NOT_PIPE);
        assert_int_equal(unlink(path), 0);
    }
    hipc_fault_reset();
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(rmdir(dir), 0);
}

static int raw_reader = -1;

/* The FIFO a writer tried is removed, and a new one made with a reader. */
static void remake_with_reader(void *arg)
{
    (void)arg;
    if (unlink(path) != 0 || mkfifo(path, 0600) != 0 || chmod(path, 0600))
        abort();
    raw_reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (raw_reader < 0)
        abort();
}

/* Each try of a write side opens the name afresh: the FIFO made anew
 * between two tries, with a reader on it, is the one it opens. */
static void a_writer_finds_a_fifo_made_anew_between_tries(void **state)
{
    (void)state;
    make_dir();
    hipc_fifo_dir d;
    hipc_pipe p;
    assert_int_equal(hipc_fifo_dir_open(&d, dir, NULL), HIPC_OK);
    assert_int_equal(hipc_fifo_create(&d, "f", 0600), HIPC_OK);
    hipc_fault_hook_nth(HIPC_SYS_OPENAT, 2, remake_with_reader, NULL);
    assert_int_equal(hipc_fifo_open(&d, "f", 0600, HIPC_PIPE_WRITE_END, &p,
                                    MS(5000)),
                     HIPC_OK);
    hipc_fault_reset();
    size_t done = 0;
    assert_int_equal(hipc_pipe_write_all(&p, "z", 1, &done, 0), HIPC_OK);
    char c = 0;
    assert_int_equal(read(raw_reader, &c, 1), 1);
    assert_int_equal(c, 'z');
    assert_int_equal(close(raw_reader), 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_fifo_remove(&d, "f", 0600), HIPC_OK);
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(rmdir(dir), 0);
}

static void finish_making(void *arg)
{
    (void)arg;
    if (chmod(path, 0600) != 0)
        abort();
}

/* A FIFO of mode 0400 is still being made: root opens it even so, sees the
 * mode on its descriptor and tries again, until the maker has set the
 * FIFO's mode (set off right before the second try). */
static void a_root_writer_waits_while_the_fifo_is_made(void **state)
{
    (void)state;
    make_dir();
    hipc_fifo_dir d;
    hipc_pipe p;
    assert_int_equal(hipc_fifo_dir_open(&d, dir, NULL), HIPC_OK);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(chmod(path, 0400), 0);
    raw_reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(raw_reader >= 0);
    hipc_fault_hook_nth(HIPC_SYS_OPENAT, 2, finish_making, NULL);
    int rc = hipc_fifo_open(&d, "f", 0600, HIPC_PIPE_WRITE_END, &p, MS(5000));
    hipc_fault_reset();
    assert_int_equal(rc, HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(close(raw_reader), 0);
    assert_int_equal(hipc_fifo_remove(&d, "f", 0600), HIPC_OK);
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(rmdir(dir), 0);
}

/* The FIFO a reader opened is removed while it waits (the remove's own
 * unlink, set off right before the reader's poll): it waits out its
 * deadline on the old one, and leaves nothing. */
static void remove_name(void *arg)
{
    (void)arg;
    if (unlink(path) != 0)
        abort();
}

static void a_reader_whose_fifo_is_removed_times_out(void **state)
{
    (void)state;
    make_dir();
    hipc_fifo_dir d;
    hipc_pipe p;
    assert_int_equal(hipc_fifo_dir_open(&d, dir, NULL), HIPC_OK);
    assert_int_equal(hipc_fifo_create(&d, "f", 0600), HIPC_OK);
    hipc_fault_hook_nth(HIPC_SYS_POLL, 1, remove_name, NULL);
    assert_int_equal(hipc_fifo_open(&d, "f", 0600, HIPC_PIPE_READ_END, &p,
                                    MS(20)),
                     HIPC_E_TIMEDOUT);
    hipc_fault_reset();
    assert_int_equal(hipc_fifo_remove(&d, "f", 0600), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_fifo_dir_close(&d), HIPC_OK);
    assert_int_equal(rmdir(dir), 0);
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, hipc_test_fd_setup,                     \
                                    hipc_test_fd_teardown)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_fifo_syscall_failure_is_reported_and_leaves_nothing),
    T(a_fifo_swapped_before_create_checks_it_is_refused),
    T(a_fifo_swapped_before_open_is_refused),
    T(a_writer_finds_a_fifo_made_anew_between_tries),
    T(a_reader_whose_fifo_is_removed_times_out),
    T(a_root_writer_waits_while_the_fifo_is_made),
};

HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
