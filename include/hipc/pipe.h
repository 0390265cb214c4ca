/* SPDX-License-Identifier: MIT */
/* hipc — pipes with validated descriptors, complete I/O and no SIGPIPE.
 *
 * A pipe carries bytes one way, in order: what is written to the write end
 * (write_fd) is read from the read end (read_fd), never the other way round.
 *
 * A hipc_pipe is caller-allocated and needs no initialisation before
 * hipc_pipe_create() or hipc_pipe_adopt(), which overwrite it completely. A
 * handle holds both ends (create) or one end (adopt, or a pair after
 * hipc_pipe_close_end()); using an end the handle does not hold is
 * HIPC_E_WRONG_END. A zeroed or garbage handle is HIPC_E_BAD_HANDLE, a closed
 * one HIPC_E_STALE_HANDLE. After a failed syscall the kernel's errno is in
 * `sys_errno`.
 *
 * Copies: a handle records its own address when create or adopt opens it,
 * and every call on a handle at another address (a copy made by value,
 * or one moved with memcpy) returns HIPC_E_BAD_HANDLE without touching a
 * descriptor, so a copy can never close or use the original's ends, nor
 * descriptors that a later handle got with the same numbers. Keep a
 * handle where it was opened and pass pointers to it.
 *
 * Codes. Below, "H" stands for the handle's own codes: HIPC_E_NULL (p is
 * NULL), HIPC_E_BAD_HANDLE (never opened, garbage, or a copy) and
 * HIPC_E_STALE_HANDLE (closed). "K" stands for a failed syscall, whose
 * errno is kept in `sys_errno` and maps to HIPC_E_BAD_FD (EBADF),
 * HIPC_E_BAD_ADDR (EFAULT), HIPC_E_NOMEM (ENOMEM), HIPC_E_LIMIT (EMFILE,
 * ENFILE: out of descriptors; ENOSPC), HIPC_E_PERM (EACCES, EPERM),
 * HIPC_E_NOT_FOUND (ENOENT), HIPC_E_INTR (EINTR, only where it cannot be
 * retried: close), HIPC_E_UNSUPPORTED (ENOSYS, EOPNOTSUPP) or HIPC_E_SYS
 * (any other errno, EIO, EINVAL...). Each call lists the other codes it
 * returns; no call returns a code it does not list.
 *
 * Descriptors are validated once, when adopted; reads and writes make no
 * fstat, fcntl or sysconf calls.
 *
 * Atomicity: a write of at most HIPC_PIPE_ATOMIC_BYTES (PIPE_BUF, 4096 on
 * Linux) bytes reaches the pipe in one piece, never interleaved with other
 * writers' data; larger writes may be split and interleaved. The same holds
 * for a frame whose header plus payload fits in PIPE_BUF.
 *
 * SIGPIPE: a write whose reader has gone returns HIPC_E_PEER_GONE and the
 * process survives. Unless the handle has HIPC_PIPE_SIGPIPE_IGNORED, writes
 * carry RWF_NOSIGNAL (pwritev2, Linux 6.18+), which makes the kernel fail
 * them with EPIPE and raise nothing. On a kernel that refuses the flag
 * (once; then for the whole process) each writing call instead blocks
 * SIGPIPE on the calling thread around its writes (two rt_sigprocmask
 * calls per API call, not per write) and, if the kernel raised SIGPIPE for
 * it, consumes exactly that signal before restoring the mask. Either way
 * the signal disposition and mask are left as they were, and a SIGPIPE
 * that was pending before the call stays pending. (Should consuming the
 * signal ever fail, SIGPIPE is left blocked on the thread rather than
 * delivered.) The stream of hipc_pipe_spawn() is written by stdio, which
 * cannot carry the flag: closing it always uses the mask.
 *
 * Cost, measured on the project's 2-core VMs against a raw write/read
 * loop (bench/RESULTS.md): with HIPC_PIPE_SIGPIPE_IGNORED an untimed
 * write_all or read_exact that one syscall completes costs a few checks
 * (1.01-1.03x the raw calls in one thread, within 3 % of the raw loop's
 * rate between two processes); the default with RWF_NOSIGNAL costs what
 * pwritev2 costs over write (about 100 ns per 64-byte write: 0.63 of the
 * raw loop's rate at 64 bytes, parity at 4 KiB); the mask costs about
 * 0.6-0.8 us per writing call (0.3 of the rate at 64 bytes). A timed call
 * on a blocking pipe adds a poll per transfer (ratio about 2); on a pipe
 * made with HIPC_PIPE_NONBLOCK it tries the transfer first and polls only
 * after EAGAIN (ratio about 1.08). Writers that want the last nanoseconds
 * ignore SIGPIPE once and pass HIPC_PIPE_SIGPIPE_IGNORED. The flag means
 * ignored and not blocked: the kernel keeps a blocked SIGPIPE pending even
 * when its action is SIG_IGN, so a thread that blocks it would find one
 * pending after a failed write (harmless: discarded when unblocked).
 *
 * EINTR is absorbed everywhere: calls without a timeout retry; calls with a
 * timeout retry against the same absolute deadline (CLOCK_MONOTONIC), so a
 * signal never extends it.
 *
 * Counts: functions that move bytes report how many through `done` (may be
 * NULL), on success and on failure alike, so a caller that gets
 * HIPC_E_TIMEDOUT, HIPC_E_EOF or HIPC_E_PEER_GONE knows what went through.
 *
 * Lengths: a transfer of more than SSIZE_MAX bytes is HIPC_E_BAD_SIZE
 * before any syscall (no buffer is that long, and the kernel's answer
 * could not be told from a count); a length of 0 moves nothing and
 * succeeds, except for read_some, which must wait for at least one byte
 * (HIPC_E_BAD_SIZE).
 *
 * Writing calls on a pipe with the signal-mask fallback and a SIGPIPE
 * that the caller had blocked and pending read /proc/thread-self/status to
 * tell one pending for the thread from one pending for the process: K
 * then includes that file's open and read failures (e.g. HIPC_E_NOT_FOUND
 * without /proc), reported before anything is written.
 */
