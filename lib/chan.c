/* SPDX-License-Identifier: MIT */
/* hipc — SPSC message channel over shared memory.
 *
 * Layout: a 768-byte header of six 128-byte lines, then the ring. Lines that
 * the two sides write at different rates are kept apart (128 bytes, because
 * x86 prefetches cache lines in pairs), so a message costs one line transfer
 * for the index plus the payload lines:
 *   0 meta      written once by init, then read-only
 *   1 slots     who holds each end (pid + start time), written on attach
 *   2 tail      written by the producer per message
 *   3 head      written by the consumer per message
 *   4 cons_wait consumer's "I sleep" flag + futex word (rarely written)
 *   5 prod_wait producer's "I sleep" flag + futex word (rarely written)
 * Positions are free-running 32-bit byte counters; capacity <= 2^31 keeps
 * (tail - head) unambiguous. Records are 8-byte aligned: {seq, len} and
 * the payload, where seq is the record's position | 1 and is stored last.
 * The consumer reads the tail only when it has used up the records it
 * knows of, then takes every record below it; each one's seq word must
 * match, which catches a producer that moved the tail over nothing. A
 * record never wraps: when it does not fit before the end, the producer
 * fills the rest with a pad record (PAD_BIT in its length word), so
 * zero-copy readers and writers always get one contiguous span.
 */
#include "hipc/chan.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "bell.h"
#include "hot.h"
#include "ring.h"
#include "hipc/error.h"
#include "internal.h"
#include "owner.h"
#include "proc.h"
#include "sys.h"

#define LINE 128u
#define CHAN_MAGIC 0x6e616863u   /* "chan", stored last by init */
#define HANDLE_MAGIC 0x4348414eu /* marks an attached handle */
#define REC_HDR 8u
#define PAD_BIT 0x80000000u /* in a record's length word: a pad */
/* How often a waiter that hears nothing asks whether its peer still lives. */
#define SLICE_NS ((int64_t)50 * 1000 * 1000)
/* The first sleep of a wait: bounds how late a wake-up lost to the
 * fence-free hot path can be (see publish_tail). Not shorter: a timeout that
 * is the CPU's next timer event has to be programmed into the (virtual)
 * timer and cancelled again, and at 200 us that made a blocking round
 * trip 1.3-1.5x slower here; at 5 ms it is as fast as a pipe's. */
#define FIRST_SLICE_NS ((int64_t)5 * 1000 * 1000)
/* How long a waiting producer holds out for a quarter of the ring. */
#define HYST_NS ((int64_t)20 * 1000)
/* Polls between two clock reads while spinning (a clock read is ~25 ns). */
#define SPIN_BATCH 32

_Static_assert(HIPC_CHAN_MAX_CAPACITY <= (1u << 31),
               "positions are 32-bit counters: capacity must stay <= 2^31");
_Static_assert(HIPC_CHAN_CAPACITY_DEFAULT >= HIPC_CHAN_MIN_CAPACITY &&
                   HIPC_CHAN_CAPACITY_DEFAULT <= HIPC_CHAN_MAX_CAPACITY &&
                   (HIPC_CHAN_CAPACITY_DEFAULT &
                    (HIPC_CHAN_CAPACITY_DEFAULT - 1u)) == 0,
               "the default capacity must be a capacity");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "shared atomics must be lock-free to work across processes");

enum { ST_OPEN = 1, ST_RESERVED, ST_PEEKED, ST_CLOSED };

/* check_handle's wildcards: a call that either end, in any state, may make. */
#define ANY_END 0
#define ANY_STATE 0u

/* The two ends, in the order of the header's slots. */
enum chan_end { END_PRODUCER = 0, END_CONSUMER = 1 };

/* How hard check_peer looks: at the peer's slot only, or also in /proc
 * (a syscall, so only once per slice of waiting). */
enum peer_look { PEER_SLOT_ONLY, PEER_ASK_PROC };

/* Whether adopt_segment formats the segment (and removes it on failure). */
enum seg_origin { SEG_OPENED, SEG_CREATED };

/* Private flag bits: the handle owns ch->shm and closes it; it has a
 * doorbell (ch->bell_); it has a socket to ring the peer's (ch->ring_). */
#define OWN_SHM 0x80000000u
#define HAS_BELL 0x40000000u
#define HAS_RING 0x20000000u
/* The doorbell's bookkeeping: the last arming left our announcement up
 * (BELL_LEFT); a ringer may have taken one we then withdrew (BELL_RUNG);
 * we rang our own bell and the next arming has not drained it (BELL_SELF:
 * at most one self-ring queued). */
#define BELL_LEFT 0x10000000u
#define BELL_RUNG 0x08000000u
#define BELL_SELF 0x04000000u
/* The last failed try kept the descriptor ready instead of arming it;
 * bell_keep_until_ is when the spin after the last progress ends (see
 * bell_try_failed). */
#define BELL_KEPT 0x02000000u
/* A spin shorter than one round through the caller's loop (its wait is a
 * syscall at least) would be over before the loop is back: an end with
 * such a spin arms at its first failed try. */
#define KEEP_MIN_NS ((int64_t)1000)

/* In a wait line's sleeping word: the waiter waits on its doorbell, not
 * on the futex (the rest of the word is what it waits for, as ever). */
#define BELL_ARMED 0x80000000u

struct chan_slot {
    _Atomic uint32_t owner; /* 0, pid, CLAIMING|pid or CLOSED|pid */
    _Atomic uint32_t start_lo;
    _Atomic uint32_t start_hi;
};

struct chan_wait {
    _Atomic uint32_t sleeping; /* the waiter announces its sleep here: the
                                  bytes it waits for (producer: free room,
                                  consumer: a record), 0 while awake */
    _Atomic uint32_t seq;      /* futex word: bumped by every wake */
    /* The name of the waiter's doorbell (lib/bell.h); zero: none. Written
     * by the waiter when it makes the bell, read by a ringer. */
    _Atomic uint32_t bell[HIPC__BELL_WORDS];
};

struct chan_hdr {
    struct hipc__ring_meta meta;
    unsigned char meta_pad_[LINE - sizeof(struct hipc__ring_meta)];
    struct chan_slot slot[2]; /* [0] producer, [1] consumer */
    /* The pid namespace of each slot's owner (0: not recorded, as by hipc
     * 0.2). Beside the slots, not in them, so the slots keep the offsets
     * older versions use. */
    struct chan_pidns {
        _Atomic uint32_t lo, hi;
    } slot_ns[2];
    unsigned char slot_pad_[LINE - 2 * sizeof(struct chan_slot) -
                            2 * sizeof(struct chan_pidns)];
    _Atomic uint32_t tail;
    unsigned char tail_pad_[LINE - sizeof(uint32_t)];
    _Atomic uint32_t head;
    unsigned char head_pad_[LINE - sizeof(uint32_t)];
    struct chan_wait cons_wait;
    unsigned char cons_pad_[LINE - sizeof(struct chan_wait)];
    struct chan_wait prod_wait;
    unsigned char prod_pad_[LINE - sizeof(struct chan_wait)];
};

static const struct hipc__ring_kind chan_kind = {CHAN_MAGIC,
                                                 HIPC_CHAN_LAYOUT_VERSION,
                                                 HIPC_CHAN_HEADER_SIZE,
                                                 HIPC_CHAN_MIN_CAPACITY,
                                                 REC_HDR};

_Static_assert(sizeof(struct chan_hdr) == HIPC_CHAN_HEADER_SIZE,
               "the header is six 128-byte lines");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t),
               "futex words are plain 32-bit integers");

/* How long a call holds out; each end reads it its own way. */
enum pace {
    PACE_TRY,   /* never waits: every attempt takes what is there now */
    PACE_WAIT,  /* may wait: a consumer lets a streaming producer get ahead */
    PACE_BURST, /* a producer's first spin: it holds out for a quarter of
                   the ring, then writes a burst (see wait_slow) */
};

/* One attempt's question and answer, the same for both ends: the producer
 * asks for room for a record, the consumer for the next record. */
struct rec_pos {
    uint32_t off; /* ring offset of the record header (found) */
    uint32_t len; /* payload bytes (asked by a producer, found by a
                       consumer) */
    uint32_t rec; /* record bytes: header + payload rounded up to 8 */
    enum pace pace;
};

static struct chan_hdr *hdr(const hipc_chan *ch)
{
    return (struct chan_hdr *)ch->hdr_;
}

static struct chan_slot *own_slot(const hipc_chan *ch)
{
    return ch->own_slot_;
}

static struct chan_slot *peer_slot(const hipc_chan *ch)
{
    return ch->peer_slot_;
}

static struct chan_wait *own_wait(const hipc_chan *ch)
{
    return ch->own_wait_;
}

static struct chan_wait *peer_wait(const hipc_chan *ch)
{
    return ch->peer_wait_;
}

static uint32_t rec_size(uint32_t len)
{
    return REC_HDR + ((len + 7u) & ~7u);
}

