/* SPDX-License-Identifier: MIT */
/* hipc — fault injection at the syscall seam (test builds only).
 *
 * Built when HIPC_FAULT_INJECTION is defined (CMake option
 * HIPC_FAULT_INJECTION, preset `fault`). The plan is process-wide state,
 * which the library proper never has: it exists only in the fault-injection
 * test build, and in every other build the hooks below compile to nothing.
 *
 * Two kinds of fault:
 * - a planned failure: the Nth call (of one kind, or of any kind) fails
 *   with a chosen errno. Only the process that armed the plan fails it, so
 *   a forked child cannot fire it at an unpredictable moment.
 * - transparent faults, which a correct caller must absorb without any
 *   visible change: EINTR on every first try of a call that can really be
 *   interrupted, EAGAIN on every first try of a non-blocking transfer, and
 *   reads and writes shortened to a few bytes where the kernel could
 *   shorten them too. They are chosen by the environment variable
 *   HIPC_FAULT_MODE, a comma-separated list of
 *       eintr   EINTR first (blocking read/write, poll, blocking waitpid,
 *               futex wait, sigtimedwait with a non-zero timeout)
 *       eagain  EAGAIN first (read/write on an O_NONBLOCK pipe or socket,
 *               futex wait): what a competing reader or writer that got
 *               there first between poll and read causes, or a futex word
 *               that changed and changed back
 *       realtime=+N, realtime=-N
 *               CLOCK_REALTIME read through the seam is N seconds ahead
 *               (behind): a wall clock stepped since boot, e.g. by a
 *               board's first NTP sync
 *       short   transfers of 1 byte (short=N: of N bytes) where the
 *               kernel could shorten them: reads of pipes, sockets and
 *               terminals (not of regular or /proc files), writes except
 *               those of at most PIPE_BUF bytes to a pipe
 *       none    nothing (the default)
 *   read once when the program starts, so a whole test suite can run
 *   unchanged under them.
 */
#ifndef HIPC_FAULT_H
#define HIPC_FAULT_H

#include <stddef.h>

#include "sys.h"

/* What the kernel could do to one particular call. */
#define HIPC_FAULT_CAN_EINTR 1u
#define HIPC_FAULT_CAN_EAGAIN 2u

#ifdef HIPC_FAULT_INJECTION

/* Asked by each wrapper before it calls the kernel: a positive errno to
 * fail with, or 0 to go ahead. Counts the call. Whether the call may be
 * interrupted is judged from its kind alone. */
int hipc_fault_errno(enum hipc__sys_call call);
/* The same, for a wrapper that knows better (`can`: HIPC_FAULT_CAN_*). */
int hipc_fault_errno_if(enum hipc__sys_call call, unsigned can);
/* The same for a transfer on `fd`: blocking pipes, FIFOs, sockets and
 * terminals can be interrupted, non-blocking ones can report EAGAIN,
 * regular files neither. */
int hipc_fault_errno_fd(enum hipc__sys_call call, int fd);

/* What the kernel could do to waitpid with these options (WNOHANG never
 * sleeps, so it is never interrupted), and to a wait bounded by `timeout`
 * (NULL: forever; zero: a poll that never sleeps). */
unsigned hipc_fault_can_wait(int options);
unsigned hipc_fault_can_timeout(const struct timespec *timeout);

/* Asked by read/write wrappers: how many of `len` bytes to move. */
size_t hipc_fault_len(enum hipc__sys_call call, size_t len);
/* The same, knowing the descriptor (keeps pipe writes up to PIPE_BUF whole). */
size_t hipc_fault_len_fd(enum hipc__sys_call call, int fd, size_t len);

/* Control, for tests. HIPC_SYS_COUNT_ as `call` means "any call".
 * hipc_fault_reset() disarms the planned failure, zeroes the counters and
 * returns the transparent modes to what HIPC_FAULT_MODE asked for. */
void hipc_fault_reset(void);
void hipc_fault_fail_nth(enum hipc__sys_call call, unsigned long nth, int err);
/* Every call of kind `call` (HIPC_SYS_COUNT_: every call) fails with err
 * until the next reset or plan, in the process that set it. */
void hipc_fault_fail_every(enum hipc__sys_call call, int err);
void hipc_fault_eintr_first(int on);
void hipc_fault_eagain_first(int on);
void hipc_fault_short_io(size_t max_bytes);
/* Runs fn(arg) once, right before the nth call of kind `call` goes to
 * the kernel: what another process could do at that moment (attach a
 * segment, remove it...), for races no test could time. */
void hipc_fault_hook_nth(enum hipc__sys_call call, unsigned long nth,
                         void (*fn)(void *), void *arg);
/* Short reads of regular files too (not a transparent mode): a reader
 * with a tiny buffer, to which a sysctl file answers the first read and
 * then end of file. */
void hipc_fault_short_files(int on);
/* Shifts CLOCK_REALTIME readings by `seconds` (0: the real clock). */
void hipc_fault_step_realtime(long long seconds);
long long hipc_fault_realtime_shift(void);
/* The transparent modes in force (for hipc_testing_get_modes). */
void hipc_fault_get_modes(int *eintr, int *eagain, size_t *short_max);
unsigned long hipc_fault_calls(enum hipc__sys_call call);
int hipc_fault_fired(void);
/* The transparent modes now in force, as a HIPC_FAULT_MODE string. */
const char *hipc_fault_mode(void);
/* Parses a HIPC_FAULT_MODE string into the plan: 0, or -1 when a word is
 * not understood (the plan is then left as it was). */
int hipc_fault_set_mode(const char *mode);

#else

#define hipc_fault_errno(call) 0
#define hipc_fault_errno_if(call, can) 0
#define hipc_fault_errno_fd(call, fd) 0
#define hipc_fault_can_wait(options) 0u
#define hipc_fault_can_timeout(timeout) 0u
#define hipc_fault_len(call, len) (len)
#define hipc_fault_len_fd(call, fd, len) (len)
#define hipc_fault_realtime_shift() 0

#endif
#endif
