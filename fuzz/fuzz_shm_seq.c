/* SPDX-License-Identifier: MIT */
/* Fuzz target: sequences of shared-memory operations over a few handles.
 *
 * The input is a small program: each operation is an opcode byte followed
 * by its operands (create, create_fresh, open, open_id, attach, detach,
 * remove, close, stat, stat_id, remove_id, write, header scribble, limits,
 * the inspect calls list, find_id and gc, a create that takes the id a
 * handle last named, and any call on a copy of a handle),
 * run over HANDLES handle slots. Keys stay in a private range of KEYS keys,
 * sizes are bounded, and the namespace's own SysV limits are lowered.
 *
 * After every step: every return is a code from the error table; what one
 * attachment writes, every other attachment of the segment reads; a removed
 * segment cannot be attached or opened again; an opened payload is
 * addressable to its last byte; a handle whose id the kernel handed to a
 * newer segment (the model knows each id's generation) never succeeds at
 * attach, stat or remove on it; a copy of a handle is HIPC_E_BAD_HANDLE
 * for every call. After every input: all handles are closed,
 * every segment made is removed, and no segment or descriptor is left. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "hipc/shm.h"
#include "support.h"

#define HANDLES 4
#define KEYS 8
#define KEY_BASE 0x68660000 /* "hf": nothing else here uses these keys */
#define MAX_OPS 48
#define MAX_TRACKED 64
#define PAGE_BYTES 4096u

/* The namespace limits: a quarter MiB per segment, 1 MiB in all, 8 ids. */
#define LIMIT_SHMMAX (256ul * 1024ul)
#define LIMIT_SHMALL 256ul
#define LIMIT_SHMMNI 8ul

struct slot {
    hipc_shm shm;
    int open;     /* the last create/open succeeded and close did not run */
    int rdonly;   /* attached read-only */
    int raw;      /* opened without a header: data is the segment start */
    int last_id;  /* the id it last named, even after close */
    unsigned gen; /* generation of the segment it opened (see world.gen) */
    struct shmid_ds seen; /* IPC_STAT of that segment when it was opened */
};

struct world {
    struct slot s[HANDLES];
    int made[MAX_TRACKED]; /* ids created by this input */
    int nmade;
    /* What the creator asked for, per made id, to check what openers see.
     * `dirty` marks a segment whose header bytes the input overwrote. */
    struct made_info {
        size_t size;
        uint32_t tag;
        int raw, dirty;
    } info[MAX_TRACKED];
    int removed[MAX_TRACKED]; /* ids known to be marked for removal */
    int nremoved;
    /* Per made id, which of the segments created at that id is the latest:
     * the kernel reuses ids, so an id alone does not name a segment. */
    unsigned gen[MAX_TRACKED];
    unsigned next_gen;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hipc_fuzz_isolate();
    (void)hipc_fuzz_limit_shm(LIMIT_SHMMAX, LIMIT_SHMALL, LIMIT_SHMMNI);
    return 0;
}

static void track(int *ids, int *n, int id)
{
    for (int i = 0; i < *n; i++)
        if (ids[i] == id)
            return;
    if (*n < MAX_TRACKED)
        ids[(*n)++] = id;
}

static struct made_info *made_info(struct world *w, int id)
{
    for (int i = 0; i < w->nmade; i++)
        if (w->made[i] == id)
            return &w->info[i];
    return NULL;
}

static void untrack(int *ids, int *n, int id)
{
    for (int i = 0; i < *n; i++)
        if (ids[i] == id)
            ids[i] = ids[--*n];
}

/* The generation now at `id`: 0 for a segment the input did not make. */
static unsigned gen_at(const struct world *w, int id)
{
    for (int i = 0; i < w->nmade; i++)
        if (w->made[i] == id)
            return w->gen[i];
    return 0;
}

/* A later segment at the same id that nothing tells apart from the first
 * (shm.h's stated limit): made by the same process under the same key,
 * with the same size, within the same second. */
