/* SPDX-License-Identifier: MIT */
/* hipc — the fault plan and hostile-peer hooks, for the tests and fuzz
 * targets of programs that use hipc.
 *
 * Only in a hipc built with the CMake option HIPC_FAULT_INJECTION=ON (a
 * test or fuzz build: configuring it with CMAKE_BUILD_TYPE Release or
 * MinSizeRel is refused). Such a build installs this header and defines
 * HIPC_TESTING in <hipc/config.h>; any other build installs neither, and a
 * program that includes this header against it stops at the #error below,
 * so a fault plan can never reach a shipped binary by accident.
 *
 * Every syscall hipc makes goes through one seam; the plan below decides,
 * before each one, whether the kernel is asked at all. Planned failures
 * (hipc_testing_fail_nth, hipc_testing_fail_every) make a call return a
 * chosen errno without reaching the kernel; the transparent modes
 * (hipc_testing_set_modes) do what the kernel may do to any call and a
 * correct caller absorbs: EINTR, spurious EAGAIN, short transfers, a wall
 * clock stepped since boot.
 *
 * Scope: one plan per process. A planned failure fires only in the process
 * that armed it: a forked child (hipc's own, or the program's) inherits
 * the plan but never fires it, and counts its calls in its own copy. The
 * transparent modes do apply in a child, which absorbs them like any
 * caller. Threads share the plan and the counters (atomic): the Nth call
 * counts every thread's calls in the order they reach the seam, so a
 * planned failure is deterministic only where one thread makes hipc calls
 * while it is armed. Arm, set and reset only while no other thread is
 * inside hipc. The transparent modes alternate per thread (a fault, then a
 * real try), so every retry makes progress.
 *
 * Determinism: the plan holds no clock and no randomness. After
 * hipc_testing_reset(), the same sequence of calls meets the same faults,
 * which is what a fuzz target needs between inputs.
 *
 * The environment variable HIPC_FAULT_MODE (eintr, eagain, short,
 * short=N, realtime=+N, realtime=-N, none; comma-separated) sets the
 * transparent modes when the program starts, so a whole test suite can run
 * under them unchanged; hipc_testing_reset() returns to them. A word not
 * understood there ends the program at start with status 125. */
#ifndef HIPC_TESTING_H
#define HIPC_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "hipc/bcast.h"
#include "hipc/chan.h"
#include "hipc/config.h"
#include "hipc/state.h"

#ifndef HIPC_TESTING
#error                                                                         \
    "hipc/testing.h needs a hipc built with -DHIPC_FAULT_INJECTION=ON (test and fuzz builds only; see hipc_testing(3))"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds of call the seam knows, one per syscall (or small family:
 * HIPC_CALL_WRITE covers write, writev and pwritev2; HIPC_CALL_CLOSE
 * close and fclose; HIPC_CALL_READ read and readv; HIPC_CALL_CLOCK the
 * monotonic clock, HIPC_CALL_MADVISE madvise and mincore). Values are
 * fixed; a later hipc appends kinds, and HIPC_CALL_KINDS, their number,
 * grows. HIPC_CALL_ANY stays. */
