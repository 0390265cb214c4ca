/* hipc — fault injection at the syscall seam (test builds only).
 *
 * Built when HIPC_FAULT_INJECTION is defined (CMake option
 * HIPC_FAULT_INJECTION). The plan is process-wide state, which the library
 * proper never has: it exists only in the fault-injection test build.
 */
#ifndef HIPC_FAULT_H
#define HIPC_FAULT_H

#include <stddef.h>

#include "sys.h"

#ifdef HIPC_FAULT_INJECTION

/* Asked by each wrapper before it calls the kernel: a positive errno to
 * fail with, or 0 to go ahead. Counts the call. */
int hipc_fault_errno(enum hipc_sys_call call);
/* Asked by read/write wrappers: how many of `len` bytes to move. */
size_t hipc_fault_len(enum hipc_sys_call call, size_t len);

/* Control, for tests. HIPC_SYS_COUNT_ as `call` means "any call". */
void hipc_fault_reset(void);
void hipc_fault_fail_nth(enum hipc_sys_call call, unsigned long nth, int err);
void hipc_fault_eintr_first(int on);
void hipc_fault_short_io(size_t max_bytes);
unsigned long hipc_fault_calls(enum hipc_sys_call call);
int hipc_fault_fired(void);

#else

#define hipc_fault_errno(call) 0
#define hipc_fault_len(call, len) (len)

#endif
#endif
