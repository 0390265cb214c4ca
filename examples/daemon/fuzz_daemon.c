/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the fuzzer is a hostile client. Its bytes become what
 * the client's end of the command channel wrote (tail, sleep word, ring,
 * see hipc_testing(3)); the daemon then answers what it can read. Every
 * input starts from freshly formatted channels, a reset fault plan and an
 * empty simulated kernel (hipc_testing_sim_begin): the status segment is
 * made in process memory, with no syscall, and an input that left
 * anything in the world is a finding. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <hipc/error.h>
#include <hipc/testing.h>

#include "daemon.h"

#define RING 4096
static _Alignas(64) unsigned char cmd_mem[HIPC_CHAN_HEADER_SIZE + RING];
static _Alignas(64) unsigned char reply_mem[HIPC_CHAN_HEADER_SIZE + RING];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_testing_reset();
    hipc_state_writer status;
    if (hipc_testing_sim_begin(NULL) != HIPC_OK ||
        fw_status_create(&status, HIPC_SHM_KEY_PRIVATE) != HIPC_OK)
        abort();
    hipc_chan_config cfg = {RING, 0, 0, 0, 0};
    struct fw_daemon d;
    hipc_chan client;
    if (hipc_chan_init_mem(cmd_mem, sizeof cmd_mem, &cfg) != HIPC_OK ||
        hipc_chan_init_mem(reply_mem, sizeof reply_mem, &cfg) != HIPC_OK ||
        fw_daemon_attach(&d, cmd_mem, reply_mem, sizeof cmd_mem, &status) !=
            HIPC_OK ||
        hipc_chan_attach_mem(&client, cmd_mem, sizeof cmd_mem,
                             HIPC_CHAN_PRODUCER, NULL) != HIPC_OK)
        abort();
    if (hipc_testing_chan_peer(&client, data, size) < 0)
        abort();
    /* A self-test would start a process per input: refused here. */
    hipc_testing_fail_every(HIPC_CALL_CLONE, EAGAIN);
    for (int i = 0; i < 8; i++) {
        int rc = fw_daemon_step(&d, 0);
        if (rc == HIPC_E_AGAIN || rc == HIPC_E_CORRUPT)
            break;
        if (rc != HIPC_OK)
            abort(); /* nothing else may come of a hostile client */
    }
    hipc_chan_close(&client);
    fw_daemon_detach(&d);
    hipc_testing_sim_usage u;
    if (hipc_state_remove(&status) != HIPC_OK ||
        hipc_state_close_writer(&status) != HIPC_OK ||
        hipc_testing_get_sim(&u) != HIPC_OK || u.segments != 0 ||
        u.attachments != 0 || u.descriptors != 0 ||
        hipc_testing_sim_end() != HIPC_OK)
        abort();
    return 0;
}
