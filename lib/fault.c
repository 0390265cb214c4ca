/* SPDX-License-Identifier: MIT */
/* hipc — the fault plan consulted by lib/sys.c in test builds.
 *
 * This file is test infrastructure compiled into the library only when
 * HIPC_FAULT_INJECTION is defined. It is the one place outside lib/sys.c
 * that talks to the kernel (fcntl/fstat to learn what kind of descriptor a
 * transfer uses, getpid to recognise a forked child) and it keeps global
 * state on purpose; neither exists in a normal build.
 */
#include "fault.h"
#include "sim.h"

#ifdef HIPC_FAULT_INJECTION

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Counters and the planned failure are touched by every thread of a test
 * program, so they are atomic; the modes are set before threads start. */
struct fault_plan {
    atomic_ulong calls[HIPC_SYS_COUNT_ + 1];
    enum hipc__sys_call fail_call;
    unsigned long fail_nth;
    int fail_err;
    int fail_every; /* fail_err on every matching call, not the nth */
    pid_t owner;
    atomic_int fired;
    atomic_int eintr_first;
    atomic_int eagain_first;
    atomic_size_t short_max;
    int short_files;
    atomic_llong realtime_shift;
    enum hipc__sys_call hook_call;
    unsigned long hook_nth;
    void (*hook_fn)(void *);
    void *hook_arg;
};

static struct fault_plan plan = {.fail_call = HIPC_SYS_COUNT_};

/* The modes HIPC_FAULT_MODE asked for, restored by hipc_fault_reset(). */
static struct {
    int eintr, eagain;
    size_t short_max;
    long long realtime_shift;
} env_modes;

/* Each thread alternates between injecting and letting through, so every
 * transparent fault is followed by a successful retry: a caller that
 * retries correctly always makes progress. */
static _Thread_local int first_try_pending;

static void zero_counters(void)
{
    for (int i = 0; i <= HIPC_SYS_COUNT_; i++)
        atomic_store(&plan.calls[i], 0);
    first_try_pending = 0;
}

void hipc_fault_reset(void)
{
    plan.hook_fn = NULL;
    plan.short_files = 0;
    plan.fail_nth = 0;
    plan.fail_call = HIPC_SYS_COUNT_;
    plan.fail_err = 0;
    plan.fail_every = 0;
    atomic_store(&plan.fired, 0);
    atomic_store(&plan.eintr_first, env_modes.eintr);
    atomic_store(&plan.eagain_first, env_modes.eagain);
    atomic_store(&plan.short_max, env_modes.short_max);
    atomic_store(&plan.realtime_shift, env_modes.realtime_shift);
    zero_counters();
}

void hipc_fault_fail_nth(enum hipc__sys_call call, unsigned long nth, int err)
{
    plan.fail_call = call;
    plan.fail_nth = nth;
    plan.fail_err = err;
    plan.fail_every = 0;
    plan.owner = getpid();
    atomic_store(&plan.fired, 0);
    zero_counters();
}

void hipc_fault_fail_every(enum hipc__sys_call call, int err)
{
    hipc_fault_fail_nth(call, 1, err);
    plan.fail_every = 1;
}

void hipc_fault_hook_nth(enum hipc__sys_call call, unsigned long nth,
                         void (*fn)(void *), void *arg)
{
    plan.hook_call = call;
    plan.hook_nth = nth;
    plan.hook_arg = arg;
    plan.hook_fn = fn;
    plan.owner = getpid();
    zero_counters();
}

void hipc_fault_short_files(int on)
{
    plan.short_files = on != 0;
}

void hipc_fault_eintr_first(int on)
{
    atomic_store(&plan.eintr_first, on != 0);
}

void hipc_fault_eagain_first(int on)
{
    atomic_store(&plan.eagain_first, on != 0);
}

void hipc_fault_short_io(size_t max_bytes)
{
    atomic_store(&plan.short_max, max_bytes);
}

void hipc_fault_step_realtime(long long seconds)
{
    atomic_store(&plan.realtime_shift, seconds);
}

void hipc_fault_get_modes(int *eintr, int *eagain, size_t *short_max)
{
    *eintr = atomic_load(&plan.eintr_first);
    *eagain = atomic_load(&plan.eagain_first);
    *short_max = atomic_load(&plan.short_max);
}

long long hipc_fault_realtime_shift(void)
{
    return atomic_load(&plan.realtime_shift);
}

unsigned long hipc_fault_calls(enum hipc__sys_call call)
{
    return atomic_load(&plan.calls[call]);
}

int hipc_fault_fired(void)
{
    return atomic_load(&plan.fired);
}

/* Only calls that really can return EINTR are interrupted, so a suite run
 * under eintr_first meets exactly the interruptions a signal could cause.
 * Wrappers whose interruptibility depends on their arguments (read, write,
 * waitpid, sigtimedwait, futex wake) use hipc_fault_errno_if/_fd instead. */
