/* SPDX-License-Identifier: MIT */
/* hipc — process identity from /proc/PID/stat, in any time namespace and
 * behind hidepid. */
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "hipc/error.h"
#include "internal.h"
#include "procfs.h"
#include "sys.h"

/* Fields after the command name; field 3 (state) is the first of them. */
#define STAT_STATE_FIELD 3
#define STAT_START_FIELD 22
#define NSEC_PER_SEC 1000000000LL
/* A time-namespace offset is bounded by the kernel to KTIME_SEC_MAX / 2
 * seconds; anything near 2^62 ticks is not an offset. */
#define OFFSET_SEC_MAX 4611686018LL

static const char *after_comm(const char *buf, size_t len)
{
    const char *end = NULL;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ')')
            end = buf + i;
    return end;
}

/* The token at *p: digits up to a space, a newline or the end, at most
 * `max`; *p is left after it. */
static int parse_token(const char **p, const char *end, uint64_t max,
                       uint64_t *out)
{
    const char *s = *p;
    while (s < end && *s != ' ' && *s != '\n')
        s++;
    int rc = hipc__parse_uint(*p, (size_t)(s - *p), 10, max, out);
    *p = s;
    return rc;
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
    if (field != STAT_START_FIELD)
        return HIPC_E_CORRUPT;
    return parse_token(&p, end, UINT64_MAX, start);
}

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* One "name secs nsecs" line of timens_offsets: secs may be negative. */
static int parse_offset_line(const char *p, const char *end, int64_t *sec,
                             int64_t *nsec)
{
    uint64_t s = 0, ns = 0;
    p = skip_spaces(p, end);
    int neg = p < end && *p == '-';
    p += neg;
    int rc = parse_token(&p, end, (uint64_t)OFFSET_SEC_MAX, &s);
    if (rc == HIPC_OK) {
        p = skip_spaces(p, end);
        rc = parse_token(&p, end, (uint64_t)NSEC_PER_SEC - 1u, &ns);
    }
    if (rc == HIPC_OK && skip_spaces(p, end) != end)
        rc = HIPC_E_CORRUPT;
    *sec = neg ? -(int64_t)s : (int64_t)s;
    *nsec = (int64_t)ns;
    return rc;
}

int hipc__proc_parse_offsets(const char *buf, size_t len, long ticks_per_s,
                             int64_t *boot_ticks)
{
    static const char name[] = "boottime";
    const char *p = buf, *end = buf + len;
    if (ticks_per_s <= 0 || ticks_per_s > NSEC_PER_SEC)
        return HIPC_E_CORRUPT;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        size_t n = sizeof name - 1;
        if ((size_t)(eol - p) > n && memcmp(p, name, n) == 0 && p[n] == ' ') {
            int64_t sec = 0, nsec = 0;
            int rc = parse_offset_line(p + n, eol, &sec, &nsec);
            if (rc != HIPC_OK)
                return rc;
            int64_t tick_ns = NSEC_PER_SEC / ticks_per_s;
            *boot_ticks = sec * ticks_per_s + nsec / tick_ns;
            return HIPC_OK;
        }
        p = eol + (nl != NULL);
    }
    return HIPC_E_CORRUPT;
}

/* /proc/PID/stat could not be opened: does the pid exist at all? Hidden
 * entries (hidepid) look like missing ones, but kill(pid, 0) is not
 * subject to hidepid: ESRCH is the one answer that means "no process". */
static int stat_unreadable(pid_t pid, int rc)
{
    if (rc != HIPC_E_NOT_FOUND && rc != HIPC_E_PERM)
        return rc;
    int k = hipc__sys_kill(pid, 0);
    if (k == -ESRCH)
        return HIPC_E_NOT_FOUND;
    return k == 0 || k == -EPERM ? HIPC_E_PERM : rc;
}

/* 1 KiB holds a stat line even with a 64-byte command name and every
 * field at its widest. */
static int read_stat(const char *path, char *state, uint64_t *start, int *err)
{
    char buf[1024];
    size_t len = 0;
    int rc = hipc__procfs_read(path, buf, sizeof buf, &len, err);
    return rc == HIPC_OK ? hipc__proc_parse_stat(buf, len, state, start) : rc;
}

int hipc__proc_stat_seen(pid_t pid, char *state, uint64_t *start,
                         int *sys_errno)
{
    /* 32 bytes hold "/proc/" + any long + "/stat". */
    char path[32];
    hipc__set_errno(sys_errno, 0);
    if (pid <= 0)
        return HIPC_E_NOT_FOUND;
    (void)snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int rc = read_stat(path, state, start, sys_errno);
    return rc == HIPC_OK ? rc : stat_unreadable(pid, rc);
}

/* The boottime offset of the time namespace we live in, in ticks. Right
 * after unshare(CLONE_NEWTIME) a process stays in its old namespace while
 * timens_offsets already shows the new one's: then our offset is unknown.
 * A kernel without time namespaces has neither the ns/time links nor the
 * offsets file: offset 0; one without the other is an error, so that an
 * odd failure is never taken for "no time namespaces". */
