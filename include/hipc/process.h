/* SPDX-License-Identifier: MIT */
/* hipc — running and supervising programs over pipes.
 *
 * hipc_process_spawn() runs a program (a path, argv and envp: no shell, no
 * PATH search) with each of its standard descriptors chosen: inherited,
 * /dev/null, a pipe to the parent, a descriptor the caller gives, or (for
 * stderr) the same as stdout. The parent then waits with a timeout, sends
 * signals, stops it politely then forcefully, and reaps it; or
 * hipc_process_run() does all of it at once, popen-like, with a deadline
 * and a size cap.
 *
 * The child, before the program starts, holds descriptors 0, 1 and 2 and
 * nothing else (every other descriptor is closed at execve, whatever its
 * close-on-exec flag; on a kernel without close_range, before Linux 5.11,
 * and without /proc mounted, one numbered at or above the soft
 * RLIMIT_NOFILE stays open), has an empty signal mask, and every signal has its
 * default action, ignored ones included. Its other attributes (uid,
 * limits, umask, the rest of the environment) are the caller's.
 *
 * Failures before the program runs (a missing or non-executable file, a
 * working directory that cannot be entered...) are reported to the parent
 * by spawn itself as HIPC_E_EXEC with the kernel's errno in `sys_errno`
 * (ENOENT, EACCES, ENOEXEC, ENOTDIR...); such a child has been reaped and
 * no handle is open. A program that runs and exits with 127 is just that.
 *
 * The child is started as vfork starts one (clone with CLONE_VM and
 * CLONE_VFORK, on a stack of its own, as posix_spawn does): the calling
 * thread waits until the child has called execve (or failed), and no
 * page of the parent is copied, so a spawn costs about what posix_spawn costs, however large
 * the parent. All signals are blocked on the calling thread meanwhile, so
 * no handler of the caller's ever runs in the child; one that arrives is
 * delivered when spawn returns.
 *
 * Identity: the handle holds the child by a pidfd made by the same clone
 * call (CLONE_PIDFD, Linux 5.2 and later), so waiting, polling and
 * signalling name that process, never another one that later got the
 * same pid, even when the child ends and is reaped by someone else before
 * spawn returns. Where the kernel makes no pidfd the handle falls back to
 * the pid, which is just as safe as long
 * as the child is not reaped behind hipc's back: the kernel cannot reuse
 * the pid of a child that has not been reaped, and only hipc reaps it,
 * unless the caller calls wait(), waitpid(-1, ...) or waitid(P_ALL, ...)
 * elsewhere, or sets SIGCHLD to SIG_IGN or SA_NOCLDWAIT (then the kernel
 * reaps children itself as they end). Do neither while a handle is open.
 * Without a pidfd, waiting with a timeout looks at the child at growing
 * intervals of up to 16 ms instead of waking when it ends.
 *
 * SIGCHLD ignored by the caller (SIG_IGN or SA_NOCLDWAIT): the kernel
 * reaps each child as it ends, so no exit status exists to report; the
 * wait calls then return HIPC_E_CHILD with sys_errno ECHILD once the child
 * has ended (the pidfd still says when), and the handle counts it as
 * reaped. Signalling stays safe with a pidfd.
 *
 * No zombie: every path through the API reaps the child. hipc_process_close
 * on a child that has not been reaped kills it (SIGKILL) and reaps it;
 * there is no detaching. A spawn that fails after the child started kills
 * and reaps it too.
 *
 * Pipes: the parent's ends are hipc pipes inside the handle (`in`, `out`,
 * `err`), with every guarantee of hipc/pipe.h: timeouts, complete
 * transfers, no SIGPIPE (a write to a child that stopped reading is
 * HIPC_E_PEER_GONE). Use them in place (&p->in), and close `in` to give
 * the child end of file. Only those chosen as HIPC_PROCESS_IO_PIPE are
 * open; the others are never opened.
 *
 * A handle is used by one thread at a time. The child inherits no
 * descriptor of any thread beyond 0, 1 and 2, so spawning from several
 * threads at once is safe.
 *
 * Copies: as for pipes, a handle records its address, and a copy is
 * HIPC_E_BAD_HANDLE.
 *
 * ERROR CODES. Each function lists every code it returns. The handle
 * codes are HIPC_E_NULL (p is NULL), HIPC_E_BAD_HANDLE (never spawned,
 * garbage, or a copy) and HIPC_E_STALE_HANDLE (closed). The syscall codes
 * are as in hipc/pipe.h: the kernel's errno is in `sys_errno`, mapped to
 * HIPC_E_BAD_FD, HIPC_E_BAD_ADDR, HIPC_E_NOMEM, HIPC_E_LIMIT (EMFILE,
 * ENFILE, and EAGAIN from clone: too many processes), HIPC_E_PERM,
 * HIPC_E_NOT_FOUND, HIPC_E_UNSUPPORTED or HIPC_E_SYS.
 *
 * TIMEOUTS as everywhere in hipc: int64_t nanoseconds, last argument; 0
 * looks once (HIPC_E_AGAIN), HIPC_FOREVER waits until the child ends,
 * other negative values are HIPC_E_BAD_TIMEOUT.
 */
