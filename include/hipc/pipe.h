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
 * HIPC_E_WRONG_END. After a failed syscall the kernel's errno is in
 * `sys_errno`; it is 0 when hipc's own checks found the failure.
 *
 * Copies: a handle records its own address when create or adopt opens it,
 * and every call on a handle at another address (a copy made by value,
 * or one moved with memcpy) returns HIPC_E_BAD_HANDLE without touching a
 * descriptor, so a copy can never close or use the original's ends, nor
 * descriptors that a later handle got with the same numbers. Keep a
 * handle where it was opened and pass pointers to it.
 *
 * ERROR CODES. Each function below lists every code it returns. Two groups
 * recur and are named once here:
 *
 *   The handle codes: HIPC_E_NULL (the handle pointer is NULL),
 *   HIPC_E_BAD_HANDLE (never opened, garbage, or a copy) and
 *   HIPC_E_STALE_HANDLE (closed).
 *
 *   The syscall codes: a syscall failed; its errno is kept in `sys_errno`
 *   (or the `sys_errno` argument) and maps to HIPC_E_BAD_FD (EBADF),
 *   HIPC_E_BAD_ADDR (EFAULT), HIPC_E_NOMEM (ENOMEM), HIPC_E_LIMIT (EMFILE,
 *   ENFILE: out of descriptors; ENOSPC), HIPC_E_PERM (EACCES, EPERM),
 *   HIPC_E_NOT_FOUND (ENOENT), HIPC_E_INTR (EINTR, only where it cannot be
 *   retried: close), HIPC_E_UNSUPPORTED (ENOSYS, EOPNOTSUPP) or HIPC_E_SYS
 *   (any other errno: EIO, EINVAL...). Each function says which syscalls.
 *
 * No function returns a code it does not list.
 *
 * TIMEOUTS. Every call that can block takes `int64_t timeout_ns`, its last
 * argument: 0 tries once and never waits (HIPC_E_AGAIN when the call
 * cannot complete at once), a positive value waits at most that many
 * nanoseconds (HIPC_E_TIMEDOUT), HIPC_FOREVER (hipc/types.h) waits until
 * the call completes or the peer is gone, and any other negative value is
 * HIPC_E_BAD_TIMEOUT, before anything is done. The deadline is absolute
 * (CLOCK_MONOTONIC) and taken when the call starts: EINTR is absorbed
 * everywhere and retried against the same deadline, so a signal never
 * extends it. Waiting goes through poll(), whose unit is the millisecond:
 * a positive timeout is rounded up to whole milliseconds, never down.
 *
 * Blocking and non-blocking descriptors: the timeout alone decides how
 * long a call waits, whether the descriptor is O_NONBLOCK
 * (HIPC_PIPE_NONBLOCK, or an adopted descriptor that was) or not. On an
 * O_NONBLOCK descriptor a call tries the transfer first and polls only
 * when it would block (with timeout 0 it does not poll at all; the
 * kernel's EAGAIN is then in sys_errno). On a blocking descriptor a call
 * with HIPC_FOREVER simply blocks in read or write; with any other
 * timeout it polls before each transfer and writes at most PIPE_BUF bytes
 * per write, so that nothing can block past the deadline: timeout 0 on a
 * blocking pipe never blocks. Polling a blocking pipe assumes a single
 * reader (a second reader could take the data between poll and read and
 * leave this one blocked in read). O_NONBLOCK is read when the handle is
 * made; changing it later on the descriptor is not supported.
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
 * delivered.) The writing stream of hipc_pipe_spawn() writes through
 * the same guard; closing it also uses the mask.
 *
 * Cost: with HIPC_PIPE_SIGPIPE_IGNORED a write_all or read_exact that one
 * syscall completes (HIPC_FOREVER, or any timeout on an O_NONBLOCK pipe)
 * costs a few checks beyond the syscall; the default with RWF_NOSIGNAL
 * costs what pwritev2 costs over write; the mask costs two extra syscalls
 * per writing call; a call on a blocking pipe with a timeout other than
 * HIPC_FOREVER adds a poll per transfer. bench/RESULTS.md has the figures
 * measured on the project's machines. Writers that want the last
 * nanoseconds ignore SIGPIPE once and pass HIPC_PIPE_SIGPIPE_IGNORED. The
 * flag means ignored and not blocked: the kernel keeps a blocked SIGPIPE
 * pending even when its action is SIG_IGN, so a thread that blocks it
 * would find one pending after a failed write (harmless: discarded when
 * unblocked).
 *
 * Counts: byte-stream calls report how many bytes moved through `done`
 * (may be NULL), on success and on failure alike, so a caller that gets
 * HIPC_E_AGAIN, HIPC_E_TIMEDOUT, HIPC_E_EOF or HIPC_E_PEER_GONE knows what
 * went through. A call that moves one message (recv_frame) returns its
 * length as its result instead.
 *
 * Lengths: a transfer of more than SSIZE_MAX bytes is HIPC_E_BAD_SIZE
 * before any syscall (no buffer is that long, and the kernel's answer
 * could not be told from a count); a length of 0 moves nothing and
 * succeeds, except for read_some, which must wait for at least one byte
 * (HIPC_E_BAD_SIZE).
 *
 * The SIGPIPE check: a writing call on a handle using the signal-mask
 * fallback, made while the caller has SIGPIPE blocked and pending, reads
 * /proc/thread-self/status to tell a SIGPIPE pending for the thread from
 * one pending for the process. Its open and read failures are then the
 * syscall codes too (e.g. HIPC_E_NOT_FOUND without /proc), and a status
 * file without a SigPnd line is HIPC_E_CORRUPT; both are reported before
 * anything is written. Below, "the SIGPIPE check's codes" means these.
 */