static int own_offset(long ticks, int64_t *off, int *err)
{
    struct stat own, kids;
    char buf[128];
    size_t len = 0;
    *off = 0;
    int ns = hipc__sys_stat("/proc/self/ns/time", &own);
    if (ns == 0)
        ns = hipc__sys_stat("/proc/self/ns/time_for_children", &kids);
    if (ns < 0 && ns != -ENOENT)
        return hipc__fail(err, ns);
    if (ns == 0 && (own.st_ino != kids.st_ino || own.st_dev != kids.st_dev))
        return HIPC_E_UNSUPPORTED;
    int rc = hipc__procfs_read("/proc/self/timens_offsets", buf, sizeof buf,
                               &len, err);
    /* Both missing takes two ENOENTs, which one planned fault cannot
     * give: only a kernel without CONFIG_TIME_NS runs this. */
    /* GCOVR_EXCL_START [kernel]: only without CONFIG_TIME_NS */
    if (ns == -ENOENT && rc == HIPC_E_NOT_FOUND)
        return HIPC_OK;
    /* GCOVR_EXCL_STOP */
    if (rc == HIPC_OK && ns == -ENOENT) {
        hipc__set_errno(err, ENOENT);
        return HIPC_E_NOT_FOUND;
    }
    return rc == HIPC_OK ? hipc__proc_parse_offsets(buf, len, ticks, off) : rc;
}

int hipc__proc_unshift(uint64_t seen, int64_t off, uint64_t *start)
{
    /* A start before the initial namespace's boot is no start time. */
    if ((off > 0 && seen < (uint64_t)off) ||
        (off < 0 && seen > UINT64_MAX - (uint64_t)-off))
        return HIPC_E_CORRUPT;
    *start = seen - (uint64_t)off;
    return HIPC_OK;
}

/* A start time as we see it, taken back to the initial time namespace. */
static int normalise(uint64_t seen, uint64_t *start, int *err)
{
    int64_t off = 0;
    int rc = own_offset(hipc__sys_clock_ticks(), &off, err);
    return rc == HIPC_OK ? hipc__proc_unshift(seen, off, start) : rc;
}

int hipc__proc_start_time(pid_t pid, uint64_t *start, int *sys_errno)
{
    char state = 0;
    uint64_t seen = 0;
    int rc = hipc__proc_stat_seen(pid, &state, &seen, sys_errno);
    return rc == HIPC_OK ? normalise(seen, start, sys_errno) : rc;
}

int hipc__proc_self_start(uint64_t *start, int *sys_errno)
{
    char state = 0;
    uint64_t seen = 0;
    hipc__set_errno(sys_errno, 0);
    int rc = read_stat("/proc/self/stat", &state, &seen, sys_errno);
    return rc == HIPC_OK ? normalise(seen, start, sys_errno) : rc;
}

int hipc__proc_self_pidns(uint64_t *ns, int *sys_errno)
{
    struct stat st;
    int rc = hipc__sys_stat("/proc/self/ns/pid", &st);
    *ns = rc == 0 ? (uint64_t)st.st_ino : 0;
    /* No such link: a kernel built without namespaces, where every
     * process shares the one pid space. */
    if (rc == 0 || rc == -ENOENT)
        return HIPC_OK;
    return hipc__fail(sys_errno, rc);
}

int hipc__proc_is_ours(int *sys_errno)
{
    /* /proc/self links to our pid as that /proc's namespace numbers it. */
    char link[24], mine[24];
    hipc__set_errno(sys_errno, 0);
    int rc = hipc__sys_readlink("/proc/self", link, sizeof link);
    if (rc < 0)
        return hipc__fail(sys_errno, rc);
    (void)snprintf(mine, sizeof mine, "%ld", (long)hipc__sys_getpid());
    return strcmp(link, mine) == 0;
}

int hipc__proc_alive(pid_t pid, uint64_t start, int *sys_errno)
{
    char state = 0;
    uint64_t seen = 0, now = 0;
    int rc = hipc__proc_stat_seen(pid, &state, &seen, sys_errno);
    if (rc == HIPC_E_NOT_FOUND || (rc == HIPC_OK && hipc__proc_dead(state)))
        return HIPC__PROC_GONE;
    if (rc == HIPC_E_PERM)
        return HIPC__PROC_UNKNOWN;
    if (rc == HIPC_OK)
        rc = normalise(seen, &now, sys_errno);
    if (rc == HIPC_E_UNSUPPORTED)
        return HIPC__PROC_UNKNOWN;
    if (rc != HIPC_OK)
        return rc;
    /* Within one tick (see proc.h); anything else is a reused pid. */
    uint64_t apart = now > start ? now - start : start - now;
    return apart > 1u ? HIPC__PROC_GONE : HIPC__PROC_ALIVE;
}
