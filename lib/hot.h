/* SPDX-License-Identifier: MIT */
/* hipc — what the shared-memory modules' hot and waiting paths share
 * (lib/chan.c, lib/state.c, lib/bcast.c). Internal. */
#ifndef HIPC_HOT_H
#define HIPC_HOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sys.h"

/* Small payloads are copied inline in 16-byte pieces (fixed-size copies
 * the compiler turns into single vector moves): a call to memcpy costs
 * more stores (return address, saved registers) than a 64-byte payload
 * itself, and stores are what a producer waits on (lib/chan.c, "The hot
 * paths"). Larger ones go to the C library's memcpy. (An earlier version
 * copied in fixed 1 KiB pieces, which gcc turned into `rep movsq`.) */
#define HIPC__COPY_INLINE_MAX 256u

static HIPC_INLINE void hipc__copy_msg(void *dst, const void *src, size_t len)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (len > HIPC__COPY_INLINE_MAX) {
        memcpy(d, s, len);
        return;
    }
    size_t i = 0;
    for (; i + 16 <= len; i += 16)
        memcpy(d + i, s + i, 16);
    if (i + 8 <= len) {
        memcpy(d + i, s + i, 8);
        i += 8;
    }
    for (; i < len; i++)
        d[i] = s[i];
}

/* One step of a busy-poll: tells the core (and a hyperthread sibling)
 * that we spin. */
static inline void hipc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield");
#endif
}

/* a + b for b >= 0, stopping at INT64_MAX: a deadline "now + forever". */
static inline int64_t hipc__sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* CLOCK_MONOTONIC in ns, for callers with no handle to report to: it
 * cannot fail (lib/sys.c). */
static inline int64_t hipc__mono_ns(void)
{
    struct timespec ts;
    (void)hipc__sys_clock_monotonic(&ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Test builds: a module calls its step hook at each step of a write, so
 * that a test can kill a writer at every point of it, deterministically
 * instead of by timing. Never in a release: there the step is nothing. */
#ifdef HIPC_FAULT_INJECTION
#define HIPC__STEP(hook, n)                                                    \
    do {                                                                       \
        if ((hook) != NULL)                                                    \
            (hook)(n);                                                         \
    } while (0)
#else
#define HIPC__STEP(hook, n) ((void)0)
#endif

#endif