#ifndef HIPC_PIPE_H
#define HIPC_PIPE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes up to this size are atomic: Linux's PIPE_BUF, the same on every
 * architecture (checked when the library is built). Spelled out because
 * strict ISO C (-std=c11 without feature macros) does not define
 * PIPE_BUF. */
#define HIPC_PIPE_ATOMIC_BYTES 4096u

/* Flags. Unknown bits, or bits a call does not take, are HIPC_E_BAD_FLAGS. */
#define HIPC_PIPE_NONBLOCK                                                     \
    0x01u /* create only: O_NONBLOCK on both ends.
                                    The timeout still decides how long a
                                    call waits (see TIMEOUTS); other users
                                    of the descriptors see O_NONBLOCK */
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
 * Returns HIPC_OK, or HIPC_E_NULL (p), HIPC_E_BAD_FLAGS,
 * HIPC_E_UNSUPPORTED (the kernel refused the flags: no packet mode), or
 * the syscall codes of pipe2 (HIPC_E_LIMIT: out of descriptors). */
int hipc_pipe_create(hipc_pipe *p, unsigned flags);

/* Takes ownership of `fd` as the given end, after checking it. Its
 * O_NONBLOCK state is read now; changing it later is not supported. On
 * failure the descriptor is left open and untouched. Flags:
 * HIPC_PIPE_SIGPIPE_IGNORED, and HIPC_PIPE_DIRECT for a read end.
 * Returns HIPC_OK, or HIPC_E_NULL (p), HIPC_E_WRONG_END (`end` is neither
 * end, or `fd` was opened without the access the end needs),
 * HIPC_E_BAD_FLAGS (other bits), HIPC_E_BAD_FD (negative, closed or
 * O_PATH descriptor), HIPC_E_NOT_PIPE (not a pipe or FIFO), or the
 * syscall codes of fcntl and fstat. */
int hipc_pipe_adopt(hipc_pipe *p, int fd, enum hipc_pipe_end end,
                    unsigned flags);

/* Returns the descriptor of one end (>= 0; the handle keeps it), or the
 * handle codes, or HIPC_E_WRONG_END (`end` is neither end, or the handle
 * does not hold it). */
int hipc_pipe_get_fd(const hipc_pipe *p, enum hipc_pipe_end end);

/* Closes one end; the handle stays open while it holds the other. Closing
 * the write end abandons a frame still owed (see send_frame): its reader
 * gets HIPC_E_TRUNCATED. Returns HIPC_OK, or the handle codes,
 * HIPC_E_WRONG_END (`end` is neither end, or not held), or the syscall
 * codes of close (the end is released all the same). */
int hipc_pipe_close_end(hipc_pipe *p, enum hipc_pipe_end end);

/* Closes every end the handle holds. The handle is closed afterwards even
 * when close reports an error (Linux releases the descriptor regardless).
 * Returns HIPC_OK, or the handle codes, or the syscall codes of close. */
int hipc_pipe_close(hipc_pipe *p);

