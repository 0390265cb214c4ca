/* hipc — the one /proc reader and number parser. */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>

#include "hipc/error.h"
#include "internal.h"
#include "sys.h"

/* Reads until end of file or until buf is full. */
static int read_to_end(int fd, char *buf, size_t cap, size_t *len, int *err)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = hipc_sys_read(fd, buf + got, cap - got);
        if (n == 0)
            break;
        if (n == -EINTR)
            continue;
        if (n < 0) {
            hipc__set_errno(err, (int)-n);
            return hipc__from_errno((int)-n);
        }
        got += (size_t)n;
    }
    *len = got;
    return HIPC_OK;
}

/* A full buffer may hold the whole file or only its start: one more byte
 * tells. */
static int at_end(int fd, int *err)
{
    char extra;
    ssize_t n;
    while ((n = hipc_sys_read(fd, &extra, 1)) == -EINTR)
        ;
    if (n < 0) {
        hipc__set_errno(err, (int)-n);
        return hipc__from_errno((int)-n);
    }
    return n == 0 ? HIPC_OK : HIPC_E_TOO_BIG;
}

int hipc__procfs_read(const char *path, char *buf, size_t cap, size_t *len,
                      int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    int fd = hipc_sys_open(path, O_RDONLY);
    if (fd < 0) {
        hipc__set_errno(sys_errno, -fd);
        return hipc__from_errno(-fd);
    }
    int rc = read_to_end(fd, buf, cap, len, sys_errno);
    if (rc == HIPC_OK && *len == cap)
        rc = at_end(fd, sys_errno);
    (void)hipc_sys_close(fd);
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
