/* SPDX-License-Identifier: MIT */
/* A small "firmware daemon": reads commands from a channel, answers on
 * another and keeps its status in a state block (a shm segment). Commands
 * are one opcode byte and a payload:
 *   'P'            ping: answers "pong"
 *   'L' + 4 bytes  sets the level (host order) and publishes the status
 *   'T'            self-test: runs /bin/true, answers "ok" or "fail"
 * anything else answers "bad". */
#ifndef FW_DAEMON_H
#define FW_DAEMON_H

#include <stdint.h>

#include <hipc/chan.h>
#include <hipc/pipe.h>
#include <hipc/state.h>

struct fw_status {
    uint32_t level;
    uint32_t handled; /* commands answered */
};

struct fw_daemon {
    hipc_chan cmd;   /* consumer end */
    hipc_chan reply; /* producer end */
    hipc_state_writer *status;
    struct fw_status now;
};

/* Creates the status block under `key` (HIPC_SHM_KEY_PRIVATE: by id). */
int fw_status_create(hipc_state_writer *w, hipc_key key);
/* Attaches the daemon's ends of two channels formatted in memory (size
 * bytes each) and publishes a first status. On failure nothing stays
 * attached. */
int fw_daemon_attach(struct fw_daemon *d, void *cmd_mem, void *reply_mem,
                     size_t size, hipc_state_writer *status);
/* Answers one command, waiting as timeout_ns allows: HIPC_OK, or the
 * channel's code (HIPC_E_AGAIN: none; HIPC_E_CORRUPT: the client wrote
 * garbage; HIPC_E_PEER_GONE...). */
int fw_daemon_step(struct fw_daemon *d, int64_t timeout_ns);
/* Waits for the stop byte on the control pipe: HIPC_OK or a code. */
int fw_daemon_wait_stop(hipc_pipe *ctl);
void fw_daemon_detach(struct fw_daemon *d);

#endif
