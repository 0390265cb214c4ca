/* SPDX-License-Identifier: MIT */
/* Fuzz target: sequences of broadcast-ring operations against a model.
 *
 * The input is a small program over one ring (a real segment, in a private
 * IPC namespace): send, receive on one of CONSUMERS consumer slots, open a
 * slot (at the newest or the oldest message) or close it, skip a slot to
 * the newest, close the producer and open a successor, look at the ring by
 * id, and ask after the producer; a consumer opened with a descriptor
 * (hipc_bcast_get_fd: its tries then arm a bell, or keep it readable in
 * the spin after progress), and scribbles on the
 * board's words (the sleepers word, the bell slots: what any consumer can
 * write). Nobody writes the ring but the library,
 * so the model is exact: every consumer gets every message sent, in order
 * and byte for byte, or learns exactly how many it lost; "nothing new"
 * means it has read all that was sent; a closed producer is HIPC_E_PEER_GONE
 * once a consumer has read everything, whatever the board says (a bell
 * changes no answer); the look by id counts the messages
 * sent and the consumers attached. After each input no segment or
 * descriptor is left. */
#include <stdatomic.h>
#include <string.h>

#include "board.h"
#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

#define MAX_OPS 96
#define MODEL (MAX_OPS + 1)
#define CONSUMERS 3
#define BUF 2048

struct world {
    hipc_bcast p, c[CONSUMERS];
    int p_open, c_open[CONSUMERS];
    uint64_t sent, want[CONSUMERS];
    uint32_t len[MODEL], hash[MODEL];
};

static uint32_t fnv(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hipc_fuzz_isolate();
    return 0;
}

static void send_one(struct world *w, hipc_fuzz_in *in)
{
    const uint8_t *msg = NULL;
    size_t len = hipc_fuzz_u16(in) % (w->p.max_msg + 2);
    len = hipc_fuzz_bytes(in, len, &msg);
    int rc = hipc_bcast_send(&w->p, msg, len);
    hipc_fuzz_trace("send", (int)len, rc);
    if (!w->p_open) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_STALE_HANDLE);
        return;
    }
    HIPC_FUZZ_CHECK(rc == (len > w->p.max_msg ? HIPC_E_MSG_TOO_BIG : HIPC_OK));
    if (rc == HIPC_OK) {
        w->len[w->sent] = (uint32_t)len;
        w->hash[w->sent] = fnv(msg, len);
        w->sent++;
    }
}

static void recv_one(struct world *w, int k, hipc_fuzz_in *in)
{
    static unsigned char buf[BUF];
    size_t cap = hipc_fuzz_u16(in) % (BUF + 1);
    int rc = hipc_bcast_recv(&w->c[k], buf, cap, 0);
    hipc_fuzz_trace("recv", k, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    uint64_t last = 0, *want = &w->want[k];
    if (!w->c_open[k]) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_STALE_HANDLE || rc == HIPC_E_BAD_HANDLE);
    } else if (rc == HIPC_E_OVERRUN) {
        HIPC_FUZZ_CHECK(hipc_bcast_get_lost(&w->c[k], &last, NULL) == HIPC_OK);
        HIPC_FUZZ_CHECK(last > 0 && *want + last < w->sent);
        *want += last;
    } else if (rc >= 0) {
        HIPC_FUZZ_CHECK(*want < w->sent && (size_t)rc <= cap);
        HIPC_FUZZ_CHECK((uint32_t)rc == w->len[*want] &&
                        fnv(buf, (size_t)rc) == w->hash[*want]);
        (*want)++;
    } else if (rc == HIPC_E_BUF_TOO_SMALL) {
        HIPC_FUZZ_CHECK(*want < w->sent);
    } else {
        HIPC_FUZZ_CHECK(*want == w->sent);
        HIPC_FUZZ_CHECK(rc == (w->p_open ? HIPC_E_AGAIN : HIPC_E_PEER_GONE));
    }
}

static void toggle_consumer(struct world *w, int k, hipc_fuzz_in *in)
{
    if (w->c_open[k]) {
        HIPC_FUZZ_CHECK(hipc_bcast_close(&w->c[k]) == HIPC_OK);
        w->c_open[k] = 0;
        return;
    }
    uint8_t how = hipc_fuzz_u8(in);
    /* A spin of 1 ns arms at every failed try; the default keeps the bell
     * readable for its spin after progress, which an input's tries, a
     * few microseconds apart, mostly stay within. */
    hipc_bcast_config cfg = {.flags = how & HIPC_BCAST_OLDEST,
                             .spin_ns = (how & 0x40u) != 0 ? 1 : 0};
    int rc = hipc_bcast_open_consumer_id(&w->c[k], w->p.shm.id, &cfg);
    hipc_fuzz_trace("open", k, rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK);
    w->c_open[k] = 1;
    if ((how & 0x80u) != 0) {
        int fd = -1, again = -1;
        HIPC_FUZZ_CHECK(hipc_bcast_get_fd(&w->c[k], &fd) == HIPC_OK);
        HIPC_FUZZ_CHECK(hipc_bcast_get_fd(&w->c[k], &again) == HIPC_OK);
        HIPC_FUZZ_CHECK(fd >= 0 && fd == again);
    }
    hipc_bcast_stat st;
    HIPC_FUZZ_CHECK(hipc_bcast_stat_id(w->p.shm.id, &st, NULL) == HIPC_OK);
    HIPC_FUZZ_CHECK(st.sent == w->sent && st.oldest <= st.sent);
    w->want[k] = cfg.flags != 0 ? st.oldest : st.sent;
}