#ifndef HIPC_PROCESS_H
#define HIPC_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hipc/pipe.h"
#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The child's standard descriptors, as indexes into the config's arrays
 * and as selectors for hipc_process_get_fd(). */
enum hipc_process_stream {
    HIPC_PROCESS_STDIN = 0,
    HIPC_PROCESS_STDOUT = 1,
    HIPC_PROCESS_STDERR = 2,
    HIPC_PROCESS_PIDFD = 3 /* get_fd only: the descriptor of the child */
};

/* What one of the child's standard descriptors is. */
enum hipc_process_stdio {
    HIPC_PROCESS_IO_INHERIT = 0, /* the caller's descriptor 0, 1 or 2 */
    HIPC_PROCESS_IO_NULL,        /* /dev/null */
    HIPC_PROCESS_IO_PIPE,        /* a pipe to the parent (in, out, err) */
    HIPC_PROCESS_IO_FD,          /* the caller's descriptor stdio_fd[i] */
    HIPC_PROCESS_IO_STDOUT       /* stderr only: wherever stdout goes */
};

enum hipc_process_group {
    HIPC_PROCESS_GROUP_SAME = 0, /* the caller's process group */
    HIPC_PROCESS_GROUP_NEW,      /* setpgid(0, 0): its own group */
    HIPC_PROCESS_GROUP_SESSION   /* setsid(): a new session, no terminal */
};

/* Zeroed (or a NULL pointer) = every descriptor inherited, same group,
 * same directory, parent's pipe ends plain blocking pipes. */
typedef struct hipc_process_config {
    enum hipc_process_stdio stdio[3]; /* indexed by HIPC_PROCESS_STDIN... */
    int stdio_fd[3];                  /* for HIPC_PROCESS_IO_FD (the caller
                                      keeps it; the child gets a copy) */
    enum hipc_process_group group;
    const char *cwd;     /* the child's working directory, or NULL */
    unsigned pipe_flags; /* for the parent's ends: HIPC_PIPE_SIGPIPE_IGNORED */
} hipc_process_config;

typedef struct hipc_process {
    /* Public, read-only. */
    pid_t pid;
    int sys_errno;
    hipc_pipe in;  /* write end to the child's stdin (IO_PIPE only) */
    hipc_pipe out; /* read end of its stdout (IO_PIPE only) */
    hipc_pipe err; /* read end of its stderr (IO_PIPE only) */
    /* Private: do not touch. */
    uint32_t magic_;
    int pidfd_;      /* -1: the pid fallback */
    int reaped_;     /* the child is gone: status_ holds what it left */
    int status_;     /* exit code, or minus the signal */
    unsigned pipes_; /* which of in, out, err were opened */
    uintptr_t self_;
} hipc_process;

/* Starts `path` with `argv` (NULL-terminated; argv[0] is what the program
 * sees as its name) and `envp` (NULL: the caller's environment) as `cfg`
 * says. On success the handle is open and p->pid is the child's.
 *
 * Returns HIPC_OK, or HIPC_E_NULL (p, path or argv), HIPC_E_BAD_FLAGS (an
 * enum out of range in cfg, HIPC_PROCESS_IO_STDOUT for other than stderr,
 * or pipe_flags other than HIPC_PIPE_SIGPIPE_IGNORED), HIPC_E_BAD_FD (a
 * negative stdio_fd for HIPC_PROCESS_IO_FD), HIPC_E_EXEC (the child could
 * not run the program: sys_errno has the errno of its failed step, its
 * redirection (dup2), chdir, setsid or setpgid, or execve), or the syscall
 * codes of pipe2, open (/dev/null), read, mmap (the child's stack),
 * clone and rt_sigprocmask (HIPC_E_LIMIT for clone's EAGAIN). On failure nothing is
 * left open and no child is left. */
int hipc_process_spawn(hipc_process *p, const char *path, char *const argv[],
                       char *const envp[], const hipc_process_config *cfg);

/* Waits, as `timeout_ns` allows, for the child to end and reaps it.
 * *status (may be NULL) gets its exit code (0..255) when it exited, or
 * minus the signal number when a signal killed it; a later call returns
 * the same again. The parent's pipe ends stay open (what the child wrote
 * before it ended can still be read).
 *
 * Returns HIPC_OK (the child has ended, whatever its status), or the
 * handle codes, HIPC_E_BAD_TIMEOUT, HIPC_E_AGAIN (timeout 0, still
 * running), HIPC_E_TIMEDOUT, HIPC_E_CHILD (reaped elsewhere, or SIGCHLD
 * is ignored: sys_errno ECHILD; no status, *status untouched), or the
 * syscall codes of poll and waitpid. */
int hipc_process_wait(hipc_process *p, int *status, int64_t timeout_ns);

