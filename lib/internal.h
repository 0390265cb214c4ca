/* SPDX-License-Identifier: MIT */
/* hipc — declarations shared by the library's modules, never installed. */
#ifndef HIPC_INTERNAL_H
#define HIPC_INTERNAL_H

#include <stddef.h>

/* Keeps a slow path out of its caller, so that the caller's fast path does
 * not pay for the slow path's stack frame (and stack-protector canary);
 * HIPC_INLINE puts a small helper into its hot callers even where the
 * compiler would rather share one copy. */
#if defined(__GNUC__) || defined(__clang__)
#define HIPC_NOINLINE __attribute__((noinline))
#define HIPC_INLINE inline __attribute__((always_inline))
#else
#define HIPC_NOINLINE
#define HIPC_INLINE inline
#endif

/* Maps a positive kernel errno to a hipc error code. */
int hipc__from_errno(int err);

/* Records `err` (a positive errno, or 0) into an optional out-parameter. */
static inline void hipc__set_errno(int *out, int err)
{
    if (out != NULL)
        *out = err;
}

/* A failed seam call: `neg` is what lib/sys.c returned (-errno). Records
 * the errno into the optional sink and returns its hipc code. The one
 * place above the seam where the sign flips (musl's __syscall_ret). */
static inline int hipc__fail(int *sink, long neg)
{
    hipc__set_errno(sink, (int)-neg);
    return hipc__from_errno((int)-neg);
}

/* The same, for a call whose errno means something particular to it (a
 * named mapping such as hipc__shm_id_code()): records it, returns `code`. */
static inline int hipc__fail_as(int *sink, long neg, int code)
{
    hipc__set_errno(sink, (int)-neg);
    return code;
}

/* Tests: 0 makes pipe writes keep SIGPIPE away with the signal mask, as on
 * a kernel without RWF_NOSIGNAL; 1 tries RWF_NOSIGNAL again. Returns the
 * previous setting. */
int hipc__pipe_set_nosignal(int on);

/* Pure: a scanner for the SigPnd line (signals pending for one thread,
 * not for the process) of /proc/thread-self/status, fed in pieces.
 * `state` starts at 0 (zero the struct); it ends at
 * HIPC__SIGPND_DONE with the mask in `mask` (the low 64 signals, bit
 * n-1 for signal n), or at HIPC__SIGPND_BAD when the value is not hex. */
#define HIPC__SIGPND_DONE 2
#define HIPC__SIGPND_BAD (-1)
struct hipc__sigpnd {
    int state;
    unsigned matched, digits;
    unsigned long long mask;
};
void hipc__pipe_scan_sigpnd(struct hipc__sigpnd *s, const char *buf,
                            size_t len);

#endif
