/* hipc — inspection helpers that tests reach directly. Internal. */
#ifndef HIPC_INSPECT_PRIV_H
#define HIPC_INSPECT_PRIV_H

#include <stdint.h>

/* Seconds of slack when comparing a process start with a segment's ctime:
 * ctime has whole seconds, start times have clock ticks, and the boot
 * epoch is derived from two clock readings. */
#define HIPC__INSPECT_START_SLACK 2

/* Pure: non-zero when a process that started `start_ticks` clock ticks
 * after boot (ticks_per_s per second) started clearly after `ctime` (epoch
 * seconds). `real_now` and `boot_now` are CLOCK_REALTIME and CLOCK_BOOTTIME
 * seconds read at the same moment. Such a process cannot have created the
 * segment: its pid was reused. */
int hipc__inspect_started_after(uint64_t start_ticks, long ticks_per_s,
                                int64_t real_now, int64_t boot_now,
                                int64_t ctime);

#endif
