/* SPDX-License-Identifier: MIT */
/* hipc — state blocks: one writer, readers that attach read-only.
 *
 * Layout of the payload (after the hipc header), in 64-byte lines:
 *   0   magic (stored last by create), version, value size, slot stride,
 *       the writer's owner record, the board reference
 *   1   cur: the low 32 bits of the latest complete generation, whose
 *       parity names the slot that holds it; the futex word of waiters
 *   2.. two slots of `stride` bytes: seq (odd while being written), the
 *       slot's generation (64 bits), then the value in machine words.
 *
 * Generation g lives in slot g & 1. The writer fills the slot readers are
 * not sent to (seq odd, words, generation, seq even), then stores cur. A
 * reader loads cur, copies the slot it names between two loads of its
 * seq, and starts over when they differ (the writer got round to that
 * slot: two newer values exist). A writer killed anywhere leaves cur
 * naming a complete slot. The value is copied in atomic words (relaxed)
 * inside the seq window, the C11 seqlock of Boehm ("Can seqlocks get
 * along with programming language memory models?", 2012): no data race,
 * so ThreadSanitizer checks the orderings for real. */
#include "hipc/state.h"

#include <stdatomic.h>
#include <string.h>

#include "board.h"
#include "hot.h"
#include "hipc/error.h"
#include "internal.h"
#include "owner.h"
#include "proc.h"
#include "sys.h"

#define STATE_MAGIC 0x4b4c4253u  /* "SBLK", stored last */
#define WRITER_MAGIC 0x57535453u /* an open writer handle */
#define READER_MAGIC 0x52535453u /* an open reader handle */
#define ST_OPEN 1u
#define ST_CLOSED 2u
#define LINE 64u
#define SLOTS_OFF (2u * LINE)
#define SLOT_HDR 16u

typedef uintptr_t word_t;

struct state_hdr {
    _Atomic uint32_t magic, version, value_size, stride;
    struct hipc__owner_rec writer;
    struct hipc__board_ref board;
    uint32_t pad0[3];
    _Atomic uint32_t cur;
    uint32_t pad1[15];
};

/* The slot's generation is at 8, low half first (the layout of 1.1.0).
 * Where a 64-bit word has exactly those bytes (64-bit, little-endian) it
 * is one load and one store; elsewhere two 32-bit halves, which the seq
 * window keeps consistent. */
#if UINTPTR_MAX > 0xffffffffu && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GEN_ONE_WORD 1
#endif

struct slot {
    _Atomic uint32_t seq;
#ifdef GEN_ONE_WORD
    _Alignas(8) _Atomic uint64_t gen;
#else
    _Alignas(8) _Atomic uint32_t gen_lo;
    _Atomic uint32_t gen_hi;
#endif
    _Atomic word_t words[];
};

_Static_assert(sizeof(struct state_hdr) == SLOTS_OFF, "two header lines");
_Static_assert(offsetof(struct slot, words) == SLOT_HDR, "slot header");
_Static_assert(sizeof(struct hipc__board) <=
                   sizeof(((hipc_state_writer *)0)->board_),
               "the board fits the handles' room for it");
_Static_assert(HIPC_STATE_MAX_VALUE <= 0x7fffffffu, "lengths are ints");

#ifdef HIPC_FAULT_INJECTION
/* Test builds: called at each step of a publish (lib/hot.h). */
void (*hipc__state_step_hook)(int step);
#endif
#define STEP(n) HIPC__STEP(hipc__state_step_hook, n)

/* ---- layout ------------------------------------------------------------ */

/* Bytes of one slot for a value of n bytes: header, whole words, whole
 * lines. n <= HIPC_STATE_MAX_VALUE, so this cannot wrap. */
static size_t slot_stride(size_t n)
{
    size_t words = (n + sizeof(word_t) - 1) / sizeof(word_t);
    size_t bytes = SLOT_HDR + words * sizeof(word_t);
    return (bytes + LINE - 1) / LINE * LINE;
}

/* Payload bytes of a block, or 0 when they do not fit a size_t. */
static size_t block_size(size_t n)
{
    size_t stride = slot_stride(n);
    /* GCOVR_EXCL_START [bound]: only where size_t has 32 bits */
    if (stride > (SIZE_MAX - SLOTS_OFF) / 2)
        return 0;
    /* GCOVR_EXCL_STOP */
    return SLOTS_OFF + 2 * stride;
}