/* Record headers are read through 32-bit atomics so that each field is
 * loaded exactly once even while a hostile peer rewrites it. */
static _Atomic uint32_t *ring_word(const hipc_chan *ch, uint32_t off)
{
    return (_Atomic uint32_t *)(void *)(ch->ring_ + off);
}

static int now_ns(hipc_chan *ch, int64_t *out)
{
    struct timespec ts;
    int rc = hipc__sys_clock_monotonic(&ts);
    /* CLOCK_MONOTONIC cannot fail (see lib/sys.c): coverage marks this
     * defensive path, and the callers' checks of now_ns, as never run. */
    /* GCOVR_EXCL_START [libc]: CLOCK_MONOTONIC cannot fail (lib/sys.c) */
    if (rc < 0) {
        ch->sys_errno = -rc;
        return HIPC_E_SYS;
    }
    /* GCOVR_EXCL_STOP */
    *out = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return HIPC_OK;
}

/* ---- configuration and header ---------------------------------------- */

/* A config's capacity, 0 meaning the default. */
static size_t capacity_of(const hipc_chan_config *cfg)
{
    return cfg->capacity != 0 ? cfg->capacity : HIPC_CHAN_CAPACITY_DEFAULT;
}

int hipc_chan_mem_size(size_t capacity, size_t *size)
{
    if (size == NULL)
        return HIPC_E_NULL;
    if (capacity == 0)
        capacity = HIPC_CHAN_CAPACITY_DEFAULT;
    if (!hipc__is_pow2(capacity) || capacity < HIPC_CHAN_MIN_CAPACITY ||
        capacity > HIPC_CHAN_MAX_CAPACITY)
        return HIPC_E_BAD_CAPACITY;
    /* Cannot overflow: the capacity is at most 2^31 and the header small,
     * but a size_t of 32 bits makes it worth saying so in code. */
    /* GCOVR_EXCL_START [bound]: capacity <= 2^31, header small */
    if (capacity > SIZE_MAX - HIPC_CHAN_HEADER_SIZE)
        return HIPC_E_OVERFLOW;
    /* GCOVR_EXCL_STOP */
    *size = HIPC_CHAN_HEADER_SIZE + capacity;
    return HIPC_OK;
}

static int check_common_cfg(const hipc_chan_config *cfg)
{
    if ((cfg->flags & ~HIPC_CHAN_FLAGS_ALL_) != 0)
        return HIPC_E_BAD_FLAGS;
    if (cfg->spin_ns < 0)
        return HIPC_E_BAD_TIMEOUT;
    return HIPC_OK;
}

static int check_create_cfg(const hipc_chan_config *cfg, size_t *need)
{
    int rc = check_common_cfg(cfg);
    if (rc == HIPC_OK)
        rc = hipc_chan_mem_size(cfg->capacity, need);
    if (rc != HIPC_OK)
        return rc;
    if (cfg->max_msg > capacity_of(cfg) - REC_HDR)
        return HIPC_E_BAD_SIZE;
    return HIPC_OK;
}

/* Every default, for a NULL config. */
static const hipc_chan_config defaults;

int hipc_chan_init_mem(void *mem, size_t size, const hipc_chan_config *cfg)
{
    if (mem == NULL)
        return HIPC_E_NULL;
    cfg = cfg != NULL ? cfg : &defaults;
    size_t need = 0;
    int rc = check_create_cfg(cfg, &need);
    if (rc != HIPC_OK)
        return rc;
    if (((uintptr_t)mem & 7u) != 0)
        return HIPC_E_BAD_ADDR;
    if (size < need)
        return HIPC_E_BAD_SIZE;
    struct chan_hdr *h = mem;
    /* The whole ring too: a stale seq word from an earlier channel in the
     * same memory must not look like a published record. */
    memset(h, 0, need);
    hipc__ring_meta_fill(&h->meta, &chan_kind, (uint32_t)capacity_of(cfg),
                         (uint32_t)cfg->max_msg);
    /* Release: an attacher that sees the magic sees the fields above. */
    atomic_store_explicit(&h->meta.magic, CHAN_MAGIC, memory_order_release);
    return HIPC_OK;
}

/* ---- who holds each end ---------------------------------------------- */

/* The record of slot `s`'s holder: its words in the slot, its namespace
 * in the array beside the slots. */
static struct hipc__owner slot_owner(const hipc_chan *ch, struct chan_slot *s)
{
    struct chan_pidns *n = &hdr(ch)->slot_ns[s - hdr(ch)->slot];
    struct hipc__owner o = {&s->owner, &s->start_lo, &s->start_hi, &n->lo,
                            &n->hi};
    return o;
}

static struct hipc__self self_of(const hipc_chan *ch)
{
    struct hipc__self me = {ch->pid_, ch->start_, ch->pidns_};
    return me;
}

static pid_t owner_pid_here(const hipc_chan *ch, struct chan_slot *s,
                            uint32_t w)
{
    struct hipc__owner o = slot_owner(ch, s);
    struct hipc__self me = self_of(ch);
    return hipc__owner_pid_here(&o, &me, w);
}

static int owner_alive(hipc_chan *ch, struct chan_slot *s, uint32_t w)
{
    struct hipc__owner o = slot_owner(ch, s);
    struct hipc__self me = self_of(ch);
    return hipc__owner_alive(&o, &me, w, &ch->sys_errno);
}

/* HIPC_OK while the peer is there or has not come yet; HIPC_E_PEER_GONE
 * when it closed or (PEER_ASK_PROC, a /proc read) died. */
static int check_peer(hipc_chan *ch, enum peer_look look)
{
    if ((ch->flags_ & HIPC_CHAN_ANONYMOUS) != 0)
        return HIPC_OK;
    struct chan_slot *s = peer_slot(ch);
    uint32_t w = atomic_load_explicit(&s->owner, memory_order_acquire);
    if (w == 0)
        return HIPC_OK;
    if ((w & HIPC__OWNER_PID) == 0 || (w & HIPC__OWNER_CLOSED) != 0)
        return HIPC_E_PEER_GONE;
    if (look == PEER_SLOT_ONLY)
        return HIPC_OK;
    int alive = owner_alive(ch, s, w);
    return alive < 0 ? alive : alive ? HIPC_OK : HIPC_E_PEER_GONE;
}

/* ---- positions --------------------------------------------------------- */

/* The kernel sees the futex word as the plain 32-bit integer it is. */
static const unsigned *futex_word(struct chan_wait *w)
{
    return (const unsigned *)(uintptr_t)&w->seq;
}

/* Free bytes as the consumer sees them, with a fresh look at the tail:
 * only asked when the producer sleeps. */
static uint32_t consumer_free(const hipc_chan *ch)
{
    uint32_t tail = atomic_load_explicit(&hdr(ch)->tail, memory_order_relaxed);
    uint32_t used = tail - ch->pos_;
    uint32_t cap = ch->mask_ + 1u;
    return used > cap ? 0 : cap - used; /* nonsense frees nothing */
}

/* Wakes the peer that announced its sleep on `w`. The exchange makes it
 * one wake per sleep, not one per message while the sleeper wakes up. */
static void ring_bell(hipc_chan *ch, struct chan_wait *w);

static void wake_sleeper(hipc_chan *ch, struct chan_wait *w)
{
    /* Acquire: a waiter armed on its bell published the bell's name
     * before its release store of the flag. */
    uint32_t was =
        atomic_exchange_explicit(&w->sleeping, 0, memory_order_acquire);
    /* (Lost only to a concurrent waker within a few instructions: an
     * untimeable race, marked for coverage.) */
    /* GCOVR_EXCL_START [race]: a waker within a few instructions */
    if (was == 0)
        return;
    /* GCOVR_EXCL_STOP */
    if ((was & BELL_ARMED) != 0) {
        ring_bell(ch, w);
        return;
    }
    /* Relaxed: the futex syscall is a full barrier, and the sleeper reads
     * the data through the index, not through this counter. */
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_relaxed);
    int rc = hipc__sys_futex_wake(futex_word(w), 1);
    if (rc < 0)
        ch->sys_errno = -rc; /* the message is out; the peer's slice ends */
}

/* Publishing a position wakes the peer if, and only if, it announced that
 * it sleeps; the check is inline and the wake out of line, so a busy
 * channel's hot path makes no call at all.
 *
 * No fence between our index store and the flag load: a seq_cst fence
 * there makes every message wait until its payload lines have left the
 * store buffer, which costs more than the rest of a send. Without it, the
 * Dekker pair (we: store a seq word or position, load the flag; sleeper:
 * store the flag, fence, load what we stored) can miss in one narrow race:
 * our load sees no flag while the sleeper still sees the old value. The
 * sleeper therefore makes its first sleep short (FIRST_SLICE_NS) and looks
 * again; our store is visible by then, so such a wake-up is late, never
 * lost. Closing fences (wake_at_close): it is rare and must be prompt.
 *
 * Release stores: the payload (producer) or our last reads of it
 * (consumer) happen before the peer sees the new position. */
