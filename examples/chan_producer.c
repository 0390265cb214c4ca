/* SPDX-License-Identifier: MIT */
/* A channel producer, started on its own from a shell:
 *
 *     chan_producer KEY [COUNT]      (then, anywhere: chan_consumer KEY)
 *
 * It creates a channel segment under KEY (decimal or 0x hex), sends COUNT
 * numbered messages (default 1000) and closes its end. The ring is small
 * on purpose, so the producer really waits for the consumer. The consumer
 * marks the segment for removal as soon as it has opened it; if nobody
 * comes within the timeout, the producer removes it itself, so no run
 * leaves a segment behind. Exit status: 0 when every message went out. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hipc/hipc.h"

/* How long one send may wait for room before the consumer counts as
 * missing: long enough for a person to start it by hand. */
#define SEND_TIMEOUT_NS ((int64_t)30 * 1000 * 1000 * 1000)

static int fail(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "chan_producer: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

/* A key as ipcs prints it (0x hex) or in decimal; never IPC_PRIVATE. */
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

static int send_all(hipc_chan *ch, long count)
{
    for (long i = 0; i < count; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "message %ld of %ld", i, count);
        int rc = hipc_chan_send(ch, msg, (size_t)len, SEND_TIMEOUT_NS);
        if (rc < 0)
            return fail("send", rc, ch->sys_errno);
    }
    return 0;
}

int main(int argc, char **argv)
{
    hipc_key key = 0;
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    if (argc < 2 || argc > 3 || parse_key(argv[1], &key) != 0 || count < 1) {
        fprintf(stderr, "usage: chan_producer KEY [COUNT]\n");
        return 2;
    }
    hipc_chan ch;
    hipc_chan_config cfg = {.capacity = 4096}; /* zeroed fields: defaults */
    int rc = hipc_chan_create(&ch, key, HIPC_CHAN_PRODUCER, &cfg);
    if (rc != HIPC_OK)
        return fail("create", rc, ch.sys_errno);
    printf("chan_producer: channel at key 0x%08x, sending %ld messages\n",
           (unsigned)key, count);
    int status = send_all(&ch, count);
    if (status != 0) /* the consumer may never have come: clean up */
        (void)hipc_chan_remove(&ch);
    /* Whether a consumer is attached: if none came yet, the messages wait
     * in the ring for it (the segment stays until it has read them). */
    hipc_chan_peer_info peer;
    if (status == 0 && hipc_chan_get_peer(&ch, &peer) == HIPC_OK)
        printf("chan_producer: consumer %ld is attached\n", (long)peer.pid);
    else if (status == 0)
        printf("chan_producer: no consumer yet; the messages wait for it\n");
    /* Closing tells the consumer that nothing more will come; it still
     * receives everything sent before. */
    rc = hipc_chan_close(&ch);
    if (rc != HIPC_OK)
        return fail("close", rc, 0);
    if (status == 0)
        printf("chan_producer: sent %ld messages\n", count);
    return status;
}
