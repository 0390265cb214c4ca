/* SPDX-License-Identifier: MIT */
/* hipc — broadcast ring: one producer that never waits, consumers that
 * attach read-only.
 *
 * Layout: a 512-byte header of four 128-byte lines, then the ring:
 *   0 meta  written once by create (and the board's reference by each
 *           producer), then read-only
 *   1 owner who produces (owner.h)
 *   2 head  the producer's 32-bit byte position, written per message (also
 *           the futex word consumers sleep on)
 *   3 tail  the 64-bit byte position of the oldest record still intact,
 *           and the sequence the next message gets, stored with the tail
 *           (it names the message at the tail when the ring is empty)
 * Records are 16-byte headers {seq (u64), len | pos << 32 (u64; pos: the
 * low 32 bits of the record's position)} plus the payload padded to 16. A record never
 * wraps: the rest of the ring is filled with a pad (PAD_BIT in len, the
 * next message's seq). Positions are 64-bit and never wrap; the head line
 * carries only the low 32 bits, which a consumer extends from its own.
 *
 * Overwriting is a seqlock over the tail: before the producer writes
 * bytes that held older records it stores the tail past them, then a
 * release fence; a consumer copies a record, then (acquire fence) loads
 * the tail. If its copy saw any byte of the newer write, it sees the new
 * tail too and counts the record lost instead of delivering it torn. The
 * tail moves in chunks (RECLAIM_DIV), so its line is rewritten rarely.
 */
#include "hipc/bcast.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "hot.h"
#include "ring.h"
#include "hipc/error.h"
#include "internal.h"
#include "owner.h"
#include "proc.h"
#include "sys.h"

#define LINE 128u
#define RING_MAGIC 0x74736362u   /* "bcst", stored last by create */
#define HANDLE_MAGIC 0x42435354u /* marks an open handle */
#define REC_HDR HIPC_BCAST_REC_HEADER
#define PAD_BIT 0x80000000u
/* The producer reclaims at least a 1/RECLAIM_DIV of the ring at a time. */
#define RECLAIM_DIV 16u
/* How often a consumer looks for its place again while the producer laps
 * it, before it gives up for this call. */
#define SYNC_TRIES 64
/* A waiting consumer's first sleep (bounds a wake-up lost to the fence-free
 * hot path, see publish) and how often it asks /proc after the producer. */
#define FIRST_SLICE_NS ((int64_t)5 * 1000 * 1000)
#define SLICE_NS ((int64_t)50 * 1000 * 1000)
#define SPIN_BATCH 32
/* A spin shorter than this is no spin for a loop (one turn of it costs
 * about that much): such a consumer arms at its first failed try. */
#define KEEP_MIN_NS ((int64_t)1000)

/* Test builds: a hook called at each named step of a send and a receive
 * (enum below; tests/test_bcast_steps.c), so a test can kill a producer
 * at every point of a send, or overwrite a record while a consumer reads
 * it, deterministically instead of by timing. Never in a release. */
enum bc_step {
    STEP_RECLAIMED = 1, /* producer: tail published, nothing rewritten */
    STEP_PADDED,        /* producer: pad written, not published */
    STEP_COPIED,        /* producer: payload written, header not */
    STEP_HEADED,        /* producer: header written, head not moved */
    STEP_PUBLISHED,     /* producer: head moved, sleepers not woken */
    STEP_READ,          /* consumer: header read, not checked */
    STEP_TAKEN,         /* consumer: payload copied, not checked */
    STEP_OLDEST,        /* consumer: tail and head read, record not */
    STEP_WALKED,        /* consumer: a record on a walk read, not checked */
};
#ifdef HIPC_FAULT_INJECTION
void (*hipc__bcast_step_hook)(int step);
#endif
#define STEP(s) HIPC__STEP(hipc__bcast_step_hook, s)

_Static_assert(HIPC_CHAN_MAX_CAPACITY <= (1u << 31),
               "the head is a 32-bit counter: capacity must stay <= 2^31");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "64-bit shared atomics must be lock-free across processes");

enum { ST_OPEN = 1, ST_CLOSED };
#define ANY_END 0

struct bc_meta {
    struct hipc__ring_meta ring;
    struct hipc__board_ref board;
};

struct bc_hdr {
    struct bc_meta meta;
    unsigned char meta_pad_[LINE - sizeof(struct bc_meta)];
    struct hipc__owner_rec owner;
    unsigned char owner_pad_[LINE - sizeof(struct hipc__owner_rec)];
    _Atomic uint32_t head;
    unsigned char head_pad_[LINE - 4u];
    _Atomic uint64_t tail;
    _Atomic uint64_t next_seq;
    unsigned char tail_pad_[LINE - 16u];
};

_Static_assert(offsetof(struct bc_meta, board) == 24,
               "the board reference follows the six words");

static const struct hipc__ring_kind ring_kind = {RING_MAGIC,
                                                 HIPC_BCAST_LAYOUT_VERSION,
                                                 HIPC_BCAST_HEADER_SIZE,
                                                 HIPC_BCAST_MIN_CAPACITY,
                                                 REC_HDR};

_Static_assert(sizeof(struct bc_hdr) == HIPC_BCAST_HEADER_SIZE,
               "the header is four 128-byte lines");

/* len in the low half of the second word, pos in the high half: one store
 * each, so a record costs the producer two header stores. */
struct bc_rec {
    _Atomic uint64_t seq;
    _Atomic uint64_t len_pos;
};

_Static_assert(sizeof(struct bc_rec) == REC_HDR, "record header size");

/* One record header as read once from the ring. */
struct rec_view {
    uint64_t seq;
    uint32_t len, pos;
};

static struct bc_hdr *hdr(const hipc_bcast *b)
{
    return (struct bc_hdr *)b->hdr_;
}

static struct hipc__board *board(hipc_bcast *b)
{
    return (struct hipc__board *)(void *)b->board_.bytes;
}

_Static_assert(sizeof(struct hipc__board) <=
                   sizeof(((hipc_bcast *)0)->board_.bytes),
               "the board fits the handle's room for it");

/* Records are multiples of 16 bytes, so that a pad's header always fits
 * before the end of the ring. */
