/* SPDX-License-Identifier: MIT */
/* hipc benches: one CPU for the side that must never wait (writer,
 * producer), the others for its peers, so the figures measure hipc and
 * not two processes taking turns on one core. Header-only: each
 * bench_*.c is a program of its own. */
#ifndef HIPC_BENCH_CPUS_H
#define HIPC_BENCH_CPUS_H

#include <sched.h>

/* Fills `first` with the first CPU this process may use and `rest` with
 * the others, and pins the caller to `first`: 1 when pinned, 0 with a
 * single CPU or when the kernel refuses (nothing pinned then). */
static inline int hipc_bench_split_cpus(cpu_set_t *first, cpu_set_t *rest)
{
    cpu_set_t all;
    CPU_ZERO(first);
    CPU_ZERO(rest);
    if (sched_getaffinity(0, sizeof all, &all) != 0 || CPU_COUNT(&all) < 2)
        return 0;
    int taken = 0;
    for (size_t c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &all))
            continue;
        CPU_SET(c, taken ? rest : first);
        taken = 1;
    }
    return sched_setaffinity(0, sizeof *first, first) == 0;
}

#endif