typedef enum hipc_testing_call {
    HIPC_CALL_SHMGET = 0,
    HIPC_CALL_SHMAT = 1,
    HIPC_CALL_SHMDT = 2,
    HIPC_CALL_SHMCTL = 3,
    HIPC_CALL_PIPE2 = 4,
    HIPC_CALL_READ = 5,
    HIPC_CALL_WRITE = 6,
    HIPC_CALL_CLOSE = 7,
    HIPC_CALL_FCNTL = 8,
    HIPC_CALL_FSTAT = 9,
    HIPC_CALL_STAT = 10,
    HIPC_CALL_OPEN = 11,
    HIPC_CALL_POLL = 12,
    HIPC_CALL_IOCTL = 13,
    HIPC_CALL_FORK = 14,
    HIPC_CALL_WAITPID = 15,
    HIPC_CALL_KILL = 16,
    HIPC_CALL_SIGMASK = 17,
    HIPC_CALL_SIGTIMEDWAIT = 18,
    HIPC_CALL_SIGPENDING = 19,
    HIPC_CALL_CLOCK = 20,
    HIPC_CALL_FUTEX = 21,
    HIPC_CALL_MADVISE = 22,
    HIPC_CALL_DUP2 = 23,
    HIPC_CALL_FDOPEN = 24,
    HIPC_CALL_GETPID = 25,
    HIPC_CALL_OPENAT = 26,
    HIPC_CALL_MKFIFOAT = 27,
    HIPC_CALL_UNLINKAT = 28,
    HIPC_CALL_FCHMOD = 29,
    HIPC_CALL_CLONE = 30,
    HIPC_CALL_EXECVE = 31,
    HIPC_CALL_CHDIR = 32,
    HIPC_CALL_SETSID = 33,
    HIPC_CALL_SETPGID = 34,
    HIPC_CALL_CLOSE_RANGE = 35,
    HIPC_CALL_SIGACTION = 36,
    HIPC_CALL_PIDFD_OPEN = 37,
    HIPC_CALL_PIDFD_SIGNAL = 38,
    HIPC_CALL_READLINK = 39,
    HIPC_CALL_SOCKET = 40,
    HIPC_CALL_BIND = 41,
    HIPC_CALL_SENDTO = 42,
    HIPC_CALL_EPOLL_CREATE = 43,
    HIPC_CALL_EPOLL_CTL = 44,
    HIPC_CALL_TIMERFD_CREATE = 45,
    HIPC_CALL_TIMERFD_SETTIME = 46,
    HIPC_CALL_KINDS = 47, /* how many kinds there are (not a kind) */
    HIPC_CALL_ANY = 255   /* every kind at once */
} hipc_testing_call;

/* The transparent modes. Zeroed: none of them. */
typedef struct hipc_testing_modes {
    int eintr_first;    /* EINTR on the first try of every call a signal could
                         interrupt (blocking read/write, poll, waitpid,
                         futex wait, sigtimedwait with a timeout) */
    int eagain_first;   /* EAGAIN on the first try of every non-blocking
                         transfer and futex wait */
    size_t short_max;   /* 0: whole transfers; N: reads of pipes, sockets
                         and terminals and writes (not pipe writes of at
                         most PIPE_BUF bytes) move at most N bytes */
    int64_t realtime_s; /* CLOCK_REALTIME as hipc reads it is this many
                           seconds ahead (negative: behind); at most
                           HIPC_TESTING_MAX_SHIFT either way */
} hipc_testing_modes;

/* A century, in seconds: the largest wall-clock step. */
#define HIPC_TESTING_MAX_SHIFT 3200000000LL
/* Errno values a planned failure may carry: 1 to this. */
#define HIPC_TESTING_MAX_ERRNO 4095

/* Disarms every planned failure, zeroes every call counter (and the
 * calling thread's alternation of transparent faults) and returns the
 * transparent modes to those HIPC_FAULT_MODE set at start (none when it
 * was not set). Call it before each fuzz input. Cannot fail. */
void hipc_testing_reset(void);

/* Arms one planned failure: the nth call of kind `call` (HIPC_CALL_ANY:
 * the nth call of any kind) made from now on returns `err` (a positive
 * errno) without reaching the kernel, once. Zeroes the call counters, so
 * n counts from here, and replaces a failure armed before (by this or by
 * hipc_testing_fail_every). hipc reports it the way it reports the
 * kernel's errno (an HIPC_E_* code, sys_errno = err). Returns HIPC_OK;
 * HIPC_E_BAD_FLAGS when `call` is not a kind or `err` is not in 1 to
 * HIPC_TESTING_MAX_ERRNO; HIPC_E_BAD_SIZE when nth is 0. Nothing changes
 * on an error. */