static uint32_t rec_size(uint32_t len)
{
    return REC_HDR + ((len + 15u) & ~15u);
}

static struct bc_rec *rec_at(const hipc_bcast *b, uint64_t pos)
{
    return (struct bc_rec *)(void *)(b->ring_ + (pos & b->mask_));
}

static struct rec_view read_rec(const hipc_bcast *b, uint64_t pos)
{
    struct bc_rec *r = rec_at(b, pos);
    uint64_t lp = atomic_load_explicit(&r->len_pos, memory_order_relaxed);
    struct rec_view v = {atomic_load_explicit(&r->seq, memory_order_relaxed),
                         (uint32_t)lp, (uint32_t)(lp >> 32)};
    return v;
}

static uint32_t contig_at(const hipc_bcast *b, uint64_t pos)
{
    return b->mask_ + 1u - (uint32_t)(pos & b->mask_);
}

/* Bytes a record at `pos` with header `v` spans, or 0 when no honest
 * producer writes that header there for message `seq`. */
static uint32_t rec_span(const hipc_bcast *b, uint64_t pos, struct rec_view v,
                         uint64_t seq)
{
    uint32_t contig = contig_at(b, pos);
    if (v.pos != (uint32_t)pos || v.seq != seq)
        return 0;
    if ((v.len & PAD_BIT) != 0)
        return (v.len & ~PAD_BIT) == contig && contig != b->mask_ + 1u ? contig
                                                                       : 0;
    if (v.len > b->max_msg || rec_size(v.len) > contig)
        return 0;
    return rec_size(v.len);
}

static uint64_t load_tail(const hipc_bcast *b)
{
    return atomic_load_explicit(&hdr(b)->tail, memory_order_acquire);
}

/* After reading bytes at or above `pos`: were they still intact? */
static int intact_after_read(const hipc_bcast *b, uint64_t pos)
{
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&hdr(b)->tail, memory_order_relaxed) <= pos;
}

/* The 64-bit position of a 32-bit head seen from `from`, or UINT64_MAX
 * when it is not within a ring ahead of it. */
static uint64_t extend_head(const hipc_bcast *b, uint64_t from, uint32_t head)
{
    uint32_t ahead = head - (uint32_t)from;
    return ahead > b->mask_ + 1u || (ahead & 15u) != 0 ? UINT64_MAX
                                                       : from + ahead;
}

/* ---- configuration and header ------------------------------------------ */

static const hipc_bcast_config defaults;

static size_t capacity_of(const hipc_bcast_config *cfg)
{
    return cfg->capacity != 0 ? cfg->capacity : HIPC_BCAST_CAPACITY_DEFAULT;
}

static int check_common_cfg(const hipc_bcast_config *cfg)
{
    if ((cfg->flags & ~HIPC_BCAST_FLAGS_ALL_) != 0)
        return HIPC_E_BAD_FLAGS;
    return cfg->spin_ns < 0 ? HIPC_E_BAD_TIMEOUT : HIPC_OK;
}

static int check_create_cfg(const hipc_bcast_config *cfg)
{
    int rc = check_common_cfg(cfg);
    if (rc != HIPC_OK)
        return rc;
    size_t cap = capacity_of(cfg);
    if (!hipc__is_pow2(cap) || cap < HIPC_BCAST_MIN_CAPACITY ||
        cap > HIPC_CHAN_MAX_CAPACITY)
        return HIPC_E_BAD_CAPACITY;
    return cfg->max_msg > cap - REC_HDR ? HIPC_E_BAD_SIZE : HIPC_OK;
}

static void format_ring(struct bc_hdr *h, const hipc_bcast_config *cfg)
{
    size_t cap = capacity_of(cfg);
    memset(h, 0, HIPC_BCAST_HEADER_SIZE);
    hipc__ring_meta_fill(&h->meta.ring, &ring_kind, (uint32_t)cap,
                         (uint32_t)cfg->max_msg);
    atomic_store_explicit(&h->meta.board.id, HIPC__BOARD_NONE,
                          memory_order_relaxed);
    /* Release: whoever sees the magic sees the fields above. */
    atomic_store_explicit(&h->meta.ring.magic, RING_MAGIC,
                          memory_order_release);
}

/* Reads the meta line once into the handle, checked against the size the
 * kernel reports for the segment. */
static int read_meta(hipc_bcast *b, const struct bc_hdr *h, size_t size)
{
    uint32_t c = 0, m = 0;
    int rc = hipc__ring_meta_read(&h->meta.ring, &ring_kind, size, &c, &m);
    if (rc != HIPC_OK)
        return rc;
    b->capacity = c;
    b->max_msg = m;
    b->mask_ = c - 1u;
    b->hdr_ = (void *)(uintptr_t)h;
    b->ring_ = (unsigned char *)(uintptr_t)h + HIPC_BCAST_HEADER_SIZE;
    return HIPC_OK;
}

/* ---- the producer ------------------------------------------------------- */

/* Moves the producer's tail to at least `want` (never past its position)
 * and publishes it before any byte below `want` is written again. Its own
 * records were checked at open, so a bad one here means someone else
 * wrote the ring: everything held is given up rather than walked. */
static void reclaim(hipc_bcast *b, uint64_t want)
{
    uint64_t cap = b->mask_ + 1u, slack = cap / RECLAIM_DIV;
    want = want + slack > b->pos_ ? b->pos_ : want + slack;
    uint64_t t = b->tail_;
    while (t < want) {
        /* Only the length and position: one load a record. */
        uint64_t lp =
            atomic_load_explicit(&rec_at(b, t)->len_pos, memory_order_relaxed);
        uint32_t len = (uint32_t)lp;
        uint32_t span = (len & PAD_BIT) != 0 ? contig_at(b, t) : rec_size(len);
        if ((uint32_t)(lp >> 32) != (uint32_t)t || span > b->pos_ - t) {
            t = b->pos_;
            break;
        }
        t += span;
        /* Messages of one length in a row (a stream's usual case): each
         * next header is checked by one compare with what this producer
         * wrote there, so the next address does not wait for a load. */
        uint64_t same = (uint64_t)len;
        while ((len & PAD_BIT) == 0 && t + span <= want &&
               atomic_load_explicit(&rec_at(b, t)->len_pos,
                                    memory_order_relaxed) ==
                   ((uint64_t)(uint32_t)t << 32 | same))
            t += span;
    }
    b->tail_ = t;
    /* Release: next_seq is seen with the tail (an open consumer of a ring
     * emptied here reads it); the fence: the tail is visible before any
     * byte written below it (the seqlock, see the top). */
    atomic_store_explicit(&hdr(b)->next_seq, b->seq_, memory_order_relaxed);
    atomic_store_explicit(&hdr(b)->tail, t, memory_order_release);
    atomic_thread_fence(memory_order_release);
    STEP(STEP_RECLAIMED);
}