static HIPC_INLINE void publish_tail(hipc_chan *ch)
{
    struct chan_hdr *h = hdr(ch);
    atomic_store_explicit(&h->tail, ch->pos_, memory_order_release);
    if (atomic_load_explicit(&h->cons_wait.sleeping, memory_order_relaxed) != 0)
        wake_sleeper(ch, &h->cons_wait);
}

/* A sleeping producer is woken only once as much room is free as it asked
 * for, so that a full ring does not cost a wake-up per message. */
static HIPC_INLINE void publish_head(hipc_chan *ch)
{
    struct chan_hdr *h = hdr(ch);
    atomic_store_explicit(&h->head, ch->pos_, memory_order_release);
    uint32_t want =
        atomic_load_explicit(&h->prod_wait.sleeping, memory_order_relaxed);
    if (want != 0 && consumer_free(ch) >= (want & ~BELL_ARMED))
        wake_sleeper(ch, &h->prod_wait);
}

/* Leaving: whatever the peer waits for, it must learn at once. */
static void wake_at_close(hipc_chan *ch)
{
    struct chan_wait *w = peer_wait(ch);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->sleeping, memory_order_relaxed) != 0)
        wake_sleeper(ch, w);
}

/* Producer: at least `need` bytes free? Reloads the head only when the
 * cached one says no. */
static int ensure_free(hipc_chan *ch, uint32_t need)
{
    uint32_t cap = ch->mask_ + 1u;
    if (cap - (ch->pos_ - ch->peer_) >= need)
        return HIPC_OK;
    /* Acquire: the consumer's reads of the freed bytes happen before our
     * writes into them. */
    uint32_t head = atomic_load_explicit(&hdr(ch)->head, memory_order_acquire);
    uint32_t used = ch->pos_ - head;
    if (used > cap || (head & 7u) != 0)
        return HIPC_E_CORRUPT;
    ch->peer_ = head;
    return cap - used >= need ? HIPC_OK : HIPC_E_AGAIN;
}

/* A consumer that keeps up with a streaming producer reads each record as
 * soon as it is published, right behind the producer: its reads (and the
 * prefetcher running ahead of them) pull in the lines the producer is
 * still writing, and every such line then costs the producer another
 * invalidation. Measured with 4 KiB messages in a 4 MiB ring, a consumer
 * that stayed 64 KiB behind moved 4-5x more. So once several tail loads in
 * a row found more (a stream, never a ping-pong, where the next load finds
 * nothing), the consumer lets the producer get LEAD_BYTES ahead - but only
 * while the tail keeps moving, and for a bounded number of polls, so a
 * stream that stops or slows is read at once. */
#define LEAD_BYTES 65536u
#define STREAM_AFTER 3u
#define STILL_POLLS 16
#define LEAD_POLLS 256

static uint32_t let_producer_lead(const hipc_chan *ch, uint32_t tail)
{
    uint32_t cap = ch->mask_ + 1u;
    uint32_t lead = cap / 4 < LEAD_BYTES ? cap / 4 : LEAD_BYTES;
    int still = 0;
    for (int i = 0;
         i < LEAD_POLLS && tail - ch->pos_ < lead && still < STILL_POLLS; i++) {
        hipc__cpu_relax();
        /* Acquire, as every tail load: the caller reads records below it. */
        uint32_t t = atomic_load_explicit(&hdr(ch)->tail, memory_order_acquire);
        still = t == tail ? still + 1 : 0;
        tail = t;
    }
    return tail;
}

/* Consumer: is a record published at our position? The tail says so; it
 * is loaded only when the records we already know of are used up, so a
 * consumer that keeps up polls one line the producer writes once per
 * message, never the line the producer is filling (polling the records'
 * own seq words instead cost 13 % of the message rate at 64 bytes). A record the
 * tail covers must carry its seq word, or the producer wrote nonsense. */
static int seq_ready(hipc_chan *ch, uint32_t off, enum pace pace)
{
    uint32_t cap = ch->mask_ + 1u;
    if (ch->peer_ - ch->pos_ - 1u >= cap) {
        /* Acquire: the records below the tail, which the producer wrote
         * before its release store of it, are visible after this. */
        uint32_t tail =
            atomic_load_explicit(&hdr(ch)->tail, memory_order_acquire);
        if (tail - ch->pos_ - 1u >= cap)
            ch->stream_ = 0; /* nothing new (or nonsense, judged below) */
        else if (ch->stream_ < STREAM_AFTER)
            ch->stream_++;
        else if (pace != PACE_TRY)
            tail = let_producer_lead(ch, tail);
        uint32_t avail = tail - ch->pos_;
        if ((tail & 7u) != 0)
            return HIPC_E_CORRUPT;
        if (avail == 0)
            return HIPC_E_AGAIN;
        if (avail > cap) /* more than a ring, or a tail behind us */
            return HIPC_E_CORRUPT;
        ch->peer_ = tail;
    }
    /* Relaxed: ordered by the acquire load of the tail that covers it. */
    uint32_t seq =
        atomic_load_explicit(ring_word(ch, off), memory_order_relaxed);
    return seq == (ch->pos_ | 1u) ? HIPC_OK : HIPC_E_CORRUPT;
}

/* ---- one attempt, no waiting ------------------------------------------ */

/* Writes a record header at the producer's position. Relaxed length:
 * the seq word's release store publishes it, and the payload before it. */
static void write_rec_hdr(hipc_chan *ch, uint32_t len_word)
{
    uint32_t off = ch->pos_ & ch->mask_;
    atomic_store_explicit(ring_word(ch, off + 4u), len_word,
                          memory_order_relaxed);
    atomic_store_explicit(ring_word(ch, off), ch->pos_ | 1u,
                          memory_order_release);
}

/* Producer: the free bytes to wait for before writing - the record, or
 * in a burst a quarter of the ring if that is more. */
static uint32_t room_wanted(const hipc_chan *ch, const struct rec_pos *r)
{
    uint32_t quarter = (ch->mask_ + 1u) / 4u;
    return r->pace == PACE_BURST && quarter > r->rec ? quarter : r->rec;
}

/* Producer: room for a record of r->rec bytes, padding past the end of the
 * ring first when the record would not fit there. */
static int prod_room(hipc_chan *ch, struct rec_pos *r)
{
    uint32_t want = room_wanted(ch, r);
    if (want > r->rec) {
        int rc = ensure_free(ch, want);
        if (rc != HIPC_OK)
            return rc;
    }
    uint32_t off = ch->pos_ & ch->mask_;
    uint32_t contig = ch->mask_ + 1u - off;
    if (contig < r->rec) {
        int rc = ensure_free(ch, contig);
        if (rc != HIPC_OK)
            return rc;
        write_rec_hdr(ch, PAD_BIT | contig);
        ch->pos_ += contig;
        publish_tail(ch); /* the consumer must skip the pad to free the start */
        off = 0;
    }
    r->off = off;
    return ensure_free(ch, r->rec);
}

/* Consumer: the next message, skipping at most one pad. Every field is
 * read once and checked against what an honest producer could write. */
static int cons_next(hipc_chan *ch, struct rec_pos *r)
{
    for (int skipped = 0; skipped < 2; skipped++) {
        uint32_t off = ch->pos_ & ch->mask_;
        uint32_t contig = ch->mask_ + 1u - off;
        int rc = seq_ready(ch, off, r->pace);
        if (rc != HIPC_OK)
            return rc;
        uint32_t len =
            atomic_load_explicit(ring_word(ch, off + 4u), memory_order_relaxed);
        if ((len & PAD_BIT) != 0) {
            /* A pad runs to the end of the ring and is never at offset 0. */
            if ((len & ~PAD_BIT) != contig || off == 0)
                return HIPC_E_CORRUPT;
            ch->pos_ += contig;
            publish_head(ch);
            continue;
        }
        uint32_t rec = rec_size(len);
        if (len > ch->max_msg || rec > contig)
            return HIPC_E_CORRUPT;
        r->off = off;
        r->len = len;
        r->rec = rec;
        return HIPC_OK;
    }
    /* Never reached: after one pad the position is at offset 0, where a
     * second pad is refused inside the loop. Kept as a bound. */
    /* GCOVR_EXCL_START [bound]: a second pad is refused inside the loop */
    return HIPC_E_CORRUPT;
    /* GCOVR_EXCL_STOP */
}

/* What tells the two ends apart where code is shared by both (waiting,
 * peers, attaching); the hot paths belong to one end each and know it.
 * Chosen once at attach, as c-ares picks its socket functions once. */
struct chan_side {
    /* Read through ch->side_ (a const void *), which cppcheck cannot see. */
    /* cppcheck-suppress unusedStructMember */
    int (*attempt)(hipc_chan *ch, struct rec_pos *r); /* no waiting */
    enum chan_end own, peer; /* index the header's slots and wait lines */
};