/* Writes all `len` bytes, absorbing short writes and EINTR; *done (may be
 * NULL) gets the count written, also on failure. Returns HIPC_OK, or the
 * handle codes, HIPC_E_WRONG_END (no write end), HIPC_E_BAD_TIMEOUT,
 * HIPC_E_NULL (buf NULL, len > 0), HIPC_E_BAD_SIZE (len > SSIZE_MAX),
 * HIPC_E_BAD_STATE (a frame is owed: see send_frame), HIPC_E_AGAIN
 * (timeout 0 and the pipe is full), HIPC_E_TIMEDOUT, HIPC_E_PEER_GONE (no
 * reader left), the SIGPIPE check's codes, or the syscall codes of write,
 * poll, rt_sigprocmask and sigpending. */
int hipc_pipe_write_all(hipc_pipe *p, const void *buf, size_t len, size_t *done,
                        int64_t timeout_ns);

/* Reads exactly `len` bytes; *done (may be NULL) gets the count read, also
 * on failure. Returns HIPC_OK, or the handle codes, HIPC_E_WRONG_END (no
 * read end), HIPC_E_BAD_TIMEOUT, HIPC_E_NULL (buf NULL, len > 0),
 * HIPC_E_BAD_SIZE (len > SSIZE_MAX), HIPC_E_EOF (every writer closed
 * before the first byte), HIPC_E_TRUNCATED (they closed after some but not
 * all bytes), HIPC_E_AGAIN (timeout 0 and not all bytes there),
 * HIPC_E_TIMEDOUT, or the syscall codes of read and poll. */
int hipc_pipe_read_exact(hipc_pipe *p, void *buf, size_t len, size_t *done,
                         int64_t timeout_ns);

/* Reads what is there, at most `len` (> 0) bytes, waiting (as the timeout
 * allows) for at least one. Returns the count (> 0, capped at INT_MAX; never
 * 0), or the handle codes, HIPC_E_WRONG_END, HIPC_E_BAD_TIMEOUT,
 * HIPC_E_BAD_SIZE (len 0, or > SSIZE_MAX), HIPC_E_NULL (buf), HIPC_E_EOF
 * (every writer closed and nothing is left), HIPC_E_AGAIN (timeout 0 and
 * nothing there), HIPC_E_TIMEDOUT, or the syscall codes of read and poll. */
int hipc_pipe_read_some(hipc_pipe *p, void *buf, size_t len,
                        int64_t timeout_ns);

/* Returns the pipe's capacity (F_GETPIPE_SZ) in bytes (> 0), or the
 * handle codes, or the syscall codes of fcntl. Either end. */
int hipc_pipe_get_capacity(hipc_pipe *p);

/* Asks for a capacity of `bytes` (F_SETPIPE_SZ), checked first against
 * /proc/sys/fs/pipe-max-size. Returns what the kernel granted (> 0: a
 * power-of-two number of pages, at least `bytes`), or the handle codes,
 * HIPC_E_BAD_SIZE (0), HIPC_E_TOO_BIG (above pipe-max-size or INT_MAX),
 * HIPC_E_BAD_STATE (the pipe holds more data than the new size; sys_errno
 * EBUSY), HIPC_E_LIMIT (the user's pipe memory limit is reached; sys_errno
 * EPERM), hipc_pipe_get_max_size()'s codes, or the syscall codes of
 * fcntl. Either end. */
int hipc_pipe_set_capacity(hipc_pipe *p, size_t bytes);

/* Stores /proc/sys/fs/pipe-max-size, read through the syscall seam, in
 * *bytes; `sys_errno` (may be NULL) gets the errno of a failed syscall, or
 * 0. Returns HIPC_OK, or HIPC_E_NULL (bytes), HIPC_E_CORRUPT (the kernel's
 * file does not hold a number), or the syscall codes of open and read. */
int hipc_pipe_get_max_size(size_t *bytes, int *sys_errno);

/* Stores the number of bytes waiting to be read (FIONREAD) in *bytes.
 * Either end. Returns HIPC_OK, or the handle codes, HIPC_E_NULL (bytes),
 * or the syscall codes of ioctl. */
int hipc_pipe_get_pending(hipc_pipe *p, size_t *bytes);

