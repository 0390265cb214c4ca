/* SPDX-License-Identifier: MIT */
/* hipc tests — the fault-injection driver (header-only, so each
 * tests/test_fault_<module>.c stays one self-contained CTest program).
 *
 * A scenario is a short use of the public API. The driver runs it once
 * cleanly and counts its syscalls per kind; then, for every kind K and
 * every n up to K's count, for every errno the kernel documents for K, it
 * runs the scenario again in a forked child with the nth call of kind K
 * failing with that errno, and checks there that
 *   - a known hipc code came back, the one the errno maps to where the
 *     mapping is defined, and the kernel's errno was kept;
 *   - after the scenario released what it holds, nothing leaked: no
 *     segment (/proc/sysvipc/shm of the private namespace), no descriptor
 *     (/proc/self/fd), no child (waitpid(-1, WNOHANG) fails with ECHILD);
 *   - the next, clean run succeeds and leaks nothing either.
 * Every case runs in its own child under a time limit, so a hang or a
 * crash is one reported failure, not a stuck suite.
 */
#ifndef HIPC_TEST_FAULT_DRIVER_H
#define HIPC_TEST_FAULT_DRIVER_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/error.h"
#include "support.h"

#define FAULT_CTX_BYTES 4096

/* In a scenario: runs one API call on handle `h` and, when it fails
 * (a negative code; lengths and HIPC_OK go on), ends the scenario with
 * that code and the handle's kept errno. */
#define FAULT_STEP(h, call)                                                    \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ < 0) {                                                         \
            *sys_errno = (h).sys_errno;                                        \
            return rc_;                                                        \
        }                                                                      \
    } while (0)

struct fault_scenario {
    const char *name;
    /* Runs the scenario once through the public API, keeping in `ctx`
     * (zeroed before each run) whatever it holds. Returns HIPC_OK or the
     * code of the first failure, and its kernel errno in *sys_errno (left
     * at -1 when the failing call reports none). */
    int (*run)(void *ctx, int *sys_errno);
    /* Releases whatever `run` left in `ctx`, the way a careful caller
     * would after a failure. Runs with the fault plan disarmed. */
    void (*cleanup)(void *ctx);
    /* Optional: non-zero when `rc` is a right answer to `err` injected into
     * `call`, beyond the default mapping (for errnos that mean something
     * particular to this call, and for failures the library rightly
     * absorbs). */
    int (*accept)(enum hipc__sys_call call, int err, int rc);
};

static const char *const fault_call_names[] = {
#define FAULT_NAME_(name) #name,
    HIPC_SYS_CALLS(FAULT_NAME_)
#undef FAULT_NAME_
};

/* The errnos each call documents that a caller could meet: ENOMEM,
 * ENOSPC, EACCES, EIDRM, EINVAL, EMFILE, ENFILE, EINTR, EAGAIN, EPIPE and
 * EFAULT where the manual page lists them, plus the call's own particular
 * ones. EINTR only where the call can really be interrupted. 0 ends. */
