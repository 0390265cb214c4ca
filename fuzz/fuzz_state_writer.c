/* SPDX-License-Identifier: MIT */
/* Fuzz target: a state block whose writer is hostile.
 *
 * Each input makes one block (value size from the input, 1..300 bytes)
 * and a reader attached read-only, then runs up to MAX_OPS operations: an
 * honest publish, a read, a try-wait, asking after the writer, the tools'
 * stat, re-opening the reader, and the hostile ones: writing bytes or a
 * 32-bit word anywhere in the block through the writer's mapping, between
 * reads or, from a second thread, while reads run (a writer that rewrites
 * the copy being read).
 *
 * Invariants: every return is a code from the error table; a read returns
 * the value size or an error, never more; after an honest publish, until
 * the input writes again, a reader whose sizes are the block's reads
 * exactly that value with its generation, whatever was scribbled before; no read, wait or open loops for ever (libFuzzer's
 * timeout) or touches memory outside the block (ASan). After every input
 * the block is removed and no segment or descriptor is left. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

#define MAX_OPS 64
#define MAX_VALUE 300u
#define SCRIBBLES 64

struct world {
    hipc_state_writer w;
    hipc_state_reader r;
    int reader_open;
    size_t vsize, bytes; /* value size; block payload bytes */
    int honest;          /* nothing scribbled since the last publish */
    int pristine;        /* nothing scribbled at all: the header too */
    uint64_t gen;
    unsigned char last[MAX_VALUE];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hipc_fuzz_isolate();
    return 0;
}

static void scribble(struct world *x, uint32_t at, uint32_t v)
{
    unsigned char *base = x->w.shm_.data;
    size_t off = (at % x->bytes) & ~(size_t)3;
    memcpy(base + off, &v, sizeof v);
    x->honest = x->pristine = 0;
}

struct storm {
    struct world *x;
    uint32_t words[SCRIBBLES];
    _Atomic int go;
};

/* The hostile writer as a second thread: rewrites words while the main
 * thread reads. Relaxed atomic stores, as any other process's would be. */
static void *storm_main(void *arg)
{
    struct storm *s = arg;
    unsigned char *base = s->x->w.shm_.data;
    while (!atomic_load(&s->go))
        ;
    for (int round = 0; round < 4; round++)
        for (int i = 0; i + 1 < SCRIBBLES; i += 2) {
            size_t off = (s->words[i] % s->x->bytes) & ~(size_t)3;
            atomic_store_explicit((_Atomic uint32_t *)(void *)(base + off),
                                  s->words[i + 1], memory_order_relaxed);
        }
    return NULL;
}

static void do_read(struct world *x)
{
    if (!x->reader_open)
        return;
    unsigned char buf[MAX_VALUE + 8];
    hipc_state_info info;
    int rc = hipc_state_read(&x->r, buf, sizeof buf, &info);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc < 0 || (size_t)rc == x->r.value_size);
    if (x->honest && x->r.value_size == x->vsize) {
        HIPC_FUZZ_CHECK((size_t)rc == x->vsize);
        HIPC_FUZZ_CHECK(info.generation == x->gen);
        HIPC_FUZZ_CHECK(memcmp(buf, x->last, x->vsize) == 0);
    }
}

static void storm_reads(struct world *x, hipc_fuzz_in *in)
{
    struct storm s = {.x = x};
    for (int i = 0; i < SCRIBBLES; i++)
        s.words[i] = hipc_fuzz_u32(in);
    atomic_store(&s.go, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, storm_main, &s) != 0)
        return;
    x->honest = x->pristine = 0;
    atomic_store(&s.go, 1);
    for (int i = 0; i < 8; i++)
        do_read(x);
    pthread_join(t, NULL);
}

static void reopen(struct world *x)
{
    if (x->reader_open)
        HIPC_FUZZ_CHECK(hipc_state_close_reader(&x->r) == HIPC_OK);
    int rc = hipc_state_open_reader_id(&x->r, x->w.shm_.id, NULL);
    HIPC_FUZZ_CHECK_CODE(rc);
    x->reader_open = rc == HIPC_OK;
    HIPC_FUZZ_CHECK(rc == HIPC_OK || !x->pristine);
    if (rc == HIPC_OK)
        HIPC_FUZZ_CHECK(x->r.value_size <= x->bytes);
}

static void step(struct world *x, hipc_fuzz_in *in)
{
    uint8_t op = hipc_fuzz_u8(in);
    switch (op % 9) {
    case 0: { /* honest publish */
        const uint8_t *b = NULL;
        memset(x->last, 0, x->vsize);
        size_t n = hipc_fuzz_bytes(in, x->vsize, &b);
        memcpy(x->last, b, n);
        int rc = hipc_state_publish(&x->w, x->last, x->vsize);
        HIPC_FUZZ_CHECK(rc == HIPC_OK);
        x->gen = x->w.generation;
        /* The publish rewrote its slot whole (seq from the writer's own
         * copy) and then cur: whatever was scribbled before, a reader
         * whose sizes are the block's reads exactly this. */
        x->honest = 1;
        break;
    }
    case 1:
    case 2:
        do_read(x);
        break;
    case 3: {
        uint32_t at = hipc_fuzz_u32(in);
        scribble(x, at, hipc_fuzz_u32(in));
        break;
    }
    case 4: {
        uint32_t at = hipc_fuzz_u32(in);
        const uint8_t *b = NULL;
        size_t n = hipc_fuzz_bytes(in, hipc_fuzz_u8(in) % 32u, &b);
        size_t off = at % x->bytes;
        if (n > x->bytes - off)
            n = x->bytes - off;
        memcpy((unsigned char *)x->w.shm_.data + off, b, n);
        x->honest = x->pristine = 0;
        break;
    }
    case 5:
        storm_reads(x, in);
        break;
    case 6:
        if (x->reader_open) {
            HIPC_FUZZ_CHECK_CODE(hipc_state_wait(&x->r, 0));
            HIPC_FUZZ_CHECK_CODE(hipc_state_get_writer(&x->r, NULL));
        }
        break;
    case 7: {
        hipc_state_stat st;
        int rc = hipc_state_stat_id(x->w.shm_.id, &st, NULL);
        HIPC_FUZZ_CHECK_CODE(rc);
        HIPC_FUZZ_CHECK(rc != HIPC_OK || st.value_size <= x->bytes);
        break;
    }
    default:
        reopen(x);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world x;
    memset(&x, 0, sizeof x);
    int segments = hipc_fuzz_shm_count(), fds = hipc_fuzz_fd_count();
    hipc_fuzz_in in = {data, size};
    x.vsize = 1u + hipc_fuzz_u16(&in) % MAX_VALUE;
    if (hipc_state_create(&x.w, HIPC_SHM_KEY_PRIVATE, x.vsize, NULL) != HIPC_OK)
        return 0;
    x.bytes = x.w.shm_.size;
    x.honest = x.pristine = 1;
    reopen(&x);
    for (int op = 0; op < MAX_OPS && in.n > 0; op++)
        step(&x, &in);
    if (x.reader_open)
        HIPC_FUZZ_CHECK(hipc_state_close_reader(&x.r) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_state_remove(&x.w) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_state_close_writer(&x.w) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_fuzz_shm_count() == segments);
    hipc_fuzz_check_fds(fds);
    return 0;
}