#ifndef HIPC_PIPE_H
#define HIPC_PIPE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes up to this size are atomic. */
#define HIPC_PIPE_ATOMIC_BYTES PIPE_BUF

/* Flags. Unknown bits, or bits a call does not take, are HIPC_E_BAD_FLAGS. */
#define HIPC_PIPE_NONBLOCK                                                     \
    0x01u /* create only: O_NONBLOCK on both ends;
                                    I/O without timeout then returns
                                    HIPC_E_AGAIN instead of waiting */
#define HIPC_PIPE_DIRECT                                                       \
    0x02u /* create: O_DIRECT, "packet mode": each
                                    write of up to PIPE_BUF bytes is one
                                    packet, a read takes one packet and drops
                                    what does not fit the buffer. adopt, read
                                    end only: its writer sends packets (the
                                    read end cannot see it; see recv_frame) */
#define HIPC_PIPE_SIGPIPE_IGNORED                                              \
    0x04u /* the caller guarantees SIGPIPE is
                                    ignored or blocked in every thread that
                                    writes: writes skip the signal mask
                                    dance. If that is not true, a write to a
                                    pipe without reader kills the process. */
#define HIPC_PIPE_FLAGS_ALL_ 0x07u

enum hipc_pipe_end { HIPC_PIPE_READ_END = 1, HIPC_PIPE_WRITE_END = 2 };

typedef struct hipc_pipe {
    /* Public, read-only. */
    int read_fd;   /* -1 when the handle holds no read end */
    int write_fd;  /* -1 when the handle holds no write end */
    int sys_errno; /* errno of the last failed syscall on this handle */
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned flags_;       /* the public HIPC_PIPE_* flags it was made with */
    unsigned nonblocking_; /* its descriptors are O_NONBLOCK */
    size_t frame_got_;     /* bytes of a begun frame already received */
    unsigned char
        frame_hdr_[8];   /* that frame's header (HIPC_FRAME_HEADER_BYTES) */
    uintptr_t self_;     /* the handle's own address: a copy is told apart */
    uintptr_t send_buf_; /* the payload of a begun, unfinished frame */
    size_t send_len_;    /* its payload length */
    size_t send_done_;   /* its bytes sent, header included; 0: none begun */
} hipc_pipe;

/* Creates a pipe with pipe2(O_CLOEXEC [| O_NONBLOCK] [| O_DIRECT]).
 * Flags: HIPC_PIPE_NONBLOCK, HIPC_PIPE_DIRECT, HIPC_PIPE_SIGPIPE_IGNORED.
 * HIPC_OK, HIPC_E_NULL, HIPC_E_BAD_FLAGS, HIPC_E_UNSUPPORTED (the kernel
 * refused the flags: no packet mode), HIPC_E_LIMIT (out of descriptors),
 * K. */
