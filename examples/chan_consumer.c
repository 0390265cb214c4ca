/* SPDX-License-Identifier: MIT */
/* A channel consumer, started on its own from a shell:
 *
 *     chan_consumer KEY              (with chan_producer KEY [COUNT])
 *
 * It opens the channel under KEY, waiting for the producer to create it if
 * it was started first, marks the segment for removal at once (the memory
 * goes when both ends have detached, even if one crashes), and receives
 * until the producer has closed its end and every message is drained. It
 * checks that the messages arrive complete and in order and prints how
 * many it got. Exit status: 0 when the whole sequence arrived. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hipc/hipc.h"

/* How long to wait for the producer to appear, and for each message. */
#define OPEN_TIMEOUT_MS 30000
#define RECV_TIMEOUT_NS ((int64_t)30 * 1000 * 1000 * 1000)

static int fail(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "chan_consumer: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

static int parse_key(const char *s, hipc_key *key)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v < INT32_MIN ||
        v > (long long)UINT32_MAX)
        return -1;
    *key = (hipc_key)(int32_t)(uint32_t)(v & 0xffffffffLL);
    return 0;
}

/* The producer may not have created the channel yet (HIPC_E_NOT_FOUND) or
 * may be formatting it (HIPC_E_AGAIN): both are worth waiting for; any
 * other failure is final. */
static int open_when_there(hipc_chan *ch, hipc_key key)
{
    const struct timespec pause = {0, 10 * 1000 * 1000};
    for (int waited = 0;; waited += 10) {
        int rc = hipc_chan_open(ch, key, HIPC_CHAN_CONSUMER, NULL);
        if (rc == HIPC_OK)
            return HIPC_OK;
        if ((rc != HIPC_E_NOT_FOUND && rc != HIPC_E_AGAIN) ||
            waited >= OPEN_TIMEOUT_MS)
            return fail("open", rc, ch->sys_errno);
        nanosleep(&pause, NULL);
    }
}

/* Each message must be the next one of the sequence "message I of N". */
static int check(const char *msg, int len, long expect, long *total)
{
    char want[64];
    long i = 0, n = 0;
    if (sscanf(msg, "message %ld of %ld", &i, &n) != 2 || i != expect || n < 1)
        return -1;
    snprintf(want, sizeof want, "message %ld of %ld", i, n);
    if ((size_t)len != strlen(want) || memcmp(msg, want, (size_t)len) != 0)
        return -1;
    *total = n;
    return 0;
}

static int receive_all(hipc_chan *ch)
{
    char buf[65];
    long got = 0, total = -1;
    for (;;) {
        int n = hipc_chan_recv(ch, buf, sizeof buf - 1, RECV_TIMEOUT_NS);
        if (n == HIPC_E_PEER_GONE)
            break; /* closed by the producer, and nothing left */
        if (n < 0)
            return fail("recv", n, ch->sys_errno);
        buf[n] = '\0';
        if (check(buf, n, got, &total) != 0) {
            fprintf(stderr, "chan_consumer: message %ld is wrong: %s\n", got,
                    buf);
            return 1;
        }
        got++;
    }
    printf("chan_consumer: received %ld messages\n", got);
    if (got != total) {
        fprintf(stderr, "chan_consumer: expected %ld\n", total);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    hipc_key key = 0;
    if (argc != 2 || parse_key(argv[1], &key) != 0) {
        fprintf(stderr, "usage: chan_consumer KEY\n");
        return 2;
    }
    hipc_chan ch;
    if (open_when_there(&ch, key) != HIPC_OK)
        return 1;
    int rc = hipc_chan_remove(&ch);
    int status = rc == HIPC_OK ? receive_all(&ch) : fail("remove", rc, 0);
    rc = hipc_chan_close(&ch);
    if (rc != HIPC_OK)
        return fail("close", rc, 0);
    return status;
}
