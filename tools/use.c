/* SPDX-License-Identifier: MIT */
/* hipcctl — what a hipc segment is used for, told by its tag: the name
 * `ls` shows in its hipc column, and the line `stat` adds, read through
 * each module's read-only look by segment id (nothing is claimed, nothing
 * written). */
#include "hipcctl.h"

#include <inttypes.h>

#include "board.h" /* the board's tag (lib/, internal) */

const char *hipcctl_use_name(const hipc_seg_entry *e, char *buf, size_t cap)
{
    switch (e->tag) {
    case HIPC_CHAN_SHM_TAG:
        return "chan";
    case HIPC_STATE_SHM_TAG:
        return "state";
    case HIPC_BCAST_SHM_TAG:
        return "bcast";
    case HIPC__BOARD_TAG:
        return "board";
    default:
        snprintf(buf, cap, "0x%08" PRIx32, e->tag);
        return buf;
    }
}

static const char *writer_name(int alive)
{
    static const char *const names[] = {"none", "alive", "hidden", "gone"};
    return alive >= 0 && alive < 4 ? names[alive] : "?";
}

static int state_use(const hipc_seg_entry *e, FILE *f, int json)
{
    hipc_state_stat st;
    int rc = hipc_state_stat_id(e->id, &st, NULL);
    if (rc != HIPC_OK)
        return rc;
    const char *w = writer_name((int)st.writer);
    if (json)
        fprintf(f,
                "\"use\": {\"kind\": \"state\", \"value_size\": %zu, "
                "\"generation\": %" PRIu64 ", \"writer\": \"%s\", "
                "\"writer_pid\": %ld, \"readers\": %lu}, ",
                st.value_size, st.generation, w, (long)st.writer_pid,
                st.readers);
    else
        fprintf(f,
                "state    value %zu bytes, generation %" PRIu64
                ", writer %s (pid %ld), readers %lu\n",
                st.value_size, st.generation, w, (long)st.writer_pid,
                st.readers);
    return HIPC_OK;
}

static int bcast_use(const hipc_seg_entry *e, FILE *f, int json)
{
    hipc_bcast_stat st;
    int rc = hipc_bcast_stat_id(e->id, &st, NULL);
    if (rc != HIPC_OK)
        return rc;
    const char *p = writer_name((int)st.producer);
    if (json)
        fprintf(f,
                "\"use\": {\"kind\": \"bcast\", \"capacity\": %zu, "
                "\"max_msg\": %zu, \"sent\": %" PRIu64 ", \"oldest\": %" PRIu64
                ", \"producer\": \"%s\", \"producer_pid\": %ld, "
                "\"consumers\": %lu}, ",
                st.capacity, st.max_msg, st.sent, st.oldest, p,
                (long)st.producer_pid, st.consumers);
    else
        fprintf(f,
                "bcast    ring %zu bytes (messages up to %zu), sent %" PRIu64
                ", oldest held %" PRIu64 ", producer %s (pid %ld), "
                "consumers %lu\n",
                st.capacity, st.max_msg, st.sent, st.oldest, p,
                (long)st.producer_pid, st.consumers);
    return HIPC_OK;
}

/* One use line (stat) or JSON member (ls --json, stat --json) for the
 * kinds that have a look by id; nothing for others. A segment that went
 * or changed in between, or one we may not read, says why instead. */
void hipcctl_print_use(FILE *f, const hipc_seg_entry *e, int json)
{
    if (e->kind != HIPC_SEG_HIPC)
        return;
    int rc = HIPC_OK;
    if (e->tag == HIPC_STATE_SHM_TAG)
        rc = state_use(e, f, json);
    else if (e->tag == HIPC_BCAST_SHM_TAG)
        rc = bcast_use(e, f, json);
    if (rc == HIPC_OK)
        return;
    if (json)
        fprintf(f, "\"use\": {\"error\": \"%s\"}, ", hipc_err_name(rc));
    else
        fprintf(f, "use      unreadable: %s\n", hipc_err_name(rc));
}
