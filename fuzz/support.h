/* SPDX-License-Identifier: MIT */
/* hipc fuzz support — isolation, leak proof, input decoding and invariant
 * checks shared by every fuzz target. Fuzz code may call libc directly; only
 * the library itself goes through lib/sys.c. */
#ifndef HIPC_FUZZ_SUPPORT_H
#define HIPC_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* The two entry points every target defines (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Environment variable that allows a syscall-driving target to run in the
 * machine's own IPC namespace when no private one can be made. */
#define HIPC_FUZZ_ALLOW_HOST_ENV "HIPC_FUZZ_ALLOW_HOST_IPC"

/* Exit status of a target that refuses to run (CTest reports it as a skip). */
#define HIPC_FUZZ_SKIP_STATUS 77

/* Moves the process into a private IPC namespace (unshare CLONE_NEWIPC; as
 * non-root inside a user namespace too). When that is impossible the process
 * exits with HIPC_FUZZ_SKIP_STATUS unless HIPC_FUZZ_ALLOW_HOST_IPC=1. Call it
 * from LLVMFuzzerInitialize of every target that makes syscalls. */
void hipc_fuzz_isolate(void);

/* Non-zero once hipc_fuzz_isolate() has made a private IPC namespace. */
int hipc_fuzz_isolated(void);

/* In a private IPC namespace only: lowers the namespace's System V limits
 * (largest segment in bytes, all segments in pages, number of segments) so
 * no input can make the kernel hand out much memory, and so the limit paths
 * are reached. Returns 0 when all three were set. */
int hipc_fuzz_limit_shm(unsigned long shmmax, unsigned long shmall,
                        unsigned long shmmni);

/* Open descriptors of this process, and segments in its IPC namespace. */
int hipc_fuzz_fd_count(void);
int hipc_fuzz_shm_count(void);

/* shmctl(2) as hipc sees it: through the seam in a fault-injection build,
 * so that a simulated kernel (HIPC_FAULT_SIM=1) answers it; libc's
 * otherwise. -1 with errno on failure, like shmctl. */
struct shmid_ds;
int hipc_fuzz_shmctl(int id, int cmd, struct shmid_ds *ds);

/* Fails (as HIPC_FUZZ_CHECK does) unless `expected` descriptors are open,
 * naming every open descriptor and what it refers to in the message. */
void hipc_fuzz_check_fds(int expected);

/* The descriptor leak check of one input: mark before it, check after.
 * Against the real kernel every input counts /proc/self/fd before and
 * after. While a simulated kernel runs (HIPC_FAULT_SIM=1), where that
 * count would cost more than the input, an input pays for what it can
 * leak, and only for that:
 *  - the simulation's own descriptors: their number, before and after,
 *    exactly and without a syscall;
 *  - real descriptors: an input can open or close one only through a
 *    call that reaches the kernel, and every such call hipc makes goes
 *    through the seam, which tells this harness first (lib/sim.h's
 *    hook); so do the target's own (hipc_fuzz_real_fd_ahead). The real
 *    count is taken at the first such call of the input, before it
 *    runs, and compared after the input: an input that touched no real
 *    descriptor cannot have leaked one and costs nothing, and one that
 *    did is checked exactly, as against the real kernel;
 *  - and, for a descriptor made behind the seam's back (a call hipc
 *    should not make), the first input and every
 *    HIPC_FUZZ_FD_FULL_EVERY-th one are counted before and after
 *    whatever they do.
 * The harness checks on its first input in a world that the hook works:
 * a real descriptor left open through the seam must be seen. */
#define HIPC_FUZZ_FD_FULL_EVERY 64
typedef struct hipc_fuzz_fds {
    int count;         /* open descriptors, -1: not counted */
    long sim;          /* simulated descriptors, -1: no simulation */
    unsigned long sig; /* hipc's signal calls so far (fault builds) */
} hipc_fuzz_fds;
void hipc_fuzz_fds_mark(hipc_fuzz_fds *m);
void hipc_fuzz_fds_check(const hipc_fuzz_fds *m);

/* The target is about to open or close a real descriptor itself (not
 * through hipc or hipc_fuzz_*): call it first, in a world, so that the
 * input's leak check counts them (see above). Harmless elsewhere. */
void hipc_fuzz_real_fd_ahead(void);

/* Whether the input since `m` was marked may have touched the process's
 * real state - opened or closed a real descriptor, or made a signal call
 * through hipc (SIGMASK, SIGPENDING, SIGTIMEDWAIT) - so that a check of
 * that state (SIGPIPE pending or blocked) is needed. Always 1 without a
 * simulated kernel. Call it before hipc_fuzz_fds_check. */
int hipc_fuzz_fds_touched_real(const hipc_fuzz_fds *m);

/* Whether `fd` is a simulated kernel's descriptor (a write to it cannot
 * raise SIGPIPE); 0 without a simulation. */
int hipc_fuzz_fd_is_sim(int fd);

/* Non-zero while a simulated kernel answers hipc's calls. */
int hipc_fuzz_sim_running(void);

/* The calls a target makes itself on descriptors hipc may also hold:
 * through the seam while a simulated kernel runs (so that they reach its
 * descriptors), libc's otherwise; -1 with errno on failure, like libc. */
struct pollfd;
int hipc_fuzz_pipe2(int fds[2], int flags);
int hipc_fuzz_close(int fd);
int hipc_fuzz_fcntl(int fd, int cmd, int arg);
int hipc_fuzz_poll(struct pollfd *fds, unsigned long n, int timeout_ms);
int hipc_fuzz_fionread(int fd, int *out);
long hipc_fuzz_read(int fd, void *buf, size_t len);
long hipc_fuzz_write(int fd, const void *buf, size_t len);

/* Aborts with a message when `cond` is false: both engines record an abort
 * as a crash and keep the input. */
#define HIPC_FUZZ_CHECK(cond)                                                  \
    ((cond) ? (void)0 : hipc_fuzz_fail(__FILE__, __LINE__, #cond))
#define HIPC_FUZZ_CHECK_CODE(rc)                                               \
    hipc_fuzz_check_code((rc), __FILE__, __LINE__, #rc)

/* With HIPC_FUZZ_TRACE=1 in the environment, prints each step a sequence
 * target takes (for reading what a crashing input does); otherwise silent. */
void hipc_fuzz_trace(const char *op, int slot, long rc);

void hipc_fuzz_fail(const char *file, int line, const char *what);

/* Every value a hipc call returns is >= 0 or a code from the error table. */
void hipc_fuzz_check_code(long rc, const char *file, int line,
                          const char *what);

/* The unread rest of a fuzz input. Reads past the end yield zeros, so a
 * target never has to check lengths before decoding a field. */
typedef struct hipc_fuzz_in {
    const uint8_t *p;
    size_t n;
} hipc_fuzz_in;

uint8_t hipc_fuzz_u8(hipc_fuzz_in *in);
uint16_t hipc_fuzz_u16(hipc_fuzz_in *in);
uint32_t hipc_fuzz_u32(hipc_fuzz_in *in);
uint64_t hipc_fuzz_u64(hipc_fuzz_in *in);

/* Takes up to `want` bytes; returns how many were taken and points *out at
 * them (inside the input buffer). */
size_t hipc_fuzz_bytes(hipc_fuzz_in *in, size_t want, const uint8_t **out);

#endif
