/* SPDX-License-Identifier: MIT */
/* hipc — the one /proc reader and number parser. */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>

#include "hipc/error.h"
#include "internal.h"
#include "sys.h"

/* One read, EINTR retried: a count (0 at end of file) or a code. */
static ssize_t read_once(int fd, char *buf, size_t cap, int *err)
{
    ssize_t n;
    while ((n = hipc__sys_read(fd, buf, cap)) == -EINTR)
        ;
    return n < 0 ? hipc__fail(err, n) : n;
}

static int open_file(const char *path, int *err)
{
    hipc__set_errno(err, 0);
    int fd = hipc__sys_open(path, O_RDONLY);
    return fd < 0 ? hipc__fail(err, fd) : fd;
}

/* Reads until end of file or until buf is full; then, when full, one
 * more byte tells whether that was all. */
static int read_whole(int fd, char *buf, size_t cap, size_t *len, int *err)
{
    size_t got = 0;
    ssize_t n = 1;
    while (got < cap && (n = read_once(fd, buf + got, cap - got, err)) > 0)
        got += (size_t)n;
    char extra;
    if (n > 0 && (n = read_once(fd, &extra, 1, err)) > 0)
        return HIPC_E_TOO_BIG;
    *len = got;
    return n < 0 ? (int)n : HIPC_OK;
}

int hipc__procfs_read(const char *path, char *buf, size_t cap, size_t *len,
                      int *sys_errno)
{
    int fd = open_file(path, sys_errno);
    if (fd < 0)
        return fd;
    int rc = read_whole(fd, buf, cap, len, sys_errno);
    (void)hipc__sys_close(fd);
    return rc;
}

int hipc__procfs_stream(const char *path, char *chunk, size_t cap,
                        hipc__procfs_chunk_fn fn, void *ctx, int *sys_errno)
{
    int fd = open_file(path, sys_errno);
    if (fd < 0)
        return fd;
    ssize_t n;
    int rc = HIPC_OK;
    while (rc == HIPC_OK && (n = read_once(fd, chunk, cap, sys_errno)) != 0)
        rc = n < 0 ? (int)n : fn(ctx, chunk, (size_t)n);
    (void)hipc__sys_close(fd);
    return rc;
}

int hipc__parse_uint(const char *s, size_t n, unsigned base, uint64_t max,
                     uint64_t *out)
{
    if (n == 0)
        return HIPC_E_CORRUPT;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (s[i] < '0' || d >= base || v > (max - d) / base)
            return HIPC_E_CORRUPT;
        v = v * base + d;
    }
    *out = v;
    return HIPC_OK;
}

int hipc__procfs_parse_value(const char *buf, size_t len, uint64_t max,
                             uint64_t *out)
{
    if (len < 2 || buf[len - 1] != '\n')
        return HIPC_E_CORRUPT;
    return hipc__parse_uint(buf, len - 1, 10, max, out);
}

int hipc__procfs_value(const char *path, uint64_t max, uint64_t *out,
                       int *sys_errno)
{
    /* 32 bytes hold any 64-bit value and its newline. */
    char buf[32];
    size_t len = 0;
    int rc = hipc__procfs_read(path, buf, sizeof buf, &len, sys_errno);
    return rc == HIPC_OK ? hipc__procfs_parse_value(buf, len, max, out) : rc;
}