/* Room for `need` bytes at the producer's position. */
static HIPC_INLINE void make_room(hipc_bcast *b, uint32_t need)
{
    uint64_t cap = b->mask_ + 1u;
    if (b->pos_ + need - b->tail_ > cap)
        reclaim(b, b->pos_ + need - cap);
}

static void write_rec_hdr(hipc_bcast *b, uint32_t len_word)
{
    struct bc_rec *r = rec_at(b, b->pos_);
    atomic_store_explicit(&r->seq, b->seq_, memory_order_relaxed);
    atomic_store_explicit(&r->len_pos, (uint64_t)b->pos_ << 32 | len_word,
                          memory_order_relaxed);
}

HIPC_NOINLINE static void write_pad(hipc_bcast *b, uint32_t contig)
{
    make_room(b, contig);
    write_rec_hdr(b, PAD_BIT | contig);
    STEP(STEP_PADDED);
    b->pos_ += contig;
}

HIPC_NOINLINE static void wake(hipc_bcast *b)
{
    int rc = hipc__board_wake(board(b), &hdr(b)->head);
    /* GCOVR_EXCL_START [libc]: FUTEX_WAKE on our own mapped word */
    if (rc < 0)
        b->sys_errno = -rc; /* sleepers wake at the end of their slice */
    /* GCOVR_EXCL_STOP */
}

/* Publishes everything written so far. Release store, no fence before the
 * look at the board: a seq_cst store per message would wait for the
 * payload to leave the store buffer. A sleeper that announced itself just
 * as we looked sleeps at most FIRST_SLICE_NS (see consumer_sleep). */
static HIPC_INLINE void publish(hipc_bcast *b)
{
    struct bc_hdr *h = hdr(b);
    atomic_store_explicit(&h->head, (uint32_t)b->pos_, memory_order_release);
    STEP(STEP_PUBLISHED);
    _Atomic uint32_t *sleepers = board(b)->sleepers;
    if (sleepers != NULL &&
        atomic_load_explicit(sleepers, memory_order_relaxed) != 0)
        wake(b);
}

/* ---- handles ------------------------------------------------------------ */

static int check_handle(const hipc_bcast *b, int role)
{
    if (b == NULL)
        return HIPC_E_NULL;
    if (b->magic_ != HANDLE_MAGIC || b->self_ != b)
        return HIPC_E_BAD_HANDLE;
    if (b->state_ == ST_CLOSED)
        return HIPC_E_STALE_HANDLE;
    if (b->state_ != ST_OPEN || b->hdr_ == NULL)
        return HIPC_E_BAD_HANDLE;
    if (role != ANY_END && (int)b->role != role)
        return HIPC_E_WRONG_END;
    return HIPC_OK;
}

int hipc_bcast_send(hipc_bcast *b, const void *msg, size_t len)
{
    if (msg == NULL && len != 0)
        return HIPC_E_NULL;
    int rc = check_handle(b, HIPC_BCAST_PRODUCER);
    if (rc != HIPC_OK)
        return rc;
    if (len > b->max_msg)
        return HIPC_E_MSG_TOO_BIG;
    uint32_t rec = rec_size((uint32_t)len);
    uint32_t contig = contig_at(b, b->pos_);
    if (contig < rec)
        write_pad(b, contig);
    make_room(b, rec);
    hipc__copy_msg(b->ring_ + (b->pos_ & b->mask_) + REC_HDR, msg, len);
    STEP(STEP_COPIED);
    write_rec_hdr(b, (uint32_t)len);
    STEP(STEP_HEADED);
    b->pos_ += rec;
    b->seq_++;
    publish(b);
    return HIPC_OK;
}

/* ---- the consumer -------------------------------------------------------- */

/* The oldest message still held, as a consistent (position, sequence)
 * pair read while the producer may be overwriting it. HIPC_OK,
 * HIPC_E_CORRUPT, or HIPC_E_RETRIES when the producer kept moving the tail
 * under every look. */
static int find_oldest(hipc_bcast *b, uint64_t *pos, uint64_t *seq)
{
    struct bc_hdr *h = hdr(b);
    for (int i = 0; i < SYNC_TRIES; i++) {
        uint64_t t = load_tail(b);
        uint32_t head = atomic_load_explicit(&h->head, memory_order_acquire);
        uint64_t next =
            atomic_load_explicit(&h->next_seq, memory_order_relaxed);
        uint32_t again = atomic_load_explicit(&h->head, memory_order_acquire);
        /* The tail is stored before the head it makes room for: with the
         * tail unchanged, the head we saw belongs to it. */
        if (load_tail(b) != t || again != head)
            continue;
        if ((t & 15u) != 0 || extend_head(b, t, head) == UINT64_MAX)
            return HIPC_E_CORRUPT;
        if ((uint32_t)t == head) { /* empty: the tail says what comes next */
            *pos = t;
            *seq = next;
            return HIPC_OK;
        }
        STEP(STEP_OLDEST);
        struct rec_view v = read_rec(b, t);
        if (!intact_after_read(b, t))
            continue;
        if (rec_span(b, t, v, v.seq) == 0)
            return HIPC_E_CORRUPT;
        *pos = t;
        *seq = v.seq;
        return HIPC_OK;
    }
    /* GCOVR_EXCL_START [race]: the tail moved under every one of the looks */
    return HIPC_E_RETRIES;
    /* GCOVR_EXCL_STOP */
}

/* Steps over the records from *pos to `end`, checking each. HIPC_OK;
 * HIPC_E_AGAIN when the producer overwrote one under us; HIPC_E_CORRUPT. */
