/* SPDX-License-Identifier: MIT */
/* Fuzz target: sequences of state block calls over a few handles.
 *
 * The input is a small program: each operation is an opcode byte and its
 * operands - create, open_writer, open_reader (by key or id), publish,
 * read, wait (timeout 0), get_writer, stat_id, remove, close either end,
 * a reader's descriptor (hipc_state_get_fd: its tries then arm a bell),
 * a scribble on the board's words (the sleepers word, the bell slots:
 * what any reader can write), and a call on a copy of a handle - over
 * WRITERS writer slots and
 * READERS reader slots, on KEYS keys of a private range.
 *
 * A model follows each key: whether a block exists under it, its value
 * size, which writer slot holds it, the last generation and value. After
 * every step: every return is a code from the error table; create answers
 * HIPC_E_EXISTS exactly when a block exists; open_writer succeeds exactly
 * when the block exists and no slot holds it (this process is alive, so
 * its own held role is never taken over) and goes on from the model's
 * generation; a read returns the model's last value and generation;
 * get_writer says alive exactly while a slot holds the block; stat_id
 * agrees with the model; a copy of a handle is HIPC_E_BAD_HANDLE; a
 * reader's descriptor is the same on every call, and a try with one
 * answers news, HIPC_E_AGAIN, or HIPC_E_PEER_GONE only while no slot
 * holds the block, whatever the board says. After
 * every input: all handles are closed, every block made is removed, and
 * no segment or descriptor is left. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "hipc/error.h"
#include "hipc/state.h"
#include "support.h"

#define WRITERS 2
#define READERS 3
#define KEYS 2
#define KEY_BASE 0x68730000 /* "hs": nothing else here uses these keys */
#define MAX_OPS 48
#define MAX_VALUE 96u

struct block {
    int exists;  /* created, not removed */
    int id;      /* its segment id */
    size_t size; /* value size */
    int holder;  /* writer slot + 1 holding it, or 0 */
    uint64_t gen;
    unsigned char value[MAX_VALUE];
};

#define BLOCKS (MAX_OPS + KEYS)

/* Blocks by instance: a removed block lives on while attached, and a new
 * one can be made under its key meanwhile. Slots name instances. */
struct world {
    hipc_state_writer w[WRITERS];
    int w_open[WRITERS], w_blk[WRITERS];
    hipc_state_reader r[READERS];
    int r_open[READERS], r_blk[READERS];
    int r_fd1[READERS]; /* 1 + the reader's descriptor; 0: none yet */
    struct block b[BLOCKS];
    int nb;
    int cur[KEYS]; /* instance + 1 under each key, or 0 */
};

static struct block *current(struct world *x, int k)
{
    return x->cur[k] != 0 ? &x->b[x->cur[k] - 1] : NULL;
}

/* Whether /proc shows this process under its own pid. Not so in a pid
 * namespace of its own without a /proc mounted for it (AFL++ runs under
 * `unshare --pid` here): then hipc looks a live writer's pid up among
 * other processes and may judge it gone, so the model asks nothing that
 * depends on that judgement. */
static int proc_is_ours;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char link[32] = "";
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    proc_is_ours = n > 0 && strtol(link, NULL, 10) == (long)getpid();
    hipc_fuzz_isolate();
    (void)hipc_fuzz_limit_shm(64ul * 1024ul, 64ul, 16ul);
    return 0;
}

static void create(struct world *x, int s, int k, size_t size)
{
    if (x->w_open[s])
        return;
    int rc = hipc_state_create(&x->w[s], KEY_BASE + k, size, NULL);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (current(x, k) != NULL) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_EXISTS);
        return;
    }
    /* The namespace's lowered limits may refuse a block. */
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_LIMIT || rc == HIPC_E_NOMEM);
    if (rc != HIPC_OK || x->nb == BLOCKS)
        return;
    struct block *b = &x->b[x->nb++];
    x->cur[k] = x->nb;
    x->w_open[s] = 1;
    x->w_blk[s] = x->nb - 1;
    b->exists = 1;
    b->id = x->w[s].shm_.id;
    b->size = size;
    b->holder = s + 1;
    b->gen = 0;
    memset(b->value, 0, sizeof b->value);
}

static void open_writer(struct world *x, int s, int k)
{
    if (x->w_open[s])
        return;
    /* A holder that this process is: only a true /proc keeps it held. */
    if (!proc_is_ours && current(x, k) != NULL && current(x, k)->holder != 0)
        return;
    int rc = hipc_state_open_writer(&x->w[s], KEY_BASE + k, NULL);
    HIPC_FUZZ_CHECK_CODE(rc);
    struct block *b = current(x, k);
    if (b == NULL) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_NOT_FOUND);
        return;
    }
    if (b->holder != 0) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_EXISTS);
        return;
    }
    HIPC_FUZZ_CHECK(rc == HIPC_OK);
    HIPC_FUZZ_CHECK(x->w[s].generation == b->gen);
    HIPC_FUZZ_CHECK(x->w[s].value_size == b->size);
    x->w_open[s] = 1;
    x->w_blk[s] = x->cur[k] - 1;
    b->holder = s + 1;
}