static int twin(const struct slot *sl)
{
    struct shmid_ds now;
    if (hipc_fuzz_shmctl(sl->shm.id, IPC_STAT, &now) != 0)
        return 0;
    /* A segment marked for removal shows key 0: its key tells nothing. */
    int marked = (now.shm_perm.mode & SHM_DEST) && now.shm_perm.__key == 0;
    return (now.shm_perm.__key == sl->seen.shm_perm.__key || marked) &&
           now.shm_cpid == sl->seen.shm_cpid &&
           now.shm_ctime == sl->seen.shm_ctime &&
           now.shm_segsz == sl->seen.shm_segsz;
}

/* Whether a call on the handle may act on the segment now at its id: its
 * own, or a newer one that the kernel gave the same id and that nothing
 * tells apart from it (its twin). */
static int may_act(const struct world *w, const struct slot *sl)
{
    return sl->gen == gen_at(w, sl->shm.id) || twin(sl);
}

/* A successful attach or stat acted on the handle's own segment or its
 * twin, never on another newer one. (Remove asks may_act() before the
 * call: a remove can destroy the twin, which can then not be compared.) */
static void check_same_segment(const struct world *w, const struct slot *sl)
{
    HIPC_FUZZ_CHECK(may_act(w, sl));
}

static int is_removed(const struct world *w, int id)
{
    for (int i = 0; i < w->nremoved; i++)
        if (w->removed[i] == id)
            return 1;
    return 0;
}

static key_t pick_key(hipc_fuzz_in *in)
{
    uint8_t b = hipc_fuzz_u8(in);
    return b == 0 ? HIPC_SHM_KEY_PRIVATE : (key_t)(KEY_BASE + b % KEYS);
}

/* Small sizes most of the time; sometimes around or past the namespace
 * limit; sometimes sizes that overflow before the kernel is asked. */
static size_t pick_size(hipc_fuzz_in *in)
{
    static const size_t huge[] = {SIZE_MAX,
                                  SIZE_MAX - 63u,
                                  SIZE_MAX - 4096u,
                                  (size_t)PTRDIFF_MAX,
                                  (size_t)PTRDIFF_MAX + 1u,
                                  LIMIT_SHMMAX - 64u,
                                  LIMIT_SHMMAX - 63u,
                                  LIMIT_SHMMAX,
                                  LIMIT_SHMMAX + 1u};
    uint16_t v = hipc_fuzz_u16(in);
    if ((v & 0xf000u) == 0xf000u)
        return huge[(v & 0x0fffu) % (sizeof huge / sizeof huge[0])];
    return v % (3u * PAGE_BYTES + 1u);
}

static int pick_id(const struct world *w, hipc_fuzz_in *in)
{
    uint8_t b = hipc_fuzz_u8(in);
    if (b < 0x80)
        return w->s[b % HANDLES].last_id;
    if (b < 0xc0)
        return w->nmade > 0 ? w->made[b % w->nmade] : 0;
    return (int)hipc_fuzz_u32(in);
}

/* Bytes of the segment before `data` for this handle. */
static size_t payload_offset(const struct slot *sl)
{
    return sl->raw ? 0 : HIPC_SHM_HEADER_SIZE;
}

/* Touches the first and last payload byte: a size larger than the mapping
 * faults here instead of in some caller. */
static void check_addressable(struct slot *sl)
{
    if (sl->shm.data == NULL || sl->shm.size == 0)
        return;
    volatile uint8_t *d = sl->shm.data;
    uint8_t first = d[0], last = d[sl->shm.size - 1];
    if (!sl->rdonly) {
        d[0] = first;
        d[sl->shm.size - 1] = last;
    }
    HIPC_FUZZ_CHECK(sl->shm.size + payload_offset(sl) <= sl->shm.seg_size);
}

