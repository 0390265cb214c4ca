/* SPDX-License-Identifier: MIT */
/* hipc — process identity: a pid plus its start time names one process
 * even after the pid is reused. Internal.
 *
 * Start times come from /proc/PID/stat (field 22, clock ticks since boot),
 * which the kernel shifts by the *reader's* time-namespace boottime offset.
 * Two processes in different time namespaces therefore read different
 * numbers for the same process, so every start time hipc records or
 * compares is first taken back to the initial time namespace by the
 * reader's own offset (/proc/self/timens_offsets). Converting an offset
 * with a fraction of a tick can round either way, so two readings of one
 * process agree within one tick; a pid reused within one tick of the first
 * process's start would need the whole pid space to wrap in that time.
 *
 * "Cannot see" never means "dead": a /proc/PID entry hidden from us
 * (hidepid=invisible or noaccess, another uid) is asked about with
 * kill(pid, 0), and a pid that exists but cannot be read is reported as
 * HIPC__PROC_UNKNOWN, never as gone. */
#ifndef HIPC_PROC_H
#define HIPC_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What hipc__proc_alive() found. */
enum hipc__proc_state {
    HIPC__PROC_GONE = 0,    /* no such process, a zombie, or a reused pid */
    HIPC__PROC_ALIVE = 1,   /* the very process recorded */
    HIPC__PROC_UNKNOWN = 2, /* the pid exists, but hipc cannot tell whose
                               it is (hidden /proc, unknown time offset) */
};

/* A zombie has died; it only waits for its parent to reap it. */
static inline int hipc__proc_dead(char state)
{
    return state == 'Z' || state == 'X';
}

/* Pure: field 3 (state) and field 22 (starttime) of a /proc/PID/stat
 * line. The command name may contain spaces and ')' so parsing starts
 * after the last ')'. HIPC_OK, or HIPC_E_CORRUPT. */
int hipc__proc_parse_stat(const char *buf, size_t len, char *state,
                          uint64_t *start);

/* Pure: the boottime offset of a /proc/PID/timens_offsets text, in clock
 * ticks (ticks_per_s per second; nanoseconds are truncated to whole ticks,
 * toward minus infinity). HIPC_OK, or HIPC_E_CORRUPT. */
int hipc__proc_parse_offsets(const char *buf, size_t len, long ticks_per_s,
                             int64_t *boot_ticks);

/* Pure: a start time `seen` from a namespace whose boottime offset is
 * `off` ticks, as the initial namespace sees it. HIPC_E_CORRUPT for a
 * start before that namespace's boot, or one out of range. */
int hipc__proc_unshift(uint64_t seen, int64_t off, uint64_t *start);

/* State and start time of `pid` as this process sees them (start shifted
 * by our own time namespace). HIPC_E_NOT_FOUND when no such process
 * exists, HIPC_E_PERM when it exists but its /proc entry is hidden. */
int hipc__proc_stat_seen(pid_t pid, char *state, uint64_t *start,
                         int *sys_errno);

/* Start time of `pid` in clock ticks since boot, as seen from the initial
 * time namespace. HIPC_E_NOT_FOUND, HIPC_E_PERM (hidden), or
 * HIPC_E_UNSUPPORTED when this process's own time offset cannot be known
 * (it unshared a time namespace without entering it). */
int hipc__proc_start_time(pid_t pid, uint64_t *start, int *sys_errno);

/* Our own start time, from /proc/self/stat (never hidden: a failure is
 * the open's own code, HIPC_E_NOT_FOUND without /proc). */
int hipc__proc_self_start(uint64_t *start, int *sys_errno);

/* The inode of our pid namespace (/proc/self/ns/pid), or 0 on a kernel
 * without namespaces. */
int hipc__proc_self_pidns(uint64_t *ns, int *sys_errno);

/* Whether the process `pid` that started at `start` (as returned by
 * hipc__proc_start_time) still runs: an enum hipc__proc_state, or a
 * negative hipc code when /proc could not be read at all (no descriptor
 * left, I/O error). */
int hipc__proc_alive(pid_t pid, uint64_t start, int *sys_errno);

/* Whether the /proc we see is our own pid namespace's: its /proc/self
 * links to the pid getpid() gives. A process that unshared a pid
 * namespace without mounting a /proc for it (unshare --pid --fork without
 * --mount-proc; AFL++'s runs) sees its parent namespace's /proc, where our
 * pid numbers name other processes: no verdict by pid can be made there.
 * 1: ours, 0: not, or the code of the read. */
int hipc__proc_is_ours(int *sys_errno);

/* A pid namespace recorded as "ours cannot be named": see owner.h. */
#define HIPC__PIDNS_FOREIGN UINT64_MAX

#endif