static void open_reader(struct world *x, int s, int k, int by_id)
{
    if (x->r_open[s])
        return;
    struct block *b = current(x, k);
    int rc = by_id && b != NULL
                 ? hipc_state_open_reader_id(&x->r[s], b->id, NULL)
                 : hipc_state_open_reader(&x->r[s], KEY_BASE + k, NULL);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK((rc == HIPC_OK) == (b != NULL));
    if (rc != HIPC_OK)
        return;
    x->r_open[s] = 1;
    x->r_blk[s] = x->cur[k] - 1;
    HIPC_FUZZ_CHECK(x->r[s].value_size == b->size);
}

static void publish(struct world *x, int s, hipc_fuzz_in *in)
{
    unsigned char v[MAX_VALUE];
    const uint8_t *p = NULL;
    memset(v, 0, sizeof v);
    size_t n = hipc_fuzz_bytes(in, MAX_VALUE, &p);
    memcpy(v, p, n);
    int wrong = hipc_fuzz_u8(in) % 4u == 0;
    if (!x->w_open[s]) {
        HIPC_FUZZ_CHECK(hipc_state_publish(&x->w[s], v, MAX_VALUE) < 0);
        return;
    }
    struct block *b = &x->b[x->w_blk[s]];
    if (wrong)
        HIPC_FUZZ_CHECK(hipc_state_publish(&x->w[s], v, b->size + 1) ==
                        HIPC_E_BAD_SIZE);
    HIPC_FUZZ_CHECK(hipc_state_publish(&x->w[s], v, b->size) == HIPC_OK);
    b->gen++;
    memcpy(b->value, v, b->size);
    HIPC_FUZZ_CHECK(x->w[s].generation == b->gen);
}

/* Writes a word of some writer's board, as any reader of its block can:
 * the sleepers word or a bell slot's state or name, with values that
 * claim, arm, free or garble. */
static void scribble_board(struct world *x, uint8_t what)
{
    static const uint32_t values[] = {0u,          0x40000001u, 0x80000000u,
                                      0xc0000001u, 0x10000u,    0xffffffffu,
                                      1u,          0x7fffffffu};
    for (int s = 0; s < WRITERS; s++) {
        if (!x->w_open[s])
            continue;
        struct hipc__board *bd = (struct hipc__board *)(void *)x->w[s].board_;
        if (bd->sleepers == NULL)
            return;
        unsigned char *p = (unsigned char *)(uintptr_t)bd->sleepers;
        size_t words = (64u + HIPC__BOARD_BELLS * 16u) / 4u;
        size_t at = ((size_t)what * 7u) % words;
        if (at > 0 && at < 16u)
            at = 0; /* the rest of the first line is padding */
        atomic_store((_Atomic uint32_t *)(void *)(p + at * 4u),
                     values[(what >> 5) % 8u]);
        return;
    }
}

static void reader_calls(struct world *x, int s, uint8_t what)
{
    unsigned char buf[MAX_VALUE];
    hipc_state_info info;
    if (!x->r_open[s]) {
        HIPC_FUZZ_CHECK(hipc_state_read(&x->r[s], buf, sizeof buf, &info) < 0);
        return;
    }
    struct block *b = &x->b[x->r_blk[s]];
    int rc;
    switch (what % 5) {
    case 0:
        rc = hipc_state_read(&x->r[s], buf, sizeof buf, &info);
        HIPC_FUZZ_CHECK(rc >= 0 && (size_t)rc == b->size);
        HIPC_FUZZ_CHECK(info.generation == b->gen);
        HIPC_FUZZ_CHECK(memcmp(buf, b->value, b->size) == 0);
        break;
    case 1:
        rc = hipc_state_wait(&x->r[s], 0);
        HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_AGAIN ||
                        (rc == HIPC_E_PEER_GONE && x->r_fd1[s] != 0 &&
                         (b->holder == 0 || !proc_is_ours)));
        break;
    case 3: {
        int fd = -1;
        HIPC_FUZZ_CHECK(hipc_state_get_fd(&x->r[s], &fd) == HIPC_OK);
        HIPC_FUZZ_CHECK(fd >= 0 && (x->r_fd1[s] == 0 || fd + 1 == x->r_fd1[s]));
        x->r_fd1[s] = fd + 1;
        break;
    }
    case 4:
        scribble_board(x, what);
        break;
    default:
        rc = hipc_state_get_writer(&x->r[s], NULL);
        HIPC_FUZZ_CHECK_CODE(rc);
        if (proc_is_ours || b->holder == 0)
            HIPC_FUZZ_CHECK(rc ==
                            (b->holder != 0 ? HIPC_OK : HIPC_E_PEER_GONE));
        break;
    }
}

