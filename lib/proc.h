/* hipc — process identity: a pid plus its start time names one process
 * even after the pid is reused. Internal. */
#ifndef HIPC_PROC_H
#define HIPC_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Pure: field 3 (state) and field 22 (starttime) of a /proc/PID/stat
 * line. The command name may contain spaces and ')' so parsing starts
 * after the last ')'. HIPC_OK, or HIPC_E_CORRUPT. */
int hipc__proc_parse_stat(const char *buf, size_t len, char *state,
                          uint64_t *start);

/* Start time of `pid` in clock ticks since boot. HIPC_E_NOT_FOUND when no
 * such process exists. */
int hipc__proc_start_time(pid_t pid, uint64_t *start, int *sys_errno);

/* Non-zero when the process `pid` that started at `start` still runs
 * (a reused pid with another start time does not count). A zombie counts
 * as gone. Returns 1, 0, or a negative hipc code. */
int hipc__proc_alive(pid_t pid, uint64_t start, int *sys_errno);

#endif