int hipc_pipe_create(hipc_pipe *p, unsigned flags);

/* Takes ownership of `fd` as the given end, after checking it: a negative or
 * closed descriptor (or an O_PATH one) is HIPC_E_BAD_FD, one that is not a
 * pipe or FIFO HIPC_E_NOT_PIPE, one opened without the access the end needs
 * HIPC_E_WRONG_END. Its O_NONBLOCK state is read now; changing it later is
 * not supported. On failure the descriptor is left open and untouched.
 * Flags: HIPC_PIPE_SIGPIPE_IGNORED, and HIPC_PIPE_DIRECT for a read end;
 * other bits, or an `end` that is neither, are HIPC_E_BAD_FLAGS.
 * HIPC_OK, HIPC_E_NULL, HIPC_E_BAD_FLAGS, HIPC_E_BAD_FD, HIPC_E_NOT_PIPE,
 * HIPC_E_WRONG_END, K (fcntl, fstat). */
int hipc_pipe_adopt(hipc_pipe *p, int fd, enum hipc_pipe_end end,
                    unsigned flags);

/* The descriptor of one end, or a negative code: H, HIPC_E_BAD_FLAGS (no
 * such end), HIPC_E_WRONG_END (not held). The handle keeps it. */
int hipc_pipe_fd(const hipc_pipe *p, enum hipc_pipe_end end);

/* Closes one end; the handle stays open while it holds the other.
 * HIPC_OK, H, HIPC_E_BAD_FLAGS, HIPC_E_WRONG_END, K (close: the end is
 * released all the same). Closing the write end abandons a frame still
 * owed (see send_frame): its reader gets HIPC_E_TRUNCATED. */
int hipc_pipe_close_end(hipc_pipe *p, enum hipc_pipe_end end);

/* Closes every end the handle holds. The handle is closed afterwards even
 * when close reports an error (Linux releases the descriptor regardless).
 * HIPC_OK, H, K. */
int hipc_pipe_close(hipc_pipe *p);

/* Writes all `len` bytes, absorbing short writes and EINTR. HIPC_OK,
 * HIPC_E_PEER_GONE (no reader left), HIPC_E_AGAIN (non-blocking pipe full),
 * H, HIPC_E_WRONG_END, HIPC_E_NULL (buf NULL, len > 0), HIPC_E_BAD_SIZE
 * (len > SSIZE_MAX), HIPC_E_BAD_STATE (a frame is owed: see send_frame),
 * K. */
int hipc_pipe_write_all(hipc_pipe *p, const void *buf, size_t len,
                        size_t *done);

/* Reads exactly `len` bytes. HIPC_OK; HIPC_E_EOF when the writers closed
 * before the first byte; HIPC_E_TRUNCATED when they closed after some but
 * not all bytes (*done says how many); HIPC_E_AGAIN (non-blocking, empty);
 * H, HIPC_E_WRONG_END, HIPC_E_NULL, HIPC_E_BAD_SIZE (len > SSIZE_MAX), K. */
int hipc_pipe_read_exact(hipc_pipe *p, void *buf, size_t len, size_t *done);

/* Reads what is there, at most `len` (> 0) bytes, waiting for at least one.
 * Returns the count (capped at INT_MAX), HIPC_E_EOF when every writer has
 * closed and nothing is left, or another negative code: as read_exact,
 * and HIPC_E_BAD_SIZE for len 0 too. Never 0. */
int hipc_pipe_read_some(hipc_pipe *p, void *buf, size_t len);

/* The same with a timeout in milliseconds (>= 0, else HIPC_E_BAD_TIMEOUT):
 * HIPC_E_TIMEDOUT when the deadline passes first, with *done set; poll's
 * failures are K too. They work
 * on blocking and non-blocking pipes alike (on a non-blocking one they
 * try first and poll only when it would block). On a blocking pipe they assume
 * a single reader (a second reader could take the data between poll and
 * read); writes are split into PIPE_BUF pieces so none can block. */
int hipc_pipe_write_all_timed(hipc_pipe *p, const void *buf, size_t len,
                              int timeout_ms, size_t *done);
int hipc_pipe_read_exact_timed(hipc_pipe *p, void *buf, size_t len,
                               int timeout_ms, size_t *done);
int hipc_pipe_read_some_timed(hipc_pipe *p, void *buf, size_t len,
                              int timeout_ms);