static unsigned default_can(enum hipc__sys_call call)
{
    switch (call) {
    case HIPC_SYS_READ:
    case HIPC_SYS_WRITE:
    case HIPC_SYS_POLL:
    case HIPC_SYS_WAITPID:
    case HIPC_SYS_SIGTIMEDWAIT:
        return HIPC_FAULT_CAN_EINTR;
    case HIPC_SYS_FUTEX:
        return HIPC_FAULT_CAN_EINTR | HIPC_FAULT_CAN_EAGAIN;
    default:
        return 0;
    }
}

static int planned_failure(enum hipc__sys_call call, unsigned long n,
                           unsigned long any)
{
    if (plan.fail_nth == 0 || (atomic_load(&plan.fired) && !plan.fail_every))
        return 0;
    int match;
    if (plan.fail_every)
        match = plan.fail_call == HIPC_SYS_COUNT_ || plan.fail_call == call;
    else
        match = plan.fail_call == HIPC_SYS_COUNT_
                    ? any == plan.fail_nth
                    : (plan.fail_call == call && n == plan.fail_nth);
    /* A forked child inherits the plan but must not fire it: its calls
     * were never part of the count the plan was made from. */
    if (!match || getpid() != plan.owner)
        return 0;
    atomic_store(&plan.fired, 1);
    return plan.fail_err;
}

static int transparent(unsigned can)
{
    int err = 0;
    if ((can & HIPC_FAULT_CAN_EINTR) && atomic_load(&plan.eintr_first))
        err = EINTR;
    else if ((can & HIPC_FAULT_CAN_EAGAIN) && atomic_load(&plan.eagain_first))
        err = EAGAIN;
    if (err == 0)
        return 0;
    first_try_pending = !first_try_pending;
    return first_try_pending ? err : 0;
}

/* The hook runs once, in the process that set it, then is disarmed. */
static void run_hook(enum hipc__sys_call call, unsigned long n)
{
    void (*fn)(void *) = plan.hook_fn;
    if (fn == NULL || call != plan.hook_call || n != plan.hook_nth ||
        getpid() != plan.owner)
        return;
    plan.hook_fn = NULL;
    fn(plan.hook_arg);
}

int hipc_fault_errno_if(enum hipc__sys_call call, unsigned can)
{
    unsigned long n = atomic_fetch_add(&plan.calls[call], 1) + 1;
    unsigned long any = atomic_fetch_add(&plan.calls[HIPC_SYS_COUNT_], 1) + 1;
    run_hook(call, n);
    int err = planned_failure(call, n, any);
    return err != 0 ? err : transparent(can);
}

int hipc_fault_errno(enum hipc__sys_call call)
{
    return hipc_fault_errno_if(call, default_can(call));
}

/* What the kernel may do to a transfer on `fd`. Regular files (and /proc
 * files) are neither interrupted nor report EAGAIN; a descriptor that is
 * not open gets no transparent fault, so the real call reports EBADF. */
static unsigned fd_can(int fd)
{
    /* The simulated kernel's descriptors (lib/sim.h), known without a
     * syscall: its pipes meet the same transparent faults as real ones. */
    if (hipc__sim_active() && hipc__sim_fd(fd)) {
        static const unsigned can[3] = {0u, HIPC_FAULT_CAN_EINTR,
                                        HIPC_FAULT_CAN_EAGAIN};
        int k = hipc__sim_fd_kind(fd);
        return k < 0 ? 0u : can[k];
    }
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fstat(fd, &st) != 0 || S_ISREG(st.st_mode) ||
        S_ISDIR(st.st_mode))
        return 0;
    return (fl & O_NONBLOCK) ? HIPC_FAULT_CAN_EAGAIN : HIPC_FAULT_CAN_EINTR;
}

unsigned hipc_fault_can_wait(int options)
{
    return (options & WNOHANG) ? 0u : HIPC_FAULT_CAN_EINTR;
}

unsigned hipc_fault_can_timeout(const struct timespec *timeout)
{
    if (timeout != NULL && timeout->tv_sec == 0 && timeout->tv_nsec == 0)
        return 0u;
    return HIPC_FAULT_CAN_EINTR;
}

int hipc_fault_errno_fd(enum hipc__sys_call call, int fd)
{
    return hipc_fault_errno_if(call, fd_can(fd));
}

size_t hipc_fault_len(enum hipc__sys_call call, size_t len)
{
    size_t max = atomic_load(&plan.short_max);
    /* Without the descriptor a write might go to a pipe, whose writes of
     * up to PIPE_BUF bytes the kernel never splits. */
    if (call == HIPC_SYS_WRITE && len <= PIPE_BUF)
        return len;
    return max != 0 && len > max ? max : len;
}

/* A read of a regular file (and of /proc, whose sysctl files answer a read
 * at a non-zero offset with end of file) returns all it is asked for up to
 * the end; pipes, sockets and terminals return what is there. A write to a
 * pipe of at most PIPE_BUF bytes is never split. */