static const struct chan_side sides[] = {
    [END_PRODUCER] = {.attempt = prod_room,
                      .own = END_PRODUCER,
                      .peer = END_CONSUMER},
    [END_CONSUMER] = {.attempt = cons_next,
                      .own = END_CONSUMER,
                      .peer = END_PRODUCER},
};

static int attempt(hipc_chan *ch, struct rec_pos *r)
{
    return ((const struct chan_side *)ch->side_)->attempt(ch, r);
}

/* ---- waiting ----------------------------------------------------------- */

/* The peer is gone: one last look, since it may have sent (or freed
 * room) before it left. */
static int gone_after_last_look(hipc_chan *ch, struct rec_pos *r)
{
    int again = attempt(ch, r);
    return again == HIPC_E_AGAIN ? HIPC_E_PEER_GONE : again;
}

/* The wait is over without progress: a dead peer explains it, otherwise a
 * timeout. */
static int timed_out(hipc_chan *ch, struct rec_pos *r)
{
    int rc = check_peer(ch, PEER_ASK_PROC);
    if (rc == HIPC_E_PEER_GONE)
        return gone_after_last_look(ch, r);
    return rc != HIPC_OK ? rc : HIPC_E_TIMEDOUT;
}

/* Busy-polls until ready, the spin time ends (HIPC_E_AGAIN) or the
 * deadline passes. A spin that never ends asks after the peer per slice. */
static int spin(hipc_chan *ch, struct rec_pos *r, int64_t now, int64_t deadline)
{
    int64_t spin_end = hipc__sat_add(now, ch->spin_ns);
    int64_t next_check = hipc__sat_add(now, SLICE_NS);
    /* Half the spin at most: the rest still polls, for just the record,
     * so a consumer that drains steadily never sends us to sleep. */
    int64_t hyst = ch->spin_ns / 2 < HYST_NS ? ch->spin_ns / 2 : HYST_NS;
    int64_t hyst_end = hipc__sat_add(now, hyst);
    if (spin_end > deadline)
        spin_end = deadline;
    for (;;) {
        for (int i = 0; i < SPIN_BATCH; i++) {
            int rc = attempt(ch, r);
            if (rc != HIPC_E_AGAIN)
                return rc;
            hipc__cpu_relax();
        }
        int rc = now_ns(ch, &now);
        /* GCOVR_EXCL_START [libc]: now_ns cannot fail */
        if (rc != HIPC_OK)
            return rc;
        /* GCOVR_EXCL_STOP */
        if (now >= deadline)
            return timed_out(ch, r);
        if (now >= spin_end)
            return HIPC_E_AGAIN;
        if (now >= hyst_end)
            r->pace = PACE_WAIT;
        if (now >= next_check) {
            if ((rc = check_peer(ch, PEER_ASK_PROC)) != HIPC_OK)
                return rc == HIPC_E_PEER_GONE ? timed_out(ch, r) : rc;
            next_check = hipc__sat_add(now, SLICE_NS);
        }
    }
}

/* Announces the sleep, looks once more, then sleeps on the futex word for
 * at most `ns`. HIPC_E_AGAIN when the caller should look again. */
static int sleep_once(hipc_chan *ch, struct rec_pos *r, int64_t ns)
{
    struct chan_wait *w = own_wait(ch);
    /* Acquire: read the counter before the index we look at below, so a
     * wake between the two changes it and the futex does not sleep. */
    uint32_t seq = atomic_load_explicit(&w->seq, memory_order_acquire);
    /* What we wait for; a producer's burst is over once it sleeps. */
    atomic_store_explicit(&w->sleeping, r->rec, memory_order_relaxed);
    /* Seq_cst fence: our flag is visible before we look at the index, so a
     * waker that stores the index after this point sees the flag. */
    atomic_thread_fence(memory_order_seq_cst);
    int rc = attempt(ch, r);
    if (rc == HIPC_E_AGAIN &&
        (rc = check_peer(ch, PEER_SLOT_ONLY)) == HIPC_OK) {
        struct timespec ts = {(time_t)(ns / 1000000000),
                              (long)(ns % 1000000000)};
        int f = hipc__sys_futex_wait(futex_word(w), seq, &ts);
        rc = HIPC_E_AGAIN;
        if (f < 0 && f != -ETIMEDOUT && f != -EAGAIN && f != -EINTR) {
            ch->sys_errno = -f;
            rc = HIPC_E_SYS;
        }
    }
    atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
    return rc == HIPC_E_PEER_GONE ? timed_out(ch, r) : rc;
}

static int wait_slow(hipc_chan *ch, struct rec_pos *r, int64_t timeout_ns)
{
    int64_t now = 0;
    int rc = now_ns(ch, &now);
    /* GCOVR_EXCL_START [libc]: now_ns cannot fail */
    if (rc != HIPC_OK)
        return rc;
    /* GCOVR_EXCL_STOP */
    int64_t deadline =
        timeout_ns == HIPC_FOREVER ? INT64_MAX : hipc__sat_add(now, timeout_ns);
    /* Hysteresis: a producer that has to wait first polls for a quarter of
     * the ring (or its record, if larger) and then writes a burst, because
     * resuming at each freed message moves the head's line per message.
     * Only for HYST_NS, and never while asleep, so a consumer that stops
     * half-way cannot stall a producer whose record already fits. */
    r->pace = PACE_BURST;
    rc = spin(ch, r, now, deadline);
    r->pace = PACE_WAIT;
    int64_t last_check = now, slice = FIRST_SLICE_NS;
    while (rc == HIPC_E_AGAIN) {
        /* GCOVR_EXCL_START [libc]: now_ns cannot fail */
        if ((rc = now_ns(ch, &now)) != HIPC_OK)
            return rc;
        /* GCOVR_EXCL_STOP */
        if (now >= deadline)
            return timed_out(ch, r);
        if (now - last_check >= SLICE_NS) {
            if ((rc = check_peer(ch, PEER_ASK_PROC)) != HIPC_OK)
                return rc == HIPC_E_PEER_GONE ? timed_out(ch, r) : rc;
            last_check = now;
        }
        int64_t ns = deadline - now < slice ? deadline - now : slice;
        rc = sleep_once(ch, r, ns);
        slice = SLICE_NS;
    }
    return rc;
}

/* ---- the doorbell ------------------------------------------------------- */

/* Rings the bell whose name the waiter published in its wait line `w`.
 * Read once: a hostile waiter can name any hipc bell in the network
 * namespace, which only makes that bell's owner look again. A ring that
 * cannot be made (no descriptor, the bell gone) is recorded and left to
 * the waiter's timer. */
static void ring_bell(hipc_chan *ch, struct chan_wait *w)
{
    uint32_t words[HIPC__BELL_WORDS];
    for (int i = 0; i < HIPC__BELL_WORDS; i++)
        words[i] = atomic_load_explicit(&w->bell[i], memory_order_relaxed);
    int have = (ch->flags_ & HAS_RING) != 0;
    int rc = hipc__bell_ring(&ch->ringfd_, &have, words);
    if (have)
        ch->flags_ |= HAS_RING;
    if (rc < 0)
        ch->sys_errno = -rc;
}

/* Makes the bell's descriptor readable before returning, and until the
 * next arming: a datagram to our own bell, named from our private copy of
 * its name (the segment's words are the peer's to scribble on). The
 * kernel does not bound what a socket sends itself; we do: this runs only
 * on a new bell and right after an arming, whose drain read our last
 * self-ring (BELL_SELF counted it; left set when the drain failed), so
 * one at most is queued. If it
 * cannot be sent, the timer runs out at once instead: readable with the
 * timer's interrupt, a moment later. Returns the timer's error (negative
 * errno) or 0. */
static int bell_ready(hipc_chan *ch)
{
    if ((ch->flags_ & BELL_SELF) != 0)
        return 0; /* still queued: a drain failed */
    int rc = hipc__bell_self_ring(ch->bell_, ch->bell_name_);
    if (rc == 0) {
        ch->flags_ |= BELL_SELF;
        return 0;
    }
    ch->sys_errno = -rc;
    ch->bell_due_ = 0; /* run out: the next arming sets it again */
    return hipc__sys_timerfd_once(ch->bell_[HIPC__BELL_TIMER], 1);
}

/* How many rings to drop before arming. The peer rings once per arming
 * it takes down (the exchange in wake_sleeper), so a ring can be queued
 * only if our last announcement was taken; a wake-up without progress
 * (the timer, a flood, a peer that rang and put our word back) drops all
 * there are. Each drop is a read: an arming that skips the needless ones
 * makes a wake-up cost what a pipe's does. Nothing here trusts the
 * segment: a wrong guess costs one spurious wake-up, never a lost one. */