static const int *fault_errnos(enum hipc__sys_call call)
{
    static const int shmget[] = {ENOMEM, ENOSPC, EACCES, EINVAL, ENFILE,
                                 EEXIST, ENOENT, EPERM,  0};
    static const int shmat[] = {EACCES, EIDRM, EINVAL, ENOMEM, 0};
    static const int shmdt[] = {EINVAL, 0};
    static const int shmctl[] = {EACCES, EFAULT, EIDRM, EINVAL, EPERM, 0};
    static const int pipe2[] = {EFAULT, EINVAL, EMFILE, ENFILE, 0};
    static const int read[] = {EAGAIN, EBADF, EFAULT, EINTR, EINVAL, EIO, 0};
    static const int write[] = {EAGAIN, EBADF,  EFAULT, EINTR, EINVAL,
                                EIO,    ENOSPC, EPIPE,  0};
    static const int close[] = {EBADF, EINTR, EIO, 0};
    static const int fcntl[] = {EBADF, EINVAL, EBUSY, EPERM, 0};
    static const int fstat[] = {EBADF, EFAULT, ENOMEM, EOVERFLOW, 0};
    static const int stat[] = {EACCES, EFAULT, ENOENT, ENOMEM, ENOTDIR, 0};
    static const int open[] = {EACCES, EMFILE, ENFILE, ENOENT, ENOMEM, 0};
    static const int poll[] = {EFAULT, EINTR, EINVAL, ENOMEM, 0};
    static const int ioctl[] = {EBADF, EFAULT, EINVAL, ENOTTY, 0};
    static const int fork[] = {EAGAIN, ENOMEM, 0};
    /* waitpid's EINVAL means invalid options, which the library's are
     * not; ECHILD is injected as the kernel gives it, child reaped. */
    static const int waitpid[] = {ECHILD, EINTR, 0};
    static const int kill[] = {EINVAL, EPERM, ESRCH, 0};
    static const int sigmask[] = {EINVAL, 0};
    /* The library polls (zero timeout) for the SIGPIPE its EPIPE raised;
     * a failure then leaves the signal pending, and the library must keep
     * it blocked rather than let it kill the caller. */
    static const int sigtimedwait[] = {EAGAIN, EINTR, EINVAL, 0};
    static const int sigpending[] = {EFAULT, 0};
    static const int futex[] = {EAGAIN, EINTR, ETIMEDOUT, EINVAL, EFAULT, 0};
    static const int madvise[] = {EAGAIN, EINVAL, ENOMEM, EFAULT, EIO, 0};
    static const int dup2[] = {EBADF, EBUSY, EINTR, EMFILE, 0};
    static const int fdopen[] = {EINVAL, ENOMEM, EMFILE, 0};
    static const int clock[] = {EINVAL, 0};
    static const int openat[] = {EACCES, ELOOP, EMFILE, ENFILE,  ENOENT,
                                 ENOMEM, ENXIO, EINTR,  ENOTDIR, 0};
    static const int mkfifoat[] = {EACCES, EEXIST, ENOENT,  ENOSPC,
                                   EROFS,  EDQUOT, ENOTDIR, 0};
    static const int unlinkat[] = {EACCES, EBUSY, ENOENT, EPERM, EROFS, 0};
    static const int fchmod[] = {EBADF, EPERM, EROFS, EIO, 0};
    static const int readlink[] = {EACCES, ENOENT, ENOMEM, EIO, 0};
    /* The process module. CLONE is vfork; the child's steps (DUP2 for its
     * redirections, CHDIR, SETSID, SETPGID, CLOSE_RANGE, SIGACTION,
     * EXECVE) fail in the child and come back as HIPC_E_EXEC. */
    static const int clone[] = {EAGAIN, ENOMEM, 0};
    static const int execve[] = {E2BIG,        EACCES, EIO,     ELOOP,
                                 ENAMETOOLONG, ENOENT, ENOEXEC, ENOMEM,
                                 ENOTDIR,      EPERM,  ETXTBSY, 0};
    static const int chdir[] = {EACCES, ELOOP, ENOENT, ENOTDIR, EIO, 0};
    static const int setsid[] = {EPERM, 0};
    static const int setpgid[] = {EACCES, EINVAL, EPERM, 0};
    /* ENOSYS before Linux 5.9, EINVAL for CLOSE_RANGE_CLOEXEC before
     * 5.11: both take the fallback. */
    static const int close_range[] = {ENOSYS, EINVAL, ENOMEM, EMFILE, 0};
    static const int sigaction[] = {EINVAL, 0};
    /* The pidfd clone makes: ENOSYS (before Linux 5.2) and EINVAL (the
     * flag refused) take the pid fallback; the rest fail the clone. */
    static const int pidfd_open[] = {ENOSYS, EINVAL, EMFILE, ENFILE, ENOMEM, 0};
    /* ESRCH only once the child has been reaped, by someone else: the
     * WAITPID ECHILD cases are that (an injected ESRCH would name a child
     * that still runs, which the kernel never does). */
    /* ENOSYS: an emulator without it (valgrind); kill takes over. */
    static const int pidfd_signal[] = {EINVAL, EPERM, ENOSYS, 0};
    /* The doorbell (lib/bell.c). EADDRINUSE: a name another process
     * took. */
    static const int socket[] = {EACCES, EMFILE, ENFILE, ENOBUFS, ENOMEM, 0};
    static const int bind[] = {EADDRINUSE, ENOMEM, EACCES, 0};
    /* Never waits (MSG_DONTWAIT): a full bell's EAGAIN, a gone one's
     * ECONNREFUSED or ENOENT. */
    static const int sendto[] = {EAGAIN, ECONNREFUSED, ENOENT, ENOBUFS,
                                 ENOMEM, EPERM,        0};
    static const int epoll_create[] = {EMFILE, ENFILE, ENOMEM, 0};
    static const int epoll_ctl[] = {ENOMEM, ENOSPC, EPERM, 0};
    static const int timerfd_create[] = {EMFILE, ENFILE, ENODEV, ENOMEM, 0};
    static const int timerfd_settime[] = {EINVAL, EFAULT, 0};
    static const int none[] = {0};
    switch (call) {
    case HIPC_SYS_SHMGET:
        return shmget;
    case HIPC_SYS_SHMAT:
        return shmat;
    case HIPC_SYS_SHMDT:
        return shmdt;
    case HIPC_SYS_SHMCTL:
        return shmctl;
    case HIPC_SYS_PIPE2:
        return pipe2;
    case HIPC_SYS_READ:
        return read;
    case HIPC_SYS_WRITE:
        return write;
    case HIPC_SYS_CLOSE:
        return close;
    case HIPC_SYS_FCNTL:
        return fcntl;
    case HIPC_SYS_FSTAT:
        return fstat;
    case HIPC_SYS_STAT:
        return stat;
    case HIPC_SYS_OPEN:
        return open;
    case HIPC_SYS_POLL:
        return poll;
    case HIPC_SYS_IOCTL:
        return ioctl;
    case HIPC_SYS_FORK:
        return fork;
    case HIPC_SYS_WAITPID:
        return waitpid;
    case HIPC_SYS_KILL:
        return kill;
    case HIPC_SYS_SIGMASK:
        return sigmask;
    case HIPC_SYS_SIGTIMEDWAIT:
        return sigtimedwait;
    case HIPC_SYS_SIGPENDING:
        return sigpending;
    case HIPC_SYS_FUTEX:
        return futex;
    case HIPC_SYS_MADVISE:
        return madvise;
    case HIPC_SYS_DUP2:
        return dup2;
    case HIPC_SYS_FDOPEN:
        return fdopen;
    case HIPC_SYS_CLOCK:
        return clock;
    case HIPC_SYS_OPENAT:
        return openat;
    case HIPC_SYS_MKFIFOAT:
        return mkfifoat;
    case HIPC_SYS_UNLINKAT:
        return unlinkat;
    case HIPC_SYS_FCHMOD:
        return fchmod;
    case HIPC_SYS_READLINK:
        return readlink;
    case HIPC_SYS_CLONE:
        return clone;
    case HIPC_SYS_EXECVE:
        return execve;
    case HIPC_SYS_CHDIR:
        return chdir;
    case HIPC_SYS_SETSID:
        return setsid;
    case HIPC_SYS_SETPGID:
        return setpgid;
    case HIPC_SYS_CLOSE_RANGE:
        return close_range;
    case HIPC_SYS_SIGACTION:
        return sigaction;
    case HIPC_SYS_PIDFD_OPEN:
        return pidfd_open;
    case HIPC_SYS_PIDFD_SIGNAL:
        return pidfd_signal;
    case HIPC_SYS_SOCKET:
        return socket;
    case HIPC_SYS_BIND:
        return bind;
    case HIPC_SYS_SENDTO:
        return sendto;
    case HIPC_SYS_EPOLL_CREATE:
        return epoll_create;
    case HIPC_SYS_EPOLL_CTL:
        return epoll_ctl;
    case HIPC_SYS_TIMERFD_CREATE:
        return timerfd_create;
    case HIPC_SYS_TIMERFD_SETTIME:
        return timerfd_settime;
    default:
        return none;
    }
}