size_t hipc_fault_len_fd(enum hipc__sys_call call, int fd, size_t len)
{
    size_t max = atomic_load(&plan.short_max);
    struct stat st;
    if (max == 0 || len <= max)
        return len;
    if (hipc__sim_active() && hipc__sim_fd(fd) && hipc__sim_fd_kind(fd) > 0)
        st.st_mode = S_IFIFO; /* a simulated pipe end */
    else if (hipc__sim_active() && hipc__sim_fd(fd))
        st.st_mode = S_IFREG; /* a simulated sysctl file, or none */
    else if (fstat(fd, &st) != 0)
        return len;
    if (call == HIPC_SYS_READ && S_ISREG(st.st_mode) && !plan.short_files)
        return len;
    if (call == HIPC_SYS_WRITE && len <= PIPE_BUF && S_ISFIFO(st.st_mode))
        return len;
    return max;
}

/* "realtime=+N" or "realtime=-N": seconds, at most a century. */
static int parse_shift(const char *w, size_t n, long long *shift)
{
    if (n < 11 || (w[9] != '+' && w[9] != '-'))
        return -1;
    long long v = 0;
    for (size_t i = 10; i < n; i++) {
        if (w[i] < '0' || w[i] > '9' || v > 3200000000ll)
            return -1;
        v = v * 10 + (w[i] - '0');
    }
    *shift = w[9] == '-' ? -v : v;
    return 0;
}

struct mode_words {
    int eintr, eagain;
    size_t short_max;
    long long shift;
};

static int parse_word(const char *w, size_t n, struct mode_words *m)
{
    if (n > 9 && memcmp(w, "realtime=", 9) == 0)
        return parse_shift(w, n, &m->shift);
    if (n == 5 && memcmp(w, "eintr", 5) == 0)
        m->eintr = 1;
    else if (n == 6 && memcmp(w, "eagain", 6) == 0)
        m->eagain = 1;
    else if (n == 5 && memcmp(w, "short", 5) == 0)
        m->short_max = 1;
    else if (n > 6 && memcmp(w, "short=", 6) == 0) {
        unsigned long v = 0;
        for (size_t i = 6; i < n; i++) {
            if (w[i] < '0' || w[i] > '9' || v > 1000000ul)
                return -1;
            v = v * 10 + (unsigned long)(w[i] - '0');
        }
        m->short_max = v;
    } else if (!(n == 4 && memcmp(w, "none", 4) == 0) && n != 0)
        return -1;
    return 0;
}

int hipc_fault_set_mode(const char *mode)
{
    struct mode_words m = {0, 0, 0, 0};
    const char *p = mode;
    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");
        if (parse_word(p, n, &m) != 0)
            return -1;
        p += n + (p[n] == ',');
    }
    hipc_fault_eintr_first(m.eintr);
    hipc_fault_eagain_first(m.eagain);
    hipc_fault_short_io(m.short_max);
    hipc_fault_step_realtime(m.shift);
    return 0;
}

const char *hipc_fault_mode(void)
{
    static char buf[64];
    size_t max = atomic_load(&plan.short_max);
    int n = snprintf(buf, sizeof buf, "%s%s",
                     atomic_load(&plan.eintr_first) ? "eintr," : "",
                     atomic_load(&plan.eagain_first) ? "eagain," : "");
    long long shift = atomic_load(&plan.realtime_shift);
    if (shift != 0)
        n +=
            snprintf(buf + n, sizeof buf - (size_t)n, "realtime=%+lld,", shift);
    if (max != 0)
        snprintf(buf + n, sizeof buf - (size_t)n, "short=%zu", max);
    else if (n > 0)
        buf[n - 1] = '\0';
    else
        snprintf(buf, sizeof buf, "none");
    return buf;
}

/* Read once, before main: a misspelt mode must not quietly run the suite
 * without faults, so it stops the test program at once. */
__attribute__((constructor)) static void fault_from_environment(void)
{
    const char *mode = getenv("HIPC_FAULT_MODE");
    if (hipc_fault_set_mode(mode) != 0) {
        fprintf(stderr,
                "HIPC_FAULT_MODE=%s: unknown mode (use eintr, "
                "eagain, short, short=N, realtime=+N, "
                "realtime=-N, none)\n",
                mode);
        _exit(125);
    }
    env_modes.eintr = atomic_load(&plan.eintr_first);
    env_modes.eagain = atomic_load(&plan.eagain_first);
    env_modes.short_max = atomic_load(&plan.short_max);
    env_modes.realtime_shift = atomic_load(&plan.realtime_shift);
}

#ifdef HIPC_GCOV_EXIT
/* The coverage build links with -Wl,--wrap=_exit. gcov writes its counters
 * from an exit handler, which a forked child ending with _exit (as every
 * test child does) never reaches: without this, whatever the library did
 * only in children (permission failures after dropping privileges, the
 * cases of the fault driver) would count as never run. */
void __gcov_dump(void);
_Noreturn void __real__exit(int status);
_Noreturn void __wrap__exit(int status);

_Noreturn void __wrap__exit(int status)
{
    __gcov_dump();
    __real__exit(status);
}
#endif

#else
/* ISO C forbids an empty translation unit. */
typedef int hipc_fault_unused_;
#endif
