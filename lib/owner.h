/* SPDX-License-Identifier: MIT */
/* hipc — who holds a role in shared memory (the channel's ends, a state
 * block's or broadcast ring's writer). Internal.
 *
 * A role's holder is recorded as a word - 0 (never held), pid, CLAIMING|pid
 * (its start time is being written) or CLOSED|pid (left cleanly) - with
 * the holder's start time and pid namespace beside it, so that a pid reused
 * by another process is never mistaken for the holder, and a pid recorded
 * in another pid namespace is never looked up in ours. A role is taken
 * over only from a holder that left or is gone; the take-over is a CAS, so
 * of two contenders exactly one wins.
 *
 * Readers that attached read-only only ever call the judging functions:
 * they load, never store. */
#ifndef HIPC_OWNER_H
#define HIPC_OWNER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#define HIPC__OWNER_CLAIMING 0x80000000u
#define HIPC__OWNER_CLOSED 0x40000000u
#define HIPC__OWNER_PID 0x3fffffffu

/* Where one role's holder is recorded. Pointers, not a struct in shared
 * memory, because the channel keeps the namespace words apart from the
 * rest (the offsets of its 0.2 layout). */
struct hipc__owner {
    _Atomic uint32_t *word;
    _Atomic uint32_t *start_lo, *start_hi;
    _Atomic uint32_t *ns_lo, *ns_hi;
};

/* A record laid out in one piece, for layouts that have no history. */
struct hipc__owner_rec {
    _Atomic uint32_t word, start_lo, start_hi, ns_lo, ns_hi;
};

static inline struct hipc__owner hipc__owner_of(struct hipc__owner_rec *r)
{
    struct hipc__owner o = {&r->word, &r->start_lo, &r->start_hi, &r->ns_lo,
                            &r->ns_hi};
    return o;
}

/* Who this process is: pid, start time (initial time namespace), pid
 * namespace inode (0: no namespaces). */
struct hipc__self {
    pid_t pid;
    uint64_t start;
    uint64_t pidns;
};

/* Fills *me from getpid and /proc/self. HIPC_OK, or the codes of
 * hipc__proc_self_pidns and hipc__proc_self_start. */
int hipc__self_identify(struct hipc__self *me, int *sys_errno);

/* The pid of holder word `w` as this process names it: 0 when the holder
 * recorded another pid namespace, where its number is someone else's. */
pid_t hipc__owner_pid_here(const struct hipc__owner *o,
                           const struct hipc__self *me, uint32_t w);

/* For holder word `w` (loaded by the caller with acquire): 0 when the role
 * is vacant, left or its holder gone; an enum hipc__proc_state (non-zero)
 * when the holder still runs or cannot be judged (hidden /proc, another
 * pid namespace); negative when /proc could not be read at all. */
int hipc__owner_alive(const struct hipc__owner *o, const struct hipc__self *me,
                      uint32_t w, int *sys_errno);

/* Takes the role for `me` when it is vacant, left or its holder gone.
 * HIPC_OK with the word found in *prev (to give the role back with
 * hipc__owner_restore); HIPC_E_EXISTS with the live holder's pid (as named
 * here) in *holder, also when another contender won the race; or a
 * negative code from judging the holder. */
int hipc__owner_claim(const struct hipc__owner *o, const struct hipc__self *me,
                      uint32_t *prev, pid_t *holder, int *sys_errno);

/* Puts back the word a claim replaced (a set-up that failed after it). */
void hipc__owner_restore(const struct hipc__owner *o, uint32_t prev);

/* Marks the role left by `me`: CLOSED|pid, with release order so that
 * everything published before is seen by whoever sees the role left. A
 * role taken over by someone else is left alone. Returns non-zero when the
 * word was ours and is now marked. */
int hipc__owner_leave(const struct hipc__owner *o, const struct hipc__self *me);

#endif