static void opened(struct world *w, struct slot *sl, int rc, unsigned flags)
{
    hipc_fuzz_trace("create/open", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    sl->open = rc == HIPC_OK;
    if (!sl->open)
        return;
    sl->last_id = sl->shm.id;
    sl->gen = gen_at(w, sl->shm.id);
    HIPC_FUZZ_CHECK(hipc_fuzz_shmctl(sl->shm.id, IPC_STAT, &sl->seen) == 0);
    sl->raw = (flags & HIPC_SHM_RAW) != 0;
    sl->rdonly = (flags & HIPC_SHM_RDONLY) != 0;
    HIPC_FUZZ_CHECK((sl->shm.data != NULL) == !(flags & HIPC_SHM_NO_ATTACH));
    if (flags & HIPC_SHM_REMOVE_ON_ATTACH)
        track(w->removed, &w->nremoved, sl->shm.id);
    check_addressable(sl);
}

/* A handle slot is reused: the old handle is closed first, as a careful
 * caller would, so the sequence never loses an attachment. */
static struct slot *fresh_slot(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    if (sl->open)
        HIPC_FUZZ_CHECK(hipc_shm_close(&sl->shm) == HIPC_OK);
    sl->open = 0;
    return sl;
}

static void op_create(struct world *w, hipc_fuzz_in *in, int fresh)
{
    struct slot *sl = fresh_slot(w, in);
    key_t key = pick_key(in);
    hipc_shm_config cfg = {pick_size(in), hipc_fuzz_u8(in) & 0x7fu,
                           hipc_fuzz_u16(in) & 01777u, hipc_fuzz_u32(in)};
    /* A config with nothing set goes as NULL: the two must mean the same. */
    const hipc_shm_config *pc =
        (cfg.size | cfg.flags | cfg.mode | cfg.tag) == 0 ? NULL : &cfg;
    int rc = fresh ? hipc_shm_create_fresh(&sl->shm, key, pc)
                   : hipc_shm_create(&sl->shm, key, pc);
    /* A zero size is the default size (a zeroed config is defaults). */
    size_t want = cfg.size != 0 ? cfg.size : HIPC_SHM_DEFAULT_SIZE;
    if (rc == HIPC_OK) {
        /* A new segment at an id: whatever was marked there has gone. */
        untrack(w->removed, &w->nremoved, sl->shm.id);
        track(w->made, &w->nmade, sl->shm.id);
        struct made_info *mi = made_info(w, sl->shm.id);
        if (mi != NULL) {
            *mi = (struct made_info){want, cfg.tag,
                                     (cfg.flags & HIPC_SHM_RAW) != 0, 0};
            w->gen[mi - w->info] = ++w->next_gen;
        }
        HIPC_FUZZ_CHECK(sl->shm.size == want);
        HIPC_FUZZ_CHECK(fresh || sl->shm.key == key);
    }
    opened(w, sl, rc, cfg.flags);
}

static void op_open(struct world *w, hipc_fuzz_in *in, int by_id)
{
    struct slot *sl = fresh_slot(w, in);
    key_t key = by_id ? 0 : pick_key(in);
    int id = by_id ? pick_id(w, in) : -1;
    size_t expected = hipc_fuzz_u8(in) < 0xc0 ? 0 : pick_size(in);
    unsigned flags = hipc_fuzz_u8(in) & 0x7fu;
    int rc = by_id ? hipc_shm_open_id(&sl->shm, id, expected, flags)
                   : hipc_shm_open(&sl->shm, key, expected, flags);
    if (by_id && is_removed(w, id))
        HIPC_FUZZ_CHECK(rc != HIPC_OK);
    if (rc == HIPC_OK) {
        HIPC_FUZZ_CHECK(!is_removed(w, sl->shm.id));
        HIPC_FUZZ_CHECK(expected == 0 || sl->shm.size >= expected);
        /* An intact hipc segment tells every opener what its creator set. */
        const struct made_info *mi = made_info(w, sl->shm.id);
        if (mi != NULL && !mi->raw && !mi->dirty && !(flags & HIPC_SHM_RAW))
            HIPC_FUZZ_CHECK(sl->shm.size == mi->size && sl->shm.tag == mi->tag);
    }
    opened(w, sl, rc, flags);
}

static void op_attach(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    unsigned flags = hipc_fuzz_u8(in) & 0x3fu;
    int was_removed = sl->open && is_removed(w, sl->shm.id);
    int rc = hipc_shm_attach(&sl->shm, flags);
    hipc_fuzz_trace("attach", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (was_removed)
        HIPC_FUZZ_CHECK(rc != HIPC_OK);
    if (rc != HIPC_OK)
        return;
    HIPC_FUZZ_CHECK(sl->open && sl->shm.data != NULL);
    check_same_segment(w, sl);
    sl->rdonly = (flags & HIPC_SHM_RDONLY) != 0;
    if (flags & HIPC_SHM_REMOVE_ON_ATTACH)
        track(w->removed, &w->nremoved, sl->shm.id);
    check_addressable(sl);
}

static void op_simple(struct world *w, hipc_fuzz_in *in, int which)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    int was_open = sl->open;
    hipc_shm_info info;
    int rc;
    switch (which) {
    case 0:
        rc = hipc_shm_detach(&sl->shm);
        HIPC_FUZZ_CHECK(rc != HIPC_OK || sl->shm.data == NULL);
        break;
    case 1: {
        int allowed = may_act(w, sl);
        rc = hipc_shm_remove(&sl->shm);
        if (rc == HIPC_OK)
            HIPC_FUZZ_CHECK(allowed);
        if (rc == HIPC_OK ||
            (rc == HIPC_E_REMOVED && sl->gen == gen_at(w, sl->shm.id)))
            track(w->removed, &w->nremoved, sl->shm.id);
        break;
    }
    case 2:
        rc = hipc_shm_close(&sl->shm);
        if (rc == HIPC_OK)
            sl->open = 0;
        break;
    default:
        rc = hipc_shm_stat(&sl->shm, &info);
        if (rc == HIPC_OK) {
            check_same_segment(w, sl);
            HIPC_FUZZ_CHECK(info.id == sl->shm.id);
            HIPC_FUZZ_CHECK(info.seg_size == sl->shm.seg_size);
            HIPC_FUZZ_CHECK(!is_removed(w, info.id) || info.removed);
        }
        break;
    }
    static const char *const names[] = {"detach", "remove", "close", "stat"};
    hipc_fuzz_trace(names[which], (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(was_open || rc != HIPC_OK);
}

static void op_by_id(struct world *w, hipc_fuzz_in *in, int remove)
{
    int id = pick_id(w, in);
    int err = 0;
    hipc_shm_info info;
    int rc = remove ? hipc_shm_remove_id(id, &err)
                    : hipc_shm_stat_id(id, &info, &err);
    hipc_fuzz_trace(remove ? "remove_id" : "stat_id", id, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc != HIPC_OK || err == 0);
    if (remove && rc == HIPC_OK)
        track(w->removed, &w->nremoved, id);
    if (!remove && rc == HIPC_OK)
        HIPC_FUZZ_CHECK(info.id == id && (!is_removed(w, id) || info.removed));
}

/* Every other attachment of the same segment sees the bytes just written,
 * whatever its own view (raw or behind the header). */
static void check_seen(const struct world *w, const struct slot *from,
                       size_t seg_off, const uint8_t *bytes, size_t n)
{
    for (int i = 0; i < HANDLES; i++) {
        const struct slot *o = &w->s[i];
        if (o == from || !o->open || o->shm.data == NULL ||
            o->shm.id != from->shm.id)
            continue;
        const uint8_t *d = o->shm.data;
        for (size_t k = 0; k < n; k++) {
            size_t at = seg_off + k;
            if (at >= payload_offset(o) && at - payload_offset(o) < o->shm.size)
                HIPC_FUZZ_CHECK(d[at - payload_offset(o)] == bytes[k]);
        }
    }
}

/* Writes into the payload, or (header != 0) over the first bytes of the
 * segment, which is what a hostile or broken peer does to a header. */
static void op_write(struct world *w, hipc_fuzz_in *in, int header)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    size_t off = hipc_fuzz_u16(in);
    const uint8_t *bytes = NULL;
    size_t n = hipc_fuzz_bytes(in, hipc_fuzz_u8(in) % 65u, &bytes);
    if (!sl->open || sl->shm.data == NULL || sl->rdonly || n == 0)
        return;
    uint8_t *seg = (uint8_t *)sl->shm.data - payload_offset(sl);
    size_t span = payload_offset(sl) + sl->shm.size;
    size_t lo = header ? off % HIPC_SHM_HEADER_SIZE
                       : payload_offset(sl) + off % sl->shm.size;
    /* A raw segment can be shorter than a header. */
    if (lo >= span)
        return;
    if (n > span - lo)
        n = span - lo;
    hipc_fuzz_trace(header ? "scribble" : "write", (int)(sl - w->s), (long)n);
    struct made_info *mi = made_info(w, sl->shm.id);
    if (mi != NULL && lo < HIPC_SHM_HEADER_SIZE)
        mi->dirty = 1;
    memcpy(seg + lo, bytes, n);
    check_seen(w, sl, lo, bytes, n);
}

static void op_limits(void)
{
    hipc_shm_limits lim;
    int err = 0;
    HIPC_FUZZ_CHECK(hipc_shm_get_limits(&lim, &err) == HIPC_OK);
    HIPC_FUZZ_CHECK(lim.page_size > 0);
    if (hipc_fuzz_isolated())
        HIPC_FUZZ_CHECK(lim.shmmax == LIMIT_SHMMAX);
}

/* Each listed segment that an open handle holds (not a newer one at its
 * id) shows its size and its removal mark. */
static void check_entries(const struct world *w, const hipc_seg_entry *e,
                          size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < HANDLES; k++)
            if (w->s[k].open && w->s[k].shm.id == e[i].id &&
                w->s[k].gen == gen_at(w, e[i].id)) {
                HIPC_FUZZ_CHECK(e[i].bytes == w->s[k].shm.seg_size);
                HIPC_FUZZ_CHECK(!is_removed(w, e[i].id) || e[i].dest);
            }
}

/* An orphan gc found is removed unless it changed meanwhile: ask the
 * kernel which, so the removed-segment invariant stays exact. */
static void track_collected(struct world *w, const hipc_seg_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hipc_shm_info info;
        int rc = hipc_shm_stat_id(e[i].id, &info, NULL);
        if (rc == HIPC_E_NOT_FOUND || (rc == HIPC_OK && info.removed))
            track(w->removed, &w->nremoved, e[i].id);
    }
}