static int walk(const hipc_bcast *b, uint64_t *pos, uint64_t *seq, uint64_t end)
{
    uint64_t p = *pos, s = *seq;
    /* Bounded: every step is 16 bytes or more, and end - p <= capacity. */
    while (p < end) {
        struct rec_view v = read_rec(b, p);
        STEP(STEP_WALKED);
        if (!intact_after_read(b, p))
            return HIPC_E_AGAIN;
        uint32_t span = rec_span(b, p, v, s);
        if (span == 0 || span > end - p)
            return HIPC_E_CORRUPT;
        p += span;
        s += (v.len & PAD_BIT) == 0;
    }
    *pos = p;
    *seq = s;
    return HIPC_OK;
}

/* overrun()'s answer when only a pad was lost: look at the head again. */
#define RESYNCED 1

/* The producer overwrote our next message: count what is lost, resume at
 * the oldest one left. HIPC_E_OVERRUN; RESYNCED when only a pad was lost;
 * HIPC_E_AGAIN when no place was found this time; HIPC_E_CORRUPT. */
HIPC_NOINLINE static int overrun(hipc_bcast *b)
{
    uint64_t pos = 0, seq = 0;
    int rc = find_oldest(b, &pos, &seq);
    if (rc != HIPC_OK)
        return rc == HIPC_E_RETRIES ? HIPC_E_AGAIN : rc;
    if (pos < b->pos_ || seq < b->seq_)
        return HIPC_E_CORRUPT;
    uint64_t lost = seq - b->seq_;
    b->pos_ = pos;
    b->seq_ = seq;
    b->head_ = (uint32_t)pos; /* look at the head afresh */
    if (lost == 0)
        return RESYNCED;
    b->lost_ = lost;
    b->lost_total_ += lost;
    return HIPC_E_OVERRUN;
}

/* A consumer that keeps up with a streaming producer reads each record as
 * it is published, right behind the producer, and every line it pulls in
 * costs the producer another invalidation (the channel measured 4-5x at
 * 4 KiB). So once several head loads in a row found more, it lets the
 * producer get LEAD_BYTES ahead - only while the head keeps moving, for a
 * bounded number of polls, and never more than an eighth of the ring, so
 * that the lead cannot make it lose messages. */
#define LEAD_BYTES 65536u
#define STREAM_AFTER 3u
#define STILL_POLLS 16
#define LEAD_POLLS 256

static uint32_t let_producer_lead(const hipc_bcast *b, uint32_t head)
{
    uint32_t lead = (b->mask_ + 1u) / 8u;
    lead = lead < LEAD_BYTES ? lead : LEAD_BYTES;
    int still = 0;
    for (int i = 0; i < LEAD_POLLS && head - (uint32_t)b->pos_ < lead &&
                    still < STILL_POLLS;
         i++) {
        hipc__cpu_relax();
        uint32_t h = atomic_load_explicit(&hdr(b)->head, memory_order_acquire);
        still = h == head ? still + 1 : 0;
        head = h;
    }
    return head;
}

/* Reads the head once our known records are used up. HIPC_OK (more to
 * read), HIPC_E_AGAIN, or what overrun() says when the producer lapped
 * us (the tail, not the 32-bit head, decides: it never wraps). The head
 * is the only word that says a record is published: after a resync it is
 * read again, never assumed. */
static int refresh_head(hipc_bcast *b)
{
    uint32_t head = atomic_load_explicit(&hdr(b)->head, memory_order_acquire);
    if (head == (uint32_t)b->pos_)
        b->stream_ = 0;
    else if (b->stream_ < STREAM_AFTER)
        b->stream_++;
    else
        head = let_producer_lead(b, head);
    int lapped = load_tail(b) > b->pos_;
    if (lapped)
        return overrun(b);
    if (head == (uint32_t)b->pos_)
        return HIPC_E_AGAIN;
    if (extend_head(b, b->pos_, head) == UINT64_MAX)
        return HIPC_E_CORRUPT;
    b->head_ = head;
    return HIPC_OK;
}

/* One attempt, no waiting: the next message into `buf`. */
static int take(hipc_bcast *b, void *buf, size_t cap)
{
    /* At most a pad and a place found again lie before a message. */
    for (int step = 0; step < 4; step++) {
        int rc = b->head_ == (uint32_t)b->pos_ ? refresh_head(b) : HIPC_OK;
        if (rc == RESYNCED)
            continue;
        if (rc != HIPC_OK)
            return rc;
        uint64_t pos = b->pos_;
        struct rec_view v = read_rec(b, pos);
        STEP(STEP_READ);
        if (!intact_after_read(b, pos)) {
            if ((rc = overrun(b)) != RESYNCED)
                return rc;
            continue;
        }
        uint32_t span = rec_span(b, pos, v, b->seq_);
        /* Within what the head published, or the producer lied. */
        if (span == 0 || span > (uint32_t)(b->head_ - (uint32_t)pos))
            return HIPC_E_CORRUPT;
        if ((v.len & PAD_BIT) != 0) {
            b->pos_ += span;
            continue;
        }
        if (v.len > cap)
            return HIPC_E_BUF_TOO_SMALL;
        hipc__copy_msg(buf, b->ring_ + (pos & b->mask_) + REC_HDR, v.len);
        STEP(STEP_TAKEN);
        if (!intact_after_read(b, pos)) {
            if ((rc = overrun(b)) != RESYNCED)
                return rc;
            /* GCOVR_EXCL_START [bound]: a message passed is one lost */
            continue;
            /* GCOVR_EXCL_STOP */
        }
        b->pos_ += span;
        b->seq_++;
        return (int)v.len;
    }
    /* GCOVR_EXCL_START [race]: the producer lapped us twice in one call */
    return HIPC_E_AGAIN;
    /* GCOVR_EXCL_STOP */
}

static struct hipc__owner owner_of(hipc_bcast *b)
{
    return hipc__owner_of(&hdr(b)->owner);
}

static struct hipc__self self_of(const hipc_bcast *b)
{
    struct hipc__self me = {b->pid_, b->start_, b->pidns_};
    return me;
}

/* HIPC_OK while the producer is there (or cannot be judged);
 * HIPC_E_PEER_GONE once it left or, asking /proc, died. */