/* Frames (see hipc/frame.h) over the pipe. `max_payload` as there.
 *
 * send_frame: header and payload go out in one writev, so a frame of at
 * most PIPE_BUF bytes in total is atomic. A send that ends with part of
 * its frame written (HIPC_E_AGAIN, HIPC_E_TIMEDOUT, or any failure after
 * the first byte) leaves the rest of that frame owed: the handle records
 * how much went out (no copy of the payload is kept), and the next
 * send_frame must be for the same frame, the same `payload` pointer and
 * `len` with the same bytes in it, and goes on where the last stopped;
 * anything else, another frame or write_all, is HIPC_E_BAD_STATE with
 * nothing written, so the stream can never carry a spliced frame.
 * hipc_pipe_get_frame_owed() says how many bytes are owed. Only closing
 * the write end gives a begun frame up. Returns HIPC_OK, or the handle
 * codes, HIPC_E_WRONG_END (no write end), HIPC_E_BAD_TIMEOUT, HIPC_E_NULL
 * (payload NULL, len > 0), HIPC_E_TOO_BIG (max_payload above
 * HIPC_MAX_MSG_BYTES), HIPC_E_MSG_TOO_BIG (len above the maximum),
 * HIPC_E_BAD_STATE (another frame is owed), HIPC_E_AGAIN (timeout 0),
 * HIPC_E_TIMEDOUT, HIPC_E_PEER_GONE (no reader left), the SIGPIPE check's
 * codes, or the syscall codes of writev, poll, rt_sigprocmask and
 * sigpending. */
int hipc_pipe_send_frame(hipc_pipe *p, const void *payload, size_t len,
                         size_t max_payload, int64_t timeout_ns);

/* recv_frame: receives one frame's payload into `buf`, whose capacity
 * `cap` must be at least the effective maximum (max_payload, or
 * HIPC_MAX_MSG_BYTES for 0), checked before any read. Returns the payload
 * length (>= 0), or a negative code. A call that returns HIPC_E_AGAIN or
 * HIPC_E_TIMEDOUT in the middle of a frame keeps what arrived (the header
 * inside the handle, payload bytes in `buf`): call again with the same
 * `buf` and `max_payload` and the frame is completed where it stopped, so
 * the stream never loses its place. After HIPC_E_BAD_FRAME, HIPC_E_VERSION
 * or HIPC_E_MSG_TOO_BIG the stream has lost its place and should be
 * closed.
 *
 * Packet mode (a pipe created with HIPC_PIPE_DIRECT, or a read end adopted
 * with it): a read takes a whole packet, so recv reads each packet in one
 * readv with room for the rest of its frame and one byte more. A packet
 * that holds more than the rest of its frame, or a frame of at most
 * PIPE_BUF bytes that did not come as exactly one packet, is
 * HIPC_E_BAD_FRAME (never a frame). A read end adopted without the flag
 * cannot know that its writer sends packets; frames from such a writer
 * are then read as a stream and destroyed.
 *
 * Codes: the handle codes, HIPC_E_WRONG_END (no read end),
 * HIPC_E_BAD_TIMEOUT, HIPC_E_NULL (buf), HIPC_E_TOO_BIG (max_payload above
 * HIPC_MAX_MSG_BYTES), HIPC_E_BUF_TOO_SMALL (cap), HIPC_E_EOF (the stream
 * ended cleanly between frames), HIPC_E_TRUNCATED (it ended inside one),
 * HIPC_E_BAD_FRAME (the bytes are not a hipc frame: wrong magic or
 * reserved byte, or a packet that does not match its header),
 * HIPC_E_VERSION (a frame format version this hipc does not know),
 * HIPC_E_MSG_TOO_BIG (the announced length exceeds the maximum),
 * HIPC_E_AGAIN (timeout 0), HIPC_E_TIMEDOUT, or the syscall codes of read,
 * readv and poll. */
int hipc_pipe_recv_frame(hipc_pipe *p, void *buf, size_t cap,
                         size_t max_payload, int64_t timeout_ns);

/* Stores the bytes still owed of a begun frame (0: none) in *bytes.
 * Returns HIPC_OK, or the handle codes, or HIPC_E_NULL (bytes). */
int hipc_pipe_get_frame_owed(const hipc_pipe *p, size_t *bytes);