/* Writes a word of the producer's board, as any consumer can: the
 * sleepers word or a bell slot's state or name. */
static void scribble_board(struct world *w, uint8_t code)
{
    static const uint32_t values[] = {0u, 0x40000001u, 0xc0000001u,
                                      0xffffffffu};
    struct hipc__board *bd = (struct hipc__board *)(void *)w->p.board_.bytes;
    if (!w->p_open || bd->sleepers == NULL)
        return;
    unsigned char *p = (unsigned char *)(uintptr_t)bd->sleepers;
    size_t words = (64u + HIPC__BOARD_BELLS * 16u) / 4u;
    size_t at = ((size_t)(code >> 3) * 37u) % words;
    if (at > 0 && at < 16u)
        at = 0; /* the rest of the first line is padding */
    atomic_store((_Atomic uint32_t *)(void *)(p + at * 4u),
                 values[(code >> 3) % 4u]);
}

static void toggle_producer(struct world *w)
{
    if (w->p_open) {
        HIPC_FUZZ_CHECK(hipc_bcast_close(&w->p) == HIPC_OK);
        w->p_open = 0;
        return;
    }
    hipc_key key = w->p.shm.key;
    int rc = hipc_bcast_open_producer(&w->p, key, NULL);
    hipc_fuzz_trace("producer", 0, rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK);
    w->p_open = 1;
}

static void skip(struct world *w, int k)
{
    uint64_t n = 0;
    int rc = hipc_bcast_skip_to_newest(&w->c[k], &n);
    hipc_fuzz_trace("skip", k, rc);
    if (!w->c_open[k])
        return;
    HIPC_FUZZ_CHECK(rc == HIPC_OK && w->want[k] + n == w->sent);
    w->want[k] = w->sent;
}

static void look(struct world *w)
{
    hipc_bcast_stat st;
    unsigned long open = 0;
    for (int k = 0; k < CONSUMERS; k++)
        open += (unsigned long)w->c_open[k];
    HIPC_FUZZ_CHECK(hipc_bcast_stat_id(w->p.shm.id, &st, NULL) == HIPC_OK);
    HIPC_FUZZ_CHECK(st.sent == w->sent);
    /* A producer that left is gone. One that runs is alive, except where
     * /proc belongs to another pid namespace than ours (AFL++ runs targets
     * so): there its pid names another process, and a judge can only say
     * gone or hidden - the library's documented limit, not this ring's. */
    if (!w->p_open)
        HIPC_FUZZ_CHECK(st.producer == HIPC_BCAST_PRODUCER_GONE);
    else
        HIPC_FUZZ_CHECK(st.producer != HIPC_BCAST_PRODUCER_NONE);
    if (!w->p_open || st.producer == HIPC_BCAST_PRODUCER_ALIVE)
        HIPC_FUZZ_CHECK(st.consumers == open);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_fuzz_in in = {data, size};
    static struct world w;
    memset(&w, 0, sizeof w);
    int fds = hipc_fuzz_fd_count();
    hipc_bcast_config cfg = {.capacity = (size_t)64 << (hipc_fuzz_u8(&in) % 5)};
    cfg.max_msg =
        hipc_fuzz_u16(&in) % (cfg.capacity - HIPC_BCAST_REC_HEADER + 1);
    /* A key of our own, so that a successor producer can open it. */
    if (hipc_bcast_create(&w.p, 0x62630001, &cfg) != HIPC_OK)
        return 0;
    w.p_open = 1;
    int id = w.p.shm.id;
    for (int op = 0; op < MAX_OPS && in.n > 0; op++) {
        uint8_t code = hipc_fuzz_u8(&in);
        int k = (code >> 4) % CONSUMERS;
        switch (code % 8) {
        case 0:
        case 1:
            send_one(&w, &in);
            break;
        case 2:
        case 3:
            recv_one(&w, k, &in);
            break;
        case 4:
            toggle_consumer(&w, k, &in);
            break;
        case 5:
            toggle_producer(&w);
            break;
        case 6:
            skip(&w, k);
            break;
        default:
            if ((code & 0x80u) != 0)
                scribble_board(&w, code);
            else
                look(&w);
            break;
        }
    }
    for (int k = 0; k < CONSUMERS; k++)
        if (w.c_open[k])
            HIPC_FUZZ_CHECK(hipc_bcast_close(&w.c[k]) == HIPC_OK);
    if (w.p_open)
        HIPC_FUZZ_CHECK(hipc_bcast_close(&w.p) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_shm_remove_id(id, NULL) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_fuzz_shm_count() == 0);
    hipc_fuzz_check_fds(fds);
    return 0;
}