static void op_inspect(struct world *w, hipc_fuzz_in *in)
{
    static hipc_seg_entry e[LIMIT_SHMMNI + 1];
    uint8_t sel = hipc_fuzz_u8(in);
    unsigned flags = (sel >> 2) & 0x7u;
    size_t cap = hipc_fuzz_u8(in) % (LIMIT_SHMMNI + 2);
    size_t total = 0;
    int err = 0, rc;
    unsigned kind = sel & 3u; /* 0 and 3 list, 1 finds, 2 collects */
    if (kind == 0 || kind == 3) {
        rc = hipc_inspect_list(e, cap, &total, flags, &err);
        /* One entry per segment of the namespace, min(total, cap) stored. */
        if (rc >= 0 && hipc_fuzz_isolated())
            HIPC_FUZZ_CHECK(total == (size_t)hipc_fuzz_shm_count());
        if (rc >= 0)
            HIPC_FUZZ_CHECK((size_t)rc == (total < cap ? total : cap));
        check_entries(w, e, rc > 0 ? (size_t)rc : 0);
    } else if (kind == 1) {
        int id = pick_id(w, in);
        rc = hipc_inspect_find_id(id, e, flags, &err);
        HIPC_FUZZ_CHECK(rc != HIPC_OK || e[0].id == id);
        check_entries(w, e, rc == HIPC_OK ? 1 : 0);
    } else {
        rc = hipc_inspect_gc(e, cap, &total, flags, &err);
        HIPC_FUZZ_CHECK(rc < 0 || (size_t)rc <= total);
        if (!(flags & HIPC_INSPECT_DRY_RUN))
            track_collected(w, e, total < cap ? total : cap);
    }
    hipc_fuzz_trace("inspect", (int)kind, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
}

/* The next segment of the namespace gets `id` (a private namespace lets
 * /proc/sys/kernel/shm_next_id choose it); 0 where that is not possible. */
static int next_id_is(int id)
{
    if (!hipc_fuzz_isolated() || id < -1)
        return 0;
    FILE *f = fopen("/proc/sys/kernel/shm_next_id", "w");
    if (f == NULL)
        return 0;
    int ok = fprintf(f, "%d\n", id) > 0;
    return (fclose(f) == 0) & ok;
}

/* A create that takes the id some handle last named, when that id is
 * free: the way the kernel recycles the id of a removed segment, forced.
 * The handle that named it is left stale, for later steps to try. */
static void op_reuse(struct world *w, hipc_fuzz_in *in)
{
    const struct slot *old = &w->s[hipc_fuzz_u8(in) % HANDLES];
    int want = old->last_id;
    if (want < 0 || !next_id_is(want))
        return;
    hipc_fuzz_trace("reuse", want, 0);
    op_create(w, in, 0);
    /* An unused next id stays set; clear it so it cannot steer later
     * creates (the kernel resets it to -1 once used). */
    (void)next_id_is(-1);
}

/* Any call on a copy of a handle is refused before it acts. */
static void op_copy(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    hipc_shm copy = sl->shm;
    hipc_shm_info info;
    int rc;
    switch (hipc_fuzz_u8(in) % 5u) {
    case 0:
        rc = hipc_shm_close(&copy);
        break;
    case 1:
        rc = hipc_shm_detach(&copy);
        break;
    case 2:
        rc = hipc_shm_remove(&copy);
        break;
    case 3:
        rc = hipc_shm_stat(&copy, &info);
        break;
    default:
        rc = hipc_shm_attach(&copy, 0);
        break;
    }
    hipc_fuzz_trace("copy", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK(rc == HIPC_E_BAD_HANDLE);
}

static void step(struct world *w, hipc_fuzz_in *in)
{
    switch (hipc_fuzz_u8(in) % 17u) {
    case 0:
        op_create(w, in, 0);
        break;
    case 1:
        op_create(w, in, 1);
        break;
    case 2:
        op_open(w, in, 0);
        break;
    case 3:
        op_open(w, in, 1);
        break;
    case 4:
        op_attach(w, in);
        break;
    case 5:
        op_simple(w, in, 0);
        break;
    case 6:
        op_simple(w, in, 1);
        break;
    case 7:
        op_simple(w, in, 2);
        break;
    case 8:
        op_simple(w, in, 3);
        break;
    case 9:
        op_by_id(w, in, 0);
        break;
    case 10:
        op_by_id(w, in, 1);
        break;
    case 11:
        op_write(w, in, 0);
        break;
    case 12:
        op_write(w, in, 1);
        break;
    case 13:
        op_limits();
        break;
    case 14:
        op_inspect(w, in);
        break;
    case 15:
        op_reuse(w, in);
        break;
    default:
        op_copy(w, in);
        break;
    }
}

/* Closes every handle, removes every segment this input made, and proves
 * that nothing is left. */
/* The counts are those when the input started: the engine may open or
 * close its own descriptors between inputs (libFuzzer's -fork children
 * do). */
static void cleanup(struct world *w, int segments, const hipc_fuzz_fds *fds)
{
    for (int i = 0; i < HANDLES; i++)
        if (w->s[i].open)
            HIPC_FUZZ_CHECK(hipc_shm_close(&w->s[i].shm) == HIPC_OK);
    for (int i = 0; i < w->nmade; i++) {
        int rc = hipc_shm_remove_id(w->made[i], NULL);
        HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_NOT_FOUND);
    }
    HIPC_FUZZ_CHECK(hipc_fuzz_shm_count() == segments);
    hipc_fuzz_fds_check(fds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world w;
    memset(&w, 0, sizeof w);
    for (int i = 0; i < HANDLES; i++)
        w.s[i].last_id = -1;
    int segments = hipc_fuzz_shm_count();
    hipc_fuzz_fds fds;
    hipc_fuzz_fds_mark(&fds);
    hipc_fuzz_in in = {data, size};
    for (int op = 0; op < MAX_OPS && in.n > 0; op++)
        step(&w, &in);
    cleanup(&w, segments, &fds);
    return 0;
}
