/* SPDX-License-Identifier: MIT */
/* hipc — error codes.
 *
 * Every hipc function that can fail returns an int: zero or a positive
 * count on success, one of the negative codes below on failure. The values
 * are stable across releases; new codes are only ever appended.
 *
 * The kernel's errno is never lost: handle-based calls store it in the
 * handle's `sys_errno` field, free functions take an optional `int *sys_errno`
 * out-parameter. It is 0 when the failure was found by hipc's own checks.
 */
#ifndef HIPC_ERROR_H
#define HIPC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, message). One table feeds the enum, hipc_strerror() and
 * hipc_err_name(), so the three can never disagree. */
#define HIPC_ERROR_MAP(X)                                                       \
    X(OK, 0, "success")                                                         \
    /* Argument validation: found before any syscall. */                        \
    X(E_NULL, -1, "a required pointer argument is NULL")                        \
    X(E_BAD_KEY, -2, "invalid System V key")                                    \
    X(E_BAD_SIZE, -3, "invalid size (zero, or out of the allowed range)")       \
    X(E_BAD_FLAGS, -4, "unknown or conflicting flag bits")                      \
    X(E_BAD_MODE, -5,                                                           \
      "mode: 0..0777, owner rw; group/world write needs HIPC_SHM_SHARED_WRITE") \
    X(E_BAD_PATH, -6, "path is empty, too long, or does not exist")             \
    X(E_BAD_PROJ_ID, -7, "project id must be in 1..255")                        \
    X(E_BAD_HANDLE, -8, "handle is zeroed, uninitialised or corrupt")           \
    X(E_STALE_HANDLE, -9, "handle was already closed")                          \
    X(E_BAD_STATE, -10, "operation not valid in the handle's current state")    \
    X(E_BAD_ADDR, -11, "invalid or misaligned address")                         \
    X(E_BAD_FD, -12, "descriptor is negative or not open")                      \
    X(E_NOT_PIPE, -13, "descriptor is not a pipe or FIFO")                      \
    X(E_WRONG_END, -14,                                                         \
      "not valid on this end (pipe read/write end, channel role)")              \
    X(E_BAD_ID, -15, "invalid segment id")                                      \
    X(E_BAD_TIMEOUT, -16, "invalid timeout")                                    \
    X(E_OVERFLOW, -17, "size arithmetic would overflow")                        \
    X(E_TOO_BIG, -18, "size exceeds a system or compile-time limit")            \
    X(E_BUF_TOO_SMALL, -19, "caller's buffer is too small")                     \
    X(E_SIZE_MISMATCH, -20, "segment size differs from the expected size")      \
    /* Conditions reported by the kernel, mapped to what a caller acts on. */   \
    X(E_EXISTS, -21,                                                            \
      "already exists, or a live process holds that channel end")               \
    X(E_NOT_FOUND, -22, "no such object")                                       \
    X(E_PERM, -23, "permission denied")                                         \
    X(E_LIMIT, -24, "a system limit was reached")                               \
    X(E_NOMEM, -25, "out of memory")                                            \
    X(E_REMOVED, -26,                                                           \
      "segment was removed, or its id now names another segment")               \
    X(E_INTR, -27, "interrupted by a signal")                                   \
    X(E_TIMEDOUT, -28, "timed out")                                             \
    X(E_PEER_GONE, -29, "the peer has gone away (closed its end or exited)")    \
    X(E_AGAIN, -30,                                                             \
      "try again: the call would block, or a header is being written")          \
    X(E_EOF, -31, "end of file")                                                \
    X(E_SYS, -32, "unexpected system error (see sys_errno)")                    \
    /* Integrity of data that another process wrote. */                         \
    X(E_FOREIGN, -33, "segment was not created by hipc")                        \
    X(E_VERSION, -34,                                                           \
      "layout or format version not supported (segment, channel, frame)")       \
    X(E_LAYOUT, -35, "segment was made for another ABI (width/endianness)")     \
    X(E_CORRUPT, -36, "shared memory or kernel-reported data is corrupt")       \
    X(E_MSG_TOO_BIG, -37, "message exceeds the configured maximum")             \
    X(E_TRUNCATED, -38, "input ends in the middle of a record")                 \
    X(E_RETRIES, -39, "gave up after the bounded number of retries")            \
    X(E_CHILD, -40, "child process failed")                                     \
    X(E_UNSUPPORTED, -41, "not supported on this system")                       \
    /* Appended in 1.0. */                                                      \
    X(E_BAD_ROLE, -42,                                                          \
      "role must be HIPC_CHAN_PRODUCER or HIPC_CHAN_CONSUMER")                  \
    X(E_BAD_FRAME, -43,                                                         \
      "not a hipc frame: the writer sends no frames or lost its place")         \
    X(E_BAD_CAPACITY, -44,                                                      \
      "capacity must be a power of two in HIPC_CHAN_MIN/MAX_CAPACITY")          \
    /* Appended in 1.1. */                                                      \
    X(E_EXEC, -45, "the child could not run the program (see sys_errno)")       \
    X(E_UNSAFE, -46,                                                            \
      "refused: a symlink, another owner, or wider permissions than asked")     \
    X(E_OVERRUN, -47,                                                           \
      "fell behind: messages were overwritten before they were read")

/* clang-format off */
enum hipc_error {
#define HIPC_ERROR_ENUM_(name, value, msg) HIPC_##name = (value),
    HIPC_ERROR_MAP(HIPC_ERROR_ENUM_)
#undef HIPC_ERROR_ENUM_
    HIPC_ERROR_LAST_ = -47
};
/* clang-format on */

/* A static, human-readable message; "unknown hipc error" for unknown codes. */
const char *hipc_strerror(int code);

/* The code's full name ("HIPC_E_REMOVED"), or "HIPC_E_UNKNOWN". */
const char *hipc_err_name(int code);

/* Non-zero when `code` is OK or one of the codes in the table. */
int hipc_err_is_known(int code);

#ifdef __cplusplus
}
#endif
#endif /* HIPC_ERROR_H */