static int producer_there(hipc_bcast *b, int ask_proc)
{
    struct hipc__owner o = owner_of(b);
    uint32_t w = atomic_load_explicit(o.word, memory_order_acquire);
    if (w == 0)
        return HIPC_OK; /* not claimed yet: its creator is at work */
    if ((w & HIPC__OWNER_CLOSED) != 0)
        return HIPC_E_PEER_GONE;
    if (!ask_proc)
        return HIPC_OK;
    struct hipc__self me = self_of(b);
    int alive = hipc__owner_alive(&o, &me, w, &b->sys_errno);
    return alive < 0 ? alive : alive != 0 ? HIPC_OK : HIPC_E_PEER_GONE;
}

/* Busy-polls for the spin time. */
static int spin(hipc_bcast *b, void *buf, size_t cap, int64_t end)
{
    for (;;) {
        for (int i = 0; i < SPIN_BATCH; i++) {
            int rc = take(b, buf, cap);
            if (rc != HIPC_E_AGAIN)
                return rc;
            hipc__cpu_relax();
        }
        if (hipc__mono_ns() >= end)
            return HIPC_E_AGAIN;
    }
}

/* The wait is over: the producer's absence explains it, or the clock. A
 * last look first, as it may have sent before it left. */
static int wait_over(hipc_bcast *b, void *buf, size_t cap, int gone)
{
    int rc = take(b, buf, cap);
    /* GCOVR_EXCL_START [race]: a message within the last instructions */
    if (rc != HIPC_E_AGAIN)
        return rc;
    /* GCOVR_EXCL_STOP */
    return gone ? HIPC_E_PEER_GONE : HIPC_E_TIMEDOUT;
}

/* One sleep on the head word, announced on the board when we can hold it
 * (a board we cannot attach only makes our wake-ups come per slice). */
static int sleep_once(hipc_bcast *b, int64_t ns)
{
    struct hipc__board *bd = board(b);
    int err = 0;
    (void)hipc__board_attach(bd, &hdr(b)->meta.board, &err);
    int rc = hipc__board_wait(bd, &hdr(b)->head, b->head_, ns, &b->sys_errno);
    return rc == HIPC_E_SYS ? rc : HIPC_OK;
}

HIPC_NOINLINE static int recv_wait(hipc_bcast *b, void *buf, size_t cap,
                                   int64_t timeout_ns)
{
    int64_t now = hipc__mono_ns();
    int64_t deadline =
        timeout_ns == HIPC_FOREVER ? INT64_MAX : hipc__sat_add(now, timeout_ns);
    int64_t spin_end = hipc__sat_add(now, b->spin_ns);
    int rc = spin(b, buf, cap, spin_end < deadline ? spin_end : deadline);
    int64_t next_check = now, slice = FIRST_SLICE_NS;
    while (rc == HIPC_E_AGAIN) {
        now = hipc__mono_ns();
        if (now >= next_check) {
            rc = producer_there(b, 1);
            if (rc != HIPC_OK)
                return rc == HIPC_E_PEER_GONE ? wait_over(b, buf, cap, 1) : rc;
            next_check = hipc__sat_add(now, SLICE_NS);
        }
        if (now >= deadline)
            return wait_over(b, buf, cap, 0);
        int64_t ns = deadline - now < slice ? deadline - now : slice;
        if ((rc = sleep_once(b, ns)) != HIPC_OK)
            return rc;
        slice = SLICE_NS;
        rc = take(b, buf, cap);
    }
    return rc;
}

static int check_timeout(int64_t timeout_ns)
{
    return timeout_ns >= 0 || timeout_ns == HIPC_FOREVER ? HIPC_OK
                                                         : HIPC_E_BAD_TIMEOUT;
}

/* The hot path, as the channel's: the next record lies within the head
 * already seen, is an ordinary message that passes every check and fits
 * `buf`. It is copied with one look at the tail, after the copy: by the
 * seqlock (see the top) that look tells whether anything read - header
 * or payload - was overwritten, so the header's own look before the copy
 * (which take() makes) is not needed here. FAST_NONE for anything else,
 * with nothing changed: a pad, a head to read again, a failed check or
 * an overwrite are left to take(), which reads the record again, looks
 * at the tail before and after, and says why. */
#define FAST_NONE INT32_MIN

static HIPC_INLINE int fast_take(hipc_bcast *b, void *buf, size_t cap)
{
    uint64_t pos = b->pos_;
    uint32_t published = b->head_ - (uint32_t)pos;
    if (published == 0)
        return FAST_NONE;
    struct rec_view v = read_rec(b, pos);
    STEP(STEP_READ);
    /* PAD_BIT is above any max_msg: a pad fails the length check. */
    if (v.pos != (uint32_t)pos || v.seq != b->seq_ || v.len > b->max_msg ||
        v.len > cap)
        return FAST_NONE;
    uint32_t rec = rec_size(v.len);
    if (rec > contig_at(b, pos) || rec > published)
        return FAST_NONE;
    hipc__copy_msg(buf, b->ring_ + (pos & b->mask_) + REC_HDR, v.len);
    STEP(STEP_TAKEN);
    if (!intact_after_read(b, pos))
        return FAST_NONE;
    b->pos_ = pos + rec;
    b->seq_++;
    return (int)v.len;
}

/* Whether a failed try is within the spin after the consumer's last
 * progress (a message taken, or any move of its place): then the bell is
 * kept readable instead of armed, so the caller's loop comes straight back
 * and tries again - the spin a blocking recv makes in hipc, without the
 * try ever waiting, and the producer has no announcement to ring. The
 * spin is counted from the first failed try after progress. */
static int in_keep(hipc_bcast *b, int64_t now)
{
    struct hipc__board_bell *bl = &board(b)->bell;
    uint32_t mark = (uint32_t)b->seq_;
    if (mark != bl->keep_mark && b->spin_ns >= KEEP_MIN_NS) {
        bl->keep_mark = mark;
        bl->keep_until = hipc__sat_add(now, b->spin_ns);
        return 1;
    }
    if (mark == bl->keep_mark && now < bl->keep_until)
        return 1;
    bl->keep_mark = mark;
    bl->keep_until = 0; /* ended: only new progress opens another */
    return 0;
}