int hipc_testing_fail_nth(hipc_testing_call call, unsigned long nth, int err);

/* Arms a lasting failure: every call of kind `call` (HIPC_CALL_ANY: every
 * call) fails with `err` until hipc_testing_reset(). Zeroes the call
 * counters and replaces a failure armed before. Returns HIPC_OK;
 * HIPC_E_BAD_FLAGS when `call` is not a kind or `err` is not in 1 to
 * HIPC_TESTING_MAX_ERRNO. Nothing changes on an error. */
int hipc_testing_fail_every(hipc_testing_call call, int err);

/* Whether the armed failure has fired (made at least one call fail) since
 * it was armed: 1 or 0. Cannot fail. */
int hipc_testing_get_fired(void);

/* Calls of kind `call` (HIPC_CALL_ANY: of every kind) this process made
 * since the counters were last zeroed, failed ones included, in *count.
 * Returns HIPC_OK; HIPC_E_NULL (count); HIPC_E_BAD_FLAGS when `call` is
 * not a kind. */
int hipc_testing_get_calls(hipc_testing_call call, unsigned long *count);

/* Sets the transparent modes for the whole process (NULL: none), until
 * the next hipc_testing_set_modes or hipc_testing_reset. Returns HIPC_OK;
 * HIPC_E_OVERFLOW when realtime_s is beyond HIPC_TESTING_MAX_SHIFT either
 * way; HIPC_E_BAD_SIZE when short_max is above HIPC_MAX_MSG_BYTES. Nothing
 * changes on an error. */
int hipc_testing_set_modes(const hipc_testing_modes *modes);

/* The transparent modes now in force, in *out. Returns HIPC_OK;
 * HIPC_E_NULL (out). */
int hipc_testing_get_modes(hipc_testing_modes *out);

/* Hostile peers. Each hook writes `len` bytes (a fuzzer's input) over
 * what the end held by `peer` writes into shared memory while it runs,
 * the way that process could if it were buggy or hostile, ignoring every
 * rule of the protocol: the code under test then meets them through its
 * own handle and the normal calls. Words are in this machine's byte
 * order; bytes beyond what the end writes are not used, and words the
 * input does not reach are left as they were. The hook makes no syscall
 * and wakes nobody. `peer` is an open handle of this process (hipc's
 * checks on it are skipped from then on: use it only for more hooks and
 * to close). Not while another thread uses the block. Each returns the
 * number of bytes used (>= 0), or HIPC_E_NULL (peer; bytes with a
 * non-zero len), HIPC_E_BAD_HANDLE (not an open handle of that kind made
 * here: never opened, garbage, or a copy), HIPC_E_STALE_HANDLE (closed),
 * HIPC_E_BAD_SIZE (len above INT_MAX). Nothing is written on an error.
 *
 * A channel's producer end writes its tail position (4 bytes), its
 * "producer sleeps" word (4) and then the ring (up to `capacity` bytes,
 * from the ring's start); a consumer end its head position (4) and its
 * "consumer sleeps" word (4). */
int hipc_testing_chan_peer(hipc_chan *peer, const void *bytes, size_t len);

/* A state block's writer: the current-generation word (4 bytes), then
 * both slots (each a 32-bit sequence, a 32-bit pad, a 64-bit generation
 * and the value padded to whole words). */
int hipc_testing_state_peer(hipc_state_writer *peer, const void *bytes,
                            size_t len);

/* A bcast ring's producer: its head position (4 bytes), its oldest held
 * byte (8), the next sequence number (8), then the ring (up to
 * `capacity` bytes). Also HIPC_E_WRONG_END for a consumer's handle (the
 * consumers of a ring write nothing into it). */
int hipc_testing_bcast_peer(hipc_bcast *peer, const void *bytes, size_t len);

