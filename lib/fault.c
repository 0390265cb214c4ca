/* hipc — the fault plan consulted by lib/sys.c in test builds. */
#include "fault.h"

#ifdef HIPC_FAULT_INJECTION

#include <errno.h>

struct fault_plan {
    unsigned long calls[HIPC_SYS_COUNT_ + 1];
    enum hipc_sys_call fail_call;
    unsigned long fail_nth;
    int fail_err;
    int fired;
    int eintr_first;
    int eintr_pending;
    size_t short_max;
};

static struct fault_plan plan = {.fail_call = HIPC_SYS_COUNT_};

void hipc_fault_reset(void)
{
    static const struct fault_plan fresh = {.fail_call = HIPC_SYS_COUNT_};
    plan = fresh;
}

void hipc_fault_fail_nth(enum hipc_sys_call call, unsigned long nth, int err)
{
    plan.fail_call = call;
    plan.fail_nth = nth;
    plan.fail_err = err;
    plan.fired = 0;
    for (int i = 0; i <= HIPC_SYS_COUNT_; i++)
        plan.calls[i] = 0;
}

void hipc_fault_eintr_first(int on)
{
    plan.eintr_first = on;
}

void hipc_fault_short_io(size_t max_bytes)
{
    plan.short_max = max_bytes;
}

unsigned long hipc_fault_calls(enum hipc_sys_call call)
{
    return plan.calls[call];
}

int hipc_fault_fired(void)
{
    return plan.fired;
}

/* Only calls that really can return EINTR are interrupted, so a suite run
 * under eintr_first meets exactly the interruptions a signal could cause. */
static int can_eintr(enum hipc_sys_call call)
{
    switch (call) {
    case HIPC_SYS_READ:
    case HIPC_SYS_WRITE:
    case HIPC_SYS_POLL:
    case HIPC_SYS_WAITPID:
    case HIPC_SYS_FUTEX:
    case HIPC_SYS_SIGTIMEDWAIT:
        return 1;
    default:
        return 0;
    }
}

int hipc_fault_errno(enum hipc_sys_call call)
{
    unsigned long n = ++plan.calls[call];
    unsigned long any = ++plan.calls[HIPC_SYS_COUNT_];

    if (plan.fail_nth != 0 && !plan.fired &&
        (plan.fail_call == call || plan.fail_call == HIPC_SYS_COUNT_) &&
        (plan.fail_call == HIPC_SYS_COUNT_ ? any : n) == plan.fail_nth) {
        plan.fired = 1;
        return plan.fail_err;
    }
    if (plan.eintr_first && can_eintr(call)) {
        plan.eintr_pending = !plan.eintr_pending;
        if (plan.eintr_pending)
            return EINTR;
    }
    return 0;
}

size_t hipc_fault_len(enum hipc_sys_call call, size_t len)
{
    (void)call;
    if (plan.short_max != 0 && len > plan.short_max)
        return plan.short_max;
    return len;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int hipc_fault_unused_;
#endif