/* Parent and child.
 *
 * hipc_pipe_spawn() creates a pipe, flushes every stdio stream (so the
 * child cannot repeat output the parent had buffered), and forks. The
 * child closes the parent's end and calls fn(pipe, stream, arg) with its
 * own end, then closes it and ends with _exit(fn's return value & 0xff)
 * — never returning into the caller's code, never running atexit handlers.
 * The parent closes the child's end and keeps its own in child->pipe (and,
 * with HIPC_SPAWN_PARENT_STREAM, as child->stream: a FILE* opened with mode
 * "w" or "r" to match; use one or the other, not both). A "w" stream is
 * made with fopencookie: stdio buffers, and every write that empties its
 * buffer goes through hipc_pipe_write_all(child->pipe), so writes through
 * the stream are SIGPIPE-safe like every hipc write: a child that has
 * stopped reading makes fwrite, fflush or fclose fail with errno EPIPE,
 * and the caller survives. Its fileno() is -1 (the stream owns
 * child->pipe, whose write_fd can be polled). The final flush in
 * hipc_pipe_child_finish() reports the same as HIPC_E_PEER_GONE.
 *
 * Heap: the streams come from fdopen or fopencookie, so with
 * HIPC_SPAWN_PARENT_STREAM or
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
 * When fork fails, both ends are closed again.
 *
 * A child whose handle is never finished is never reaped by hipc: the
 * parent's end stays open (a child reading from it waits for ever, one
 * writing to it blocks once the pipe is full), and once the child has
 * ended it stays a zombie, holding its pid, until the parent reaps it by
 * other means or exits. hipc never kills a child it spawned (except when
 * spawn itself fails after the fork). */
#define HIPC_SPAWN_CHILD_WRITES 0x01u  /* default: the parent writes */
#define HIPC_SPAWN_PARENT_STREAM 0x02u /* parent's end as a FILE* too */
#define HIPC_SPAWN_CHILD_STREAM 0x04u  /* child's end passed as a FILE* */
#define HIPC_SPAWN_FLAGS_ALL_ 0x07u

/* Exit code a child reports when its own set-up (fdopen) failed. */
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
    int close_rc_; /* the closing's code, kept until the child is reaped */
} hipc_pipe_child;

/* Creates the pipe and forks the child (see above). Returns HIPC_OK, or
 * HIPC_E_NULL (child, fn), HIPC_E_BAD_FLAGS, hipc_pipe_create()'s codes,
 * HIPC_E_LIMIT (fork: EAGAIN; fdopen: EMFILE), or the syscall codes of
 * fork and fdopen (`child->sys_errno` has the errno). */
int hipc_pipe_spawn(hipc_pipe_child *child, unsigned flags,
                    hipc_pipe_child_fn fn, void *arg);

/* Closes the parent's end (flushing the stream, if any) so the child sees
 * end of file or a gone reader, then waits, as `timeout_ns` allows, for
 * the child to end and reaps it. *exit_code (may be NULL) gets its exit
 * status, 128 + the signal when a signal killed it, or -1 when it was
 * not reaped.
 *
 * HIPC_E_AGAIN (timeout 0) and HIPC_E_TIMEDOUT leave the child running and
 * unreaped and the handle valid: the parent's end is closed already, and
 * a later call (with any timeout) goes on waiting. A failure of waitpid
 * (other than ECHILD) or of poll while waiting leaves it the same way. Waiting with a timeout
 * other than HIPC_FOREVER looks at the child at growing intervals of up to
 * 16 ms, so its end may be seen that much later; HIPC_FOREVER sleeps in
 * waitpid. If the end cannot be closed safely (blocking SIGPIPE for the
 * stream's final flush failed) nothing is done and the handle stays valid
 * for another try.
 *
 * Returns HIPC_OK when the child exited (whatever its status), or
 * HIPC_E_NULL (child), HIPC_E_BAD_HANDLE (never spawned, or garbage),
 * HIPC_E_STALE_HANDLE (finished already), HIPC_E_BAD_TIMEOUT, HIPC_E_AGAIN,
 * HIPC_E_TIMEDOUT, HIPC_E_CHILD (killed by a signal, or reaped elsewhere:
 * ECHILD), a flush error (HIPC_E_PEER_GONE or the syscall codes of write:
 * reported after the child has been reaped), the SIGPIPE check's codes
 * (before anything is done), or the syscall codes of
 * close, fclose, waitpid, poll and rt_sigprocmask (`child->sys_errno` has
 * the errno). */
int hipc_pipe_child_finish(hipc_pipe_child *child, int *exit_code,
                           int64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif
