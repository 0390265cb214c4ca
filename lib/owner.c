/* SPDX-License-Identifier: MIT */
/* hipc — who holds a role in shared memory (see owner.h). */
#include "owner.h"

#include "hipc/error.h"
#include "proc.h"
#include "sys.h"

int hipc__self_identify(struct hipc__self *me, int *sys_errno)
{
    me->pid = hipc__sys_getpid();
    int rc = hipc__proc_self_pidns(&me->pidns, sys_errno);
    int ours = rc == HIPC_OK ? hipc__proc_is_ours(sys_errno) : rc;
    if (ours < 0)
        return ours;
    /* A /proc of another pid namespace: our pid names nobody there, and
     * nobody's pid can be looked up (proc.h). */
    if (ours == 0)
        me->pidns = HIPC__PIDNS_FOREIGN;
    return hipc__proc_self_start(&me->start, sys_errno);
}

static uint64_t load64(_Atomic uint32_t *lo, _Atomic uint32_t *hi)
{
    return atomic_load_explicit(lo, memory_order_relaxed) |
           (uint64_t)atomic_load_explicit(hi, memory_order_relaxed) << 32;
}

static void store64(_Atomic uint32_t *lo, _Atomic uint32_t *hi, uint64_t v)
{
    atomic_store_explicit(lo, (uint32_t)v, memory_order_relaxed);
    atomic_store_explicit(hi, (uint32_t)(v >> 32), memory_order_relaxed);
}

pid_t hipc__owner_pid_here(const struct hipc__owner *o,
                           const struct hipc__self *me, uint32_t w)
{
    uint64_t ns = load64(o->ns_lo, o->ns_hi);
    /* A /proc of another pid namespace names nobody (proc.h). */
    if (me->pidns == HIPC__PIDNS_FOREIGN)
        return 0;
    if (ns != 0 && me->pidns != 0 && ns != me->pidns)
        return 0;
    return (pid_t)(w & HIPC__OWNER_PID);
}

int hipc__owner_alive(const struct hipc__owner *o, const struct hipc__self *me,
                      uint32_t w, int *sys_errno)
{
    if ((w & HIPC__OWNER_PID) == 0 || (w & HIPC__OWNER_CLOSED) != 0)
        return 0;
    pid_t pid = hipc__owner_pid_here(o, me, w);
    uint64_t start = 0;
    if (pid == 0)
        return HIPC__PROC_UNKNOWN;
    if ((w & HIPC__OWNER_CLAIMING) != 0) {
        /* Its start time is being written: the pid alone must do. */
        int rc = hipc__proc_start_time(pid, &start, sys_errno);
        return rc == HIPC_E_NOT_FOUND ? 0 : rc == HIPC_OK ? 1 : rc;
    }
    start = load64(o->start_lo, o->start_hi);
    /* Acquire: if the holder changed while we read the start, someone
     * just claimed the role and is certainly alive. (Only a claim landing
     * within these few instructions gets here: no test can time it, so
     * coverage marks it.) */
    /* GCOVR_EXCL_START [race]: a claim within these instructions */
    if (atomic_load_explicit(o->word, memory_order_acquire) != w)
        return 1;
    /* GCOVR_EXCL_STOP */
    return hipc__proc_alive(pid, start, sys_errno);
}

int hipc__owner_claim(const struct hipc__owner *o, const struct hipc__self *me,
                      uint32_t *prev, pid_t *holder, int *sys_errno)
{
    uint32_t w = atomic_load_explicit(o->word, memory_order_acquire);
    int alive = hipc__owner_alive(o, me, w, sys_errno);
    if (alive < 0)
        return alive;
    if (alive != 0) {
        *holder = hipc__owner_pid_here(o, me, w);
        return HIPC_E_EXISTS;
    }
    uint32_t mine = (uint32_t)me->pid & HIPC__OWNER_PID;
    /* Relaxed CAS: the start time is published by the release below. */
    /* GCOVR_EXCL_START [race]: another process won the CAS in between */
    if (!atomic_compare_exchange_strong_explicit(o->word, &w,
                                                 HIPC__OWNER_CLAIMING | mine,
                                                 memory_order_relaxed,
                                                 memory_order_relaxed)) {
        *holder = hipc__owner_pid_here(o, me, w);
        return HIPC_E_EXISTS;
    }
    /* GCOVR_EXCL_STOP */
    store64(o->start_lo, o->start_hi, me->start);
    store64(o->ns_lo, o->ns_hi, me->pidns);
    /* Release: whoever sees the bare pid also sees its start time. */
    atomic_store_explicit(o->word, mine, memory_order_release);
    *prev = w;
    return HIPC_OK;
}

void hipc__owner_restore(const struct hipc__owner *o, uint32_t prev)
{
    atomic_store_explicit(o->word, prev, memory_order_release);
}

int hipc__owner_leave(const struct hipc__owner *o, const struct hipc__self *me)
{
    uint32_t mine = (uint32_t)me->pid & HIPC__OWNER_PID;
    /* A CAS, because a role taken over by someone else is not ours. */
    return atomic_compare_exchange_strong_explicit(o->word, &mine,
                                                   HIPC__OWNER_CLOSED | mine,
                                                   memory_order_release,
                                                   memory_order_relaxed);
}
