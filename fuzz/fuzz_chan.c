/* SPDX-License-Identifier: MIT */
/* Fuzz target: the channel against a hostile peer (no syscalls, but for
 * the doorbell's: see op_bell).
 *
 * The library plays both ends of a channel on a heap region of exactly the
 * channel's size (so ASan sees a byte past the ring), attached with
 * HIPC_CHAN_ANONYMOUS and driven with timeout 0 only, which keeps every
 * call away from the kernel. The fuzzer plays the peer: between the
 * library's operations it rewrites header words, the published positions
 * and ring bytes, and re-attaches either end.
 *
 * Input: capacity selector byte (64 << n%7), max_msg (u16 modulo capacity
 * + 8, so a few are too large; 0 = default), then up to
 * MAX_OPS operations, each an opcode byte and its operands.
 *
 * Invariants: every return is a code from the error table; a message or a
 * span handed out lies inside the ring and is no longer than max_msg; and
 * while the fuzzer has written nothing, the channel is a FIFO: every
 * message comes out once, in order, byte for byte, and "empty" means empty.
 * Asking an anonymous end after its peer (hipc_chan_get_peer, before each
 * re-attach) is HIPC_E_BAD_STATE and writes nothing, whatever the slots
 * hold; a capacity that is not a power of two is HIPC_E_BAD_CAPACITY.
 *
 * The doorbell (hipc_chan_get_fd): either end may make one; the fuzzer
 * also writes the wait lines' words (the armed bit, the bell's name).
 * While honest, a consumer armed by a try that found nothing has a
 * readable descriptor once a message is sent, and get_fd answers the
 * same descriptor every time; the ends are closed after each input, so
 * no descriptor outlives it.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

#define MAX_OPS 96
#define MODEL 128 /* more than MAX_OPS: the model never overflows */

struct model_msg {
    uint32_t len;
    uint32_t hash;
};

struct world {
    unsigned char *mem;
    size_t size;
    hipc_chan p, c;
    int honest; /* no hostile write since the channel was made */
    struct model_msg q[MODEL];
    size_t qhead, qtail;
    int fd[2];   /* [0] producer's, [1] consumer's descriptor + 1; 0: none */
    int c_armed; /* the consumer's last try found nothing, with a bell */
};

static uint32_t fnv(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static const hipc_chan_config anon = {.flags = HIPC_CHAN_ANONYMOUS};

static int attach(struct world *w, hipc_chan_role role)
{
    hipc_chan *ch = role == HIPC_CHAN_PRODUCER ? &w->p : &w->c;
    int rc = hipc_chan_attach_mem(ch, w->mem, w->size, role, &anon);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || !w->honest);
    return rc;
}

/* A span the library hands out lies inside the ring. */
static void check_span(const struct world *w, const void *at, size_t len)
{
    const unsigned char *ring = w->mem + HIPC_CHAN_HEADER_SIZE;
    const unsigned char *p = at;
    HIPC_FUZZ_CHECK(p >= ring && p <= w->mem + w->size);
    HIPC_FUZZ_CHECK(len <= (size_t)(w->mem + w->size - p));
}

static void model_push(struct world *w, const void *buf, size_t len)
{
    if (w->honest && w->qtail - w->qhead < MODEL)
        w->q[w->qtail++ % MODEL] =
            (struct model_msg){(uint32_t)len, fnv(buf, len)};
}

/* What came out (rc = length or code) against what went in. */
static void model_pop(struct world *w, int rc, const void *buf, size_t cap)
{
    if (!w->honest)
        return;
    int empty = w->qhead == w->qtail;
    if (rc == HIPC_E_AGAIN) {
        HIPC_FUZZ_CHECK(empty);
        return;
    }
    HIPC_FUZZ_CHECK(!empty);
    struct model_msg m = w->q[w->qhead % MODEL];
    if (rc == HIPC_E_BUF_TOO_SMALL) {
        HIPC_FUZZ_CHECK(m.len > cap);
        return;
    }
    HIPC_FUZZ_CHECK(rc >= 0 && (uint32_t)rc == m.len);
    HIPC_FUZZ_CHECK(fnv(buf, (size_t)rc) == m.hash);
    w->qhead++;
}