static int bell_drain(hipc_chan *ch, const struct chan_wait *w)
{
    unsigned f = ch->flags_;
    int self = (f & BELL_SELF) != 0; /* our own ring is queued too */
    ch->flags_ &= ~(BELL_LEFT | BELL_RUNG);
    /* After a spin that kept the descriptor ready, the wake-ups were our
     * own self-rings: counted already. */
    if (ch->pos_ == ch->bell_pos_ && (f & BELL_KEPT) == 0)
        return HIPC__BELL_DRAIN_ALL + self;
    if ((f & BELL_RUNG) != 0 ||
        ((f & BELL_LEFT) != 0 &&
         atomic_load_explicit(&w->sleeping, memory_order_relaxed) == 0))
        return 1 + self;
    return self;
}

/* A try failed on an end with a doorbell: arm it, announce the wait, and
 * look once more (the peer may have published just before it saw the
 * announcement). The timer bounds the one race the peer's fence-free
 * publish leaves open (see publish_tail): short after progress, a slice
 * after a spell without. HIPC_E_AGAIN when armed. */
static int bell_arm(hipc_chan *ch, struct rec_pos *r, int64_t now)
{
    struct chan_wait *w = own_wait(ch);
    int64_t ns = ch->pos_ != ch->bell_pos_ || (ch->flags_ & BELL_KEPT) != 0
                     ? FIRST_SLICE_NS
                     : SLICE_NS;
    int drain = bell_drain(ch, w);
    ch->bell_pos_ = ch->pos_;
    ch->flags_ &= ~BELL_KEPT;
    /* A timer that is still running and runs out soon enough is kept:
     * setting it is a syscall, and in a ping-pong most armings find it
     * running. */
    int keep = now < ch->bell_due_ && ch->bell_due_ - now <= ns;
    /* A drain stopped by an error may have left our self-ring: still
     * counted, so the next self-ring is not sent beside it. */
    if (hipc__bell_drain(ch->bell_, drain) == 0)
        ch->flags_ &= ~BELL_SELF;
    if (!keep) {
        int rc = hipc__bell_arm(ch->bell_, ns, &ch->sys_errno);
        if (rc != HIPC_OK)
            return rc;
        ch->bell_due_ = hipc__sat_add(now, ns);
    }
    /* Release: the bell's name before the flag that sends a ringer to
     * it; seq_cst fence: the flag before our look at the index. */
    atomic_store_explicit(&w->sleeping, BELL_ARMED | r->rec,
                          memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    int rc = attempt(ch, r);
    if (rc == HIPC_E_AGAIN)
        ch->flags_ |= BELL_LEFT;
    else if (atomic_exchange_explicit(&w->sleeping, 0, memory_order_relaxed) ==
             0)
        ch->flags_ |= BELL_RUNG; /* taken down by a ringer: it rang */
    return rc;
}

/* Keeps the descriptor readable without announcing a wait, with a fresh
 * event at every such try (a loop that waits edge-triggered comes back
 * too): the self-ring queued by the last one (and a ring a ringer may
 * have queued) read away, a new one sent - one syscall each, no timer
 * interrupt, and never more than one self-ring queued. An announcement
 * still up from an earlier arming is taken down, so the peer does not
 * ring while we spin; if a ringer took it first, its ring is read here.
 * HIPC_E_AGAIN, or HIPC_E_SYS when neither the self-ring nor the timer
 * can make the descriptor readable. */
static int bell_keep(hipc_chan *ch)
{
    if ((ch->flags_ & BELL_LEFT) != 0) {
        ch->flags_ &= ~BELL_LEFT;
        if (atomic_exchange_explicit(&own_wait(ch)->sleeping, 0,
                                     memory_order_relaxed) == 0)
            ch->flags_ |= BELL_RUNG;
    }
    int n = ((ch->flags_ & BELL_SELF) != 0) + ((ch->flags_ & BELL_RUNG) != 0);
    if (n != 0 && hipc__bell_drain(ch->bell_, n) == 0)
        ch->flags_ &= ~(BELL_SELF | BELL_RUNG);
    int rc = bell_ready(ch);
    if (rc < 0)
        return hipc__fail_as(&ch->sys_errno, rc, HIPC_E_SYS);
    ch->flags_ |= BELL_KEPT;
    return HIPC_E_AGAIN;
}

/* A try failed on an end with a doorbell. For the spin time after the
 * last progress it does not arm but keeps the descriptor readable: the
 * caller's loop comes straight back and tries again, so its wait in
 * epoll_wait (or poll) is the spin a blocking call makes in hipc, a try
 * itself never waits, and the peer has no reason to ring. Once the spin
 * time has passed without progress the try arms. The spin is counted
 * from the first failed try after progress, a moment after it. */
static int bell_try_failed(hipc_chan *ch, struct rec_pos *r)
{
    int64_t now = 0;
    (void)now_ns(ch, &now); /* cannot fail (see now_ns) */
    if (ch->pos_ != ch->bell_pos_ && ch->spin_ns >= KEEP_MIN_NS) {
        ch->bell_pos_ = ch->pos_;
        ch->bell_keep_until_ = hipc__sat_add(now, ch->spin_ns);
        return bell_keep(ch);
    }
    if ((ch->flags_ & BELL_KEPT) != 0 && ch->pos_ == ch->bell_pos_ &&
        now < ch->bell_keep_until_)
        return bell_keep(ch);
    return bell_arm(ch, r, now);
}

/* A try (timeout 0) found nothing to do. A peer that closed is news at
 * once; one killed without closing only /proc can tell, so a try asks it
 * too, at most once per HIPC_CHAN_PEER_CHECK_NS. The clock that says when
 * is read once per HIPC_CHAN_PEER_CHECK_TRIES failed tries, as a read
 * costs more than the rest of a failed try: a caller polling an empty or
 * full ring pays a few ns per try for this, and a try that moves a
 * message pays nothing. */
static int try_failed(hipc_chan *ch, struct rec_pos *r)
{
    if ((ch->flags_ & HAS_BELL) != 0) {
        int rc = bell_try_failed(ch, r);
        if (rc != HIPC_E_AGAIN)
            return rc;
        /* An armed try is woken by the timer to look after its peer:
         * read the clock every time, so that look is not skipped. */
        ch->tries_ = 0;
    }
    if ((ch->flags_ & HIPC_CHAN_ANONYMOUS) != 0)
        return HIPC_E_AGAIN;
    enum peer_look look = PEER_SLOT_ONLY;
    int64_t now = 0;
    if (ch->tries_++ % HIPC_CHAN_PEER_CHECK_TRIES == 0) {
        int rc = now_ns(ch, &now);
        /* GCOVR_EXCL_START [libc]: now_ns cannot fail */
        if (rc != HIPC_OK)
            return rc;
        /* GCOVR_EXCL_STOP */
        if (now >= ch->look_at_)
            look = PEER_ASK_PROC;
    }
    int rc = check_peer(ch, look);
    /* A peer found alive is not asked about again for a while; one found
     * gone, or not found out, is asked about again at the next try, so
     * that gone stays gone. */
    if (look == PEER_ASK_PROC && rc == HIPC_OK)
        ch->look_at_ = hipc__sat_add(now, HIPC_CHAN_PEER_CHECK_NS);
    else if (look == PEER_ASK_PROC)
        ch->tries_ = 0;
    if (rc == HIPC_E_PEER_GONE)
        rc = gone_after_last_look(ch, r);
    /* Gone stays gone, for the loop too. The timer's error is not
     * reported: the caller has its answer either way. */
    if (rc == HIPC_E_PEER_GONE && (ch->flags_ & HAS_BELL) != 0)
        (void)bell_ready(ch);
    return rc == HIPC_OK ? HIPC_E_AGAIN : rc;
}

static int wait_ready(hipc_chan *ch, struct rec_pos *r, int64_t timeout_ns)
{
    int rc = attempt(ch, r);
    if (rc != HIPC_E_AGAIN)
        return rc;
    if (timeout_ns == 0)
        return try_failed(ch, r);
    return wait_slow(ch, r, timeout_ns);
}

/* ---- handles ----------------------------------------------------------- */

/* Magic and state are tested one at a time on purpose: compilers fuse
 * the two neighbouring 32-bit fields into one 64-bit load, which cannot
 * take the state from the store that just wrote it and so waits for every
 * earlier store to reach the cache - after a send, for the payload lines
 * the consumer holds. That stall cost the producer half its message rate. */
static int check_handle(const hipc_chan *ch, int role, unsigned state)
{
    if (ch == NULL)
        return HIPC_E_NULL;
    /* A copy of a handle (or one moved after opening) would act on the
     * original's positions behind its back; it is told apart by address. */
    if (ch->magic_ != HANDLE_MAGIC || ch->self_ != ch)
        return HIPC_E_BAD_HANDLE;
    unsigned st = ch->state_;
    if (st == ST_CLOSED)
        return HIPC_E_STALE_HANDLE;
    if (ch->hdr_ == NULL || st == 0 || st > ST_CLOSED)
        return HIPC_E_BAD_HANDLE;
    if (role != ANY_END && (int)ch->role != role)
        return HIPC_E_WRONG_END;
    if (state != ANY_STATE && st != state)
        return HIPC_E_BAD_STATE;
    return HIPC_OK;
}

static int check_timeout(int64_t timeout_ns)
{
    return timeout_ns >= 0 || timeout_ns == HIPC_FOREVER ? HIPC_OK
                                                         : HIPC_E_BAD_TIMEOUT;
}

static int read_positions(hipc_chan *ch, uint32_t *head, uint32_t *tail)
{
    struct chan_hdr *h = hdr(ch);
    *head = atomic_load_explicit(&h->head, memory_order_acquire);
    *tail = atomic_load_explicit(&h->tail, memory_order_acquire);
    if (((*head | *tail) & 7u) != 0 || *tail - *head > ch->mask_ + 1u)
        return HIPC_E_CORRUPT;
    /* A producer killed between a record's seq word and its tail store
     * left a record the tail does not cover. No consumer has read it (the
     * consumer goes by the tail), and its send never returned: the next
     * producer writes over it. (An earlier version took such a record
     * for sent when its header looked right; bytes a producer had reserved
     * but not committed could look right, and came out as a message.) */
    return HIPC_OK;
}

static int identify(hipc_chan *ch)
{
    if ((ch->flags_ & HIPC_CHAN_ANONYMOUS) != 0)
        return HIPC_OK;
    struct hipc__self me;
    int rc = hipc__self_identify(&me, &ch->sys_errno);
    ch->pid_ = me.pid;
    ch->start_ = me.start;
    ch->pidns_ = me.pidns;
    return rc;
}

/* Takes the role's slot for this process (see owner.h). */
static int claim(hipc_chan *ch, uint32_t *prev)
{
    struct hipc__owner o = slot_owner(ch, own_slot(ch));
    struct hipc__self me = self_of(ch);
    return hipc__owner_claim(&o, &me, prev, &ch->holder_pid, &ch->sys_errno);
}

static int check_role(hipc_chan_role role)
{
    return role == HIPC_CHAN_PRODUCER || role == HIPC_CHAN_CONSUMER
               ? HIPC_OK
               : HIPC_E_BAD_ROLE;
}

/* Decides the side once: the one place that asks which end the handle
 * is. Everything else goes through what is resolved here. */
static void resolve_side(hipc_chan *ch, hipc_chan_role role)
{
    struct chan_hdr *h = hdr(ch);
    const struct chan_side *s =
        &sides[role == HIPC_CHAN_PRODUCER ? END_PRODUCER : END_CONSUMER];
    struct chan_wait *wait[] = {
        [END_PRODUCER] = &h->prod_wait, [END_CONSUMER] = &h->cons_wait};
    ch->role = role;
    ch->side_ = s;
    ch->own_slot_ = &h->slot[s->own];
    ch->peer_slot_ = &h->slot[s->peer];
    ch->own_wait_ = wait[s->own];
    ch->peer_wait_ = wait[s->peer];
}

/* Fills the handle (except ch->shm) and takes the role's slot. */
static int attach_core(hipc_chan *ch, void *mem, size_t size,
                       hipc_chan_role role, const hipc_chan_config *cfg)
{
    cfg = cfg != NULL ? cfg : &defaults;
    int rc = check_common_cfg(cfg);
    if (rc != HIPC_OK)
        return rc;
    if ((rc = check_role(role)) != HIPC_OK)
        return rc;
    if (((uintptr_t)mem & 7u) != 0)
        return HIPC_E_BAD_ADDR;
    if (size < HIPC_CHAN_HEADER_SIZE)
        return HIPC_E_BAD_SIZE;
    uint32_t cap = 0, max_msg = 0, head = 0, tail = 0, prev = 0;
    struct chan_hdr *h = mem;
    if ((rc = hipc__ring_meta_read(&h->meta, &chan_kind, size, &cap,
                                   &max_msg)) != HIPC_OK)
        return rc;
    ch->flags_ = cfg->flags;
    ch->hdr_ = h;
    resolve_side(ch, role);
    ch->ring_ = (unsigned char *)mem + HIPC_CHAN_HEADER_SIZE;
    ch->capacity = cap;
    ch->max_msg = max_msg;
    ch->mask_ = cap - 1u;
    if ((rc = identify(ch)) != HIPC_OK)
        return rc;
    int anon = (ch->flags_ & HIPC_CHAN_ANONYMOUS) != 0;
    if (!anon && (rc = claim(ch, &prev)) != HIPC_OK)
        return rc;
    /* Read after the claim: a previous holder of this end is gone now, so
     * the position it published is final. */
    if ((rc = read_positions(ch, &head, &tail)) != HIPC_OK) {
        if (!anon) { /* give the slot back as we found it */
            struct hipc__owner o = slot_owner(ch, own_slot(ch));
            hipc__owner_restore(&o, prev);
        }
        return rc;
    }
    ch->spin_ns = cfg->spin_ns != 0 ? cfg->spin_ns : HIPC_CHAN_SPIN_DEFAULT;
    /* The ends' positions in slot order: the producer's tail, the
     * consumer's head. */
    const struct chan_side *s = ch->side_;
    const uint32_t at[] = {[END_PRODUCER] = tail, [END_CONSUMER] = head};
    ch->pos_ = at[s->own];
    ch->peer_ = at[s->peer];
    ch->state_ = ST_OPEN;
    ch->magic_ = HANDLE_MAGIC;
    ch->self_ = ch;
    return HIPC_OK;
}

int hipc_chan_attach_mem(hipc_chan *ch, void *mem, size_t size,
                         hipc_chan_role role, const hipc_chan_config *cfg)
{
    if (ch == NULL || mem == NULL)
        return HIPC_E_NULL;
    memset(ch, 0, sizeof *ch);
    return attach_core(ch, mem, size, role, cfg);
}

/* Leaves our slot as "closed by us" and wakes a sleeping peer, so it
 * learns at once instead of at the end of its slice. */
static void leave(hipc_chan *ch)
{
    /* A copy of the handle inherited over fork must not sign the parent
     * out: only the process that claimed the end leaves it. */
    if ((ch->flags_ & HIPC_CHAN_ANONYMOUS) != 0 ||
        hipc__sys_getpid() != ch->pid_)
        return;
    /* Release: what we published happens before the peer sees us leave. */
    struct hipc__owner o = slot_owner(ch, own_slot(ch));
    struct hipc__self me = self_of(ch);
    (void)hipc__owner_leave(&o, &me);
    wake_at_close(ch);
}

int hipc_chan_close(hipc_chan *ch)
{
    int rc = check_handle(ch, ANY_END, ANY_STATE);
    if (rc != HIPC_OK)
        return rc;
    leave(ch);
    if ((ch->flags_ & HAS_BELL) != 0)
        hipc__bell_close(ch->bell_);
    if ((ch->flags_ & HAS_RING) != 0)
        (void)hipc__sys_close(ch->ringfd_);
    ch->flags_ &= ~(HAS_BELL | HAS_RING | BELL_SELF | BELL_KEPT);
    ch->state_ = ST_CLOSED;
    ch->hdr_ = NULL;
    ch->ring_ = NULL;
    if ((ch->flags_ & OWN_SHM) != 0) {
        rc = hipc_shm_close(&ch->shm);
        ch->sys_errno = ch->shm.sys_errno;
    }
    return rc;
}

int hipc_chan_get_fd(hipc_chan *ch, int *fd)
{
    int rc = check_handle(ch, ANY_END, ANY_STATE);
    if (rc != HIPC_OK)
        return rc;
    if (fd == NULL)
        return HIPC_E_NULL;
    if ((ch->flags_ & HAS_BELL) == 0) {
        uint32_t *words = ch->bell_name_;
        rc = hipc__bell_open(ch->bell_, words, (uint32_t)hipc__sys_getpid(),
                             &ch->sys_errno);
        if (rc != HIPC_OK)
            return rc;
        /* Readable at first: the caller's first try arms it. */
        rc = bell_ready(ch);
        if (rc < 0) {
            hipc__bell_close(ch->bell_);
            return hipc__fail_as(&ch->sys_errno, rc, HIPC_E_SYS);
        }
        struct chan_wait *w = own_wait(ch);
        for (int i = 0; i < HIPC__BELL_WORDS; i++)
            atomic_store_explicit(&w->bell[i], words[i], memory_order_relaxed);
        /* As after a spin that has ended: the first failed try arms,
         * with a short timer, and drops only our self-ring. */
        ch->flags_ |= HAS_BELL | BELL_KEPT;
        ch->bell_pos_ = ch->pos_;
        ch->bell_keep_until_ = 0;
    }
    *fd = ch->bell_[HIPC__BELL_EP];
    return HIPC_OK;
}

/* ---- channels in hipc segments ----------------------------------------- */

/* A channel segment not formatted yet (HIPC_E_AGAIN from attach_core):
 * its creator formats it while attached, so with nobody attached but us,
 * or with its creator gone, it never will be - HIPC_E_PEER_GONE, and gc
 * collects the segment once we detach. A creator that cannot be seen
 * (another pid namespace, hidepid) may still be at work: HIPC_E_AGAIN. */
static int unformatted(hipc_chan *ch)
{
    hipc_shm_info info;
    hipc_shm_header_info h;
    const unsigned char *base = ch->shm.data;
    int alive = HIPC__PROC_UNKNOWN;
    memset(&info, 0, sizeof info);
    int st = hipc_shm_stat(&ch->shm, &info);
    if (st == HIPC_OK && info.nattch <= 1)
        return HIPC_E_PEER_GONE;
    if (st == HIPC_OK &&
        hipc_shm_header_check(base - HIPC_SHM_HEADER_SIZE, HIPC_SHM_HEADER_SIZE,
                              info.seg_size, &h) == HIPC_OK &&
        h.creator_pid == info.cpid)
        alive = hipc__proc_alive(h.creator_pid, h.creator_start, NULL);
    return alive == HIPC__PROC_GONE ? HIPC_E_PEER_GONE : HIPC_E_AGAIN;
}

/* Attaches the channel inside the open segment ch->shm, or closes the
 * segment again (removing it when we created it) so that nothing leaks. */
static int adopt_segment(hipc_chan *ch, hipc_chan_role role,
                         const hipc_chan_config *cfg, enum seg_origin origin)
{
    int rc = ch->shm.tag == HIPC_CHAN_SHM_TAG ? HIPC_OK : HIPC_E_FOREIGN;
    if (rc == HIPC_OK && origin == SEG_CREATED)
        rc = hipc_chan_init_mem(ch->shm.data, ch->shm.size, cfg);
    if (rc == HIPC_OK)
        rc = attach_core(ch, ch->shm.data, ch->shm.size, role, cfg);
    if (rc == HIPC_E_AGAIN && origin == SEG_OPENED)
        rc = unformatted(ch);
    if (rc == HIPC_OK) {
        ch->flags_ |= OWN_SHM;
        return HIPC_OK;
    }
    int err = ch->sys_errno;
    pid_t holder = ch->holder_pid;
    if (origin == SEG_CREATED)
        (void)hipc_shm_remove(&ch->shm);
    (void)hipc_shm_close(&ch->shm);
    memset(ch, 0, sizeof *ch);
    ch->sys_errno = err;
    ch->holder_pid = holder;
    return rc;
}

int hipc_chan_create(hipc_chan *ch, hipc_key key, hipc_chan_role role,
                     const hipc_chan_config *cfg)
{
    if (ch == NULL)
        return HIPC_E_NULL;
    memset(ch, 0, sizeof *ch);
    cfg = cfg != NULL ? cfg : &defaults;
    size_t need = 0;
    int rc = check_create_cfg(cfg, &need);
    if (rc == HIPC_OK)
        rc = check_role(role);
    if (rc != HIPC_OK)
        return rc;
    /* Prefaulted, so that a shortage of memory is an error code now and
     * not a SIGBUS in the middle of a message; asking for a group- or
     * world-writable mode is taken as meaning it. */
    hipc_shm_config sc = {
        .size = need,
        .flags = HIPC_SHM_PREFAULT |
                 ((cfg->mode & 0022u) != 0 ? HIPC_SHM_SHARED_WRITE : 0u),
        .mode = cfg->mode,
        .tag = HIPC_CHAN_SHM_TAG,
    };
    rc = hipc_shm_create(&ch->shm, key, &sc);
    if (rc != HIPC_OK) {
        ch->sys_errno = ch->shm.sys_errno;
        return rc;
    }
    return adopt_segment(ch, role, cfg, SEG_CREATED);
}

/* What hipc_chan_open and hipc_chan_open_id check alike, before either
 * opens a segment. */
static int open_prepare(hipc_chan *ch, hipc_chan_role role,
                        const hipc_chan_config *cfg)
{
    if (ch == NULL)
        return HIPC_E_NULL;
    memset(ch, 0, sizeof *ch);
    int rc = check_role(role);
    if (rc == HIPC_OK && cfg != NULL)
        rc = check_common_cfg(cfg);
    return rc;
}

/* Takes over the segment the open call found (`rc`: how that went). */
static int adopt_opened(hipc_chan *ch, hipc_chan_role role,
                        const hipc_chan_config *cfg, int rc)
{
    if (rc != HIPC_OK) {
        ch->sys_errno = ch->shm.sys_errno;
        return rc;
    }
    return adopt_segment(ch, role, cfg, SEG_OPENED);
}

/* Which segment to open: by key, or by id. */
struct seg_ref {
    int by_id;
    hipc_key key;
    int id;
};

/* Opens the segment `ref` names into ch->shm. Unless the caller asked for
 * HIPC_CHAN_LAZY, its pages are made present the way create's are (a
 * consumer's first lap over a fresh ring would otherwise take a page
 * fault per page in its hot path), but only once its tag says that it
 * holds a channel: opened without attaching, checked, then attached with
 * HIPC_SHM_PREFAULT, so another program's segment is never populated. */
static int open_segment(hipc_chan *ch, struct seg_ref ref, unsigned flags)
{
    unsigned lazy = flags & HIPC_CHAN_LAZY;
    unsigned how = lazy != 0 ? 0u : HIPC_SHM_NO_ATTACH;
    int rc =
        ref.by_id
            ? hipc_shm_open_id(&ch->shm, ref.id, HIPC_CHAN_HEADER_SIZE, how)
            : hipc_shm_open(&ch->shm, ref.key, HIPC_CHAN_HEADER_SIZE, how);
    if (rc != HIPC_OK || lazy != 0)
        return rc;
    rc = ch->shm.tag == HIPC_CHAN_SHM_TAG
             ? hipc_shm_attach(&ch->shm, HIPC_SHM_PREFAULT)
             : HIPC_E_FOREIGN;
    if (rc != HIPC_OK) {
        int err = ch->shm.sys_errno;
        (void)hipc_shm_close(&ch->shm);
        ch->shm.sys_errno = err;
    }
    return rc;
}

static int open_ref(hipc_chan *ch, struct seg_ref ref, hipc_chan_role role,
                    const hipc_chan_config *cfg)
{
    int rc = open_prepare(ch, role, cfg);
    if (rc != HIPC_OK)
        return rc;
    rc = open_segment(ch, ref, cfg != NULL ? cfg->flags : 0u);
    return adopt_opened(ch, role, cfg, rc);
}

int hipc_chan_open(hipc_chan *ch, hipc_key key, hipc_chan_role role,
                   const hipc_chan_config *cfg)
{
    return open_ref(ch, (struct seg_ref){.key = key}, role, cfg);
}

int hipc_chan_open_id(hipc_chan *ch, int id, hipc_chan_role role,
                      const hipc_chan_config *cfg)
{
    return open_ref(ch, (struct seg_ref){.by_id = 1, .id = id}, role, cfg);
}

int hipc_chan_remove(hipc_chan *ch)
{
    int rc = check_handle(ch, ANY_END, ANY_STATE);
    if (rc != HIPC_OK)
        return rc;
    if ((ch->flags_ & OWN_SHM) == 0)
        return HIPC_E_BAD_STATE;
    rc = hipc_shm_remove(&ch->shm);
    ch->sys_errno = ch->shm.sys_errno;
    return rc;
}

/* The answer for each state of the peer. */
static const int peer_answer[] = {
    [HIPC_CHAN_PEER_NONE] = HIPC_E_NOT_FOUND,
    [HIPC_CHAN_PEER_ALIVE] = HIPC_OK,
    [HIPC_CHAN_PEER_HIDDEN] = HIPC_E_PERM,
    [HIPC_CHAN_PEER_GONE] = HIPC_E_PEER_GONE,
};

int hipc_chan_get_peer(hipc_chan *ch, hipc_chan_peer_info *out)
{
    int rc = check_handle(ch, ANY_END, ANY_STATE);
    if (rc != HIPC_OK)
        return rc;
    if ((ch->flags_ & HIPC_CHAN_ANONYMOUS) != 0)
        return HIPC_E_BAD_STATE;
    struct chan_slot *s = peer_slot(ch);
    uint32_t w = atomic_load_explicit(&s->owner, memory_order_acquire);
    hipc_chan_peer_info info = {HIPC_CHAN_PEER_NONE, 0};
    if (w != 0) {
        int alive = owner_alive(ch, s, w);
        /* A holder caught mid-claim that /proc hides from us. */
        if (alive == HIPC_E_PERM)
            alive = HIPC__PROC_UNKNOWN;
        if (alive < 0)
            return alive;
        info.pid = owner_pid_here(ch, s, w);
        info.state = alive == HIPC__PROC_GONE    ? HIPC_CHAN_PEER_GONE
                     : alive == HIPC__PROC_ALIVE ? HIPC_CHAN_PEER_ALIVE
                                                 : HIPC_CHAN_PEER_HIDDEN;
    }
    if (out != NULL)
        *out = info;
    return peer_answer[info.state];
}

int hipc_chan_set_spin(hipc_chan *ch, int64_t spin_ns)
{
    int rc = check_handle(ch, ANY_END, ANY_STATE);
    if (rc != HIPC_OK)
        return rc;
    if (spin_ns < 0)
        return HIPC_E_BAD_TIMEOUT;
    ch->spin_ns = spin_ns;
    return HIPC_OK;
}

/* ---- messages ---------------------------------------------------------- */

/* The hot paths. Every store a producer makes waits in the store buffer
 * behind the payload lines, which the consumer holds; a message made of
 * nested calls that spill registers (and a stack-protector canary for
 * each address-taken local) fills the buffer and stalls. So the common
 * case - the record fits where the cached positions say - is done inline
 * with the record, our position and the index as its only stores, and
 * everything else (waiting, pads, errors) is out of line. Measured at
 * 64-byte messages: about 2x the message rate of the general path. */
#define FAST_NONE UINT32_MAX

/* Producer: the ring offset of a record of `rec` bytes, if it fits before
 * the end of the ring and in the room the cached head promises. */
static uint32_t fast_room(const hipc_chan *ch, uint32_t rec)
{
    uint32_t pos = ch->pos_, off = pos & ch->mask_, cap = ch->mask_ + 1u;
    return cap - off >= rec && cap - (pos - ch->peer_) >= rec ? off : FAST_NONE;
}

/* Consumer: the offset of the next record, if the cached tail covers it
 * and it is an ordinary message that passes every check; anything else
 * is left to cons_next, which reads the fields again and says why. */
static uint32_t fast_next(const hipc_chan *ch, uint32_t *len)
{
    uint32_t pos = ch->pos_, off = pos & ch->mask_, cap = ch->mask_ + 1u;
    if (ch->peer_ - pos - 1u >= cap)
        return FAST_NONE;
    /* Relaxed: ordered by the acquire load of the tail that covers it. */
    if (atomic_load_explicit(ring_word(ch, off), memory_order_relaxed) !=
        (pos | 1u))
        return FAST_NONE;
    *len = atomic_load_explicit(ring_word(ch, off + 4u), memory_order_relaxed);
    if (*len > ch->max_msg || rec_size(*len) > cap - off)
        return FAST_NONE; /* also a pad: PAD_BIT is above any max_msg */
    return off;
}

static int check_len_timeout(const hipc_chan *ch, size_t len,
                             int64_t timeout_ns)
{
    int rc = check_timeout(timeout_ns);
    return rc == HIPC_OK && len > ch->max_msg ? HIPC_E_MSG_TOO_BIG : rc;
}

/* What a waiting call asks each attempt: room for `len` payload bytes
 * (producer), or a record of at least that many (consumer). */
static struct rec_pos ask(uint32_t len, int64_t timeout_ns)
{
    return (struct rec_pos){.len = len,
                            .rec = rec_size(len),
                            .pace = timeout_ns != 0 ? PACE_WAIT : PACE_TRY};
}

/* What the fast and the waiting path of each call finish with alike. */

static HIPC_INLINE int hand_room(hipc_chan *ch, uint32_t off, uint32_t len,
                                 void **out)
{
    *out = ch->ring_ + off + REC_HDR;
    ch->pending_ = len;
    ch->state_ = ST_RESERVED;
    return HIPC_OK;
}

/* Producer: the record at our position holds `len` bytes; publish it. */
static HIPC_INLINE void put_record(hipc_chan *ch, uint32_t len)
{
    write_rec_hdr(ch, len);
    ch->pos_ += rec_size(len);
    publish_tail(ch);
}

static HIPC_INLINE int hand_msg(hipc_chan *ch, uint32_t off, uint32_t len,
                                const void **out)
{
    *out = ch->ring_ + off + REC_HDR;
    ch->pending_ = rec_size(len);
    ch->state_ = ST_PEEKED;
    return (int)len;
}

static HIPC_INLINE int take_msg(hipc_chan *ch, void *buf, uint32_t off,
                                uint32_t len)
{
    hipc__copy_msg(buf, ch->ring_ + off + REC_HDR, len);
    ch->pos_ += rec_size(len);
    publish_head(ch);
    return (int)len;
}

HIPC_NOINLINE static int reserve_wait(hipc_chan *ch, size_t len, void **out,
                                      int64_t timeout_ns)
{
    struct rec_pos r = ask((uint32_t)len, timeout_ns);
    int rc = wait_ready(ch, &r, timeout_ns);
    return rc != HIPC_OK ? rc : hand_room(ch, r.off, r.len, out);
}

int hipc_chan_reserve(hipc_chan *ch, size_t len, void **out, int64_t timeout_ns)
{
    int rc = check_handle(ch, HIPC_CHAN_PRODUCER, ST_OPEN);
    if (rc != HIPC_OK)
        return rc;
    if (out == NULL)
        return HIPC_E_NULL;
    if ((rc = check_len_timeout(ch, len, timeout_ns)) != HIPC_OK)
        return rc;
    uint32_t off = fast_room(ch, rec_size((uint32_t)len));
    return off == FAST_NONE ? reserve_wait(ch, len, out, timeout_ns)
                            : hand_room(ch, off, (uint32_t)len, out);
}

int hipc_chan_commit(hipc_chan *ch, size_t len)
{
    int rc = check_handle(ch, HIPC_CHAN_PRODUCER, ST_RESERVED);
    if (rc != HIPC_OK)
        return rc;
    if (len > ch->pending_)
        return HIPC_E_BAD_SIZE;
    ch->state_ = ST_OPEN;
    put_record(ch, (uint32_t)len);
    return HIPC_OK;
}

HIPC_NOINLINE static int send_wait(hipc_chan *ch, const void *msg, size_t len,
                                   int64_t timeout_ns)
{
    void *room = NULL;
    int rc = reserve_wait(ch, len, &room, timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    hipc__copy_msg(room, msg, len);
    return hipc_chan_commit(ch, len);
}

int hipc_chan_send(hipc_chan *ch, const void *msg, size_t len,
                   int64_t timeout_ns)
{
    if (msg == NULL && len != 0)
        return HIPC_E_NULL;
    int rc = check_handle(ch, HIPC_CHAN_PRODUCER, ST_OPEN);
    if (rc == HIPC_OK)
        rc = check_len_timeout(ch, len, timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    uint32_t off = fast_room(ch, rec_size((uint32_t)len));
    if (off == FAST_NONE)
        return send_wait(ch, msg, len, timeout_ns);
    hipc__copy_msg(ch->ring_ + off + REC_HDR, msg, len);
    put_record(ch, (uint32_t)len);
    return HIPC_OK;
}

HIPC_NOINLINE static int peek_wait(hipc_chan *ch, const void **out,
                                   int64_t timeout_ns)
{
    struct rec_pos r = ask(0, timeout_ns); /* any record */
    int rc = wait_ready(ch, &r, timeout_ns);
    return rc != HIPC_OK ? rc : hand_msg(ch, r.off, r.len, out);
}

int hipc_chan_peek(hipc_chan *ch, const void **out, int64_t timeout_ns)
{
    int rc = check_handle(ch, HIPC_CHAN_CONSUMER, ST_OPEN);
    if (rc != HIPC_OK)
        return rc;
    if (out == NULL)
        return HIPC_E_NULL;
    if ((rc = check_timeout(timeout_ns)) != HIPC_OK)
        return rc;
    uint32_t len = 0, off = fast_next(ch, &len);
    return off == FAST_NONE ? peek_wait(ch, out, timeout_ns)
                            : hand_msg(ch, off, len, out);
}

int hipc_chan_release(hipc_chan *ch)
{
    int rc = check_handle(ch, HIPC_CHAN_CONSUMER, ST_PEEKED);
    if (rc != HIPC_OK)
        return rc;
    ch->pos_ += ch->pending_;
    ch->state_ = ST_OPEN;
    publish_head(ch);
    return HIPC_OK;
}

HIPC_NOINLINE static int recv_wait(hipc_chan *ch, void *buf, size_t cap,
                                   int64_t timeout_ns)
{
    struct rec_pos r = ask(0, timeout_ns); /* any record */
    int rc = wait_ready(ch, &r, timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    if (r.len > cap)
        return HIPC_E_BUF_TOO_SMALL; /* the message stays for a bigger buffer */
    return take_msg(ch, buf, r.off, r.len);
}

int hipc_chan_recv(hipc_chan *ch, void *buf, size_t cap, int64_t timeout_ns)
{
    if (buf == NULL && cap != 0)
        return HIPC_E_NULL;
    int rc = check_handle(ch, HIPC_CHAN_CONSUMER, ST_OPEN);
    if (rc == HIPC_OK)
        rc = check_timeout(timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    uint32_t len = 0, off = fast_next(ch, &len);
    if (off == FAST_NONE || len > cap)
        return recv_wait(ch, buf, cap, timeout_ns);
    return take_msg(ch, buf, off, len);
}