/* The code an errno must come back as where the meaning does not depend
 * on the call; 0 where it does (EINVAL, EIO, ...), so any known code is
 * accepted there. Written out here rather than taken from the library,
 * so the library's mapping is checked, not copied. */
static int fault_expected_code(int err)
{
    switch (err) {
    case ENOMEM:
        return HIPC_E_NOMEM;
    case ENOSPC:
    case EMFILE:
    case ENFILE:
        return HIPC_E_LIMIT;
    case EACCES:
    case EPERM:
        return HIPC_E_PERM;
    case EIDRM:
        return HIPC_E_REMOVED;
    case EPIPE:
        return HIPC_E_PEER_GONE;
    case EAGAIN:
        return HIPC_E_AGAIN;
    case EINTR:
        return HIPC_E_INTR;
    case EEXIST:
        return HIPC_E_EXISTS;
    case ENOENT:
        return HIPC_E_NOT_FOUND;
    default:
        return 0;
    }
}

/* Success after a failed call is right only where retrying or ignoring
 * is: an interruption or a would-block is retried, and a failed close
 * still released the descriptor. */
static int fault_success_ok(const struct fault_scenario *s,
                            enum hipc__sys_call call, int err)
{
    if (err == EINTR || err == EAGAIN || call == HIPC_SYS_CLOSE)
        return 1;
    return s->accept != NULL && s->accept(call, err, HIPC_OK);
}