/* ---- The simulated kernel ----------------------------------------------
 *
 * hipc_testing_sim_begin() switches the seam to a kernel simulated in
 * this process's memory: from then on hipc's System V shm calls and
 * pipes are answered by it with no syscall, until hipc_testing_sim_end().
 * The environment variable HIPC_FAULT_SIM=1 begins one (default limits)
 * before main, so a whole test program runs against it unchanged (any
 * value but 1, 0 or empty ends the program at start with status 125).
 * The fault plan applies on top: planned failures and the transparent
 * modes are decided before the simulation answers.
 *
 * Simulated, following Linux's ipc/shm.c and fs/pipe.c:
 * - shmget with keys and IPC_PRIVATE, IPC_CREAT, IPC_EXCL; sizes rounded
 *   up to pages; ids made of a slot and a sequence number (an id is not
 *   reused at once); EEXIST, ENOENT, EINVAL (size), EACCES, ENOSPC
 *   (SHMALL, SHMMNI), ENOMEM (arena full, SHM_HUGETLB);
 * - shmat (SHM_RDONLY, SHM_EXEC checked against the mode for the
 *   caller's effective uid and gid; euid 0 passes as CAP_IPC_OWNER would),
 *   shmdt, nattch, attach and detach times and pids;
 * - shmctl IPC_STAT, IPC_SET, IPC_RMID (the key is freed at once, the
 *   segment at the last detach, SHM_DEST reported until then; a removed
 *   segment can still be attached by id, as Linux allows), IPC_INFO,
 *   SHM_INFO;
 * - /proc/sys/kernel/shmmax, shmall and shmmni, read through hipc, report
 *   the world's limits; another process's /proc entries and
 *   /proc/sysvipc fail with ENOSYS (the world has no other process, and
 *   the kernel's segment list is not the world's);
 * - who this process is: the world's pid, effective uid and effective
 *   gid are the process's at begin (in a child forked inside the world:
 *   at its first hipc call), and the files hipc reads to identify itself
 *   (/proc/self/stat, /proc/self/timens_offsets, /proc/self/ns/pid,
 *   ns/time, ns/time_for_children, the /proc/self link) are the kernel's
 *   answers at their first look, repeated from then on with no syscall;
 * - pipes (pipe2 with O_NONBLOCK, O_CLOEXEC): a byte ring of
 *   F_GETPIPE_SZ bytes (default 65536; F_SETPIPE_SZ rounds to a power of
 *   two of pages, EBUSY below the bytes held, EPERM above 1 MiB unless
 *   euid 0), writes of at most PIPE_BUF bytes whole or not at all, EOF
 *   once every write end is closed, EPIPE once every read end is, poll
 *   readiness (POLLIN, POLLOUT with PIPE_BUF bytes free, POLLHUP,
 *   POLLERR, POLLNVAL), fcntl F_GETFL/F_SETFL/F_GETFD/F_SETFD, fstat (a
 *   FIFO), ioctl FIONREAD. Descriptors are numbered from 1 << 20, above
 *   any real one;
 * - futex waits with a timeout on a word in the world's segments:
 *   nobody else in the world can change the word, so a wait on an
 *   unchanged word sleeps out its timeout (a real sleep: the caller's
 *   clock must see the time pass) and reports it timed out; a wake
 *   reports nobody woken. A futex word in memory the world did not give
 *   (a channel on the caller's own mapping, which a real child may share)
 *   is waited on and woken by the kernel.
 *
 * Refused with ENOSYS, through hipc's normal error path, because nothing
 * else can run in the simulated world: fork and hipc's process spawning,
 * an endless futex wait on its memory (hipc makes none), a read, write or endless
 * poll that would have to wait (there is nobody to wait for; a poll with
 * a finite timeout returns 0 at once and the caller's clock decides),
 * poll over a real descriptor (alone or among simulated ones, so a call
 * on a real pipe that would poll first fails), packet-mode pipes
 * (O_DIRECT), dup2 of a simulated descriptor, FIFOs (mkfifoat), the
 * doorbell's socket, epoll and timer. Not simulated and left to the
 * kernel: plain files and stat, clocks, signals (kill, masks), the rest
 * of this process's /proc entries.
 *
 * Differences from the kernel a test may notice: every attachment of a
 * segment has the same address (shmat with an address other than NULL is
 * EINVAL); memory stays readable and writable after shmdt and under
 * SHM_RDONLY (no SIGSEGV); a write to a pipe with no reader raises no
 * SIGPIPE, so hipc writes to a simulated pipe without its SIGPIPE guard
 * (no signal-mask call; a real pipe written in a world is guarded as
 * always); a blocking write that fills the pipe returns the bytes that
 * fit; supplementary groups are not consulted; ENOMEM when the arena
 * (HIPC_SIM_ARENA_BYTES, a CMake cache variable) is full; a process that
 * changes its ids inside a world (without a fork) is still seen with
 * those of the begin, and its /proc/self/stat line (state, times) is
 * that of the first look; the world's descriptors come from a table of
 * its own, whatever RLIMIT_NOFILE says; a sysctl text read again at a
 * later offset goes on where the kernel's would report end of file. Calls made without
 * hipc (the program's own shmctl) still go to the real kernel.
 *
 * hipc's own test suite runs against a world (its coverage stage): a
 * case that needs what a world cannot give (another process, threads,
 * doorbells, FIFOs, packet mode, the kernel's /proc/sys, /proc/sysvipc
 * or next ids, its own syscalls on hipc's objects) is skipped there with
 * its reason, and every other case passes unchanged.
 *
 * One world per process. Begin and end while no other thread is inside
 * hipc; the world is not for several threads at once. A forked child gets
 * a copy of the world, which nothing connects to its parent's. */

