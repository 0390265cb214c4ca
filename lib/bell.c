/* SPDX-License-Identifier: MIT */
/* hipc — the doorbell's descriptors (see lib/bell.h, docs/doorbell.md). */
#include "bell.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "hipc/error.h"
#include "internal.h"
#include "sys.h"

/* "hipc.bell." + 8 + "." + 16 hex digits. */
#define NAME_MAX_ 40

/* "hipc.bell.<pid>.<clock high><clock low>", hex digits: by hand, as a
 * ringer formats the name per ring and snprintf costs as much as a small
 * syscall. */
static void put_hex(char *at, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--, v >>= 4)
        at[i] = digits[v & 15u];
}

static size_t format_name(char *buf, const uint32_t w[HIPC__BELL_WORDS])
{
    static const char prefix[] = "hipc.bell.";
    size_t n = sizeof prefix - 1;
    memcpy(buf, prefix, n);
    put_hex(buf + n, w[0]);
    buf[n + 8] = '.';
    put_hex(buf + n + 9, w[2]);
    put_hex(buf + n + 17, w[1]);
    return n + 25;
}

void hipc__bell_close(int fds[3])
{
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0)
            (void)hipc__sys_close(fds[i]);
        fds[i] = -1;
    }
}

/* Binds `sock` to a fresh name: our pid and the clock's nanoseconds. A
 * clash needs a process of the same pid (in another pid namespace) that
 * made its bell in the same nanosecond; nobody can take the name first
 * on purpose, as it is published only once bound. */
static int bind_fresh(int sock, uint32_t w[HIPC__BELL_WORDS], uint32_t pid)
{
    struct timespec ts;
    (void)hipc__sys_clock_monotonic(&ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    w[0] = pid;
    w[1] = (uint32_t)t;
    w[2] = (uint32_t)(t >> 32);
    char name[NAME_MAX_];
    return hipc__sys_bind_abstract(sock, name, format_name(name, w));
}

int hipc__bell_open(int fds[3], uint32_t words[HIPC__BELL_WORDS], uint32_t pid,
                    int *err)
{
    int rc;
    fds[0] = fds[1] = fds[2] = -1;
    if ((rc = hipc__sys_socket_dgram()) < 0)
        goto fail;
    fds[HIPC__BELL_SOCK] = rc;
    if ((rc = bind_fresh(fds[HIPC__BELL_SOCK], words, pid)) < 0)
        goto fail;
    if ((rc = hipc__sys_timerfd_create()) < 0)
        goto fail;
    fds[HIPC__BELL_TIMER] = rc;
    if ((rc = hipc__sys_epoll_create()) < 0)
        goto fail;
    fds[HIPC__BELL_EP] = rc;
    if ((rc = hipc__sys_epoll_add(rc, fds[HIPC__BELL_SOCK])) < 0 ||
        (rc = hipc__sys_epoll_add(fds[HIPC__BELL_EP], fds[HIPC__BELL_TIMER])) <
            0)
        goto fail;
    return HIPC_OK;
fail:
    hipc__bell_close(fds);
    words[0] = words[1] = words[2] = 0;
    return rc == -EADDRINUSE ? hipc__fail_as(err, rc, HIPC_E_EXISTS)
                             : hipc__fail(err, rc);
}

/* One ring read away: 1; the queue empty: 0; or the negative errno. An
 * EAGAIN is read again once: the kernel's own means the queue is empty,
 * and a second look costs a read only when the drain asked for more than
 * there was; a would-block the environment made up once (the fault
 * build's eagain mode) would otherwise leave a ring the caller counted as
 * read. */
static int drop_one(int sock)
{
    unsigned char drop[8];
    ssize_t r = hipc__sys_read(sock, drop, sizeof drop);
    if (r == -EAGAIN)
        r = hipc__sys_read(sock, drop, sizeof drop);
    return r >= 0 ? 1 : r == -EAGAIN ? 0 : (int)r;
}

int hipc__bell_drain(const int fds[3], int n)
{
    for (int i = 0; i < n; i++) {
        int r = drop_one(fds[HIPC__BELL_SOCK]);
        if (r <= 0)
            return r;
    }
    return 0;
}

int hipc__bell_arm(const int fds[3], int64_t ns, int *err)
{
    int rc = hipc__sys_timerfd_once(fds[HIPC__BELL_TIMER], ns);
    return rc < 0 ? hipc__fail_as(err, rc, HIPC_E_SYS) : HIPC_OK;
}

int hipc__bell_self_ring(const int fds[3],
                         const uint32_t words[HIPC__BELL_WORDS])
{
    char name[NAME_MAX_];
    static const unsigned char ding = 1;
    size_t len = format_name(name, words);
    int rc =
        hipc__sys_sendto_abstract(fds[HIPC__BELL_SOCK], &ding, 1, name, len);
    /* The kernel skips the full-queue check for a socket's own name, so
     * a real EAGAIN is a send buffer out of room for a moment: once more,
     * as a ring does. */
    if (rc == -EAGAIN)
        rc = hipc__sys_sendto_abstract(fds[HIPC__BELL_SOCK], &ding, 1, name,
                                       len);
    return rc < 0 ? rc : 0;
}

int hipc__bell_ring(int *ring, int *have,
                    const uint32_t words[HIPC__BELL_WORDS])
{
    uint32_t w[HIPC__BELL_WORDS] = {words[0], words[1], words[2]};
    if (!*have) {
        int fd = hipc__sys_socket_dgram();
        if (fd < 0)
            return fd;
        *ring = fd;
        *have = 1;
    }
    char name[NAME_MAX_];
    static const unsigned char ding = 1;
    size_t len = format_name(name, w);
    int rc = hipc__sys_sendto_abstract(*ring, &ding, 1, name, len);
    /* A full bell is a readable one, so EAGAIN loses nothing; once more
     * all the same, as a send that found the queue full a moment ago may
     * find room now, and a second EAGAIN is then the truth. */
    if (rc == -EAGAIN)
        rc = hipc__sys_sendto_abstract(*ring, &ding, 1, name, len);
    return rc < 0 ? rc : 0;
}