static int fault_code_ok(const struct fault_scenario *s,
                         enum hipc__sys_call call, int err, int rc)
{
    if (!hipc_err_is_known(rc))
        return 0;
    if (rc == HIPC_OK)
        return fault_success_ok(s, call, err);
    int want = fault_expected_code(err);
    if (want == 0 || rc == want)
        return 1;
    return s->accept != NULL && s->accept(call, err, rc);
}

/* The driver injects one planned failure at a time into otherwise clean
 * runs: transparent modes (HIPC_FAULT_MODE) would only multiply the
 * cases, and the rest of the suite already runs under them. */
static void fault_quiet_plan(void)
{
    hipc_fault_reset();
    hipc_fault_set_mode("none");
}

static int fault_no_child_left(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* Releases, then checks that nothing is left: 0, or a message. */
static const char *fault_release_and_check(const struct fault_scenario *s,
                                           void *ctx, int fds0, int shm0)
{
    hipc_fault_reset();
    s->cleanup(ctx);
    if (hipc_test_shm_count() != shm0)
        return "a segment leaked";
    if (hipc_test_fd_count() != fds0)
        return "a descriptor leaked";
    if (!fault_no_child_left())
        return "a child was left unreaped";
    return NULL;
}

/* The body of one case, in its own child. Exit 0: the fault fired and
 * every check passed; 3: the scenario never reached that call; 1: a
 * check failed (said on stderr). */
static void fault_case(const struct fault_scenario *s, enum hipc__sys_call call,
                       unsigned long nth, int err)
{
    _Alignas(max_align_t) unsigned char ctx[FAULT_CTX_BYTES];
    int fds0 = hipc_test_fd_count(), shm0 = hipc_test_shm_count();
    int sys_errno = -1;
    memset(ctx, 0, sizeof ctx);
    fault_quiet_plan();
    hipc_fault_fail_nth(call, nth, err);
    int rc = s->run(ctx, &sys_errno);
    int fired = hipc_fault_fired();
    const char *why = NULL;
    if (fired && !fault_code_ok(s, call, err, rc))
        why = "wrong code";
    else if (fired && rc != HIPC_OK && rc == fault_expected_code(err) &&
             sys_errno != -1 && sys_errno != err)
        why = "kernel errno not kept";
    else if (!fired && rc != HIPC_OK)
        why = "failed without any fault";
    /* Released whatever happened, so one failed case cannot leave a
     * segment or key behind that breaks the cases after it. */
    const char *leak = fault_release_and_check(s, ctx, fds0, shm0);
    if (why == NULL)
        why = leak;
    if (why == NULL) {
        memset(ctx, 0, sizeof ctx);
        sys_errno = -1;
        fault_quiet_plan();
        int again = s->run(ctx, &sys_errno);
        why = fault_release_and_check(s, ctx, fds0, shm0);
        if (why == NULL && again != HIPC_OK)
            why = "the next clean run failed";
    }
    if (why != NULL) {
        fprintf(stderr, "%s: %s #%lu failing with %s: %s (got %s, errno %d)\n",
                s->name, fault_call_names[call], nth, strerror(err), why,
                hipc_err_name(rc), sys_errno);
        _exit(1);
    }
    _exit(fired ? 0 : 3);
}

/* Counts the scenario's calls of each kind in one clean run. */
static int fault_count(const struct fault_scenario *s,
                       unsigned long counts[HIPC_SYS_COUNT_])
{
    _Alignas(max_align_t) unsigned char ctx[FAULT_CTX_BYTES];
    int sys_errno = -1;
    memset(ctx, 0, sizeof ctx);
    fault_quiet_plan();
    int rc = s->run(ctx, &sys_errno);
    for (int k = 0; k < HIPC_SYS_COUNT_; k++)
        counts[k] = hipc_fault_calls((enum hipc__sys_call)k);
    hipc_fault_reset();
    s->cleanup(ctx);
    return rc;
}

struct fault_tally {
    unsigned long injected, unreached, failed;
};

static void fault_run_case(const struct fault_scenario *s,
                           enum hipc__sys_call call, unsigned long nth, int err,
                           struct fault_tally *t)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        fault_case(s, call, nth, err);
    int code = pid < 0 ? -1 : hipc_test_wait_child(pid, 10);
    if (code == 0)
        t->injected++;
    else if (code == 3)
        t->unreached++;
    else {
        if (code != 1)
            fprintf(stderr,
                    "%s: %s #%lu failing with %s: case ended %d "
                    "(-2: hung, killed after 10 s)\n",
                    s->name, fault_call_names[call], nth, strerror(err), code);
        t->failed++;
    }
}