/* A try on a consumer with a descriptor (hipc_bcast_get_fd) found no
 * message: keeps the bell readable in the spin after progress (in_keep),
 * else arms it. The producer's /proc record is asked at most
 * once per slice (the bell's timer beat brings the loop back for it);
 * the timer is short after progress, for the race publish() leaves open.
 * A final code makes the bell readable for good. */
static int bell_try(hipc_bcast *b, void *buf, size_t cap)
{
    struct hipc__board *bd = board(b);
    hipc__board_bell_disarm(bd);
    int64_t now = hipc__mono_ns();
    int ask = now >= bd->bell.look_at;
    int there = producer_there(b, ask);
    /* Found there: not asked again for a slice; found gone (or not found
     * out): asked again at the next try, so gone stays gone. */
    if (ask && there == HIPC_OK)
        bd->bell.look_at = hipc__sat_add(now, SLICE_NS);
    /* The last look may find a message, an empty one too: its length (0
     * included) goes back as it is, never read as "producer there". */
    int rc = there == HIPC_E_PEER_GONE ? wait_over(b, buf, cap, 1) : there;
    int armed = 0;
    if (there == HIPC_OK && in_keep(b, now))
        return hipc__board_bell_keep(bd, &b->sys_errno);
    if (there == HIPC_OK) {
        int err = 0;
        (void)hipc__board_attach(bd, &hdr(b)->meta.board, &err);
        int64_t ns = bd->bell.seen != b->head_ ? FIRST_SLICE_NS : SLICE_NS;
        rc = hipc__board_bell_arm(bd, &hdr(b)->head, b->head_, now, ns,
                                  &b->sys_errno);
        armed = rc == HIPC_E_AGAIN;
        if (rc == HIPC_OK)
            rc = take(b, buf, cap);
    }
    /* A message needs no readiness (the caller tries until HIPC_E_AGAIN);
     * anything else that did not arm does. */
    if (!armed && rc < 0)
        (void)hipc__board_bell_ready(bd);
    return rc;
}

int hipc_bcast_get_fd(hipc_bcast *b, int *fd)
{
    int rc = check_handle(b, HIPC_BCAST_CONSUMER);
    if (rc != HIPC_OK)
        return rc;
    if (fd == NULL)
        return HIPC_E_NULL;
    struct hipc__board_bell *bl = &board(b)->bell;
    int had = bl->have;
    rc = hipc__board_bell_open(board(b), fd, &b->sys_errno);
    /* As after a spin that has ended: the first failed try arms. */
    if (rc == HIPC_OK && !had) {
        bl->keep_mark = (uint32_t)b->seq_;
        bl->keep_until = 0;
    }
    return rc;
}

