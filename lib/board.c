/* SPDX-License-Identifier: MIT */
/* hipc — the board: where read-only readers announce that they sleep (see
 * board.h). */
#include "board.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hipc/error.h"
#include "internal.h"
#include "shm_priv.h"
#include "sys.h"

/* The board's payload: the sleepers word, alone on its line (all a
 * 1.1.0 board has: LEGACY_PAYLOAD), then the bell slots. */
#define LEGACY_PAYLOAD 64u
#define BOARD_PAYLOAD (LEGACY_PAYLOAD + HIPC__BOARD_BELLS * 16u)

/* A bell slot: free (0), or claimed (CLAIMED | a tag mixed from the
 * bell's name, so that two bells, of one process or of a reused pid,
 * claim with different values) and, while its reader waits on its bell,
 * ARMED; then the bell's name. Anybody can write any of it: the writer
 * only takes ARMED down, rings the name, and frees a claim whose bell the
 * kernel says is gone.
 *
 * A claim's owner is alive while its bell's name is bound: the abstract
 * name lives exactly as long as a socket bound to it (closed or killed,
 * the kernel drops it), and it carries the owner's pid and the clock at
 * its making, so a reused pid makes another name. A ring to a name
 * nobody holds is refused (ECONNREFUSED), without /proc, in any pid
 * namespace. What a scribbler can do with this it could do anyway: name
 * a dead bell in a live reader's slot to have the claim freed (it could
 * store 0), or a live bell in a dead one's to keep it (it could claim it).
 * A reader whose claim was taken sees that at its next arming and claims
 * again. */
struct bell_slot {
    _Atomic uint32_t state;
    _Atomic uint32_t name[HIPC__BELL_WORDS];
};
#define SLOT_ARMED 0x80000000u
#define SLOT_CLAIMED 0x40000000u

_Static_assert(sizeof(struct bell_slot) == 16u, "slots are 16 bytes");

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(unsigned),
               "futex words are plain 32-bit integers");

/* Clears what names the board held (the bell, kept across boards, is
 * not touched). */
static void board_clear(struct hipc__board *b)
{
    b->sleepers = NULL;
    b->base = NULL;
    b->writer = 0;
    b->id = -1;
    b->pid = 0;
    b->start = 0;
    b->bells = 0;
    b->bell.slot = 0;
}

static struct bell_slot *slot_at(const struct hipc__board *b, int i)
{
    unsigned char *p = (unsigned char *)(uintptr_t)b->sleepers;
    return (struct bell_slot *)(void *)(p + LEGACY_PAYLOAD +
                                        (size_t)i * sizeof(struct bell_slot));
}

/* Each read bit grants the matching write bit too: whoever may read the
 * data segment may announce. */
static unsigned board_mode(unsigned mode)
{
    return mode | 0600u | ((mode & 0444u) >> 1);
}

