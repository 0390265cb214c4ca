/* SPDX-License-Identifier: MIT */
/* hipc — named pipes (FIFOs) for processes that share nothing but a name.
 *
 * A FIFO lives in a directory that the caller names once:
 * hipc_fifo_dir_open() opens it (O_PATH | O_NOFOLLOW) and keeps the
 * descriptor (O_PATH: it opens the last component itself, without
 * following or reading it), and every later call works below that descriptor (mkfifoat,
 * openat, unlinkat), never through the path again, so a path swapped
 * after the directory was opened cannot redirect a call. Symlinks in the
 * path before its last component are followed when the directory is
 * opened (/var/run -> /run); the last component may not be one.
 *
 * THE DIRECTORY must be safe, or hipc_fifo_dir_open() refuses it with
 * HIPC_E_UNSAFE: owned by the caller (its file-system uid, the euid unless
 * changed with setfsuid), by the expected owner of the FIFOs (see
 * hipc_fifo_config) or by root; and not writable by group or others
 * unless it is sticky (like /tmp), where nobody but an entry's owner (and
 * the directory's owner, and root) can remove or rename the entry.
 *
 * A NAME is one path component: 1 to NAME_MAX (255) bytes, no '/', not "."
 * or "..", else HIPC_E_BAD_PATH (hipc_fifo_check_name()).
 *
 * A MODE is the FIFO's permission bits: 0 to 0777 with at least owner read
 * and write (0600), else HIPC_E_BAD_MODE. hipc_fifo_create() gives the
 * FIFO exactly that mode, whatever the umask (it sets it again with
 * fchmod after opening the new FIFO). hipc_fifo_open() and
 * hipc_fifo_remove() take the widest mode they accept: a FIFO with any
 * permission bit (or setuid, setgid, sticky bit) outside it is refused.
 *
 * WHAT IS REFUSED. Every FIFO is opened with O_NOFOLLOW | O_NONBLOCK |
 * O_NOCTTY and then checked on its descriptor (fstat): a symlink in the
 * name's place (ELOOP), another owner than expected, or a mode wider than
 * asked is HIPC_E_UNSAFE (an ACL entry shows in the group bits, as its
 * mask); anything but a FIFO is HIPC_E_NOT_PIPE. The
 * checked descriptor is the one used, so nothing can be swapped between
 * the check and the use. Opening a regular file or a FIFO without O_TRUNC
 * and O_NONBLOCK has no lasting effect, and only root can put a device
 * node in the name's place, so opening before checking is safe.
 *
 * OPENED. hipc_fifo_open() hands back a hipc_pipe end (hipc_pipe_adopt(),
 * flags 0) with all of hipc/pipe.h's guarantees: timeouts on every
 * transfer, complete reads and writes, no SIGPIPE. The descriptor is
 * O_CLOEXEC and O_NONBLOCK: anyone allowed to open the name can add a
 * second reader or writer, and only a non-blocking descriptor keeps every
 * deadline then (see "Blocking and non-blocking descriptors" in
 * hipc/pipe.h). What "opened" means:
 *   - The write side is opened once a reader holds the FIFO open: the
 *     open succeeded (O_WRONLY | O_NONBLOCK fails with ENXIO while there is
 *     no reader). A reader that then closes at once makes the first write
 *     HIPC_E_PEER_GONE, as with any pipe.
 *   - The read side is opened once a writer has come: its first byte is
 *     in the FIFO, or it has opened and closed again (then the first read
 *     is HIPC_E_EOF). A writer that opens and writes nothing is not seen
 *     until it writes or closes: the kernel offers no way to see a silent
 *     writer without taking a byte. Waiting for the writer before handing
 *     the end out is what makes HIPC_E_EOF mean "the writer has gone": a
 *     read end with no writer ever reads end of file at once.
 * Both sides wait, within the deadline, for the name to appear (ENOENT)
 * as well: the side that comes first need not know whether the other has
 * created the FIFO yet.
 *
 * DEADLINES. The timeout is taken as in hipc/pipe.h (last argument; 0
 * tries once, HIPC_FOREVER waits until the other side comes, other
 * negatives are HIPC_E_BAD_TIMEOUT; the deadline is CLOCK_MONOTONIC,
 * fixed when the call starts, and EINTR never extends it). A read side
 * whose FIFO exists sleeps in poll and wakes when the writer writes or
 * closes, at most a millisecond late (poll's unit, rounded up). A write
 * side (and either side while the name is missing) has no event to sleep
 * on: it tries again at growing intervals of 1 to 16 ms, so a reader
 * (or the name) is seen up to 16 ms after it came, and the deadline is
 * kept to within poll's rounding. Running out is HIPC_E_AGAIN (timeout 0)
 * or HIPC_E_TIMEDOUT, with sys_errno ENOENT (no FIFO yet), ENXIO (no
 * reader yet) or 0 (a read side that saw no writer), and nothing open.
 *
 * MAKING. hipc_fifo_create() must open the new FIFO's read side for a
 * moment (to check it and to set its mode with fchmod), and a writer
 * waiting for the name must not take that moment for a reader. So the
 * FIFO is made with mode 0400 (owner read only), and a write side treats
 * a FIFO of the expected owner with exactly mode 0400 as one still being
 * made: not yet there (its open fails with EACCES, or, for root, whose
 * permission is not checked, the mode is seen on the opened descriptor).
 * Do not give a FIFO mode 0400 yourself: writers would wait for it.
 *
 * A read side waits on the FIFO it opened: if that FIFO is removed and
 * another made under the name meanwhile, the reader goes on waiting on
 * the old one until its deadline (writers open the new one, and find no
 * reader there). Each try of a write side opens the name afresh.
 *
 * ERRORS. Each function lists every code it returns. Two groups recur:
 *   The handle codes: HIPC_E_NULL (the handle pointer is NULL),
 *   HIPC_E_BAD_HANDLE (never opened, garbage, or a copy: a handle is bound
 *   to the address it was opened at) and HIPC_E_STALE_HANDLE (closed).
 *   The syscall codes: the errno is kept in `sys_errno` and maps to
 *   HIPC_E_BAD_FD (EBADF), HIPC_E_BAD_ADDR (EFAULT), HIPC_E_NOMEM (ENOMEM),
 *   HIPC_E_LIMIT (EMFILE, ENFILE, ENOSPC, EDQUOT), HIPC_E_PERM (EACCES,
 *   EPERM, EROFS), HIPC_E_NOT_FOUND (ENOENT), HIPC_E_EXISTS (EEXIST),
 *   HIPC_E_AGAIN (EAGAIN), HIPC_E_INTR (EINTR: close only),
 *   HIPC_E_UNSUPPORTED (ENOSYS, EOPNOTSUPP), HIPC_E_REMOVED (EIDRM) or
 *   HIPC_E_SYS (any other: EIO, EINVAL, ENAMETOOLONG...).
 * No function returns a code it does not list. */