/* Runs every case of the scenario; returns the number of failed cases and
 * adds the injected ones to *total. */
static unsigned long fault_drive(const struct fault_scenario *s,
                                 unsigned long *total)
{
    unsigned long counts[HIPC_SYS_COUNT_];
    struct fault_tally t = {0, 0, 0};
    int rc = fault_count(s, counts);
    if (rc != HIPC_OK) {
        fprintf(stderr, "%s: the clean run failed: %s\n", s->name,
                hipc_err_name(rc));
        return 1;
    }
    for (int k = 0; k < HIPC_SYS_COUNT_; k++)
        for (unsigned long n = 1; n <= counts[k]; n++)
            for (const int *e = fault_errnos((enum hipc__sys_call)k); *e; e++)
                fault_run_case(s, (enum hipc__sys_call)k, n, *e, &t);
    char kinds[256] = "";
    size_t used = 0;
    for (int k = 0; k < HIPC_SYS_COUNT_ && used < sizeof kinds; k++)
        if (counts[k] != 0)
            used += (size_t)snprintf(kinds + used, sizeof kinds - used,
                                     " %s:%lu", fault_call_names[k], counts[k]);
    printf("fault driver: %-44s %5lu injected cases, %lu unreached, "
           "%lu failed;%s\n",
           s->name, t.injected, t.unreached, t.failed, kinds);
    *total += t.injected;
    return t.failed;
}

/* Drives every scenario of a static array; the test fails when any case
 * failed or when nothing was injected at all. */
static void fault_drive_all(const struct fault_scenario *s, size_t count)
{
    unsigned long total = 0, failed = 0;
    for (size_t i = 0; i < count; i++)
        failed += fault_drive(&s[i], &total);
    assert_int_equal(failed, 0);
    assert_true(total > 0);
}

#define FAULT_DRIVE_ALL(scenarios)                                             \
    fault_drive_all((scenarios), sizeof(scenarios) / sizeof((scenarios)[0]))

#endif