int hipc__board_create(struct hipc__board *b, unsigned mode, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    board_clear(b);
    memset(&b->bell, 0, sizeof b->bell); /* a writer only rings */
    if (mode > 0777u)
        return HIPC_E_BAD_MODE;
    hipc_shm_config cfg = {.size = BOARD_PAYLOAD,
                           .flags = HIPC_SHM_REMOVE_ON_ATTACH |
                                    HIPC_SHM_SHARED_WRITE,
                           .mode = board_mode(mode),
                           .tag = HIPC__BOARD_TAG};
    int rc = hipc_shm_create(&b->shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    hipc__set_errno(sys_errno, b->shm.sys_errno);
    if (rc != HIPC_OK)
        return rc;
    b->base = b->shm.base_;
    b->sleepers = (_Atomic uint32_t *)b->shm.data;
    b->writer = 1;
    b->bells = 1;
    b->id = b->shm.id;
    /* What our header says, as readers will check it. */
    b->pid = (uint32_t)b->shm.hpid_;
    b->start = b->shm.hstart_;
    return HIPC_OK;
}

void hipc__board_publish(const struct hipc__board *b,
                         struct hipc__board_ref *ref)
{
    atomic_store_explicit(&ref->id, HIPC__BOARD_NONE, memory_order_relaxed);
    /* Release: a reader that sees NONE stored above before the identity
     * below cannot pair an old id with the new identity. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&ref->pid, b->pid, memory_order_relaxed);
    atomic_store_explicit(&ref->start_lo, (uint32_t)b->start,
                          memory_order_relaxed);
    atomic_store_explicit(&ref->start_hi, (uint32_t)(b->start >> 32),
                          memory_order_relaxed);
    uint32_t id = b->sleepers != NULL ? (uint32_t)b->id : HIPC__BOARD_NONE;
    atomic_store_explicit(&ref->id, id, memory_order_release);
}

/* Gives back the slot we claimed on the board held (if it still shows our
 * claim: a scribbler's value is left as it is). */
static void slot_release(struct hipc__board *b)
{
    hipc__board_bell_disarm(b);
    if (b->bell.slot == 0)
        return;
    uint32_t mine = b->bell.tag;
    (void)atomic_compare_exchange_strong(&slot_at(b, b->bell.slot - 1)->state,
                                         &mine, 0u);
    b->bell.slot = 0;
}

void hipc__board_detach(struct hipc__board *b)
{
    if (b->sleepers != NULL && !b->writer)
        slot_release(b);
    if (b->writer && b->bell.ring_have) {
        (void)hipc__sys_close(b->bell.ring);
        b->bell.ring_have = 0;
    }
    if (b->sleepers != NULL && b->writer)
        (void)hipc_shm_close(&b->shm);
    else if (b->sleepers != NULL)
        (void)hipc__sys_shmdt(b->base);
    board_clear(b);
}

/* One consistent reading of a ref: the id before and after the identity. */
struct ref_copy {
    uint32_t id, pid;
    uint64_t start;
};

static int ref_read(const struct hipc__board_ref *ref, struct ref_copy *c)
{
    struct hipc__board_ref *r = (struct hipc__board_ref *)(uintptr_t)ref;
    c->id = atomic_load_explicit(&r->id, memory_order_acquire);
    c->pid = atomic_load_explicit(&r->pid, memory_order_relaxed);
    c->start =
        atomic_load_explicit(&r->start_lo, memory_order_relaxed) |
        (uint64_t)atomic_load_explicit(&r->start_hi, memory_order_relaxed)
            << 32;
    atomic_thread_fence(memory_order_acquire);
    uint32_t again = atomic_load_explicit(&r->id, memory_order_relaxed);
    if (c->id == HIPC__BOARD_NONE || c->id > INT_MAX)
        return HIPC_E_NOT_FOUND;
    return again == c->id ? HIPC_OK : HIPC_E_CORRUPT;
}

/* Is the mapping at `base` the board that `c` names? Size first (from the
 * IPC_STAT taken after the attach: the mapped segment's), then the page,
 * then one copy of the header. */
static int board_check(void *base, int id, const struct ref_copy *c, int *bells,
                       int *err)
{
    struct shmid_ds ds;
    memset(&ds, 0, sizeof ds);
    int r = hipc__sys_shmctl(id, IPC_STAT, &ds);
    if (r < 0)
        return hipc__shm_id_fail(err, r, HIPC_E_NOT_FOUND);
    size_t size = (size_t)ds.shm_segsz;
    if (size < HIPC_SHM_HEADER_SIZE + LEGACY_PAYLOAD ||
        size > hipc__sys_page_size())
        return HIPC_E_CORRUPT;
    int rc = hipc__shm_page_present(base, MADV_POPULATE_WRITE, err);
    if (rc != HIPC_OK)
        return rc;
    unsigned char copy[HIPC_SHM_HEADER_SIZE];
    uint32_t magic =
        atomic_load_explicit((_Atomic uint32_t *)base, memory_order_acquire);
    memcpy(copy, base, sizeof copy);
    memcpy(copy, &magic, sizeof magic);
    hipc_shm_header_info info;
    rc = hipc_shm_header_check(copy, sizeof copy, size, &info);
    if (rc != HIPC_OK || info.tag != HIPC__BOARD_TAG ||
        (info.requested != LEGACY_PAYLOAD && info.requested != BOARD_PAYLOAD) ||
        size < HIPC_SHM_HEADER_SIZE + info.requested ||
        (uint32_t)info.creator_pid != c->pid || info.creator_start != c->start)
        return HIPC_E_CORRUPT;
    /* A 1.1.0 writer's board has no bell slots: its readers' bells beat. */
    *bells = info.requested == BOARD_PAYLOAD;
    return HIPC_OK;
}

int hipc__board_attach(struct hipc__board *b, const struct hipc__board_ref *ref,
                       int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    struct ref_copy c;
    int rc = ref_read(ref, &c);
    if (rc == HIPC_OK && b->sleepers != NULL && b->id == (int)c.id &&
        b->pid == c.pid && b->start == c.start)
        return HIPC_OK;
    hipc__board_detach(b);
    if (rc != HIPC_OK)
        return rc;
    void *base = NULL;
    int r = hipc__sys_shmat((int)c.id, NULL, 0, &base);
    if (r < 0)
        return hipc__shm_id_fail(sys_errno, r, HIPC_E_NOT_FOUND);
    int bells = 0;
    rc = board_check(base, (int)c.id, &c, &bells, sys_errno);
    if (rc != HIPC_OK) {
        (void)hipc__sys_shmdt(base);
        return rc;
    }
    b->base = base;
    b->sleepers =
        (_Atomic uint32_t *)((unsigned char *)base + HIPC_SHM_HEADER_SIZE);
    b->id = (int)c.id;
    b->bells = bells;
    b->pid = c.pid;
    b->start = c.start;
    return HIPC_OK;
}

/* The kernel sees the futex word as the plain 32-bit integer it is. */
static const unsigned *futex_word(const _Atomic uint32_t *w)
{
    return (const unsigned *)(uintptr_t)w;
}

int hipc__board_wait(struct hipc__board *b, const _Atomic uint32_t *word,
                     uint32_t seen, int64_t ns, int *sys_errno)
{
    _Atomic uint32_t *w = (_Atomic uint32_t *)(uintptr_t)word;
    _Atomic uint32_t *sleepers = b != NULL ? b->sleepers : NULL;
    /* Seq_cst, both: the announcement is in the single order before our
     * look, and the writer's store before its look at the board, so of
     * the two at least one sees the other's. */
    if (sleepers != NULL)
        atomic_fetch_add(sleepers, 1u);
    int rc = HIPC_E_AGAIN;
    if (atomic_load(w) != seen)
        rc = HIPC_OK;
    else if (ns > 0) {
        if (ns > HIPC__BOARD_SLICE_NS)
            ns = HIPC__BOARD_SLICE_NS;
        struct timespec ts = {(time_t)(ns / 1000000000),
                              (long)(ns % 1000000000)};
        int f = hipc__sys_futex_wait(futex_word(w), seen, &ts);
        if (f < 0 && f != -ETIMEDOUT && f != -EAGAIN && f != -EINTR)
            rc = hipc__fail_as(sys_errno, f, HIPC_E_SYS);
        else if (atomic_load_explicit(w, memory_order_acquire) != seen)
            rc = HIPC_OK;
    }
    if (sleepers != NULL)
        atomic_fetch_sub(sleepers, 1u);
    return rc;
}

/* Takes down every announcement in the slots and rings its bell. Each
 * slot is read once; a ring that cannot be made is left to the bell's
 * timer. */
static void ring_bells(struct hipc__board *b)
{
    for (int i = 0; i < HIPC__BOARD_BELLS; i++) {
        struct bell_slot *s = slot_at(b, i);
        uint32_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
        /* Acquire: the name the reader stored before it armed. */
        if ((v & SLOT_ARMED) == 0 ||
            !atomic_compare_exchange_strong_explicit(&s->state, &v,
                                                     v & ~SLOT_ARMED,
                                                     memory_order_acquire,
                                                     memory_order_relaxed))
            continue;
        /* Whoever takes an announcement down takes its count too: after
         * a ring the next publish scans nothing, though the reader has not
         * tried yet (a consumer draining a stream). */
        atomic_fetch_sub_explicit(b->sleepers, HIPC__BOARD_BELL_ONE,
                                  memory_order_relaxed);
        uint32_t w[HIPC__BELL_WORDS];
        for (int k = 0; k < HIPC__BELL_WORDS; k++)
            w[k] = atomic_load_explicit(&s->name[k], memory_order_relaxed);
        int have = b->bell.ring_have;
        int r = hipc__bell_ring(&b->bell.ring, &have, w);
        b->bell.ring_have = (unsigned char)have;
        /* Nobody holds the bell: its reader is gone; its claim (unless
         * changed meanwhile) is freed for the next reader. */
        uint32_t claim = v & ~SLOT_ARMED;
        if (r == -ECONNREFUSED)
            (void)atomic_compare_exchange_strong(&s->state, &claim, 0u);
    }
}

int hipc__board_wake(struct hipc__board *b, _Atomic uint32_t *word)
{
    if (b->sleepers == NULL)
        return 0;
    uint32_t v = atomic_load(b->sleepers);
    if (v == 0)
        return 0;
    /* Only a writer wakes, and a writer's board always has the slots. */
    if (v >= HIPC__BOARD_BELL_ONE)
        ring_bells(b);
    if ((v & (HIPC__BOARD_BELL_ONE - 1u)) == 0)
        return 0;
    int r = hipc__sys_futex_wake(futex_word(word), INT_MAX);
    return r < 0 ? r : 0;
}

/* ---- bells -------------------------------------------------------------- */

/* A claim's tag: the bell's name folded into 30 bits. */
static uint32_t name_mix(const uint32_t w[HIPC__BELL_WORDS])
{
    return (w[0] * 0x9e3779b1u) ^ w[1] ^ (w[2] * 0x85ebca6bu);
}

int hipc__board_bell_open(struct hipc__board *b, int *fd, int *err)
{
    struct hipc__board_bell *bl = &b->bell;
    if (!bl->have) {
        uint32_t pid = (uint32_t)hipc__sys_getpid();
        int rc = hipc__bell_open(bl->fds, bl->name, pid, err);
        if (rc != HIPC_OK)
            return rc;
        /* Readable at first: the caller's first try arms it. */
        bl->due = 0;
        bl->self = 0;
        int r = hipc__board_bell_ready(b);
        if (r < 0) {
            hipc__bell_close(bl->fds);
            return hipc__fail_as(err, r, HIPC_E_SYS);
        }
        bl->tag =
            SLOT_CLAIMED | (name_mix(bl->name) & ~(SLOT_ARMED | SLOT_CLAIMED));
        bl->look_at = 0;
        bl->probe_at = 0;
        bl->probe_next = 0;
        bl->armed = bl->rung = 0;
        bl->have = 1;
    }
    *fd = bl->fds[HIPC__BELL_EP];
    return HIPC_OK;
}

void hipc__board_bell_close(struct hipc__board *b)
{
    if (b->bell.have)
        hipc__bell_close(b->bell.fds);
    b->bell.have = 0;
}

void hipc__board_bell_disarm(struct hipc__board *b)
{
    struct hipc__board_bell *bl = &b->bell;
    if (!bl->armed)
        return;
    bl->armed = 0;
    uint32_t up = bl->tag | SLOT_ARMED;
    if (atomic_compare_exchange_strong(&slot_at(b, bl->slot - 1)->state, &up,
                                       bl->tag))
        atomic_fetch_sub(b->sleepers, HIPC__BOARD_BELL_ONE);
    else
        bl->rung = 1; /* taken down by a writer (count and all): it rang */
}

/* Makes slot `i`, found as `from`, ours and writes our bell's name there.
 * An announcement taken over this way is taken down with its count. */
static int slot_take(struct hipc__board *b, int i, uint32_t from)
{
    struct bell_slot *s = slot_at(b, i);
    /* GCOVR_EXCL_START [race]: the slot changed since it was read */
    if (!atomic_compare_exchange_strong(&s->state, &from, b->bell.tag))
        return 0;
    /* GCOVR_EXCL_STOP */
    if (from & SLOT_ARMED)
        atomic_fetch_sub(b->sleepers, HIPC__BOARD_BELL_ONE);
    for (int k = 0; k < HIPC__BELL_WORDS; k++)
        atomic_store_explicit(&s->name[k], b->bell.name[k],
                              memory_order_relaxed);
    b->bell.slot = i + 1;
    return 1;
}

/* Is the bell a claim in slot `i` names gone? One ring, from our own
 * bell's socket, to the name read once: refused means no socket holds it.
 * A live owner hears a spurious ring (allowed); any other answer (sent,
 * full, a fault) keeps the claim. */
static int slot_dead(struct hipc__board *b, int i)
{
    struct bell_slot *s = slot_at(b, i);
    uint32_t w[HIPC__BELL_WORDS];
    for (int k = 0; k < HIPC__BELL_WORDS; k++)
        w[k] = atomic_load_explicit(&s->name[k], memory_order_relaxed);
    int sock = b->bell.fds[HIPC__BELL_SOCK], have = 1;
    return hipc__bell_ring(&sock, &have, w) == -ECONNREFUSED;
}

/* Claims a free slot on the board held; on a full board, once per slice,
 * probes up to HIPC__BOARD_PROBES claims (round the board from where the
 * last probe stopped) and takes over the first whose bell is gone. Each
 * slot is read once per look; nothing read is used as an index. */
static int slot_claim(struct hipc__board *b, int64_t now)
{
    struct hipc__board_bell *bl = &b->bell;
    for (int i = 0; i < HIPC__BOARD_BELLS; i++)
        if (atomic_load_explicit(&slot_at(b, i)->state, memory_order_relaxed) ==
                0 &&
            slot_take(b, i, 0u))
            return 1;
    if (now < bl->probe_at)
        return 0;
    bl->probe_at = now + HIPC__BOARD_SLICE_NS;
    for (int n = 0; n < HIPC__BOARD_PROBES; n++) {
        int i = bl->probe_next++ % HIPC__BOARD_BELLS;
        uint32_t v =
            atomic_load_explicit(&slot_at(b, i)->state, memory_order_relaxed);
        if ((v == 0 || slot_dead(b, i)) && slot_take(b, i, v))
            return 1;
    }
    return 0;
}

/* Announces on the slot we claimed, if it still shows our claim (release:
 * the name before the flag that sends a writer to it; seq_cst add: the
 * flag before our look at the word). A claim freed or taken by someone
 * else is ours no more: 0, and we hold no slot. */
static int slot_announce(struct hipc__board *b)
{
    struct hipc__board_bell *bl = &b->bell;
    uint32_t mine = bl->tag;
    if (bl->slot == 0)
        return 0;
    if (!atomic_compare_exchange_strong_explicit(
            &slot_at(b, bl->slot - 1)->state, &mine, bl->tag | SLOT_ARMED,
            memory_order_release, memory_order_relaxed)) {
        bl->slot = 0;
        return 0;
    }
    atomic_fetch_add(b->sleepers, HIPC__BOARD_BELL_ONE);
    bl->armed = 1;
    return 1;
}

int hipc__board_bell_arm(struct hipc__board *b, const _Atomic uint32_t *word,
                         uint32_t seen, int64_t now, int64_t ns, int *err)
{
    struct hipc__board_bell *bl = &b->bell;
    /* A ring is queued only when a writer took our announcement; a
     * wake-up without news (the timer, a flood) drops all there are. */
    int drain = bl->rung ? 1 : seen == bl->seen ? HIPC__BELL_DRAIN_ALL : 0;
    drain += bl->self; /* and our own ring, if queued */
    bl->rung = 0;
    bl->seen = seen;
    /* A drain stopped by an error may have left our self-ring: still
     * counted, so the next self-ring is not sent beside it. */
    if (hipc__bell_drain(bl->fds, drain) == 0)
        bl->self = 0;
    /* A running timer that runs out soon enough is kept: setting it is a
     * syscall. */
    if (!(now < bl->due && bl->due - now <= ns)) {
        int rc = hipc__bell_arm(bl->fds, ns, err);
        if (rc != HIPC_OK)
            return rc;
        bl->due = now + ns; /* CLOCK_MONOTONIC nanoseconds: far from wrapping */
    }
    if (b->bells && !slot_announce(b) && slot_claim(b, now))
        (void)slot_announce(b);
    _Atomic uint32_t *w = (_Atomic uint32_t *)(uintptr_t)word;
    if (atomic_load(w) == seen)
        return HIPC_E_AGAIN;
    hipc__board_bell_disarm(b);
    return HIPC_OK;
}

int hipc__board_bell_keep(struct hipc__board *b, int *err)
{
    struct hipc__board_bell *bl = &b->bell;
    int n = bl->self + bl->rung;
    if (n != 0 && hipc__bell_drain(bl->fds, n) == 0)
        bl->self = bl->rung = 0;
    int rc = hipc__board_bell_ready(b);
    return rc < 0 ? hipc__fail_as(err, rc, HIPC_E_SYS) : HIPC_E_AGAIN;
}

int hipc__board_bell_ready(struct hipc__board *b)
{
    struct hipc__board_bell *bl = &b->bell;
    if (bl->self)
        return 0;
    if (hipc__bell_self_ring(bl->fds, bl->name) == 0) {
        bl->self = 1;
        return 0;
    }
    bl->due = 0; /* run out: the next arming sets it again */
    return hipc__sys_timerfd_once(bl->fds[HIPC__BELL_TIMER], 1);
}
