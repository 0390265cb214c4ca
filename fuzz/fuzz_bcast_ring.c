/* SPDX-License-Identifier: MIT */
/* Fuzz target: the broadcast ring's consumer against a hostile producer.
 *
 * The library creates a ring (a real segment, in a private IPC namespace)
 * and opens a read-only consumer on it; the fuzzer is the producer: between
 * the consumer's calls it rewrites header words, the published head and
 * tail and ring bytes through the producer's writable mapping, and it also
 * sends honest messages through the library's producer.
 *
 * Input: capacity selector byte (64 << n%6), max_msg (u16 modulo capacity,
 * 0 = default), then up to MAX_OPS operations, each an opcode byte and its
 * operands.
 *
 * Invariants: every return is a code from the error table; a receive never
 * reads or writes outside the ring or the caller's buffer (ASan) and never
 * hangs (timeout 0); a message is no longer than max_msg or the buffer; and
 * while the fuzzer has written nothing, the consumer gets every message
 * sent, in order and byte for byte, or counts it lost exactly. After each
 * input no segment or descriptor is left. */
#include <string.h>

#include "hipc/bcast.h"
#include "hipc/error.h"
#include "support.h"

#define MAX_OPS 64
#define MODEL (MAX_OPS + 1)
#define BUF 4096

struct world {
    hipc_bcast p, c;
    int honest;
    uint64_t sent, want; /* messages sent; the consumer's next */
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
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || len > w->p.max_msg);
    if (rc == HIPC_OK && w->sent < MODEL) {
        w->len[w->sent] = (uint32_t)len;
        w->hash[w->sent] = fnv(msg, len);
    }
    w->sent += rc == HIPC_OK;
}

static void recv_one(struct world *w, hipc_fuzz_in *in)
{
    static unsigned char buf[BUF];
    size_t cap = hipc_fuzz_u16(in) % (BUF + 1);
    int rc = hipc_bcast_recv(&w->c, buf, cap, 0);
    hipc_fuzz_trace("recv", (int)cap, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc < 0 ||
                    ((size_t)rc <= cap && (size_t)rc <= w->c.max_msg));
    if (!w->honest)
        return;
    uint64_t last = 0;
    if (rc == HIPC_E_OVERRUN) {
        HIPC_FUZZ_CHECK(hipc_bcast_get_lost(&w->c, &last, NULL) == HIPC_OK);
        HIPC_FUZZ_CHECK(last > 0 && w->want + last <= w->sent);
        w->want += last;
    } else if (rc >= 0) {
        HIPC_FUZZ_CHECK(w->want < w->sent);
        HIPC_FUZZ_CHECK((uint32_t)rc == w->len[w->want] &&
                        fnv(buf, (size_t)rc) == w->hash[w->want]);
        w->want++;
    } else if (rc == HIPC_E_AGAIN) {
        HIPC_FUZZ_CHECK(w->want == w->sent);
    } else {
        HIPC_FUZZ_CHECK(rc == HIPC_E_BUF_TOO_SMALL);
    }
}

/* The hostile producer: one aligned word of the header or ring. */
static void scribble(struct world *w, hipc_fuzz_in *in, int wide)
{
    size_t span = HIPC_BCAST_HEADER_SIZE + w->p.capacity;
    size_t off = hipc_fuzz_u16(in) % span;
    unsigned char *mem = w->p.shm.data;
    if (wide) {
        uint64_t v = hipc_fuzz_u64(in);
        off &= ~(size_t)7;
        memcpy(mem + off, &v, sizeof v);
    } else {
        uint32_t v = hipc_fuzz_u32(in);
        off &= ~(size_t)3;
        memcpy(mem + off, &v, sizeof v);
    }
    hipc_fuzz_trace("scribble", (int)off, 0);
    w->honest = 0;
}

static void reopen(struct world *w, hipc_fuzz_in *in)
{
    hipc_bcast_config cfg = {.flags = hipc_fuzz_u8(in) & HIPC_BCAST_OLDEST};
    int rc = hipc_bcast_close(&w->c);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || (rc == HIPC_E_BAD_HANDLE && !w->honest));
    rc = hipc_bcast_open_consumer_id(&w->c, w->p.shm.id, &cfg);
    hipc_fuzz_trace("reopen", (int)cfg.flags, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (rc != HIPC_OK) {
        HIPC_FUZZ_CHECK(!w->honest); /* the handle stays unopened */
        return;
    }
    hipc_bcast_stat st;
    rc = hipc_bcast_stat_id(w->p.shm.id, &st, NULL);
    if (w->honest) {
        HIPC_FUZZ_CHECK(rc == HIPC_OK && st.sent == w->sent);
        w->want = cfg.flags != 0 ? st.oldest : st.sent;
    }
}

static void skip(struct world *w)
{
    uint64_t n = 0;
    int rc = hipc_bcast_skip_to_newest(&w->c, &n);
    hipc_fuzz_trace("skip", (int)n, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (w->honest && rc == HIPC_OK) {
        HIPC_FUZZ_CHECK(w->want + n == w->sent);
        w->want = w->sent;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_fuzz_in in = {data, size};
    static struct world w;
    memset(&w, 0, sizeof w);
    w.honest = 1;
    int fds = hipc_fuzz_fd_count();
    hipc_bcast_config cfg = {.capacity = (size_t)64 << (hipc_fuzz_u8(&in) % 6)};
    cfg.max_msg =
        hipc_fuzz_u16(&in) % (cfg.capacity - HIPC_BCAST_REC_HEADER + 1);
    if (hipc_bcast_create(&w.p, HIPC_SHM_KEY_PRIVATE, &cfg) != HIPC_OK)
        return 0;
    HIPC_FUZZ_CHECK(hipc_bcast_open_consumer_id(&w.c, w.p.shm.id, NULL) ==
                    HIPC_OK);
    for (int op = 0; op < MAX_OPS && in.n > 0; op++) {
        switch (hipc_fuzz_u8(&in) % 8) {
        case 0:
        case 1:
            send_one(&w, &in);
            break;
        case 2:
        case 3:
            recv_one(&w, &in);
            break;
        case 4:
            scribble(&w, &in, 0);
            break;
        case 5:
            scribble(&w, &in, 1);
            break;
        case 6:
            reopen(&w, &in);
            break;
        default:
            skip(&w);
            break;
        }
        if (w.sent >= MODEL)
            w.honest = 0; /* beyond what the model holds */
    }
    (void)hipc_bcast_close(&w.c);
    HIPC_FUZZ_CHECK(hipc_bcast_remove(&w.p) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_bcast_close(&w.p) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_fuzz_shm_count() == 0);
    hipc_fuzz_check_fds(fds);
    return 0;
}