static struct slot *slot_at(void *hdr, size_t stride, uint32_t index)
{
    /* A mask, not a multiply: slot 1 is one stride further. */
    size_t off = stride & (0 - (size_t)(index & 1u));
    return (struct slot *)((unsigned char *)hdr + SLOTS_OFF + off);
}

/* Checks a block's header line against the segment's payload size; each
 * field read once. HIPC_E_AGAIN while its creator has not finished. */
static int layout_check(const hipc_shm *shm, size_t *value_size, size_t *stride)
{
    if (shm->tag != HIPC_STATE_SHM_TAG)
        return HIPC_E_FOREIGN;
    if (shm->size < SLOTS_OFF)
        return HIPC_E_CORRUPT;
    struct state_hdr *h = shm->data;
    uint32_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
    if (magic == 0)
        return HIPC_E_AGAIN;
    if (magic != STATE_MAGIC)
        return HIPC_E_CORRUPT;
    if (atomic_load_explicit(&h->version, memory_order_relaxed) !=
        HIPC_STATE_LAYOUT_VERSION)
        return HIPC_E_VERSION;
    size_t n = atomic_load_explicit(&h->value_size, memory_order_relaxed);
    size_t s = atomic_load_explicit(&h->stride, memory_order_relaxed);
    if (n == 0 || n > HIPC_STATE_MAX_VALUE || s != slot_stride(n))
        return HIPC_E_CORRUPT;
    size_t total = block_size(n);
    /* GCOVR_EXCL_BR_START [bound]: total is 0 only where size_t has 32 bits */
    if (total == 0 || total > shm->size)
        return HIPC_E_CORRUPT;
    /* GCOVR_EXCL_BR_STOP */
    *value_size = n;
    *stride = s;
    return HIPC_OK;
}

static HIPC_INLINE uint64_t gen_load(struct slot *s)
{
#ifdef GEN_ONE_WORD
    return atomic_load_explicit(&s->gen, memory_order_relaxed);
#else
    return atomic_load_explicit(&s->gen_lo, memory_order_relaxed) |
           (uint64_t)atomic_load_explicit(&s->gen_hi, memory_order_relaxed)
               << 32;
#endif
}

static void gen_store(struct slot *s, uint64_t g)
{
#ifdef GEN_ONE_WORD
    atomic_store_explicit(&s->gen, g, memory_order_relaxed);
#else
    atomic_store_explicit(&s->gen_lo, (uint32_t)g, memory_order_relaxed);
    atomic_store_explicit(&s->gen_hi, (uint32_t)(g >> 32),
                          memory_order_relaxed);
#endif
}

/* ---- copies in words --------------------------------------------------- */

static void copy_in(_Atomic word_t *dst, const unsigned char *src, size_t n)
{
    size_t full = n / sizeof(word_t), i;
    word_t v;
    for (i = 0; i < full; i++) {
        memcpy(&v, src + i * sizeof v, sizeof v);
        atomic_store_explicit(&dst[i], v, memory_order_relaxed);
    }
    if (n % sizeof v != 0) {
        v = 0;
        memcpy(&v, src + i * sizeof v, n % sizeof v);
        atomic_store_explicit(&dst[i], v, memory_order_relaxed);
    }
}

static HIPC_INLINE void copy_word(unsigned char *dst, _Atomic word_t *src,
                                  size_t i)
{
    word_t w = atomic_load_explicit(&src[i], memory_order_relaxed);
    memcpy(dst + i * sizeof w, &w, sizeof w);
}

/* The tail word goes out byte by byte in memory order, by shifts: a
 * variable whose address were taken would cost the hot path a stack
 * frame and a stack-protector check. */
