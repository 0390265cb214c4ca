/* SPDX-License-Identifier: MIT */
/* hipc — named pipes: made, opened and removed below a directory
 * descriptor, checked on the descriptor that is used. */
#include "hipc/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "hipc/error.h"
#include "internal.h"
#include "sys.h"

#define DIR_MAGIC 0x68466964u /* "hFid" while open */
#define DIR_DEAD 0x64466964u  /* "dFid" once closed */

/* The longest nap between two tries of an open that has no event to
 * sleep on (no reader yet, no name yet). */
#define NAP_MAX_MS 16

#define MODE_BITS 07777u

/* The mode of a FIFO being made (MAKING in fifo.h). */
#define MAKING_MODE 0400u

/* Not a failure: the other side (or the name) is not there yet. */
#define NOT_YET 1

enum wait_how { WAIT_NOT, WAIT_UNTIL, WAIT_FOREVER };

struct deadline {
    enum wait_how how;
    int64_t at; /* CLOCK_MONOTONIC ns, for WAIT_UNTIL */
    int nap;    /* the next nap, in ms */
};

static int check(const hipc_fifo_dir *d)
{
    if (d == NULL)
        return HIPC_E_NULL;
    if (d->magic_ == DIR_DEAD)
        return HIPC_E_STALE_HANDLE;
    /* A copy made by value would use, and could close, a descriptor the
     * original holds or a later one got with the same number. */
    if (d->magic_ != DIR_MAGIC || d->self_ != (uintptr_t)d)
        return HIPC_E_BAD_HANDLE;
    return HIPC_OK;
}

/* A failed seam call, with the errnos of named objects that the common
 * map leaves as HIPC_E_SYS given their plain meaning. */
static int fail(hipc_fifo_dir *d, int neg)
{
    if (neg == -EROFS)
        return hipc__fail_as(&d->sys_errno, neg, HIPC_E_PERM);
    if (neg == -EDQUOT)
        return hipc__fail_as(&d->sys_errno, neg, HIPC_E_LIMIT);
    return hipc__fail(&d->sys_errno, neg);
}

int hipc_fifo_check_name(const char *name)
{
    if (name == NULL)
        return HIPC_E_NULL;
    size_t n = strnlen(name, NAME_MAX + 1);
    if (n == 0 || n > NAME_MAX || memchr(name, '/', n) != NULL)
        return HIPC_E_BAD_PATH;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return HIPC_E_BAD_PATH;
    return HIPC_OK;
}

static int mode_valid(mode_t mode)
{
    return (mode & ~(mode_t)0777) == 0 && (mode & 0600) == 0600;
}

/* The handle, then the name, then the mode, each with its own code. */
static int begin(hipc_fifo_dir *d, const char *name, mode_t mode)
{
    int rc = check(d);
    if (rc != HIPC_OK)
        return rc;
    d->sys_errno = 0;
    rc = hipc_fifo_check_name(name);
    if (rc != HIPC_OK)
        return rc;
    return mode_valid(mode) ? HIPC_OK : HIPC_E_BAD_MODE;
}

/* openat with EINTR retried (only a blocking open sleeps, and every open
 * here is O_NONBLOCK or O_PATH, but a retry costs nothing). A descriptor,
 * or -errno. */
static int open_at(int dirfd, const char *name, int flags)
{
    int fd;
    while ((fd = hipc__sys_openat(dirfd, name, flags, 0)) == -EINTR)
        ;
    return fd;
}

/* THE DIRECTORY (fifo.h): owned by us, the expected owner or root, and
 * writable by nobody else unless sticky. */
static int dir_safe(const struct stat *st, uid_t me, uid_t owner)
{
    if (st->st_uid != me && st->st_uid != owner && st->st_uid != 0)
        return 0;
    return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
           (st->st_mode & S_ISVTX) != 0;
}

/* The directory, judged on its descriptor: O_PATH opened the last
 * component itself, without following it or touching what it is. */