#ifndef HIPC_FIFO_H
#define HIPC_FIFO_H

#include <stdint.h>
#include <sys/types.h>

#include "hipc/pipe.h"
#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hipc_fifo_config.flags: `owner` names the FIFOs' expected owner. Without
 * it (and with a NULL or zeroed config) the FIFOs must belong to the
 * caller's file-system uid, which is the uid hipc_fifo_create() gives
 * them. */
#define HIPC_FIFO_OWNER 0x01u
#define HIPC_FIFO_FLAGS_ALL_ 0x01u

typedef struct hipc_fifo_config {
    unsigned flags;
    uid_t owner; /* with HIPC_FIFO_OWNER: e.g. a daemon's uid */
} hipc_fifo_config;

/* A directory opened for FIFOs. Caller-allocated; needs no initialisation
 * before hipc_fifo_dir_open(), which overwrites it. */
typedef struct hipc_fifo_dir {
    /* Public, read-only: the errno of the last failed syscall, or 0 when
     * hipc's own checks found the failure. */
    int sys_errno;
    /* Private: do not touch. */
    int fd_;
    uid_t owner_; /* whom the FIFOs must belong to */
    uid_t me_;    /* the caller's file-system uid */
    uint32_t magic_;
    uintptr_t self_;
} hipc_fifo_dir;

/* Checks a FIFO name (see NAME above). Returns HIPC_OK, HIPC_E_NULL or
 * HIPC_E_BAD_PATH. Makes no syscall. */
int hipc_fifo_check_name(const char *name);

