/* SPDX-License-Identifier: MIT */
/* Compatibility peer written against this tree's API: ci/stages/compat.sh
 * builds it with this tree and has it meet every listed release's peer on
 * real segments and channels (the protocol is in proto.h). It tracks the
 * API as it changes; a release's copy of this file is what the stage
 * builds for that release later, so keep the protocol in proto.h stable. */
#include <hipc/hipc.h>
#include <stdlib.h>

#include "proto.h"

static int shm_create(void)
{
    hipc_shm shm;
    hipc_shm_config cfg = {.size = COMPAT_SHM_BYTES, .tag = COMPAT_SHM_TAG};
    int rc = hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc != HIPC_OK)
        return compat_result("create", hipc_err_name(rc));
    compat_fill(shm.data, 1);
    compat_ready(shm.id);
    int ok = !compat_wait_turn() || compat_holds(shm.data, 2);
    rc = hipc_shm_remove(&shm);
    int rc2 = hipc_shm_close(&shm);
    if (!ok)
        return compat_result("data", "WRONG_DATA");
    if (rc != HIPC_OK)
        return compat_result("remove", hipc_err_name(rc));
    if (rc2 != HIPC_OK)
        return compat_result("close", hipc_err_name(rc2));
    return compat_result("done", "HIPC_OK");
}

static int shm_open(int id)
{
    hipc_shm shm;
    int rc = hipc_shm_open_id(&shm, id, COMPAT_SHM_BYTES, 0);
    if (rc != HIPC_OK)
        return compat_result("open", hipc_err_name(rc));
    int ok = shm.tag == COMPAT_SHM_TAG && shm.size >= COMPAT_SHM_BYTES &&
             compat_holds(shm.data, 1);
    if (ok)
        compat_fill(shm.data, 2);
    rc = hipc_shm_close(&shm);
    if (!ok)
        return compat_result("data", "WRONG_DATA");
    if (rc != HIPC_OK)
        return compat_result("close", hipc_err_name(rc));
    return compat_result("done", "HIPC_OK");
}

/* Sends every message without waiting: they all fit in the ring. */
static const char *send_all(hipc_chan *ch, int *rc)
{
    unsigned char msg[COMPAT_MSG_MAX];
    for (unsigned i = 0; i < COMPAT_MSGS; i++) {
        compat_fill_msg(i, msg);
        *rc = hipc_chan_send(ch, msg, compat_msg_len(i), 0);
        if (*rc < 0)
            return "send";
        *rc = HIPC_OK;
    }
    return NULL;
}

/* Receives every message without waiting (all were sent before), then
 * expects `after`: HIPC_E_AGAIN while the producer is there, PEER_GONE
 * once it has closed. *rc is 1 for bytes that differ. */
static const char *recv_all(hipc_chan *ch, int after, int *rc)
{
    unsigned char buf[COMPAT_MSG_MAX];
    for (unsigned i = 0; i < COMPAT_MSGS; i++) {
        *rc = hipc_chan_recv(ch, buf, sizeof buf, 0);
        if (*rc < 0)
            return "recv";
        if (!compat_msg_ok(i, buf, (size_t)*rc)) {
            *rc = 1;
            return "data";
        }
    }
    *rc = hipc_chan_recv(ch, buf, sizeof buf, 0);
    if (*rc == after) {
        *rc = HIPC_OK;
        return NULL;
    }
    return *rc >= 0 ? (*rc = 1, "data") : "recv-end";
}

static int report(const char *step, int rc)
{
    if (step == NULL)
        return compat_result("done", "HIPC_OK");
    return compat_result(step, rc == 1 ? "WRONG_DATA" : hipc_err_name(rc));
}

static int finish(hipc_chan *ch, const char *step, int rc)
{
    int rc_rm = hipc_chan_remove(ch);
    int rc_cl = hipc_chan_close(ch);
    if (step == NULL && rc_rm != HIPC_OK)
        step = "remove", rc = rc_rm;
    if (step == NULL && rc_cl != HIPC_OK)
        step = "close", rc = rc_cl;
    return report(step, rc);
}

static int chan_create(hipc_chan_role role)
{
    hipc_chan ch;
    hipc_chan_config cfg = {.capacity = COMPAT_CAPACITY};
    int rc = hipc_chan_create(&ch, HIPC_SHM_KEY_PRIVATE, role, &cfg);
    if (rc != HIPC_OK)
        return report("create", rc);
    const char *step = NULL;
    if (role == HIPC_CHAN_PRODUCER)
        step = send_all(&ch, &rc);
    compat_ready(ch.shm.id);
    int check = compat_wait_turn();
    if (step == NULL && check && role == HIPC_CHAN_CONSUMER)
        step = recv_all(&ch, HIPC_E_PEER_GONE, &rc);
    return finish(&ch, step, rc);
}

static int chan_open(hipc_chan_role role, int id)
{
    hipc_chan ch;
    int rc = hipc_chan_open_id(&ch, id, role, NULL);
    if (rc != HIPC_OK)
        return report("open", rc);
    const char *step = role == HIPC_CHAN_PRODUCER
                           ? send_all(&ch, &rc)
                           : recv_all(&ch, HIPC_E_AGAIN, &rc);
    int rc_cl = hipc_chan_close(&ch);
    if (step == NULL && rc_cl != HIPC_OK)
        step = "close", rc = rc_cl;
    return report(step, rc);
}

static hipc_chan_role role_of(const char *s)
{
    if (strcmp(s, "producer") == 0)
        return HIPC_CHAN_PRODUCER;
    return strcmp(s, "consumer") == 0 ? HIPC_CHAN_CONSUMER : (hipc_chan_role)0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "shm-create") == 0)
        return shm_create();
    if (argc == 3 && strcmp(argv[1], "shm-open") == 0)
        return shm_open(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "chan-create") == 0 && role_of(argv[2]))
        return chan_create(role_of(argv[2]));
    if (argc == 4 && strcmp(argv[1], "chan-open") == 0 && role_of(argv[2]))
        return chan_open(role_of(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: see tests/compat/proto.h\n");
    return 2;
}