/* Capacity (F_GETPIPE_SZ) in bytes, or a negative code: H, K. Either end. */
int hipc_pipe_capacity(hipc_pipe *p);

/* Asks for a capacity of `bytes` (F_SETPIPE_SZ), checked first against
 * /proc/sys/fs/pipe-max-size (HIPC_E_TOO_BIG above it, HIPC_E_BAD_SIZE for
 * 0). Returns what the kernel granted (a power-of-two number of pages, at
 * least `bytes`). HIPC_E_BAD_STATE when the pipe holds more data than the
 * new size (sys_errno EBUSY), HIPC_E_LIMIT when the user's pipe memory
 * limit is reached (sys_errno EPERM); H; max_size's codes; K. */
int hipc_pipe_set_capacity(hipc_pipe *p, size_t bytes);

/* /proc/sys/fs/pipe-max-size, read through the syscall seam. HIPC_OK,
 * HIPC_E_NULL, HIPC_E_CORRUPT (not a number), K (open, read). */
int hipc_pipe_max_size(size_t *bytes, int *sys_errno);

/* Bytes waiting to be read (FIONREAD), into *bytes. Either end. HIPC_OK,
 * H, HIPC_E_NULL (bytes), K. */
int hipc_pipe_pending(hipc_pipe *p, size_t *bytes);

/* Frames (see hipc/frame.h) over the pipe. `max_payload` as there.
 * send: header and payload go out in one writev, so a frame of at most
 * PIPE_BUF bytes in total is atomic. A send that ends with part of its
 * frame written (HIPC_E_AGAIN on a non-blocking pipe, or any failure after
 * the first byte) leaves the rest of that frame owed: the handle records
 * how much went out (no copy of the payload is kept), and the next
 * send_frame must be for the same frame, the same `payload` pointer and
 * `len` with the same bytes in it, and goes on where the last stopped;
 * anything else, another frame or write_all and its kin, is
 * HIPC_E_BAD_STATE with nothing written, so the stream can never carry a
 * spliced frame. hipc_pipe_frame_owed() says how many bytes are owed.
 * Only closing the write end gives a begun frame up. send returns HIPC_OK,
 * H, HIPC_E_WRONG_END, HIPC_E_NULL, HIPC_E_TOO_BIG (max_payload),
 * HIPC_E_MSG_TOO_BIG (len), HIPC_E_BAD_STATE, HIPC_E_AGAIN,
 * HIPC_E_PEER_GONE, K.
 *
 * recv: `cap` must be at least the
 * effective maximum (HIPC_E_BUF_TOO_SMALL otherwise, before any read);
 * HIPC_E_EOF when the stream ends cleanly between frames, HIPC_E_TRUNCATED
 * inside one; after HIPC_E_CORRUPT, HIPC_E_VERSION or HIPC_E_MSG_TOO_BIG
 * the stream has lost its place and should be closed. On a non-blocking
 * pipe recv may return HIPC_E_AGAIN in the middle of a frame; the handle
 * keeps what arrived (the header inside the handle, payload bytes in
 * `buf`), so call again with the same `buf` and `max_payload` and the
 * frame is completed where it stopped: the stream never loses its place.
 *
 * Packet mode (a pipe created with HIPC_PIPE_DIRECT, or a read end adopted
 * with it): a read takes a whole packet, so recv reads each packet in one
 * readv with room for the rest of its frame and one byte more. A packet
 * that holds more than the rest of its frame, or a frame of at most
 * PIPE_BUF bytes that did not come as exactly one packet, is
 * HIPC_E_CORRUPT (never a frame). A read end adopted without the flag
 * cannot know that its writer sends packets; frames from such a writer
 * are then read as a stream and destroyed. recv returns HIPC_OK, H,
 * HIPC_E_WRONG_END, HIPC_E_NULL, HIPC_E_TOO_BIG, HIPC_E_BUF_TOO_SMALL,
 * HIPC_E_EOF, HIPC_E_TRUNCATED, HIPC_E_CORRUPT, HIPC_E_VERSION,
 * HIPC_E_MSG_TOO_BIG, HIPC_E_AGAIN, K. */
int hipc_pipe_send_frame(hipc_pipe *p, const void *payload, size_t len,
                         size_t max_payload);
int hipc_pipe_recv_frame(hipc_pipe *p, void *buf, size_t cap,
                         size_t max_payload, size_t *len);