/* Opens the directory `path` (absolute, or relative to the working
 * directory) and checks that it is safe (see THE DIRECTORY). `cfg` may be
 * NULL. Learning the caller's file-system uid costs a pipe2, an fstat and
 * two closes. Returns HIPC_OK, or HIPC_E_NULL (d, path), HIPC_E_BAD_FLAGS,
 * HIPC_E_BAD_PATH (path empty or PATH_MAX bytes or longer, or not a
 * directory; sys_errno ENOTDIR when a component before the last is not
 * one), HIPC_E_UNSAFE (the last component is a symlink, or the
 * directory's owner or mode is refused), or the syscall codes of
 * pipe2, fstat, openat and close. */
int hipc_fifo_dir_open(hipc_fifo_dir *d, const char *path,
                       const hipc_fifo_config *cfg);

/* Closes the directory's descriptor; FIFOs already opened stay open, and
 * FIFOs made stay in place. Returns HIPC_OK, or the handle codes, or the
 * syscall codes of close (the handle is closed whatever close says). */
int hipc_fifo_dir_close(hipc_fifo_dir *d);

/* Makes the FIFO `name` with exactly `mode`, then opens it (read side,
 * O_NONBLOCK, so it does not wait for a writer) to check it (a FIFO owned
 * by the caller) and to set the mode with fchmod, and closes it again. If
 * anything fails after mkfifoat made the FIFO, the FIFO is removed again,
 * unless it is no longer the caller's FIFO (HIPC_E_UNSAFE, HIPC_E_NOT_PIPE:
 * someone replaced it, and hipc does not touch their object). A writer
 * that is not hipc's (or a root writer in the instant between its open
 * and its fstat) may still open the FIFO while it is being made and see a
 * reader come and go: its first write then fails with EPIPE.
 * Returns HIPC_OK, or the handle codes, HIPC_E_NULL (name),
 * HIPC_E_BAD_PATH, HIPC_E_BAD_MODE, HIPC_E_EXISTS (the name is taken:
 * remove it first), HIPC_E_UNSAFE, HIPC_E_NOT_PIPE, or the syscall codes
 * of mkfifoat, openat, fstat, fchmod, unlinkat and close. */
int hipc_fifo_create(hipc_fifo_dir *d, const char *name, mode_t mode);

/* Opens `end` (HIPC_PIPE_READ_END or HIPC_PIPE_WRITE_END) of the FIFO
 * `name`, waiting within the deadline for the other side (see OPENED and
 * DEADLINES), and adopts it into `out` (overwritten first: a failed call
 * leaves it a handle every pipe call refuses). `mode` is the widest mode
 * accepted. The caller closes `out` with hipc_pipe_close().
 *
 * Returns HIPC_OK, or HIPC_E_NULL (out), the handle codes, HIPC_E_NULL
 * (name), HIPC_E_BAD_PATH, HIPC_E_BAD_MODE, HIPC_E_WRONG_END (no such
 * end), HIPC_E_BAD_TIMEOUT, HIPC_E_AGAIN (timeout 0), HIPC_E_TIMEDOUT,
 * HIPC_E_UNSAFE, HIPC_E_NOT_PIPE (not a FIFO; also EISDIR, and for a
 * read side ENXIO, which only a socket in the name's place gives: to a
 * write side a socket looks like a FIFO without a reader, and it waits
 * until its deadline), hipc_pipe_adopt()'s
 * codes, or the syscall codes of openat, fstat, poll and close. */
int hipc_fifo_open(hipc_fifo_dir *d, const char *name, mode_t mode,
                   enum hipc_pipe_end end, hipc_pipe *out, int64_t timeout_ns);

/* Removes the FIFO `name` if it is still one the caller accepts (a FIFO
 * of the expected owner, no wider than `mode`): opens the name with
 * O_PATH | O_NOFOLLOW (which opens neither side, so no peer notices),
 * checks it, then unlinkat. The race that remains: between the check and
 * unlinkat, a process that may rename or remove entries in the directory
 * (the owner of the FIFO, the directory's owner if not sticky, root) can
 * put another object under the name, and that one is removed instead.
 * Ends already open go on working; a peer opening the name afterwards
 * finds nothing. Returns HIPC_OK, or the handle codes, HIPC_E_NULL
 * (name), HIPC_E_BAD_PATH, HIPC_E_BAD_MODE, HIPC_E_NOT_FOUND,
 * HIPC_E_UNSAFE (a symlink, another owner, a wider mode), HIPC_E_NOT_PIPE,
 * or the syscall codes of openat, fstat, unlinkat and close. */
int hipc_fifo_remove(hipc_fifo_dir *d, const char *name, mode_t mode);

#ifdef __cplusplus
}
#endif
#endif
