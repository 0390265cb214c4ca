/* SPDX-License-Identifier: MIT */
/* hipc — inspection helpers that tests reach directly. Internal. */
#ifndef HIPC_INSPECT_PRIV_H
#define HIPC_INSPECT_PRIV_H

#include <stdint.h>

/* Pure: non-zero when a process that started `start_ticks` clock ticks
 * after boot (ticks_per_s per second) certainly started after a segment
 * whose ctime (epoch seconds, truncated) is `ctime`. `boot_now_ns` and
 * `real_now_ns` are CLOCK_BOOTTIME and CLOCK_REALTIME read in that order
 * (the gap between the two readings can only make a start look later).
 * Exact but for those two truncations: a start is rounded down to a tick
 * and a creation lies anywhere in [ctime, ctime + 1 s), so the claim is
 * made only for starts past ctime + 1 s + HIPC__INSPECT_SKEW_NS.
 *
 * This compares the wall clock with the boot clock, so a wall clock
 * stepped since the segment was made (a board's first NTP sync) moves
 * the answer by the size of the step: it is a hint, never grounds to
 * remove a segment (see orphan_of in inspect.c). */
#define HIPC__INSPECT_SKEW_NS 1000000
int hipc__inspect_started_after(uint64_t start_ticks, long ticks_per_s,
                                int64_t real_now_ns, int64_t boot_now_ns,
                                int64_t ctime);

#endif
