/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <string.h>

#include <hipc/error.h>
#include <hipc/process.h>

int fw_status_create(hipc_state_writer *w, hipc_key key)
{
    return hipc_state_create(w, key, sizeof(struct fw_status), NULL);
}

int fw_daemon_attach(struct fw_daemon *d, void *cmd_mem, void *reply_mem,
                     size_t size, hipc_state_writer *status)
{
    memset(d, 0, sizeof *d);
    d->status = status;
    int rc =
        hipc_chan_attach_mem(&d->cmd, cmd_mem, size, HIPC_CHAN_CONSUMER, NULL);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_chan_attach_mem(&d->reply, reply_mem, size, HIPC_CHAN_PRODUCER,
                              NULL);
    if (rc == HIPC_OK)
        rc = hipc_state_publish(status, &d->now, sizeof d->now);
    if (rc != HIPC_OK) {
        hipc_chan_close(&d->reply);
        hipc_chan_close(&d->cmd);
    }
    return rc;
}

static int self_test(void)
{
    hipc_process p;
    char *argv[] = {"true", NULL};
    int status = -1;
    int rc = hipc_process_spawn(&p, "/bin/true", argv, NULL, NULL);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_process_wait(&p, &status, HIPC_FOREVER);
    hipc_process_close(&p);
    return rc == HIPC_OK && status == 0 ? HIPC_OK : HIPC_E_CHILD;
}

static const char *answer(struct fw_daemon *d, const unsigned char *cmd,
                          int len)
{
    if (len == 1 && cmd[0] == 'P')
        return "pong";
    if (len == 5 && cmd[0] == 'L') {
        memcpy(&d->now.level, cmd + 1, 4);
        return "set";
    }
    if (len == 1 && cmd[0] == 'T')
        return self_test() == HIPC_OK ? "ok" : "fail";
    return "bad";
}

int fw_daemon_step(struct fw_daemon *d, int64_t timeout_ns)
{
    unsigned char cmd[64];
    int len = hipc_chan_recv(&d->cmd, cmd, sizeof cmd, timeout_ns);
    if (len == HIPC_E_BUF_TOO_SMALL) {
        /* Too long for any command: drop it, answer "bad". */
        const void *skip;
        len = hipc_chan_peek(&d->cmd, &skip, 0);
        if (len >= 0)
            len = hipc_chan_release(&d->cmd);
        cmd[0] = 0;
        len = len < 0 ? len : 0;
    }
    if (len < 0)
        return len;
    const char *a = answer(d, cmd, len);
    d->now.handled++;
    int rc = hipc_state_publish(d->status, &d->now, sizeof d->now);
    if (rc != HIPC_OK)
        return rc;
    return hipc_chan_send(&d->reply, a, strlen(a), 0);
}

int fw_daemon_wait_stop(hipc_pipe *ctl)
{
    char c = 0;
    int rc = hipc_pipe_read_exact(ctl, &c, 1, NULL, HIPC_FOREVER);
    if (rc != HIPC_OK)
        return rc;
    return c == 'S' ? HIPC_OK : HIPC_E_CORRUPT;
}

void fw_daemon_detach(struct fw_daemon *d)
{
    hipc_chan_close(&d->reply);
    hipc_chan_close(&d->cmd);
}