static void op_send(struct world *w, hipc_fuzz_in *in)
{
    const uint8_t *data = NULL;
    size_t len = hipc_fuzz_bytes(in, hipc_fuzz_u16(in) % 4200u, &data);
    int rc = hipc_chan_send(&w->p, data, len, 0);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (rc == HIPC_OK)
        model_push(w, data, len);
    if (rc == HIPC_OK && w->honest && w->c_armed) {
        struct pollfd pf = {.fd = w->fd[1] - 1, .events = POLLIN};
        HIPC_FUZZ_CHECK(poll(&pf, 1, 0) == 1);
        w->c_armed = 0;
    }
}

/* A consumer try's answer: HIPC_E_AGAIN arms a consumer with a bell. */
static void note_try(struct world *w, int rc)
{
    w->c_armed = rc == HIPC_E_AGAIN && w->fd[1] != 0;
}

static void op_recv(struct world *w, hipc_fuzz_in *in)
{
    size_t cap = hipc_fuzz_u16(in) % 4200u;
    unsigned char *buf = malloc(cap + 1u);
    HIPC_FUZZ_CHECK(buf != NULL);
    int rc = hipc_chan_recv(&w->c, buf, cap, 0);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc < 0 ||
                    ((size_t)rc <= cap && (size_t)rc <= w->c.max_msg));
    if (rc >= 0 || rc == HIPC_E_AGAIN || rc == HIPC_E_BUF_TOO_SMALL)
        model_pop(w, rc, buf, cap);
    note_try(w, rc);
    free(buf);
}

static void op_reserve_commit(struct world *w, hipc_fuzz_in *in)
{
    size_t len = hipc_fuzz_u16(in) % 4200u;
    size_t keep = hipc_fuzz_u16(in) % 4200u;
    uint8_t byte = hipc_fuzz_u8(in);
    void *room = NULL;
    int rc = hipc_chan_reserve(&w->p, len, &room, 0);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (rc != HIPC_OK)
        return;
    check_span(w, room, len);
    memset(room, byte, len);
    rc = hipc_chan_commit(&w->p, keep);
    HIPC_FUZZ_CHECK(rc == (keep <= len ? HIPC_OK : HIPC_E_BAD_SIZE));
    if (rc != HIPC_OK)
        rc = hipc_chan_commit(&w->p, keep = len);
    HIPC_FUZZ_CHECK(rc == HIPC_OK);
    unsigned char *copy = malloc(keep + 1u);
    HIPC_FUZZ_CHECK(copy != NULL);
    memset(copy, byte, keep);
    model_push(w, copy, keep);
    free(copy);
}

static void op_peek_release(struct world *w)
{
    const void *msg = NULL;
    int rc = hipc_chan_peek(&w->c, &msg, 0);
    HIPC_FUZZ_CHECK_CODE(rc);
    note_try(w, rc);
    if (rc < 0) {
        if (rc == HIPC_E_AGAIN)
            model_pop(w, rc, NULL, 0);
        return;
    }
    HIPC_FUZZ_CHECK((size_t)rc <= w->c.max_msg);
    check_span(w, msg, (size_t)rc);
    model_pop(w, rc, msg, (size_t)rc);
    HIPC_FUZZ_CHECK(hipc_chan_release(&w->c) == HIPC_OK);
}

/* The hostile peer: a 32-bit word anywhere in the header or the ring. */
static void op_scribble(struct world *w, hipc_fuzz_in *in, int where)
{
    uint32_t off = hipc_fuzz_u32(in);
    uint32_t v = hipc_fuzz_u32(in);
    size_t limit = where == 0 ? HIPC_CHAN_HEADER_SIZE : w->size;
    size_t at = (size_t)off % (limit - 3u);
    memcpy(w->mem + at, &v, sizeof v);
    w->honest = 0;
}

/* Positions are the likeliest target: nudge head (line 3) or tail (line 2). */
static void op_nudge(struct world *w, hipc_fuzz_in *in)
{
    uint8_t which = hipc_fuzz_u8(in);
    uint32_t delta = hipc_fuzz_u32(in);
    size_t at = (which & 1u) ? 3u * 128u : 2u * 128u;
    uint32_t v;
    memcpy(&v, w->mem + at, sizeof v);
    v += (which & 2u) ? delta : (delta & 0xffu) * 8u;
    memcpy(w->mem + at, &v, sizeof v);
    w->honest = 0;
}

/* Anonymous ends record no identity: asking after the peer reads nothing
 * shared and says so, whatever the fuzzer wrote into the slots. */
static void check_no_peer(hipc_chan *ch)
{
    hipc_chan_peer_info info = {HIPC_CHAN_PEER_GONE, 7};
    int rc = hipc_chan_get_peer(ch, &info);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_E_BAD_STATE || rc == HIPC_E_BAD_HANDLE);
    HIPC_FUZZ_CHECK(info.state == HIPC_CHAN_PEER_GONE && info.pid == 7);
}

