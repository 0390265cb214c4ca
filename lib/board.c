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

/* The board's payload: the sleepers word, alone on its line. */
#define BOARD_PAYLOAD 64u

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(unsigned),
               "futex words are plain 32-bit integers");

static void board_clear(struct hipc__board *b)
{
    b->sleepers = NULL;
    b->base = NULL;
    b->writer = 0;
    b->id = -1;
    b->pid = 0;
    b->start = 0;
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

void hipc__board_detach(struct hipc__board *b)
{
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
static int board_check(void *base, int id, const struct ref_copy *c, int *err)
{
    struct shmid_ds ds;
    memset(&ds, 0, sizeof ds);
    int r = hipc__sys_shmctl(id, IPC_STAT, &ds);
    if (r < 0)
        return hipc__shm_id_fail(err, r, HIPC_E_NOT_FOUND);
    size_t size = (size_t)ds.shm_segsz;
    if (size < HIPC_SHM_HEADER_SIZE + BOARD_PAYLOAD ||
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
        info.requested != BOARD_PAYLOAD ||
        (uint32_t)info.creator_pid != c->pid || info.creator_start != c->start)
        return HIPC_E_CORRUPT;
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
    rc = board_check(base, (int)c.id, &c, sys_errno);
    if (rc != HIPC_OK) {
        (void)hipc__sys_shmdt(base);
        return rc;
    }
    b->base = base;
    b->sleepers =
        (_Atomic uint32_t *)((unsigned char *)base + HIPC_SHM_HEADER_SIZE);
    b->id = (int)c.id;
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

int hipc__board_wake(const struct hipc__board *b, _Atomic uint32_t *word)
{
    if (b->sleepers == NULL || atomic_load(b->sleepers) == 0)
        return 0;
    int r = hipc__sys_futex_wake(futex_word(word), INT_MAX);
    return r < 0 ? r : 0;
}
