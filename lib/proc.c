/* hipc — process identity from /proc/PID/stat. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "hipc/error.h"
#include "internal.h"
#include "sys.h"

/* Fields after the command name; field 3 (state) is the first of them. */
#define STAT_STATE_FIELD 3
#define STAT_START_FIELD 22

static const char *after_comm(const char *buf, size_t len)
{
    const char *end = NULL;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ')')
            end = buf + i;
    return end;
}

int hipc__proc_parse_stat(const char *buf, size_t len, char *state,
                          uint64_t *start)
{
    const char *p = after_comm(buf, len);
    if (p == NULL)
        return HIPC_E_CORRUPT;
    const char *end = buf + len;
    if (end - p < 3 || p[1] != ' ')
        return HIPC_E_CORRUPT;
    *state = p[2];
    int field = STAT_STATE_FIELD - 1;
    p++;
    while (p < end && field < STAT_START_FIELD) {
        while (p < end && *p == ' ')
            p++;
        field++;
        if (field == STAT_START_FIELD)
            break;
        while (p < end && *p != ' ')
            p++;
    }
    if (field != STAT_START_FIELD || p >= end || *p < '0' || *p > '9')
        return HIPC_E_CORRUPT;
    uint64_t v = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10u)
            return HIPC_E_CORRUPT;
        v = v * 10u + d;
    }
    if (p < end && *p != ' ' && *p != '\n')
        return HIPC_E_CORRUPT;
    *start = v;
    return HIPC_OK;
}

/* Reads the whole (short) stat file; 1 KiB holds it even with a 64-byte
 * command name and every field at its widest. */
static int read_stat(pid_t pid, char *buf, size_t cap, size_t *len, int *err)
{
    /* 32 bytes hold "/proc/" + any long + "/stat": it never truncates. */
    char path[32];
    (void)snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = hipc_sys_open(path, O_RDONLY);
    if (fd < 0) {
        hipc__set_errno(err, -fd);
        return fd == -ENOENT ? HIPC_E_NOT_FOUND : hipc__from_errno(-fd);
    }
    size_t got = 0;
    ssize_t n;
    while (got < cap && (n = hipc_sys_read(fd, buf + got, cap - got)) != 0) {
        if (n < 0 && n != -EINTR) {
            hipc__set_errno(err, (int)-n);
            hipc_sys_close(fd);
            return hipc__from_errno((int)-n);
        }
        if (n > 0)
            got += (size_t)n;
    }
    hipc_sys_close(fd);
    *len = got;
    return HIPC_OK;
}

static int proc_stat(pid_t pid, char *state, uint64_t *start, int *sys_errno)
{
    char buf[1024];
    size_t len = 0;
    hipc__set_errno(sys_errno, 0);
    if (pid <= 0)
        return HIPC_E_NOT_FOUND;
    int rc = read_stat(pid, buf, sizeof buf, &len, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    return hipc__proc_parse_stat(buf, len, state, start);
}

int hipc__proc_start_time(pid_t pid, uint64_t *start, int *sys_errno)
{
    char state = 0;
    return proc_stat(pid, &state, start, sys_errno);
}

int hipc__proc_alive(pid_t pid, uint64_t start, int *sys_errno)
{
    uint64_t now = 0;
    char state = 0;
    int rc = proc_stat(pid, &state, &now, sys_errno);
    if (rc == HIPC_E_NOT_FOUND)
        return 0;
    if (rc != HIPC_OK)
        return rc;
    /* A zombie has died; it only waits for its parent to reap it. */
    return now == start && state != 'Z' && state != 'X';
}