int hipc_bcast_recv(hipc_bcast *b, void *buf, size_t cap, int64_t timeout_ns)
{
    if (buf == NULL && cap != 0)
        return HIPC_E_NULL;
    int rc = check_handle(b, HIPC_BCAST_CONSUMER);
    if (rc == HIPC_OK)
        rc = check_timeout(timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    rc = fast_take(b, buf, cap);
    if (rc != FAST_NONE)
        return rc;
    rc = take(b, buf, cap);
    if (rc != HIPC_E_AGAIN)
        return rc;
    if (timeout_ns != 0) {
        hipc__board_bell_disarm(board(b));
        return recv_wait(b, buf, cap, timeout_ns);
    }
    if (board(b)->bell.have)
        return bell_try(b, buf, cap);
    rc = producer_there(b, 0);
    return rc == HIPC_E_PEER_GONE ? wait_over(b, buf, cap, 1) : HIPC_E_AGAIN;
}

int hipc_bcast_get_lost(hipc_bcast *b, uint64_t *last, uint64_t *total)
{
    int rc = check_handle(b, HIPC_BCAST_CONSUMER);
    if (rc != HIPC_OK)
        return rc;
    if (last != NULL)
        *last = b->lost_;
    if (total != NULL)
        *total = b->lost_total_;
    return HIPC_OK;
}

/* Moves the consumer to the head, checking every record on the way (or
 * from the oldest one, when the producer lapped it). */
static int to_newest(hipc_bcast *b, uint64_t *skipped)
{
    uint64_t from = b->seq_;
    for (int i = 0; i < SYNC_TRIES; i++) {
        uint64_t pos = b->pos_, seq = b->seq_;
        int rc = HIPC_OK;
        if (load_tail(b) > pos && (rc = find_oldest(b, &pos, &seq)) != HIPC_OK)
            return rc;
        if (seq < from)
            return HIPC_E_CORRUPT;
        uint32_t head =
            atomic_load_explicit(&hdr(b)->head, memory_order_acquire);
        uint64_t end = extend_head(b, pos, head);
        rc = end == UINT64_MAX
                 ? (load_tail(b) > pos ? HIPC_E_AGAIN : HIPC_E_CORRUPT)
                 : walk(b, &pos, &seq, end);
        if (rc == HIPC_E_CORRUPT)
            return rc;
        if (rc == HIPC_OK) {
            b->pos_ = pos;
            b->seq_ = seq;
            b->head_ = head;
            *skipped = seq - from;
            return HIPC_OK;
        }
    }
    /* GCOVR_EXCL_START [race]: lapped during every one of the walks */
    return HIPC_E_RETRIES;
    /* GCOVR_EXCL_STOP */
}

int hipc_bcast_skip_to_newest(hipc_bcast *b, uint64_t *skipped)
{
    int rc = check_handle(b, HIPC_BCAST_CONSUMER);
    if (rc != HIPC_OK)
        return rc;
    uint64_t n = 0;
    rc = to_newest(b, &n);
    if (rc == HIPC_OK && skipped != NULL)
        *skipped = n;
    return rc;
}

int hipc_bcast_get_producer(hipc_bcast *b, pid_t *pid)
{
    int rc = check_handle(b, ANY_END);
    if (rc != HIPC_OK)
        return rc;
    struct hipc__owner o = owner_of(b);
    struct hipc__self me = self_of(b);
    uint32_t w = atomic_load_explicit(o.word, memory_order_acquire);
    if (w == 0)
        return HIPC_E_NOT_FOUND;
    int alive = hipc__owner_alive(&o, &me, w, &b->sys_errno);
    if (alive < 0 && alive != HIPC_E_PERM)
        return alive;
    if (pid != NULL)
        *pid = hipc__owner_pid_here(&o, &me, w);
    return alive == HIPC__PROC_GONE    ? HIPC_E_PEER_GONE
           : alive == HIPC__PROC_ALIVE ? HIPC_OK
                                       : HIPC_E_PERM;
}

/* ---- opening and closing ------------------------------------------------ */

static int identify(hipc_bcast *b)
{
    struct hipc__self me;
    int rc = hipc__self_identify(&me, &b->sys_errno);
    b->pid_ = me.pid;
    b->start_ = me.start;
    b->pidns_ = me.pidns;
    return rc;
}

/* A producer that takes over resumes after the last published record,
 * and checks every record its predecessor left. */
static int resume_producer(hipc_bcast *b)
{
    struct bc_hdr *h = hdr(b);
    uint64_t t = load_tail(b);
    uint32_t head = atomic_load_explicit(&h->head, memory_order_acquire);
    uint64_t end = extend_head(b, t, head);
    if ((t & 15u) != 0 || end == UINT64_MAX)
        return HIPC_E_CORRUPT;
    uint64_t pos = t;
    uint64_t seq = atomic_load_explicit(&h->next_seq, memory_order_relaxed);
    if (t != end)
        seq = read_rec(b, t).seq;
    if (walk(b, &pos, &seq, end) != HIPC_OK)
        return HIPC_E_CORRUPT;
    b->pos_ = pos;
    b->seq_ = seq;
    b->tail_ = t;
    return HIPC_OK;
}

/* Claims the role, takes the ring's positions over and sets up the
 * board. `mode`: the segment's permission bits, for the board. */
static int become_producer(hipc_bcast *b, unsigned mode)
{
    uint32_t prev = 0;
    struct hipc__owner o = owner_of(b);
    struct hipc__self me = self_of(b);
    int rc = hipc__owner_claim(&o, &me, &prev, &b->holder_pid, &b->sys_errno);
    if (rc != HIPC_OK)
        return rc;
    rc = resume_producer(b);
    if (rc == HIPC_OK)
        rc = hipc__board_create(board(b), mode, &b->sys_errno);
    if (rc != HIPC_OK) {
        hipc__owner_restore(&o, prev);
        return rc;
    }
    hipc__board_publish(board(b), &hdr(b)->meta.board);
    return HIPC_OK;
}

static void finish_open(hipc_bcast *b, hipc_bcast_role role,
                        const hipc_bcast_config *cfg)
{
    b->role = role;
    b->flags_ = cfg->flags;
    b->spin_ns = cfg->spin_ns != 0 ? cfg->spin_ns : HIPC_BCAST_SPIN_DEFAULT;
    b->state_ = ST_OPEN;
    b->magic_ = HANDLE_MAGIC;
    b->self_ = b;
}

/* Closes the segment after a failed open (removing one we created), and
 * leaves the handle not open, with sys_errno and holder_pid kept. */
static int fail_open(hipc_bcast *b, int rc, int created)
{
    int err = b->sys_errno;
    pid_t holder = b->holder_pid;
    if (created)
        (void)hipc_shm_remove(&b->shm);
    (void)hipc_shm_close(&b->shm);
    memset(b, 0, sizeof *b);
    b->sys_errno = err;
    b->holder_pid = holder;
    return rc;
}

int hipc_bcast_create(hipc_bcast *b, hipc_key key, const hipc_bcast_config *cfg)
{
    if (b == NULL)
        return HIPC_E_NULL;
    memset(b, 0, sizeof *b);
    cfg = cfg != NULL ? cfg : &defaults;
    int rc = check_create_cfg(cfg);
    if (rc != HIPC_OK)
        return rc;
    unsigned mode = cfg->mode != 0 ? cfg->mode : 0600u;
    hipc_shm_config sc = {
        .size = HIPC_BCAST_HEADER_SIZE + capacity_of(cfg),
        .flags = HIPC_SHM_PREFAULT |
                 ((mode & 0022u) != 0 ? HIPC_SHM_SHARED_WRITE : 0u),
        .mode = mode,
        .tag = HIPC_BCAST_SHM_TAG,
    };
    rc = hipc_shm_create(&b->shm, key, &sc);
    if (rc != HIPC_OK) {
        b->sys_errno = b->shm.sys_errno;
        memset(&b->shm, 0, sizeof b->shm);
        return rc;
    }
    format_ring(b->shm.data, cfg);
    rc = read_meta(b, b->shm.data, b->shm.size);
    if (rc == HIPC_OK)
        rc = identify(b);
    if (rc == HIPC_OK)
        rc = become_producer(b, mode);
    if (rc != HIPC_OK)
        return fail_open(b, rc, 1);
    finish_open(b, HIPC_BCAST_PRODUCER, cfg);
    return HIPC_OK;
}

/* Which segment to open: by key, or by id. */
struct seg_ref {
    int by_id;
    hipc_key key;
    int id;
};

/* Opens the segment `ref` names, checks its tag before it maps (and
 * populates) it all, read-only for consumers. */
static int open_segment(hipc_bcast *b, struct seg_ref ref, unsigned rdonly)
{
    int rc = ref.by_id
                 ? hipc_shm_open_id(&b->shm, ref.id, HIPC_BCAST_HEADER_SIZE,
                                    HIPC_SHM_NO_ATTACH)
                 : hipc_shm_open(&b->shm, ref.key, HIPC_BCAST_HEADER_SIZE,
                                 HIPC_SHM_NO_ATTACH);
    if (rc != HIPC_OK) {
        b->sys_errno = b->shm.sys_errno;
        memset(&b->shm, 0, sizeof b->shm);
        return rc;
    }
    rc = b->shm.tag == HIPC_BCAST_SHM_TAG
             ? hipc_shm_attach(&b->shm, HIPC_SHM_PREFAULT | rdonly)
             : HIPC_E_FOREIGN;
    b->sys_errno = b->shm.sys_errno;
    if (rc == HIPC_OK)
        rc = read_meta(b, b->shm.data, b->shm.size);
    if (rc == HIPC_OK)
        rc = identify(b);
    return rc;
}

static int open_prepare(hipc_bcast *b, const hipc_bcast_config **cfg)
{
    if (b == NULL)
        return HIPC_E_NULL;
    memset(b, 0, sizeof *b);
    *cfg = *cfg != NULL ? *cfg : &defaults;
    return check_common_cfg(*cfg);
}

int hipc_bcast_open_producer(hipc_bcast *b, hipc_key key,
                             const hipc_bcast_config *cfg)
{
    int rc = open_prepare(b, &cfg);
    if (rc != HIPC_OK)
        return rc;
    rc = open_segment(b, (struct seg_ref){.key = key}, 0u);
    hipc_shm_info info;
    if (rc == HIPC_OK) {
        rc = hipc_shm_stat(&b->shm, &info);
        b->sys_errno = b->shm.sys_errno;
    }
    if (rc == HIPC_OK)
        rc = become_producer(b, info.mode);
    if (rc != HIPC_OK)
        return fail_open(b, rc, 0);
    finish_open(b, HIPC_BCAST_PRODUCER, cfg);
    return HIPC_OK;
}

static int open_consumer(hipc_bcast *b, struct seg_ref ref,
                         const hipc_bcast_config *cfg)
{
    int rc = open_prepare(b, &cfg);
    if (rc != HIPC_OK)
        return rc;
    rc = open_segment(b, ref, HIPC_SHM_RDONLY);
    if (rc == HIPC_OK)
        rc = find_oldest(b, &b->pos_, &b->seq_);
    uint64_t skipped = 0;
    if (rc == HIPC_OK && (cfg->flags & HIPC_BCAST_OLDEST) == 0)
        rc = to_newest(b, &skipped);
    if (rc != HIPC_OK)
        return fail_open(b, rc, 0);
    b->head_ = (uint32_t)b->pos_;
    finish_open(b, HIPC_BCAST_CONSUMER, cfg);
    return HIPC_OK;
}

int hipc_bcast_open_consumer(hipc_bcast *b, hipc_key key,
                             const hipc_bcast_config *cfg)
{
    return open_consumer(b, (struct seg_ref){.key = key}, cfg);
}

int hipc_bcast_open_consumer_id(hipc_bcast *b, int id,
                                const hipc_bcast_config *cfg)
{
    return open_consumer(b, (struct seg_ref){.by_id = 1, .id = id}, cfg);
}

int hipc_bcast_remove(hipc_bcast *b)
{
    int rc = check_handle(b, ANY_END);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_shm_remove(&b->shm);
    b->sys_errno = b->shm.sys_errno;
    return rc;
}

/* A producer marks its role left and wakes every sleeper, so consumers
 * learn it at once. Only the process that claimed the role does: a copy
 * inherited over fork must not sign its parent out. */
static void leave(hipc_bcast *b)
{
    if (b->role != HIPC_BCAST_PRODUCER || hipc__sys_getpid() != b->pid_)
        return;
    struct hipc__owner o = owner_of(b);
    struct hipc__self me = self_of(b);
    (void)hipc__owner_leave(&o, &me);
    atomic_thread_fence(memory_order_seq_cst);
    (void)hipc__board_wake(board(b), &hdr(b)->head);
}

int hipc_bcast_close(hipc_bcast *b)
{
    int rc = check_handle(b, ANY_END);
    if (rc != HIPC_OK)
        return rc;
    leave(b);
    hipc__board_detach(board(b));
    hipc__board_bell_close(board(b));
    b->state_ = ST_CLOSED;
    b->hdr_ = NULL;
    b->ring_ = NULL;
    rc = hipc_shm_close(&b->shm);
    b->sys_errno = b->shm.sys_errno;
    return rc;
}

/* ---- a look for tools ----------------------------------------------------- */

static int stat_fill(hipc_bcast *b, hipc_bcast_stat *out,
                     const hipc_shm_info *info)
{
    struct hipc__owner o = owner_of(b);
    struct hipc__self me = self_of(b);
    uint32_t w = atomic_load_explicit(o.word, memory_order_acquire);
    int alive = w == 0 ? 0 : hipc__owner_alive(&o, &me, w, NULL);
    uint64_t skipped = 0;
    memset(out, 0, sizeof *out);
    out->capacity = b->capacity;
    out->max_msg = b->max_msg;
    /* As a consumer would: from the oldest message to the newest. */
    int rc = find_oldest(b, &b->pos_, &b->seq_);
    out->oldest = b->seq_;
    if (rc == HIPC_OK)
        rc = to_newest(b, &skipped);
    out->sent = b->seq_;
    out->producer_pid = w == 0 ? 0 : hipc__owner_pid_here(&o, &me, w);
    out->producer = w == 0                      ? HIPC_BCAST_PRODUCER_NONE
                    : alive == HIPC__PROC_ALIVE ? HIPC_BCAST_PRODUCER_ALIVE
                    : alive == HIPC__PROC_GONE  ? HIPC_BCAST_PRODUCER_GONE
                                                : HIPC_BCAST_PRODUCER_HIDDEN;
    /* Ours is one attachment, a producer that runs another. */
    unsigned long others = info->nattch > 0 ? info->nattch - 1u : 0u;
    if (out->producer != HIPC_BCAST_PRODUCER_GONE &&
        out->producer != HIPC_BCAST_PRODUCER_NONE && others > 0)
        others--;
    out->consumers = others;
    return rc;
}

int hipc_bcast_stat_id(int shm_id, hipc_bcast_stat *out, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (out == NULL)
        return HIPC_E_NULL;
    hipc_bcast b;
    memset(&b, 0, sizeof b);
    int rc = open_segment(&b, (struct seg_ref){.by_id = 1, .id = shm_id},
                          HIPC_SHM_RDONLY);
    hipc_shm_info info;
    if (rc == HIPC_OK) {
        rc = hipc_shm_stat(&b.shm, &info);
        b.sys_errno = b.shm.sys_errno;
    }
    if (rc == HIPC_OK)
        rc = stat_fill(&b, out, &info);
    hipc__set_errno(sys_errno, b.sys_errno);
    (void)fail_open(&b, rc, 0);
    return rc;
}