static int dir_check(hipc_fifo_dir *d)
{
    struct stat st;
    int rc = hipc__sys_fstat(d->fd_, &st);
    if (rc < 0)
        return fail(d, rc);
    if (S_ISLNK(st.st_mode))
        return HIPC_E_UNSAFE;
    if (!S_ISDIR(st.st_mode))
        return HIPC_E_BAD_PATH;
    return dir_safe(&st, d->me_, d->owner_) ? HIPC_OK : HIPC_E_UNSAFE;
}

static int dir_open_fd(hipc_fifo_dir *d, const char *path)
{
    int fd = open_at(AT_FDCWD, path, O_PATH | O_NOFOLLOW);
    if (fd == -ENOTDIR)
        return hipc__fail_as(&d->sys_errno, fd, HIPC_E_BAD_PATH);
    if (fd < 0)
        return fail(d, fd);
    d->fd_ = fd;
    int rc = dir_check(d);
    if (rc != HIPC_OK) {
        (void)hipc__sys_close(fd);
        d->fd_ = -1;
    }
    return rc;
}

int hipc_fifo_dir_open(hipc_fifo_dir *d, const char *path,
                       const hipc_fifo_config *cfg)
{
    if (d == NULL)
        return HIPC_E_NULL;
    *d = (hipc_fifo_dir){.fd_ = -1, .self_ = (uintptr_t)d};
    if (path == NULL)
        return HIPC_E_NULL;
    unsigned flags = cfg != NULL ? cfg->flags : 0u;
    if ((flags & ~(unsigned)HIPC_FIFO_FLAGS_ALL_) != 0)
        return HIPC_E_BAD_FLAGS;
    size_t n = strnlen(path, PATH_MAX);
    if (n == 0 || n == PATH_MAX)
        return HIPC_E_BAD_PATH;
    d->me_ = hipc__sys_geteuid();
    d->owner_ = (flags & HIPC_FIFO_OWNER) ? cfg->owner : d->me_;
    int rc = dir_open_fd(d, path);
    if (rc != HIPC_OK)
        return rc;
    d->magic_ = DIR_MAGIC;
    return HIPC_OK;
}

int hipc_fifo_dir_close(hipc_fifo_dir *d)
{
    int rc = check(d);
    if (rc != HIPC_OK)
        return rc;
    d->sys_errno = 0;
    rc = hipc__sys_close(d->fd_);
    d->fd_ = -1;
    d->magic_ = DIR_DEAD;
    return rc < 0 ? fail(d, rc) : HIPC_OK;
}

/* WHAT IS REFUSED (fifo.h), judged on the descriptor: HIPC_OK,
 * HIPC_E_NOT_PIPE or HIPC_E_UNSAFE. A symlink (seen through O_PATH) is
 * refused as unsafe, before asking whether it is a FIFO. */
static int judge(const struct stat *st, uid_t owner, mode_t mode)
{
    if (S_ISLNK(st->st_mode))
        return HIPC_E_UNSAFE;
    if (!S_ISFIFO(st->st_mode))
        return HIPC_E_NOT_PIPE;
    if (st->st_uid != owner || (st->st_mode & MODE_BITS & ~mode) != 0)
        return HIPC_E_UNSAFE;
    return HIPC_OK;
}

/* fstat into *st, then judge(); closes fd unless it is accepted. */
static int verify(hipc_fifo_dir *d, int fd, uid_t owner, mode_t mode,
                  struct stat *st)
{
    int rc = hipc__sys_fstat(fd, st);
    rc = rc < 0 ? fail(d, rc) : judge(st, owner, mode);
    if (rc != HIPC_OK)
        (void)hipc__sys_close(fd);
    return rc;
}

/* Whether a create that failed after mkfifoat leaves the name to
 * someone else: a symlink or another object there now is not ours. */
static int not_ours(int rc)
{
    return rc == HIPC_E_UNSAFE || rc == HIPC_E_NOT_PIPE;
}