/* The bytes still owed of a begun frame (0: none), into *bytes.
 * HIPC_OK, H, HIPC_E_NULL. */
int hipc_pipe_frame_owed(const hipc_pipe *p, size_t *bytes);

/* Parent and child.
 *
 * hipc_pipe_spawn() creates a pipe, flushes every stdio stream (so the
 * child cannot repeat output the parent had buffered), and forks. The
 * child closes the parent's end and calls fn(pipe, stream, arg) with its
 * own end, then closes it and ends with _exit(fn's return value & 0xff)
 * — never returning into the caller's code, never running atexit handlers.
 * The parent closes the child's end and keeps its own in child->pipe (and,
 * with HIPC_SPAWN_PARENT_STREAM, as child->stream: a FILE* opened with mode
 * "w" or "r" to match; use one or the other, not both). Writes through
 * the stream are plain stdio writes outside hipc's SIGPIPE guard: if the
 * child may stop reading early, ignore or block SIGPIPE, or write through
 * child->pipe instead. The final flush in hipc_pipe_child_finish() is
 * guarded.
 *
 * Heap: the streams come from fdopen, so with HIPC_SPAWN_PARENT_STREAM or
 * HIPC_SPAWN_CHILD_STREAM the C library's stdio allocates a FILE and its
 * buffer (the only heap memory any hipc call leads to; fclose frees it).
 * Without those flags spawn allocates nothing.
 *
 * The child's final flushes (its stream's fclose and fflush(NULL)) run
 * with SIGPIPE blocked until it exits: a parent that has closed its end
 * cannot kill the child there, and the child exits with fn's value. What
 * that last flush could not deliver is lost; fn that must know flushes
 * itself before returning.
 *
 * The child inherits the caller's other descriptors as with any fork; the
 * pipe itself is O_CLOEXEC, so an exec in the child drops it. In a
 * multi-threaded parent, fn may only call async-signal-safe functions.
 * When fork fails, both ends are closed again. */
#define HIPC_SPAWN_CHILD_WRITES 0x01u  /* default: the parent writes */
#define HIPC_SPAWN_PARENT_STREAM 0x02u /* parent's end as a FILE* too */
#define HIPC_SPAWN_CHILD_STREAM 0x04u  /* child's end passed as a FILE* */
#define HIPC_SPAWN_FLAGS_ALL_ 0x07u

/* Exit code a child reports when its own set-up (fdopen) failed.
 * spawn returns HIPC_OK, HIPC_E_NULL, HIPC_E_BAD_FLAGS, create's codes,
 * HIPC_E_LIMIT (fork: EAGAIN; fdopen: EMFILE), K (fork, fdopen). */
#define HIPC_SPAWN_SETUP_FAILED 127

/* The child's function; `stream` is NULL unless HIPC_SPAWN_CHILD_STREAM. */
typedef int (*hipc_pipe_child_fn)(hipc_pipe *pipe, FILE *stream, void *arg);

typedef struct hipc_pipe_child {
    /* Public, read-only. */
    pid_t pid;
    hipc_pipe pipe; /* the parent's end */
    FILE *stream;   /* the parent's end as a stream, or NULL */
    int sys_errno;
    /* Private: do not touch. */
    uint32_t magic_;
} hipc_pipe_child;

int hipc_pipe_spawn(hipc_pipe_child *child, unsigned flags,
                    hipc_pipe_child_fn fn, void *arg);

/* Closes the parent's end (flushing the stream, if any) so the child sees
 * end of file or a gone reader, then reaps the child. *exit_code gets its
 * exit status; HIPC_OK when it exited (whatever the status), HIPC_E_CHILD
 * with *exit_code = 128 + signal when a signal killed it. A flush error is
 * reported (HIPC_E_PEER_GONE, ...) after the child has been reaped. If
 * the end cannot be closed safely (blocking SIGPIPE failed) nothing is
 * done and the handle stays valid for another try. Codes: HIPC_OK,
 * HIPC_E_NULL, HIPC_E_BAD_HANDLE, HIPC_E_STALE_HANDLE (finished),
 * HIPC_E_CHILD (killed by a signal, or reaped elsewhere: ECHILD), the
 * flush's HIPC_E_PEER_GONE, K (close, fclose, waitpid, sigprocmask). */
int hipc_pipe_child_finish(hipc_pipe_child *child, int *exit_code);

#ifdef __cplusplus
}
#endif
#endif