/* Either end makes its doorbell (or is asked for it again). */
static void op_bell(struct world *w, hipc_fuzz_in *in)
{
    int end = hipc_fuzz_u8(in) & 1u;
    hipc_chan *ch = end == 0 ? &w->p : &w->c;
    int fd = -1;
    int rc = hipc_chan_get_fd(ch, &fd);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (rc != HIPC_OK)
        return;
    HIPC_FUZZ_CHECK(fd >= 0 && (w->fd[end] == 0 || w->fd[end] == fd + 1));
    w->fd[end] = fd + 1;
}

/* The hostile peer at the wait lines (4: consumer's, 5: producer's):
 * the sleeping word (often with the armed bit), the futex word or one of
 * the bell's name words. */
static void op_wait_word(struct world *w, hipc_fuzz_in *in)
{
    uint8_t which = hipc_fuzz_u8(in);
    uint32_t v = hipc_fuzz_u32(in);
    size_t line = (which & 1u) ? 5u : 4u;
    size_t word = (size_t)(which >> 1) % 5u;
    if (word == 0 && (which & 0x80u) != 0)
        v |= 0x80000000u;
    memcpy(w->mem + line * 128u + word * 4u, &v, sizeof v);
    w->honest = 0;
}

static void op_reattach(struct world *w, hipc_fuzz_in *in)
{
    hipc_chan_role role =
        (hipc_fuzz_u8(in) & 1u) ? HIPC_CHAN_PRODUCER : HIPC_CHAN_CONSUMER;
    hipc_chan *ch = role == HIPC_CHAN_PRODUCER ? &w->p : &w->c;
    check_no_peer(ch);
    int rc = hipc_chan_close(ch);
    HIPC_FUZZ_CHECK_CODE(rc);
    /* Its bell closed with it. */
    w->fd[role == HIPC_CHAN_PRODUCER ? 0 : 1] = 0;
    if (role == HIPC_CHAN_CONSUMER)
        w->c_armed = 0;
    /* A reservation or a peek dies with the handle; the model follows. */
    (void)attach(w, role);
}

static void run(struct world *w, hipc_fuzz_in *in)
{
    for (int i = 0; i < MAX_OPS && in->n != 0; i++) {
        switch (hipc_fuzz_u8(in) % 10u) {
        case 0:
            op_send(w, in);
            break;
        case 1:
            op_recv(w, in);
            break;
        case 2:
            op_reserve_commit(w, in);
            break;
        case 3:
            op_peek_release(w);
            break;
        case 4:
            op_scribble(w, in, 0);
            break;
        case 5:
            op_scribble(w, in, 1);
            break;
        case 6:
            op_nudge(w, in);
            break;
        case 7:
            op_reattach(w, in);
            break;
        case 8:
            op_bell(w, in);
            break;
        default:
            op_wait_word(w, in);
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_fuzz_in in = {data, size};
    static struct world w;
    memset(&w, 0, sizeof w);
    size_t cap = (size_t)64u << (hipc_fuzz_u8(&in) % 7u);
    /* Mostly valid maxima, and a few just too large. */
    hipc_chan_config cfg = {.capacity = cap,
                            .max_msg = hipc_fuzz_u16(&in) % (cap + 8u)};
    HIPC_FUZZ_CHECK(hipc_chan_mem_size(cap, &w.size) == HIPC_OK);
    w.mem = malloc(w.size);
    HIPC_FUZZ_CHECK(w.mem != NULL);
    int rc = hipc_chan_init_mem(w.mem, w.size, &cfg);
    HIPC_FUZZ_CHECK(rc ==
                    (cfg.max_msg <= cap - 8u ? HIPC_OK : HIPC_E_BAD_SIZE));
    /* A capacity that is no capacity is refused as such. */
    size_t odd = 0;
    HIPC_FUZZ_CHECK(hipc_chan_mem_size(cap + 8u, &odd) == HIPC_E_BAD_CAPACITY);
    if (rc == HIPC_OK) {
        w.honest = 1;
        if (attach(&w, HIPC_CHAN_PRODUCER) == HIPC_OK &&
            attach(&w, HIPC_CHAN_CONSUMER) == HIPC_OK)
            run(&w, &in);
    }
    /* Closes the bells; a handle never attached answers a code. */
    (void)hipc_chan_close(&w.p);
    (void)hipc_chan_close(&w.c);
    free(w.mem);
    return 0;
}