/* Limits of a simulated world; a zeroed field takes its default: the
 * whole arena for shmmax and shmall, HIPC_TESTING_SIM_SEGMENTS for
 * shmmni. */
typedef struct hipc_testing_sim_limits {
    uint64_t shmmax; /* bytes in one segment (SHMMAX) */
    uint64_t shmall; /* pages in all segments together (SHMALL) */
    uint64_t shmmni; /* segments at once (SHMMNI) */
} hipc_testing_sim_limits;

/* Segments a world can hold. */
#define HIPC_TESTING_SIM_SEGMENTS 256

/* What a world holds now (all zero when none runs). */
typedef struct hipc_testing_sim_usage {
    int running;        /* 1 while a simulation runs */
    size_t segments;    /* segments that exist, removed ones still attached
                           included */
    size_t attachments; /* shmat not yet undone by shmdt */
    size_t descriptors; /* simulated descriptors open */
    size_t pages;       /* arena pages in use (segments and pipe buffers) */
} hipc_testing_sim_usage;

/* Begins a simulated world, empty, with `limits` (NULL: the defaults).
 * Returns HIPC_OK; HIPC_E_BAD_STATE when one runs already (end it
 * first); HIPC_E_TOO_BIG when a limit is more than the arena or the
 * segment table holds. Nothing changes on an error. */
int hipc_testing_sim_begin(const hipc_testing_sim_limits *limits);

/* Ends the world and frees everything in it: every segment, attachment,
 * pipe and descriptor, whatever handles still name them. A handle left
 * open is stale from then on: its calls report what a segment removed by
 * someone else or a descriptor closed behind its back reports (close it;
 * its close may report an error, to be ignored), and a later world may
 * reuse its ids and descriptor numbers, as the kernel would. hipc's calls
 * go to the real kernel again. Returns HIPC_OK; HIPC_E_BAD_STATE when no
 * simulation runs. */
int hipc_testing_sim_end(void);

/* What the world holds, in *out: for a fuzz target's check that an input
 * left nothing behind. Returns HIPC_OK; HIPC_E_NULL (out). */
int hipc_testing_get_sim(hipc_testing_sim_usage *out);

#ifdef __cplusplus
}
#endif
#endif