static void close_writer(struct world *x, int s)
{
    int rc = hipc_state_close_writer(&x->w[s]);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK((rc == HIPC_OK) == x->w_open[s]);
    if (x->w_open[s])
        x->b[x->w_blk[s]].holder = 0;
    x->w_open[s] = 0;
}

static void close_reader(struct world *x, int s)
{
    int rc = hipc_state_close_reader(&x->r[s]);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK((rc == HIPC_OK) == x->r_open[s]);
    x->r_open[s] = 0;
    x->r_fd1[s] = 0;
}

static void remove_block(struct world *x, int s)
{
    if (!x->w_open[s])
        return;
    struct block *b = &x->b[x->w_blk[s]];
    int rc = hipc_state_remove(&x->w[s]);
    HIPC_FUZZ_CHECK(rc == (b->exists ? HIPC_OK : HIPC_E_REMOVED));
    if (b->exists)
        for (int k = 0; k < KEYS; k++)
            if (x->cur[k] == x->w_blk[s] + 1)
                x->cur[k] = 0;
    b->exists = 0;
}

static void stat_block(struct world *x, int k)
{
    struct block *b = current(x, k);
    if (b == NULL)
        return;
    hipc_state_stat st;
    int rc = hipc_state_stat_id(b->id, &st, NULL);
    HIPC_FUZZ_CHECK(rc == HIPC_OK);
    HIPC_FUZZ_CHECK(st.value_size == b->size && st.generation == b->gen);
    if (!proc_is_ours && b->holder != 0)
        return;
    HIPC_FUZZ_CHECK(st.writer == (b->holder != 0 ? HIPC_STATE_WRITER_ALIVE
                                                 : HIPC_STATE_WRITER_GONE));
    unsigned long readers = 0;
    for (int i = 0; i < READERS; i++)
        readers += x->r_open[i] && x->r_blk[i] == x->cur[k] - 1;
    HIPC_FUZZ_CHECK(st.readers == readers);
}

static void copies(struct world *x, int s)
{
    hipc_state_writer wc;
    hipc_state_reader rc;
    unsigned char v[MAX_VALUE];
    memset(v, 0, sizeof v);
    memcpy(&wc, &x->w[s % WRITERS], sizeof wc);
    memcpy(&rc, &x->r[s % READERS], sizeof rc);
    HIPC_FUZZ_CHECK(hipc_state_publish(&wc, v, sizeof v) == HIPC_E_BAD_HANDLE);
    HIPC_FUZZ_CHECK(hipc_state_read(&rc, v, sizeof v, NULL) ==
                    HIPC_E_BAD_HANDLE);
    HIPC_FUZZ_CHECK(hipc_state_close_writer(&wc) == HIPC_E_BAD_HANDLE);
}

static void step(struct world *x, hipc_fuzz_in *in)
{
    uint8_t op = hipc_fuzz_u8(in), arg = hipc_fuzz_u8(in);
    int ws = arg % WRITERS, rs = arg % READERS, k = (arg >> 4) % KEYS;
    switch (op % 11) {
    case 0:
        create(x, ws, k, 1u + hipc_fuzz_u8(in) % MAX_VALUE);
        break;
    case 1:
        open_writer(x, ws, k);
        break;
    case 2:
    case 3:
        open_reader(x, rs, k, op % 11 == 3);
        break;
    case 4:
        publish(x, ws, in);
        break;
    case 5:
        reader_calls(x, rs, hipc_fuzz_u8(in));
        break;
    case 6:
        close_writer(x, ws);
        break;
    case 7:
        close_reader(x, rs);
        break;
    case 8:
        remove_block(x, ws);
        break;
    case 9:
        stat_block(x, k);
        break;
    default:
        copies(x, arg);
        break;
    }
}

static void cleanup(struct world *x, int segments, int fds)
{
    for (int s = 0; s < READERS; s++)
        if (x->r_open[s])
            close_reader(x, s);
    for (int s = 0; s < WRITERS; s++)
        if (x->w_open[s])
            close_writer(x, s);
    for (int i = 0; i < x->nb; i++)
        if (x->b[i].exists)
            HIPC_FUZZ_CHECK(hipc_shm_remove_id(x->b[i].id, NULL) == HIPC_OK);
    HIPC_FUZZ_CHECK(hipc_fuzz_shm_count() == segments);
    hipc_fuzz_check_fds(fds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world x;
    memset(&x, 0, sizeof x);
    int segments = hipc_fuzz_shm_count(), fds = hipc_fuzz_fd_count();
    hipc_fuzz_in in = {data, size};
    for (int op = 0; op < MAX_OPS && in.n > 0; op++)
        step(&x, &in);
    cleanup(&x, segments, fds);
    return 0;
}