/* Opens the new FIFO, checks that it is ours and gives it its mode. */
static int settle(hipc_fifo_dir *d, const char *name, mode_t mode)
{
    int fd =
        open_at(d->fd_, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return fd == -ELOOP ? hipc__fail_as(&d->sys_errno, fd, HIPC_E_UNSAFE)
                            : fail(d, fd);
    /* The umask may only have narrowed MAKING_MODE. */
    struct stat st;
    int rc = verify(d, fd, d->me_, MAKING_MODE, &st);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc__sys_fchmod(fd, mode);
    (void)hipc__sys_close(fd);
    return rc < 0 ? fail(d, rc) : HIPC_OK;
}

int hipc_fifo_create(hipc_fifo_dir *d, const char *name, mode_t mode)
{
    int rc = begin(d, name, mode);
    if (rc != HIPC_OK)
        return rc;
    /* Made owner-read-only, so that no writer of ours can open it while
     * it is being checked and has its read side open here (see MAKING). */
    rc = hipc__sys_mkfifoat(d->fd_, name, MAKING_MODE);
    if (rc < 0)
        return fail(d, rc);
    rc = settle(d, name, mode);
    if (rc != HIPC_OK && !not_ours(rc))
        (void)hipc__sys_unlinkat(d->fd_, name, 0);
    return rc;
}

/* ---- Opening with a deadline ------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    hipc__sys_clock_monotonic(&ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct deadline deadline_of(int64_t timeout_ns)
{
    struct deadline dl = {.how = WAIT_UNTIL, .nap = 1};
    if (timeout_ns == 0 || timeout_ns == HIPC_FOREVER) {
        dl.how = timeout_ns == 0 ? WAIT_NOT : WAIT_FOREVER;
        return dl;
    }
    int64_t now = now_ns();
    dl.at = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
    return dl;
}

/* poll's argument: -1 for ever, 0 once the time is up, else the
 * milliseconds left, rounded up so a poll never ends before the deadline. */
static int ms_left(const struct deadline *dl)
{
    if (dl->how != WAIT_UNTIL)
        return dl->how == WAIT_FOREVER ? -1 : 0;
    int64_t ns = dl->at - now_ns();
    if (ns <= 0)
        return 0;
    int64_t ms = (ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int ran_out(const struct deadline *dl)
{
    return dl->how == WAIT_NOT ? HIPC_E_AGAIN : HIPC_E_TIMEDOUT;
}

/* Sleeps before the next try: HIPC_OK, or the code of running out. */
static int nap(hipc_fifo_dir *d, struct deadline *dl)
{
    int ms = ms_left(dl);
    if (ms == 0)
        return ran_out(dl);
    if (ms < 0 || ms > dl->nap)
        ms = dl->nap;
    dl->nap = dl->nap < NAP_MAX_MS / 2 ? dl->nap * 2 : NAP_MAX_MS;
    /* A nap through poll with no descriptors. An interrupted one is taken
     * again (it is at most NAP_MAX_MS long, and the deadline is checked
     * before each try), so a stream of signals cannot make a busy loop. */
    int rc;
    while ((rc = hipc__sys_poll(NULL, 0, ms)) == -EINTR)
        ;
    return rc < 0 ? fail(d, rc) : HIPC_OK;
}

/* Whether the name is a FIFO of the expected owner that hipc_fifo_create()
 * is still making (mode MAKING_MODE): looked at through O_PATH, which opens
 * neither side. Any failure to look says no. */
static int being_made(hipc_fifo_dir *d, const char *name)
{
    int fd = open_at(d->fd_, name, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    struct stat st;
    int rc = hipc__sys_fstat(fd, &st);
    (void)hipc__sys_close(fd);
    return rc == 0 && S_ISFIFO(st.st_mode) && st.st_uid == d->owner_ &&
           (st.st_mode & MODE_BITS) == MAKING_MODE;
}

/* One try: the FIFO opened and accepted (*fd), NOT_YET with the errno
 * kept (no name yet; a write side with no reader yet), or a code. */
static int try_open(hipc_fifo_dir *d, const char *name, mode_t mode,
                    enum hipc_pipe_end end, int *fd)
{
    int acc = end == HIPC_PIPE_READ_END ? O_RDONLY : O_WRONLY;
    *fd = open_at(d->fd_, name, acc | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (*fd == -ENOENT || (*fd == -ENXIO && acc == O_WRONLY)) {
        d->sys_errno = -*fd;
        return NOT_YET;
    }
    if (*fd == -ELOOP)
        return hipc__fail_as(&d->sys_errno, *fd, HIPC_E_UNSAFE);
    /* A read side meets ENXIO only at a socket, a write side EISDIR at a
     * directory. */
    if (*fd == -ENXIO || *fd == -EISDIR)
        return hipc__fail_as(&d->sys_errno, *fd, HIPC_E_NOT_PIPE);
    if (*fd == -EACCES && acc == O_WRONLY)
        return being_made(d, name) ? NOT_YET : fail(d, *fd);
    if (*fd < 0)
        return fail(d, *fd);
    d->sys_errno = 0;
    struct stat st;
    int rc = verify(d, *fd, d->owner_, mode, &st);
    /* Root opens it even so (its permission is not checked). */
    if (rc == HIPC_OK && acc == O_WRONLY &&
        (st.st_mode & MODE_BITS) == MAKING_MODE) {
        (void)hipc__sys_close(*fd);
        return NOT_YET;
    }
    return rc;
}

/* A read side: waits until a writer has written or come and gone (see
 * OPENED in fifo.h). HIPC_OK, or a code with fd closed. */
static int await_writer(hipc_fifo_dir *d, int fd, const struct deadline *dl)
{
    for (;;) {
        int ms = ms_left(dl);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = hipc__sys_poll(&pfd, 1, ms);
        if (rc > 0)
            return HIPC_OK;
        if (rc == 0 && ms == 0)
            rc = ran_out(dl);
        else if (rc < 0 && rc != -EINTR)
            rc = fail(d, rc);
        else
            continue;
        (void)hipc__sys_close(fd);
        return rc;
    }
}

/* Tries until the FIFO is open and accepted, or the deadline passes. */
static int open_side(hipc_fifo_dir *d, const char *name, mode_t mode,
                     enum hipc_pipe_end end, struct deadline *dl, int *fd)
{
    for (;;) {
        int rc = try_open(d, name, mode, end, fd);
        if (rc != NOT_YET)
            return rc;
        if ((rc = nap(d, dl)) != HIPC_OK)
            return rc;
    }
}

int hipc_fifo_open(hipc_fifo_dir *d, const char *name, mode_t mode,
                   enum hipc_pipe_end end, hipc_pipe *out, int64_t timeout_ns)
{
    if (out == NULL)
        return HIPC_E_NULL;
    /* Zeroed: every pipe call refuses it until adopt succeeds. */
    memset(out, 0, sizeof *out);
    int rc = begin(d, name, mode);
    if (rc != HIPC_OK)
        return rc;
    if (end != HIPC_PIPE_READ_END && end != HIPC_PIPE_WRITE_END)
        return HIPC_E_WRONG_END;
    if (timeout_ns < 0 && timeout_ns != HIPC_FOREVER)
        return HIPC_E_BAD_TIMEOUT;
    struct deadline dl = deadline_of(timeout_ns);
    int fd = -1;
    rc = open_side(d, name, mode, end, &dl, &fd);
    if (rc == HIPC_OK && end == HIPC_PIPE_READ_END)
        rc = await_writer(d, fd, &dl);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_pipe_adopt(out, fd, end, 0);
    if (rc != HIPC_OK) {
        d->sys_errno = out->sys_errno;
        (void)hipc__sys_close(fd);
    }
    return rc;
}

int hipc_fifo_remove(hipc_fifo_dir *d, const char *name, mode_t mode)
{
    int rc = begin(d, name, mode);
    if (rc != HIPC_OK)
        return rc;
    /* O_PATH opens neither side of the FIFO: no peer can notice. */
    int fd = open_at(d->fd_, name, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return fail(d, fd);
    struct stat st;
    rc = verify(d, fd, d->owner_, mode, &st);
    if (rc != HIPC_OK)
        return rc;
    (void)hipc__sys_close(fd);
    rc = hipc__sys_unlinkat(d->fd_, name, 0);
    return rc < 0 ? fail(d, rc) : HIPC_OK;
}