/* Sends `sig` (1.._NSIG-1; 0 only checks) to the child: through the pidfd,
 * or kill() in the fallback. A child that has ended but is not reaped yet
 * takes it silently. Returns HIPC_OK, or the handle codes, HIPC_E_BAD_STATE
 * (the child has been reaped: there is no process to signal), HIPC_E_BAD_FLAGS
 * (sig out of range), or the syscall codes of pidfd_send_signal and kill
 * (HIPC_E_PERM). */
int hipc_process_signal(hipc_process *p, int sig);

/* Stops the child: SIGTERM, then waits up to `grace_ns` for it to end;
 * then SIGKILL and waits until it has ended. Always reaps: on HIPC_OK the
 * child is gone. *status as for hipc_process_wait (-SIGTERM, -SIGKILL, or
 * the exit code of a child that handled SIGTERM and exited). grace_ns 0
 * sends SIGKILL right after SIGTERM; HIPC_FOREVER waits for SIGTERM alone
 * to work. A child reaped already is reported at once.
 *
 * Returns HIPC_OK, or the handle codes, HIPC_E_BAD_TIMEOUT, HIPC_E_CHILD
 * (as for wait), or the syscall codes of pidfd_send_signal, kill, poll and
 * waitpid. */
int hipc_process_stop(hipc_process *p, int *status, int64_t grace_ns);

/* Closes the parent's pipe ends and the pidfd; a child that has not been
 * reaped is killed (SIGKILL) and reaped first, so nothing is left behind.
 * Only if the child cannot be killed (the kernel refuses SIGKILL: EPERM,
 * for a set-user-ID program the caller may not signal) or waiting for it
 * fails does close return that code with the handle still open and
 * nothing closed: wait for the child, then close again. Otherwise the
 * handle is closed whatever is reported. Returns HIPC_OK, or the handle
 * codes, or the syscall codes of pidfd_send_signal, kill, waitpid and
 * close (descriptors are released all the same). */
int hipc_process_close(hipc_process *p);

/* The descriptor to watch in an event loop: HIPC_PROCESS_PIDFD (readable
 * once the child has ended; then call hipc_process_wait with timeout 0),
 * or the parent's end of the stdin, stdout or stderr pipe. The handle
 * keeps it. Returns the descriptor (>= 0), or the handle codes,
 * HIPC_E_BAD_FLAGS (`which` is none of them), HIPC_E_WRONG_END (that
 * stream is not a pipe, or its end was closed), HIPC_E_UNSUPPORTED (the
 * pidfd, on a kernel without pidfds) or HIPC_E_BAD_STATE (the pidfd of a
 * child already reaped). */
int hipc_process_get_fd(const hipc_process *p, enum hipc_process_stream which);

/* hipc_process_run: popen and pclose in one call, without a shell.
 *
 * `in` bytes (in_len; none when in is NULL) are written to the child's
 * stdin, which is then closed; at the same time its stdout is read into
 * `out` (out_cap bytes; not collected when out is NULL), both through
 * poll, so neither side can deadlock the other. A child that stops
 * reading early is fine: feeding stops (*io.in_done says how much went
 * in) and no SIGPIPE reaches the caller. stdin and stdout are pipes when
 * in and out are given; otherwise, and for stderr, cfg decides (an
 * IO_PIPE there is HIPC_E_BAD_FLAGS: nobody would read it).
 *
 * The cap: once out_cap bytes are in `out`, the next byte of output makes
 * the parent close its read end (the child's next write then fails with
 * EPIPE or SIGPIPE, as under `head`) and the call returns
 * HIPC_E_BUF_TOO_SMALL once the child has ended, with out_len == out_cap.
 *
 * The deadline covers everything: at it the child is killed (SIGKILL) and
 * reaped, and the call returns HIPC_E_TIMEDOUT with what was collected.
 * HIPC_FOREVER waits until the child ends; 0 is HIPC_E_BAD_TIMEOUT here
 * (a program cannot run in no time). Nothing is left running or unreaped
 * whatever is returned. */
typedef struct hipc_process_io {
    const void *in;
    size_t in_len;
    size_t in_done; /* out: bytes the child took */
    void *out;
    size_t out_cap;
    size_t out_len; /* out: bytes collected */
    int status;     /* out: as for hipc_process_wait; 0 until it ended */
} hipc_process_io;

/* Returns HIPC_OK (the child ended, whatever its status: see io->status),
 * or HIPC_E_NULL (path, argv, io; in NULL with in_len > 0; out NULL with
 * out_cap > 0), HIPC_E_BAD_TIMEOUT (0 or negative other than
 * HIPC_FOREVER), HIPC_E_BUF_TOO_SMALL (output cut at the cap),
 * HIPC_E_TIMEDOUT, hipc_process_spawn()'s codes, or the syscall codes of
 * poll, read, write, close, kill and waitpid (the child killed and reaped
 * then too); `sys_errno` (may be NULL) gets the errno, or 0. */
int hipc_process_run(const char *path, char *const argv[], char *const envp[],
                     const hipc_process_config *cfg, hipc_process_io *io,
                     int *sys_errno, int64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif
