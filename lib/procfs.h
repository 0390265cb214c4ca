/* SPDX-License-Identifier: MIT */
/* hipc — reading small /proc files and the numbers in them. Internal.
 *
 * The one reader and the one number parser every module uses for /proc:
 * process identity (proc.c), System V limits (shm.c), the pipe size limit
 * (pipe.c) and the live segment table's columns (inspect.c). */
#ifndef HIPC_PROCFS_H
#define HIPC_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* Reads all of a small /proc file into buf: short reads are continued and
 * EINTR retried until end of file. A file with more than `cap` bytes is
 * HIPC_E_TOO_BIG (nothing is cut short silently); a failed open or read is
 * its mapped code, with the errno in *sys_errno. */
int hipc__procfs_read(const char *path, char *buf, size_t cap, size_t *len,
                      int *sys_errno);

/* Streams a /proc file of any size through `chunk` (cap bytes): fn gets
 * each piece read, in order, and a non-zero return from it ends the
 * stream with that value. HIPC_OK at end of file, fn's value, or the
 * mapped code of a failed open or read (errno in *sys_errno). */
typedef int (*hipc__procfs_chunk_fn)(void *ctx, const char *data, size_t len);
int hipc__procfs_stream(const char *path, char *chunk, size_t cap,
                        hipc__procfs_chunk_fn fn, void *ctx, int *sys_errno);

/* Pure: the `n` characters at `s` are all digits of `base` (8 or 10), at
 * least one, and their value is at most `max`. HIPC_OK, or HIPC_E_CORRUPT. */
int hipc__parse_uint(const char *s, size_t n, unsigned base, uint64_t max,
                     uint64_t *out);

/* Pure: a /proc/sys value, decimal digits and the newline the kernel
 * always ends it with. The newline is required: a sysctl file answers
 * only a read at offset 0, so a short first read would otherwise pass a
 * truncated number ("1" of "1048576") for the whole. HIPC_E_CORRUPT
 * otherwise, or for a value above `max`. */
int hipc__procfs_parse_value(const char *buf, size_t len, uint64_t max,
                             uint64_t *out);

/* hipc__procfs_read() then hipc__procfs_parse_value(). */
int hipc__procfs_value(const char *path, uint64_t max, uint64_t *out,
                       int *sys_errno);

#endif