static HIPC_INLINE void copy_out(unsigned char *dst, _Atomic word_t *src,
                                 size_t n)
{
    size_t full = n / sizeof(word_t), i = 0;
    /* Four words a step, written out (compilers do not unroll it at -O2):
     * at 64 bytes the loop's counting had cost as much as the copy. */
    for (; full - i >= 4; i += 4) {
        copy_word(dst, src, i);
        copy_word(dst, src, i + 1);
        copy_word(dst, src, i + 2);
        copy_word(dst, src, i + 3);
    }
    for (; i < full; i++)
        copy_word(dst, src, i);
    size_t rest = n % sizeof(word_t);
    if (rest == 0)
        return;
    word_t last = atomic_load_explicit(&src[full], memory_order_relaxed);
    for (size_t j = 0; j < rest; j++) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        unsigned shift = (unsigned)(8 * j);
#else
        unsigned shift = (unsigned)(8 * (sizeof(word_t) - 1 - j));
#endif
        dst[full * sizeof(word_t) + j] = (unsigned char)(last >> shift);
    }
}

/* One consistent look at the latest slot: its generation and, when dst is
 * not NULL, its value (n bytes). HIPC_E_AGAIN: look again. */
static HIPC_INLINE int slot_read(void *hdr, size_t stride, unsigned char *dst,
                                 size_t n, uint64_t *gen)
{
    struct state_hdr *h = hdr;
    uint32_t g = atomic_load_explicit(&h->cur, memory_order_acquire);
    struct slot *s = slot_at(hdr, stride, g);
    uint32_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
    if ((q & 1u) != 0)
        return HIPC_E_AGAIN;
    if (dst != NULL)
        copy_out(dst, s->words, n);
    *gen = gen_load(s);
    /* Acquire fence: the copy above is done before seq is looked at. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->seq, memory_order_relaxed) != q)
        return HIPC_E_AGAIN;
    return (*gen & 1u) == (g & 1u) ? HIPC_OK : HIPC_E_CORRUPT;
}

/* The first look is inlined into the read; only a writer caught at work
 * sends it here. */
HIPC_NOINLINE static int read_retry(void *hdr, size_t stride,
                                    unsigned char *dst, size_t n, uint64_t *gen)
{
    for (unsigned i = 0; i < HIPC_STATE_READ_RETRIES; i++) {
        int rc = slot_read(hdr, stride, dst, n, gen);
        if (rc != HIPC_E_AGAIN)
            return rc;
        hipc__cpu_relax();
    }
    return HIPC_E_RETRIES;
}

/* ---- writer ------------------------------------------------------------ */

static struct hipc__board *w_board(hipc_state_writer *w)
{
    return (struct hipc__board *)(void *)w->board_;
}

static struct hipc__board *r_board(hipc_state_reader *r)
{
    return (struct hipc__board *)(void *)r->board_;
}

static struct hipc__owner w_owner(const hipc_state_writer *w)
{
    return hipc__owner_of(&((struct state_hdr *)w->hdr_)->writer);
}

static int check_writer(const hipc_state_writer *w)
{
    if (w == NULL)
        return HIPC_E_NULL;
    if (w->magic_ != WRITER_MAGIC || w->self_ != w)
        return HIPC_E_BAD_HANDLE;
    return w->state_ == ST_OPEN ? HIPC_OK : HIPC_E_STALE_HANDLE;
}

static int config_check(const hipc_state_config *cfg, unsigned *mode)
{
    hipc_state_config c = {0, 0};
    if (cfg != NULL)
        c = *cfg;
    if (c.flags != 0)
        return HIPC_E_BAD_FLAGS;
    *mode = c.mode == 0 ? 0600u : c.mode;
    if (*mode > 0777u || (*mode & 0600u) != 0600u || (*mode & 0022u) != 0)
        return HIPC_E_BAD_MODE;
    return HIPC_OK;
}

/* Identity, then the board: what every opening writer does once it holds
 * the segment. `mode` is the segment's, for the board's. */
static int writer_finish(hipc_state_writer *w, unsigned mode)
{
    struct state_hdr *h = w->hdr_;
    int rc = hipc__board_create(w_board(w), mode, &w->sys_errno);
    if (rc != HIPC_OK)
        return rc;
    hipc__board_publish(w_board(w), &h->board);
    w->magic_ = WRITER_MAGIC;
    w->state_ = ST_OPEN;
    w->self_ = w;
    return HIPC_OK;
}

static void writer_reset(hipc_state_writer *w)
{
    memset(w, 0, sizeof *w);
    hipc__board_detach(w_board(w));
}

static int claim(hipc_state_writer *w, uint32_t *prev)
{
    struct hipc__self me;
    int rc = hipc__self_identify(&me, &w->sys_errno);
    if (rc != HIPC_OK)
        return rc;
    w->pid_ = me.pid;
    w->start_ = me.start;
    w->pidns_ = me.pidns;
    struct hipc__owner o = w_owner(w);
    return hipc__owner_claim(&o, &me, prev, &w->holder_pid, &w->sys_errno);
}

static void give_back(hipc_state_writer *w, uint32_t prev)
{
    struct hipc__owner o = w_owner(w);
    hipc__owner_restore(&o, prev);
}

static int create_init(hipc_state_writer *w, size_t n, unsigned mode)
{
    struct state_hdr *h = w->shm_.data;
    w->hdr_ = h;
    w->value_size = n;
    w->stride_ = slot_stride(n);
    atomic_store_explicit(&h->version, HIPC_STATE_LAYOUT_VERSION,
                          memory_order_relaxed);
    atomic_store_explicit(&h->value_size, (uint32_t)n, memory_order_relaxed);
    atomic_store_explicit(&h->stride, (uint32_t)w->stride_,
                          memory_order_relaxed);
    uint32_t prev = 0;
    int rc = claim(w, &prev);
    if (rc == HIPC_OK)
        rc = writer_finish(w, mode);
    /* Release: the layout above is complete for whoever sees the magic. */
    if (rc == HIPC_OK)
        atomic_store_explicit(&h->magic, STATE_MAGIC, memory_order_release);
    return rc;
}

/* Where every way to a writer starts: a handle to fill, emptied, and a
 * valid config. */
static int writer_begin(hipc_state_writer *w, const hipc_state_config *cfg,
                        unsigned *mode)
{
    if (w == NULL)
        return HIPC_E_NULL;
    writer_reset(w);
    return config_check(cfg, mode);
}

int hipc_state_create(hipc_state_writer *w, hipc_key key, size_t value_size,
                      const hipc_state_config *cfg)
{
    unsigned mode = 0;
    int rc = writer_begin(w, cfg, &mode);
    if (rc != HIPC_OK)
        return rc;
    if (value_size == 0)
        return HIPC_E_BAD_SIZE;
    size_t total =
        value_size <= HIPC_STATE_MAX_VALUE ? block_size(value_size) : 0;
    if (total == 0)
        return HIPC_E_TOO_BIG;
    hipc_shm_config sc = {.size = total,
                          .flags = HIPC_SHM_PREFAULT,
                          .mode = mode,
                          .tag = HIPC_STATE_SHM_TAG};
    rc = hipc_shm_create(&w->shm_, key, &sc);
    w->sys_errno = w->shm_.sys_errno;
    if (rc != HIPC_OK)
        return rc;
    rc = create_init(w, value_size, mode);
    if (rc != HIPC_OK) {
        (void)hipc_shm_remove(&w->shm_);
        (void)hipc_shm_close(&w->shm_);
        w->state_ = 0;
    }
    return rc;
}

/* A successor goes on from the slot cur names; cur is only ever stored
 * once that slot is complete. */
static int resume(hipc_state_writer *w)
{
    uint64_t gen = 0;
    int rc = read_retry(w->hdr_, w->stride_, NULL, 0, &gen);
    if (rc != HIPC_OK)
        return rc == HIPC_E_RETRIES ? HIPC_E_CORRUPT : rc;
    struct state_hdr *h = w->hdr_;
    if ((uint32_t)gen != atomic_load_explicit(&h->cur, memory_order_relaxed))
        return HIPC_E_CORRUPT;
    w->generation = gen;
    for (uint32_t i = 0; i < 2; i++)
        w->seq_[i] = atomic_load_explicit(&slot_at(h, w->stride_, i)->seq,
                                          memory_order_relaxed);
    return HIPC_OK;
}

static int open_writer_held(hipc_state_writer *w)
{
    int rc = layout_check(&w->shm_, &w->value_size, &w->stride_);
    if (rc != HIPC_OK)
        return rc == HIPC_E_AGAIN ? HIPC_E_CORRUPT : rc;
    w->hdr_ = w->shm_.data;
    uint32_t prev = 0;
    if ((rc = claim(w, &prev)) != HIPC_OK)
        return rc;
    hipc_shm_info info;
    rc = resume(w);
    if (rc == HIPC_OK && (rc = hipc_shm_stat(&w->shm_, &info)) != HIPC_OK)
        w->sys_errno = w->shm_.sys_errno;
    if (rc == HIPC_OK)
        rc = writer_finish(w, info.mode & 0777u);
    if (rc != HIPC_OK)
        give_back(w, prev);
    return rc;
}

int hipc_state_open_writer(hipc_state_writer *w, hipc_key key,
                           const hipc_state_config *cfg)
{
    unsigned mode = 0;
    int rc = writer_begin(w, cfg, &mode);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_shm_open(&w->shm_, key, 0, HIPC_SHM_PREFAULT);
    w->sys_errno = w->shm_.sys_errno;
    if (rc != HIPC_OK)
        return rc;
    rc = open_writer_held(w);
    if (rc != HIPC_OK) {
        (void)hipc_shm_close(&w->shm_);
        w->state_ = 0;
        w->magic_ = 0;
    }
    return rc;
}

int hipc_state_publish(hipc_state_writer *w, const void *value, size_t len)
{
    int rc = check_writer(w);
    if (rc != HIPC_OK)
        return rc;
    if (value == NULL)
        return HIPC_E_NULL;
    if (len != w->value_size)
        return HIPC_E_BAD_SIZE;
    struct state_hdr *h = w->hdr_;
    uint64_t g = w->generation + 1;
    struct slot *s = slot_at(h, w->stride_, (uint32_t)g);
    uint32_t q = w->seq_[g & 1u];
    q += (q & 1u) != 0 ? 2u : 1u; /* odd, and not what it was */
    atomic_store_explicit(&s->seq, q, memory_order_relaxed);
    /* Release fence: a reader that sees any word below sees seq odd. */
    atomic_thread_fence(memory_order_release);
    STEP(1);
    /* In two halves, so that a test can kill us between them. */
    size_t half = len / 2 / sizeof(word_t) * sizeof(word_t);
    const unsigned char *v = value;
    copy_in(s->words, v, half);
    STEP(2);
    copy_in(s->words + half / sizeof(word_t), v + half, len - half);
    gen_store(s, g);
    STEP(3);
    atomic_store_explicit(&s->seq, q + 1u, memory_order_release);
    w->seq_[g & 1u] = q + 1u;
    STEP(4);
    /* Seq_cst: ordered before our look at the board (see board.h). */
    atomic_store(&h->cur, (uint32_t)g);
    w->generation = g;
    STEP(5);
    int r = hipc__board_wake(w_board(w), &h->cur);
    if (r < 0)
        w->sys_errno = -r;
    return HIPC_OK;
}

int hipc_state_remove(hipc_state_writer *w)
{
    int rc = check_writer(w);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_shm_remove(&w->shm_);
    w->sys_errno = w->shm_.sys_errno;
    return rc;
}

int hipc_state_close_writer(hipc_state_writer *w)
{
    int rc = check_writer(w);
    if (rc != HIPC_OK)
        return rc;
    struct hipc__self me = {w->pid_, w->start_, w->pidns_};
    struct hipc__owner o = w_owner(w);
    /* A copy inherited over fork is not the holder: it leaves no mark. */
    if (hipc__sys_getpid() == w->pid_) {
        (void)hipc__owner_leave(&o, &me);
        /* Sleepers and bells hear of our leaving now, not at their beat. */
        atomic_thread_fence(memory_order_seq_cst);
        struct state_hdr *h = w->hdr_;
        (void)hipc__board_wake(w_board(w), &h->cur);
    }
    hipc__board_detach(w_board(w));
    (void)hipc_shm_close(&w->shm_);
    w->state_ = ST_CLOSED;
    w->hdr_ = NULL;
    return HIPC_OK;
}

/* ---- reader ------------------------------------------------------------ */

static int check_reader(const hipc_state_reader *r)
{
    if (r == NULL)
        return HIPC_E_NULL;
    if (r->magic_ != READER_MAGIC || r->self_ != r)
        return HIPC_E_BAD_HANDLE;
    return r->state_ == ST_OPEN ? HIPC_OK : HIPC_E_STALE_HANDLE;
}

static struct hipc__owner r_owner(const hipc_state_reader *r)
{
    /* Only ever loaded: the mapping is read-only. */
    struct state_hdr *h = (struct state_hdr *)(uintptr_t)r->hdr_;
    return hipc__owner_of(&h->writer);
}

static int reader_open_held(hipc_state_reader *r)
{
    int rc = layout_check(&r->shm_, &r->value_size, &r->stride_);
    if (rc != HIPC_OK)
        return rc;
    struct hipc__self me;
    if ((rc = hipc__self_identify(&me, &r->sys_errno)) != HIPC_OK)
        return rc;
    r->pid_ = me.pid;
    r->start_ = me.start;
    r->pidns_ = me.pidns;
    r->hdr_ = r->shm_.data;
    const struct state_hdr *h = r->hdr_;
    r->seen_ = atomic_load_explicit(&h->cur, memory_order_acquire);
    r->magic_ = READER_MAGIC;
    r->state_ = ST_OPEN;
    r->self_ = r;
    return HIPC_OK;
}

/* Opens by key, or by id when `by_id`. */
static int reader_open(hipc_state_reader *r, const hipc_state_config *cfg,
                       hipc_key key, int id, int by_id)
{
    if (r == NULL)
        return HIPC_E_NULL;
    memset(r, 0, sizeof *r);
    hipc__board_detach(r_board(r));
    if (cfg != NULL && cfg->flags != 0)
        return HIPC_E_BAD_FLAGS;
    unsigned flags = HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT;
    int rc = by_id ? hipc_shm_open_id(&r->shm_, id, 0, flags)
                   : hipc_shm_open(&r->shm_, key, 0, flags);
    r->sys_errno = r->shm_.sys_errno;
    if (rc != HIPC_OK)
        return rc;
    if ((rc = reader_open_held(r)) != HIPC_OK)
        (void)hipc_shm_close(&r->shm_);
    return rc;
}

int hipc_state_open_reader(hipc_state_reader *r, hipc_key key,
                           const hipc_state_config *cfg)
{
    return reader_open(r, cfg, key, -1, 0);
}

int hipc_state_open_reader_id(hipc_state_reader *r, int shm_id,
                              const hipc_state_config *cfg)
{
    return reader_open(r, cfg, 0, shm_id, 1);
}

static HIPC_INLINE int read_done(hipc_state_reader *r, uint64_t gen,
                                 hipc_state_info *info)
{
    if (info != NULL) {
        info->generation = gen;
        info->changed = !r->read_ || gen != r->last_gen_;
    }
    r->read_ = 1;
    r->last_gen_ = gen;
    r->seen_ = (uint32_t)gen;
    return (int)r->value_size;
}

/* The read-only mapping is only ever loaded from. */
static void *r_hdr(const hipc_state_reader *r)
{
    return (void *)(uintptr_t)r->hdr_;
}

/* A writer caught at work: out of line, so that the first look keeps its
 * generation in a register. */
HIPC_NOINLINE static int read_slow(hipc_state_reader *r, void *buf,
                                   hipc_state_info *info)
{
    uint64_t gen = 0;
    int rc = read_retry(r_hdr(r), r->stride_, buf, r->value_size, &gen);
    return rc == HIPC_OK ? read_done(r, gen, info) : rc;
}

int hipc_state_read(hipc_state_reader *r, void *buf, size_t cap,
                    hipc_state_info *info)
{
    int rc = check_reader(r);
    if (rc != HIPC_OK)
        return rc;
    if (buf == NULL)
        return HIPC_E_NULL;
    if (cap < r->value_size)
        return HIPC_E_BUF_TOO_SMALL;
    uint64_t gen = 0;
    rc = slot_read(r_hdr(r), r->stride_, buf, r->value_size, &gen);
    if (rc == HIPC_OK)
        return read_done(r, gen, info);
    return rc == HIPC_E_AGAIN ? read_slow(r, buf, info) : rc;
}

static int writer_state(hipc_state_reader *r, uint32_t w)
{
    struct hipc__self me = {r->pid_, r->start_, r->pidns_};
    struct hipc__owner o = r_owner(r);
    int alive = hipc__owner_alive(&o, &me, w, &r->sys_errno);
    if (alive < 0)
        return alive;
    return alive == 0                    ? HIPC_STATE_WRITER_GONE
           : alive == HIPC__PROC_UNKNOWN ? HIPC_STATE_WRITER_HIDDEN
                                         : HIPC_STATE_WRITER_ALIVE;
}

/* One slice of a wait: HIPC_E_AGAIN to go on. */
static int wait_slice(hipc_state_reader *r, int64_t ns, int ask_proc)
{
    struct state_hdr *h = (struct state_hdr *)(uintptr_t)r->hdr_;
    uint32_t w = atomic_load_explicit(&h->writer.word, memory_order_acquire);
    int gone = (w & HIPC__OWNER_PID) == 0 || (w & HIPC__OWNER_CLOSED) != 0;
    if (!gone && ask_proc) {
        int st = writer_state(r, w);
        if (st < 0)
            return st;
        gone = st == HIPC_STATE_WRITER_GONE;
    }
    /* Gone, yet a last value may have come in since the caller looked. */
    if (gone)
        return atomic_load(&h->cur) != r->seen_ ? HIPC_OK : HIPC_E_PEER_GONE;
    (void)hipc__board_attach(r_board(r), &h->board, NULL);
    return hipc__board_wait(r_board(r), &h->cur, r->seen_, ns, &r->sys_errno);
}

/* A try on a reader with a descriptor (hipc_state_get_fd): nothing new
 * arms the bell. The writer's /proc record is asked at most once per
 * slice (the bell's timer beat brings the loop back for it). A final
 * code makes the bell readable for good. */
static int bell_try(hipc_state_reader *r)
{
    struct hipc__board *bd = r_board(r);
    struct state_hdr *h = (struct state_hdr *)(uintptr_t)r->hdr_;
    hipc__board_bell_disarm(bd);
    if (atomic_load_explicit(&h->cur, memory_order_acquire) != r->seen_)
        return HIPC_OK;
    int64_t now = hipc__mono_ns();
    uint32_t w = atomic_load_explicit(&h->writer.word, memory_order_acquire);
    int gone = (w & HIPC__OWNER_PID) == 0 || (w & HIPC__OWNER_CLOSED) != 0;
    int rc = HIPC_OK;
    if (!gone && now >= bd->bell.look_at) {
        int st = writer_state(r, w);
        rc = st < 0 ? st : HIPC_OK;
        gone = st == HIPC_STATE_WRITER_GONE;
        /* Found there: not asked again for a slice; found gone (or
         * not found out): asked again at the next try, so gone stays
         * gone. */
        if (st > 0 && !gone)
            bd->bell.look_at = now + HIPC_STATE_SLICE_NS;
    }
    if (gone)
        rc = atomic_load(&h->cur) != r->seen_ ? HIPC_OK : HIPC_E_PEER_GONE;
    if (rc == HIPC_OK && !gone) {
        (void)hipc__board_attach(bd, &h->board, NULL);
        rc = hipc__board_bell_arm(bd, &h->cur, r->seen_, now,
                                  HIPC_STATE_SLICE_NS, &r->sys_errno);
    }
    /* News needs no readiness: the caller tries until HIPC_E_AGAIN. */
    if (rc != HIPC_E_AGAIN && rc != HIPC_OK)
        (void)hipc__board_bell_ready(bd);
    return rc;
}

int hipc_state_wait(hipc_state_reader *r, int64_t timeout_ns)
{
    int rc = check_reader(r);
    if (rc != HIPC_OK)
        return rc;
    if (timeout_ns < 0 && timeout_ns != HIPC_FOREVER)
        return HIPC_E_BAD_TIMEOUT;
    if (r_board(r)->bell.have) {
        if (timeout_ns == 0)
            return bell_try(r);
        hipc__board_bell_disarm(r_board(r));
    }
    const struct state_hdr *h = r->hdr_;
    if (atomic_load_explicit(&h->cur, memory_order_acquire) != r->seen_)
        return HIPC_OK;
    if (timeout_ns == 0)
        return HIPC_E_AGAIN;
    int64_t now = hipc__mono_ns(), last_ask = now;
    int64_t end = timeout_ns == HIPC_FOREVER || now > INT64_MAX - timeout_ns
                      ? INT64_MAX
                      : now + timeout_ns;
    int ask = 0;
    for (;;) {
        rc = wait_slice(r, end - now, ask);
        if (rc != HIPC_E_AGAIN)
            return rc;
        now = hipc__mono_ns();
        if (now >= end)
            return HIPC_E_TIMEDOUT;
        ask = now - last_ask >= HIPC_STATE_SLICE_NS;
        if (ask)
            last_ask = now;
    }
}

int hipc_state_get_writer(hipc_state_reader *r, pid_t *pid)
{
    int rc = check_reader(r);
    if (rc != HIPC_OK)
        return rc;
    const struct state_hdr *h = r->hdr_;
    struct hipc__owner o = r_owner(r);
    struct hipc__self me = {r->pid_, r->start_, r->pidns_};
    uint32_t w = atomic_load_explicit(&h->writer.word, memory_order_acquire);
    if (pid != NULL)
        *pid = hipc__owner_pid_here(&o, &me, w);
    int st = writer_state(r, w);
    /* Answered as hipc_chan_get_peer and hipc_bcast_get_producer do. */
    return st < 0                           ? st
           : st == HIPC_STATE_WRITER_ALIVE  ? HIPC_OK
           : st == HIPC_STATE_WRITER_HIDDEN ? HIPC_E_PERM
                                            : HIPC_E_PEER_GONE;
}

int hipc_state_get_fd(hipc_state_reader *r, int *fd)
{
    int rc = check_reader(r);
    if (rc != HIPC_OK)
        return rc;
    if (fd == NULL)
        return HIPC_E_NULL;
    return hipc__board_bell_open(r_board(r), fd, &r->sys_errno);
}

int hipc_state_close_reader(hipc_state_reader *r)
{
    int rc = check_reader(r);
    if (rc != HIPC_OK)
        return rc;
    hipc__board_detach(r_board(r));
    hipc__board_bell_close(r_board(r));
    (void)hipc_shm_close(&r->shm_);
    r->state_ = ST_CLOSED;
    r->hdr_ = NULL;
    return HIPC_OK;
}

/* ---- tools ------------------------------------------------------------- */

static int stat_block(hipc_shm *shm, hipc_state_stat *out, int *sys_errno)
{
    size_t n = 0, stride = 0;
    int rc = layout_check(shm, &n, &stride);
    if (rc != HIPC_OK)
        return rc;
    out->value_size = n;
    rc = read_retry(shm->data, stride, NULL, 0, &out->generation);
    if (rc != HIPC_OK)
        return rc;
    struct hipc__self me;
    if ((rc = hipc__self_identify(&me, sys_errno)) != HIPC_OK)
        return rc;
    struct state_hdr *h = shm->data;
    struct hipc__owner o = hipc__owner_of(&h->writer);
    uint32_t w = atomic_load_explicit(&h->writer.word, memory_order_acquire);
    int alive = hipc__owner_alive(&o, &me, w, sys_errno);
    if (alive < 0)
        return alive;
    out->writer_pid = hipc__owner_pid_here(&o, &me, w);
    out->writer = alive == 0                    ? HIPC_STATE_WRITER_GONE
                  : alive == HIPC__PROC_UNKNOWN ? HIPC_STATE_WRITER_HIDDEN
                                                : HIPC_STATE_WRITER_ALIVE;
    return HIPC_OK;
}

int hipc_state_stat_id(int shm_id, hipc_state_stat *out, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (out == NULL)
        return HIPC_E_NULL;
    memset(out, 0, sizeof *out);
    hipc_shm shm;
    int rc =
        hipc_shm_open_id(&shm, shm_id, 0, HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT);
    if (rc != HIPC_OK) {
        hipc__set_errno(sys_errno, shm.sys_errno);
        return rc;
    }
    hipc_shm_info info;
    rc = hipc_shm_stat(&shm, &info);
    if (rc != HIPC_OK)
        hipc__set_errno(sys_errno, shm.sys_errno);
    else
        rc = stat_block(&shm, out, sys_errno);
    (void)hipc_shm_close(&shm);
    if (rc != HIPC_OK)
        return rc;
    /* Our own attachment and a live writer's are not readers. */
    unsigned long mine = out->writer != HIPC_STATE_WRITER_GONE ? 2 : 1;
    out->readers = info.nattch > mine ? info.nattch - mine : 0;
    return HIPC_OK;
}
