/* SPDX-License-Identifier: MIT */
/* hipc — System V shared memory, validated.
 *
 * A handle is told apart from garbage by a magic word and a state field:
 * HANDLE_MAGIC plus one of the states below is an open handle, the same
 * magic with STATE_CLOSED is a closed one, anything else is not a handle.
 * The "removed" bit rides on top of the state, because a removed segment
 * can still be attached or detached.
 */
#include "hipc/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "hipc/config.h"
#include "hipc/error.h"
#include "internal.h"
#include "procfs.h"
#include "proc.h"
#include "shm_priv.h"
#include "sys.h"

#ifndef SHM_DEST
#define SHM_DEST 01000
#endif

/* The public headers spell key_t as hipc_key (hipc/types.h). */
_Static_assert(sizeof(key_t) == sizeof(hipc_key) && (key_t)-1 < 0,
               "key_t is not an int on this platform");

#define HANDLE_MAGIC 0x68736d31u /* "hsm1" */
#define STATE_DETACHED 1u
#define STATE_ATTACHED 2u
#define STATE_CLOSED 3u
#define STATE_MASK 0xffu
#define STATE_REMOVED 0x100u /* marked for removal (maybe by us) */
#define STATE_GONE 0x200u    /* the id no longer names our segment */
#define STATE_FLAGS (STATE_REMOVED | STATE_GONE)

/* "HIPC" in memory on a little-endian machine; a byte-swapped magic means
 * the segment was written by the other endianness. */
#define HEADER_MAGIC 0x43504948u
#define HEADER_MAGIC_SWAPPED 0x48495043u

#define CREATE_FLAGS                                                           \
    (HIPC_SHM_RAW | HIPC_SHM_REMOVE_ON_ATTACH | HIPC_SHM_SHARED_WRITE |        \
     HIPC_SHM_PREFAULT | HIPC_SHM_NO_ATTACH)
#define OPEN_FLAGS                                                             \
    (HIPC_SHM_RDONLY | HIPC_SHM_RAW | HIPC_SHM_REMOVE_ON_ATTACH |              \
     HIPC_SHM_PREFAULT | HIPC_SHM_NO_ATTACH)
#define ATTACH_FLAGS                                                           \
    (HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT | HIPC_SHM_REMOVE_ON_ATTACH)
/* Flags the handle remembers between calls. */
#define KEPT_FLAGS (HIPC_SHM_RAW | HIPC_SHM_RDONLY)

/* The on-memory header, layout version 1. Fixed-width fields only, so the
 * fingerprint (pointer width, endianness, header size) is what tells two
 * ABIs apart. The checksum covers bytes 4..59: everything but the magic,
 * which is stored last, and the checksum itself. */
struct shm_header {
    uint32_t magic;
    uint32_t version;
    uint32_t fingerprint;
    uint32_t tag;
    uint64_t requested;
    uint64_t payload_offset;
    uint64_t creator_start;
    int32_t creator_pid;
    uint32_t reserved0;
    uint64_t reserved1;
    uint32_t reserved2;
    uint32_t checksum;
};

_Static_assert(sizeof(struct shm_header) == HIPC_SHM_HEADER_SIZE,
               "the header must be exactly HIPC_SHM_HEADER_SIZE bytes");
_Static_assert(offsetof(struct shm_header, checksum) == 60,
               "the checksum must be the last word");

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ENDIAN_MARK 1u
#else
#define ENDIAN_MARK 2u
#endif

#define FINGERPRINT                                                            \
    (((uint32_t)sizeof(void *) << 24) | (ENDIAN_MARK << 16) |                  \
     (uint32_t)sizeof(struct shm_header))

/* ---- Pure helpers ------------------------------------------------------ */

/* FNV-1a over the header bytes between the magic and the checksum. */
static uint32_t header_checksum(const struct shm_header *h)
{
    const unsigned char *p = (const unsigned char *)h;
    uint32_t sum = 2166136261u;
    for (size_t i = sizeof h->magic; i < offsetof(struct shm_header, checksum);
         i++) {
        sum ^= p[i];
        sum *= 16777619u;
    }
    return sum;
}

static int header_fields_check(const struct shm_header *h, size_t seg_size)
{
    if (h->version != HIPC_SHM_LAYOUT_VERSION)
        return HIPC_E_VERSION;
    if (h->fingerprint != FINGERPRINT)
        return HIPC_E_LAYOUT;
    if (h->checksum != header_checksum(h))
        return HIPC_E_CORRUPT;
    if (h->reserved0 != 0 || h->reserved1 != 0 || h->reserved2 != 0)
        return HIPC_E_CORRUPT;
    if (h->payload_offset != sizeof *h || h->creator_pid <= 0)
        return HIPC_E_CORRUPT;
    if (h->requested == 0 || h->requested > seg_size - sizeof *h)
        return HIPC_E_CORRUPT;
    return HIPC_OK;
}

/* Order matters: a zero magic is "not written yet" (HIPC_E_AGAIN), a
 * foreign magic says nothing about the rest, and the version is checked
 * before the fingerprint and checksum because another layout version may
 * lay out or checksum its header differently. */
int hipc_shm_header_check(const void *buf, size_t len, size_t seg_size,
                          hipc_shm_header_info *out)
{
    if (buf == NULL)
        return HIPC_E_NULL;
    size_t avail = len < seg_size ? len : seg_size;
    struct shm_header h;
    if (avail < sizeof h.magic)
        return HIPC_E_FOREIGN;
    memcpy(&h.magic, buf, sizeof h.magic);
    if (h.magic == 0)
        return HIPC_E_AGAIN;
    if (h.magic == HEADER_MAGIC_SWAPPED)
        return HIPC_E_LAYOUT;
    if (h.magic != HEADER_MAGIC)
        return HIPC_E_FOREIGN;
    if (avail < sizeof h)
        return HIPC_E_CORRUPT;
    memcpy(&h, buf, sizeof h);
    int rc = header_fields_check(&h, seg_size);
    if (rc != HIPC_OK || out == NULL)
        return rc;
    out->version = h.version;
    out->tag = h.tag;
    out->requested = h.requested;
    out->payload_offset = h.payload_offset;
    out->creator_pid = (pid_t)h.creator_pid;
    out->creator_start = h.creator_start;
    return HIPC_OK;
}

/* Callers have checked that n + page - 1 cannot wrap. */
static size_t round_pages(size_t n, size_t page)
{
    return (n + page - 1) / page * page;
}

/* Header + payload, and that rounded to whole pages; both must fit size_t
 * and the mapping must stay addressable by ptrdiff_t. The size is never 0:
 * a zero config field has become the default by now. */
static int size_plan(size_t size, size_t header, size_t page, size_t *total,
                     size_t *rounded)
{
    if (size > SIZE_MAX - header || size + header > SIZE_MAX - (page - 1))
        return HIPC_E_OVERFLOW;
    *total = size + header;
    *rounded = round_pages(*total, page);
    if (*rounded > (size_t)PTRDIFF_MAX)
        return HIPC_E_TOO_BIG;
    return HIPC_OK;
}

/* ---- Limits ------------------------------------------------------------ */

/* A limit that cannot be read, or not in one piece, counts as unlimited:
 * the kernel enforces it anyway, and some sandboxes hide /proc/sys. */
int hipc_shm_get_limits(hipc_shm_limits *out, int *sys_errno)
{
    if (out == NULL)
        return HIPC_E_NULL;
    hipc__set_errno(sys_errno, 0);
    static const char *const paths[3] = {"/proc/sys/kernel/shmmax",
                                         "/proc/sys/kernel/shmall",
                                         "/proc/sys/kernel/shmmni"};
    uint64_t *fields[3] = {&out->shmmax, &out->shmall, &out->shmmni};
    for (int i = 0; i < 3; i++)
        if (hipc__procfs_value(paths[i], UINT64_MAX, fields[i], sys_errno) !=
            HIPC_OK)
            *fields[i] = UINT64_MAX;
    out->page_size = hipc__sys_page_size();
    return HIPC_OK;
}

/* SHMMAX bounds one segment (bytes, before rounding), SHMALL all segments
 * together (pages): a segment larger than either can never be created. */
static int limits_check(size_t total, size_t rounded)
{
    hipc_shm_limits lim;
    (void)hipc_shm_get_limits(&lim, NULL);
    if ((uint64_t)total > lim.shmmax)
        return HIPC_E_LIMIT;
    if ((uint64_t)(rounded / lim.page_size) > lim.shmall)
        return HIPC_E_LIMIT;
    return HIPC_OK;
}

/* ---- Handle bookkeeping ------------------------------------------------ */

/* A handle lives where it was made: a copy (same fields, other address)
 * would detach or remove what the original still uses, so it is refused
 * before any field of it is believed. */
static int handle_check(const hipc_shm *shm)
{
    if (shm == NULL)
        return HIPC_E_NULL;
    if (shm->magic_ != HANDLE_MAGIC || shm->self_ != shm)
        return HIPC_E_BAD_HANDLE;
    unsigned st = shm->state_ & STATE_MASK;
    if ((shm->state_ & ~(STATE_MASK | STATE_FLAGS)) != 0 ||
        (shm->flags_ & ~KEPT_FLAGS) != 0)
        return HIPC_E_BAD_HANDLE;
    if (st == STATE_CLOSED)
        return HIPC_E_STALE_HANDLE;
    if (st == STATE_ATTACHED && shm->base_ != NULL && shm->id >= 0)
        return HIPC_OK;
    if (st == STATE_DETACHED && shm->base_ == NULL && shm->id >= 0)
        return HIPC_OK;
    return HIPC_E_BAD_HANDLE;
}

static unsigned handle_state(const hipc_shm *shm)
{
    return shm->state_ & STATE_MASK;
}

static void set_state(hipc_shm *shm, unsigned st)
{
    shm->state_ = (shm->state_ & STATE_FLAGS) | st;
}

static size_t payload_offset(unsigned flags)
{
    return (flags & HIPC_SHM_RAW) ? 0 : sizeof(struct shm_header);
}

/* ---- Kernel steps ------------------------------------------------------ */

/* Populates the mapping so that memory shortage is an error code now
 * rather than a SIGBUS at first touch. Kernels before 5.14 say EINVAL;
 * they get the WILLNEED hint instead, which never fails the call. */
static int prefault(void *base, size_t len, int rdonly, int *err)
{
    int r =
        hipc__sys_madvise(base, len,
                          rdonly ? MADV_POPULATE_READ : MADV_POPULATE_WRITE);
    if (r == -EINVAL) {
        (void)hipc__sys_madvise(base, len, MADV_WILLNEED);
        return HIPC_OK;
    }
    if (r == 0)
        return HIPC_OK;
    return r == -EFAULT ? hipc__fail_as(err, r, HIPC_E_NOMEM)
                        : hipc__fail(err, r);
}

static int stat_raw(int id, struct shmid_ds *ds)
{
    memset(ds, 0, sizeof *ds);
    return hipc__sys_shmctl(id, IPC_STAT, ds);
}

int hipc__shm_page_present(void *base, int advice, int *err)
{
    size_t page = hipc__sys_page_size();
    int r = hipc__sys_madvise(base, page, advice);
    hipc__set_errno(err, 0);
    /* Populated: the page is there, and touching it cannot fault. */
    if (r == 0)
        return HIPC_OK;
    if (r != -EINVAL)
        return r == -EFAULT ? hipc__fail_as(err, r, HIPC_E_NOMEM)
                            : hipc__fail(err, r);
    /* A kernel without the advice: only a page already present (one its
     * creator wrote) is safe to touch. */
    unsigned char in_core = 0;
    int m = hipc__sys_mincore(base, page, &in_core);
    if (m < 0)
        /* GCOVR_EXCL_START [kernel]: no populate, then mincore failing */
        return hipc__fail(err, m);
    /* GCOVR_EXCL_STOP */
    hipc__set_errno(err, EINVAL);
    return (in_core & 1u) ? HIPC_OK : HIPC_E_UNSUPPORTED;
}

/* What tells a segment apart from a later one that the kernel gives the
 * same id: its key, creator and creation time (seconds). */
static void identity_record(hipc_shm *shm, const struct shmid_ds *ds)
{
    shm->key_ = ds->shm_perm.__key;
    shm->cpid_ = ds->shm_cpid;
    shm->ctime_ = (int64_t)ds->shm_ctime;
}

/* IPC_RMID of a segment still attached makes its key private. IPC_SET
 * (a chmod by some other program) moves shm_ctime too: such a segment is
 * taken for another one, refused as removed and never acted on. */
static int identity_same(const hipc_shm *shm, const struct shmid_ds *ds)
{
    key_t key = ds->shm_perm.__key;
    int key_ok = key == shm->key_ ||
                 ((ds->shm_perm.mode & SHM_DEST) && key == IPC_PRIVATE);
    return key_ok && ds->shm_cpid == shm->cpid_ &&
           (int64_t)ds->shm_ctime == shm->ctime_ &&
           (size_t)ds->shm_segsz == shm->seg_size;
}

static int mark_removed(hipc_shm *shm)
{
    shm->state_ |= STATE_REMOVED;
    return HIPC_E_REMOVED;
}

/* Once the id is known to name another segment (or none), every later
 * call says so, even one whose own check could not tell the two apart (a
 * new segment of the same process, key, size and second). */
static int mark_gone(hipc_shm *shm)
{
    shm->state_ |= STATE_GONE;
    return mark_removed(shm);
}

/* IPC_STAT of the handle's id, which must still name the handle's
 * segment: gone, or now another segment, is HIPC_E_REMOVED. */
static int identity_check(hipc_shm *shm, struct shmid_ds *ds)
{
    if (shm->state_ & STATE_GONE)
        return HIPC_E_REMOVED;
    int r = stat_raw(shm->id, ds);
    if (r < 0 && !hipc__shm_id_gone(r))
        return hipc__fail(&shm->sys_errno, r);
    if (r < 0)
        shm->sys_errno = -r;
    return r < 0 || !identity_same(shm, ds) ? mark_gone(shm) : HIPC_OK;
}

enum identity_mode { IDENTITY_RECORD, IDENTITY_VERIFY };

/* Runs while attached: the attach pins the segment, so the id cannot pass
 * to another segment between this IPC_STAT and anything done next. */
static int attach_identity(hipc_shm *shm, enum identity_mode mode)
{
    struct shmid_ds ds;
    if (mode == IDENTITY_VERIFY) {
        int rc = identity_check(shm, &ds);
        if (rc == HIPC_OK && (ds.shm_perm.mode & SHM_DEST))
            rc = mark_removed(shm);
        return rc;
    }
    int r = stat_raw(shm->id, &ds);
    if (r < 0)
        return hipc__fail(&shm->sys_errno, r);
    identity_record(shm, &ds);
    return HIPC_OK;
}

/* shmat, the identity while pinned, then the optional prefault (never of
 * a stranger's pages); undoes the attach on failure. */
static int attach_map(hipc_shm *shm, unsigned flags, enum identity_mode mode,
                      void **base)
{
    int rdonly = (flags & HIPC_SHM_RDONLY) != 0;
    int r = hipc__sys_shmat(shm->id, NULL, rdonly ? SHM_RDONLY : 0, base);
    if (r < 0)
        return hipc__shm_id_fail(&shm->sys_errno, r, HIPC_E_REMOVED);
    int rc = attach_identity(shm, mode);
    int err = 0;
    if (rc == HIPC_OK && (flags & HIPC_SHM_PREFAULT)) {
        rc = prefault(*base, shm->rounded, rdonly, &err);
        if (rc != HIPC_OK)
            shm->sys_errno = err;
    }
    if (rc != HIPC_OK) {
        (void)hipc__sys_shmdt(*base);
        *base = NULL;
    }
    return rc;
}

/* Verifies the header of an attached mapping. The magic is loaded with
 * acquire so that the creator's release store makes every other field
 * visible; the rest is copied once into a local, as shared memory is
 * untrusted and may change under us. */
static int header_read(const void *base, size_t seg_size,
                       hipc_shm_header_info *info)
{
    struct shm_header h;
    if (seg_size < sizeof h.magic)
        return HIPC_E_FOREIGN;
    const _Atomic uint32_t *mp = (const _Atomic uint32_t *)base;
    uint32_t magic = atomic_load_explicit(mp, memory_order_acquire);
    size_t n = seg_size < sizeof h ? seg_size : sizeof h;
    memset(&h, 0, sizeof h);
    memcpy(&h, base, n);
    h.magic = magic;
    return hipc_shm_header_check(&h, n, seg_size, info);
}

static void header_write(void *base, size_t size, uint32_t tag, pid_t pid,
                         uint64_t start)
{
    struct shm_header h;
    memset(&h, 0, sizeof h);
    h.version = HIPC_SHM_LAYOUT_VERSION;
    h.fingerprint = FINGERPRINT;
    h.tag = tag;
    h.requested = (uint64_t)size;
    h.payload_offset = sizeof h;
    h.creator_start = start;
    h.creator_pid = (int32_t)pid;
    h.checksum = header_checksum(&h);
    /* Everything but the magic first; the magic's release store publishes
     * the header to any opener that acquires it. */
    memcpy((unsigned char *)base + sizeof h.magic,
           (const unsigned char *)&h + sizeof h.magic,
           sizeof h - sizeof h.magic);
    _Atomic uint32_t *mp = (_Atomic uint32_t *)base;
    atomic_store_explicit(mp, HEADER_MAGIC, memory_order_release);
}

/* ---- Create ------------------------------------------------------------ */

static int config_check(const hipc_shm_config *cfg, unsigned *mode)
{
    if ((cfg->flags & ~(unsigned)HIPC_SHM_FLAGS_ALL_) != 0 ||
        (cfg->flags & ~(unsigned)CREATE_FLAGS) != 0)
        return HIPC_E_BAD_FLAGS;
    if ((cfg->flags & HIPC_SHM_REMOVE_ON_ATTACH) &&
        (cfg->flags & HIPC_SHM_NO_ATTACH))
        return HIPC_E_BAD_FLAGS;
    *mode = cfg->mode == 0 ? 0600u : cfg->mode;
    if (*mode > 0777u || (*mode & 0600u) != 0600u)
        return HIPC_E_BAD_MODE;
    if ((*mode & 0022u) != 0 && !(cfg->flags & HIPC_SHM_SHARED_WRITE))
        return HIPC_E_BAD_MODE;
    return HIPC_OK;
}

/* Everything about a create that can be decided before the kernel. */
struct create_plan {
    unsigned mode;
    size_t total;
    pid_t pid;
    uint64_t start;
};

static int create_prepare(hipc_shm *shm, const hipc_shm_config *cfg,
                          struct create_plan *plan)
{
    int rc = config_check(cfg, &plan->mode);
    if (rc != HIPC_OK)
        return rc;
    shm->requested = cfg->size;
    rc = size_plan(cfg->size, payload_offset(cfg->flags), hipc__sys_page_size(),
                   &plan->total, &shm->rounded);
    if (rc != HIPC_OK)
        return rc;
    rc = limits_check(plan->total, shm->rounded);
    plan->pid = hipc__sys_getpid();
    if (rc != HIPC_OK || (cfg->flags & HIPC_SHM_RAW))
        return rc;
    int err = 0;
    rc = hipc__proc_self_start(&plan->start, &err);
    shm->sys_errno = err;
    return rc;
}

static int create_errno_code(int neg_errno)
{
    /* With IPC_EXCL, EINVAL can only mean the size is outside SHMMIN..SHMMAX. */
    if (neg_errno == -EINVAL)
        return HIPC_E_LIMIT;
    return hipc__from_errno(-neg_errno);
}

/* Attaches the new segment, makes its first page real (so the header write
 * cannot SIGBUS), writes the header, then honours REMOVE_ON_ATTACH and
 * NO_ATTACH. On failure the caller removes the segment. */
static int create_finish(hipc_shm *shm, const hipc_shm_config *cfg,
                         const struct create_plan *plan)
{
    void *base = NULL;
    int rc =
        attach_map(shm, cfg->flags & HIPC_SHM_PREFAULT, IDENTITY_RECORD, &base);
    if (rc != HIPC_OK)
        return rc;
    if (!(cfg->flags & HIPC_SHM_RAW)) {
        int err = 0;
        rc = prefault(base, sizeof(struct shm_header), 0, &err);
        if (rc != HIPC_OK) {
            (void)hipc__sys_shmdt(base);
            return hipc__fail_as(&shm->sys_errno, -err, rc);
        }
        header_write(base, cfg->size, cfg->tag, plan->pid, plan->start);
        shm->hpid_ = plan->pid;
        shm->hstart_ = plan->start;
    }
    if (cfg->flags & HIPC_SHM_NO_ATTACH) {
        int r = hipc__sys_shmdt(base);
        return r < 0 ? hipc__fail(&shm->sys_errno, r) : HIPC_OK;
    }
    /* Last, as nothing may fail once the segment is marked. */
    if (cfg->flags & HIPC_SHM_REMOVE_ON_ATTACH) {
        int r = hipc__sys_shmctl(shm->id, IPC_RMID, NULL);
        if (r < 0) {
            (void)hipc__sys_shmdt(base);
            return hipc__fail(&shm->sys_errno, r);
        }
        shm->state_ |= STATE_REMOVED;
    }
    shm->base_ = base;
    return HIPC_OK;
}

static void handle_open(hipc_shm *shm, unsigned flags)
{
    shm->magic_ = HANDLE_MAGIC;
    shm->self_ = shm;
    shm->flags_ = flags & KEPT_FLAGS;
    set_state(shm, shm->base_ != NULL ? STATE_ATTACHED : STATE_DETACHED);
    shm->data = shm->base_ == NULL
                    ? NULL
                    : (unsigned char *)shm->base_ + payload_offset(flags);
}

/* One exclusive shmget and everything after it. Returns the shmget error
 * untouched (negative errno) through *kerr so create_fresh can retry. */
static int create_at(hipc_shm *shm, key_t key, const hipc_shm_config *cfg,
                     const struct create_plan *plan, int *kerr)
{
    int id = hipc__sys_shmget(key, plan->total,
                              IPC_CREAT | IPC_EXCL | (int)plan->mode);
    *kerr = id < 0 ? id : 0;
    if (id < 0)
        return hipc__fail_as(&shm->sys_errno, id, create_errno_code(id));
    shm->key = key;
    shm->id = id;
    shm->size = cfg->size;
    shm->seg_size = plan->total;
    shm->tag = (cfg->flags & HIPC_SHM_RAW) ? 0 : cfg->tag;
    int rc = create_finish(shm, cfg, plan);
    if (rc != HIPC_OK) {
        /* Never leave an orphan: the segment is ours and nobody uses it.
         * create_finish marks it for removal only as its very last step,
         * so it is never marked yet when we get here. */
        (void)hipc__sys_shmctl(id, IPC_RMID, NULL);
        shm->state_ = 0;
        return rc;
    }
    handle_open(shm, cfg->flags);
    return HIPC_OK;
}

/* A NULL config is all defaults, and a zero size the default size: the
 * rest of create sees only the resolved copy in *use. */
static int create_begin(hipc_shm *shm, const hipc_shm_config *cfg,
                        hipc_shm_config *use, struct create_plan *plan)
{
    if (shm == NULL)
        return HIPC_E_NULL;
    memset(shm, 0, sizeof *shm);
    shm->id = -1;
    memset(use, 0, sizeof *use);
    if (cfg != NULL)
        *use = *cfg;
    if (use->size == 0)
        use->size = HIPC_SHM_DEFAULT_SIZE;
    memset(plan, 0, sizeof *plan);
    return create_prepare(shm, use, plan);
}

int hipc_shm_create(hipc_shm *shm, key_t key, const hipc_shm_config *cfg)
{
    hipc_shm_config use;
    struct create_plan plan;
    int rc = create_begin(shm, cfg, &use, &plan);
    if (rc != HIPC_OK)
        return rc;
    int kerr = 0;
    return create_at(shm, key, &use, &plan, &kerr);
}

/* The next candidate key: a fixed odd step around the 32-bit key space
 * visits every key before repeating; 0 (IPC_PRIVATE) is skipped. */
static key_t next_key(key_t k)
{
    uint32_t u = (uint32_t)k + 0x9e3779b9u;
    if (u == 0)
        u += 0x9e3779b9u;
    return (key_t)u;
}

int hipc_shm_create_fresh(hipc_shm *shm, key_t seed, const hipc_shm_config *cfg)
{
    if (shm != NULL && seed == HIPC_SHM_KEY_PRIVATE) {
        memset(shm, 0, sizeof *shm);
        return HIPC_E_BAD_KEY;
    }
    hipc_shm_config use;
    struct create_plan plan;
    int rc = create_begin(shm, cfg, &use, &plan);
    if (rc != HIPC_OK)
        return rc;
    key_t key = seed;
    for (int i = 0; i < HIPC_SHM_CREATE_RETRIES; i++, key = next_key(key)) {
        int kerr = 0;
        rc = create_at(shm, key, &use, &plan, &kerr);
        if (kerr != -EEXIST)
            return rc;
    }
    shm->key = HIPC_SHM_KEY_PRIVATE;
    shm->id = -1;
    return HIPC_E_RETRIES;
}

/* ---- Open -------------------------------------------------------------- */

/* The header's creator is part of the identity: recorded by the first
 * open, compared by every attach after it. */
static int header_identity(hipc_shm *shm, const hipc_shm_header_info *info)
{
    if (shm->hpid_ == 0) {
        shm->hpid_ = info->creator_pid;
        shm->hstart_ = info->creator_start;
        return HIPC_OK;
    }
    if (info->creator_pid != shm->hpid_ || info->creator_start != shm->hstart_)
        return mark_gone(shm);
    return HIPC_OK;
}

/* Header segments: a zero magic means a creator is still writing the
 * header, or a stranger left the segment zeroed. A hipc creator is always
 * attached while it writes, so with nobody attached the segment is
 * foreign; otherwise the caller may retry (HIPC_E_AGAIN). */
static int open_verify(hipc_shm *shm, void *base, unsigned long nattch,
                       size_t expected_size)
{
    hipc_shm_header_info info;
    int err = 0;
    int rc = hipc__shm_page_present(base, MADV_POPULATE_READ, &err);
    if (rc != HIPC_OK)
        return hipc__fail_as(&shm->sys_errno, -err, rc);
    rc = header_read(base, shm->seg_size, &info);
    if (rc == HIPC_E_AGAIN && nattch == 0)
        rc = HIPC_E_FOREIGN;
    if (rc != HIPC_OK)
        return rc;
    rc = header_identity(shm, &info);
    if (rc != HIPC_OK)
        return rc;
    shm->requested = (size_t)info.requested;
    shm->size = (size_t)info.requested;
    shm->tag = info.tag;
    if (expected_size != 0 && shm->size < expected_size)
        return HIPC_E_SIZE_MISMATCH;
    return HIPC_OK;
}

/* Maps the segment (read-only when only the header must be checked),
 * verifies it, and applies the open flags. */
static int open_map(hipc_shm *shm, unsigned flags, unsigned long nattch,
                    size_t expected_size)
{
    int raw = (flags & HIPC_SHM_RAW) != 0;
    unsigned mflags = flags;
    if (flags & HIPC_SHM_NO_ATTACH)
        mflags = HIPC_SHM_RDONLY;
    if (raw && (flags & HIPC_SHM_NO_ATTACH))
        return HIPC_OK;
    void *base = NULL;
    int rc = attach_map(shm, mflags, IDENTITY_VERIFY, &base);
    if (rc != HIPC_OK)
        return rc;
    if (!raw)
        rc = open_verify(shm, base, nattch, expected_size);
    if (rc == HIPC_OK && (flags & HIPC_SHM_REMOVE_ON_ATTACH)) {
        int r = hipc__sys_shmctl(shm->id, IPC_RMID, NULL);
        rc = r < 0 ? hipc__shm_id_fail(&shm->sys_errno, r, HIPC_E_REMOVED)
                   : HIPC_OK;
        if (r == 0)
            shm->state_ |= STATE_REMOVED;
    }
    if (rc != HIPC_OK || (flags & HIPC_SHM_NO_ATTACH)) {
        (void)hipc__sys_shmdt(base);
        base = NULL;
    }
    shm->base_ = base;
    return rc;
}

static int open_common(hipc_shm *shm, size_t expected_size, unsigned flags,
                       int gone_code)
{
    struct shmid_ds ds;
    int r = stat_raw(shm->id, &ds);
    if (r == -EINVAL)
        return hipc__fail_as(&shm->sys_errno, r, gone_code);
    if (r < 0)
        return hipc__fail(&shm->sys_errno, r);
    if (ds.shm_perm.mode & SHM_DEST)
        return HIPC_E_REMOVED;
    shm->key = ds.shm_perm.__key;
    shm->seg_size = (size_t)ds.shm_segsz;
    identity_record(shm, &ds);
    /* Only a 32-bit process can meet a segment this large: Linux caps
     * segments at LLONG_MAX bytes. */
    /* GCOVR_EXCL_START [bound]: only 32-bit meets such a size */
    if (shm->seg_size > (size_t)PTRDIFF_MAX - hipc__sys_page_size())
        return HIPC_E_TOO_BIG;
    /* GCOVR_EXCL_STOP */
    shm->rounded = round_pages(shm->seg_size, hipc__sys_page_size());
    if (flags & HIPC_SHM_RAW) {
        shm->requested = shm->size = shm->seg_size;
        if (expected_size != 0 && shm->size < expected_size)
            return HIPC_E_SIZE_MISMATCH;
    }
    int rc = open_map(shm, flags, (unsigned long)ds.shm_nattch, expected_size);
    if (rc != HIPC_OK)
        return rc;
    handle_open(shm, flags);
    return HIPC_OK;
}

static int open_begin(hipc_shm *shm, unsigned flags)
{
    if (shm == NULL)
        return HIPC_E_NULL;
    memset(shm, 0, sizeof *shm);
    shm->id = -1;
    if ((flags & ~(unsigned)OPEN_FLAGS) != 0)
        return HIPC_E_BAD_FLAGS;
    if ((flags & HIPC_SHM_REMOVE_ON_ATTACH) && (flags & HIPC_SHM_NO_ATTACH))
        return HIPC_E_BAD_FLAGS;
    return HIPC_OK;
}

static int open_end(hipc_shm *shm, int rc)
{
    if (rc != HIPC_OK)
        shm->state_ = 0;
    return rc;
}

int hipc_shm_open(hipc_shm *shm, key_t key, size_t expected_size,
                  unsigned flags)
{
    int rc = open_begin(shm, flags);
    if (rc != HIPC_OK)
        return rc;
    if (key == HIPC_SHM_KEY_PRIVATE)
        return HIPC_E_BAD_KEY;
    shm->key = key;
    int id = hipc__sys_shmget(key, 0, 0);
    if (id < 0)
        return hipc__fail(&shm->sys_errno, id);
    shm->id = id;
    /* The key named it a moment ago: if the id is gone now, it was removed. */
    return open_end(shm,
                    open_common(shm, expected_size, flags, HIPC_E_REMOVED));
}

int hipc_shm_open_id(hipc_shm *shm, int id, size_t expected_size,
                     unsigned flags)
{
    int rc = open_begin(shm, flags);
    if (rc != HIPC_OK)
        return rc;
    if (id < 0)
        return HIPC_E_BAD_ID;
    shm->id = id;
    return open_end(shm,
                    open_common(shm, expected_size, flags, HIPC_E_NOT_FOUND));
}

/* ---- Attach, detach, remove, close ------------------------------------- */

/* The identity is checked by attach_map while the new mapping pins the
 * segment, so the id cannot change hands between the check and the map;
 * a failed attach leaves the handle as it was, but for sys_errno and what
 * was learnt (the segment is removed). */
int hipc_shm_attach(hipc_shm *shm, unsigned flags)
{
    int rc = handle_check(shm);
    if (rc != HIPC_OK)
        return rc;
    if ((flags & ~(unsigned)ATTACH_FLAGS) != 0)
        return HIPC_E_BAD_FLAGS;
    if (handle_state(shm) != STATE_DETACHED)
        return HIPC_E_BAD_STATE;
    if (shm->state_ & STATE_REMOVED)
        return HIPC_E_REMOVED;
    unsigned oflags = (flags & ~(unsigned)HIPC_SHM_RDONLY) |
                      (shm->flags_ & HIPC_SHM_RAW) | (flags & HIPC_SHM_RDONLY);
    hipc_shm tmp = *shm;
    rc = open_map(&tmp, oflags, 1, 0);
    shm->sys_errno = tmp.sys_errno;
    shm->state_ |= tmp.state_ & STATE_FLAGS;
    if (rc != HIPC_OK)
        return rc;
    *shm = tmp;
    shm->flags_ = (shm->flags_ & HIPC_SHM_RAW) | (flags & HIPC_SHM_RDONLY);
    handle_open(shm, shm->flags_);
    return HIPC_OK;
}

int hipc_shm_detach(hipc_shm *shm)
{
    int rc = handle_check(shm);
    if (rc != HIPC_OK)
        return rc;
    if (handle_state(shm) != STATE_ATTACHED)
        return HIPC_E_BAD_STATE;
    /* shmdt fails only when nothing is attached at that address, so the
     * handle is detached either way; the error is still reported. */
    int r = hipc__sys_shmdt(shm->base_);
    shm->base_ = NULL;
    shm->data = NULL;
    set_state(shm, STATE_DETACHED);
    return r < 0 ? hipc__fail(&shm->sys_errno, r) : HIPC_OK;
}

/* IPC_STAT, then IPC_RMID only when the id still names our segment. */
static int remove_checked(hipc_shm *shm)
{
    struct shmid_ds ds;
    int rc = identity_check(shm, &ds);
    if (rc != HIPC_OK)
        return rc;
    if (ds.shm_perm.mode & SHM_DEST)
        return mark_removed(shm);
    int r = hipc__sys_shmctl(shm->id, IPC_RMID, NULL);
    if (r < 0 && !hipc__shm_id_gone(r))
        return hipc__fail(&shm->sys_errno, r);
    shm->state_ |= STATE_REMOVED;
    return r < 0 ? hipc__fail_as(&shm->sys_errno, r, HIPC_E_REMOVED) : HIPC_OK;
}

/* Between the identity check and IPC_RMID, the segment is pinned by an
 * attach: ours when the handle is attached, else a read-only one taken for
 * the moment. A pinned segment cannot be destroyed, so its id cannot be
 * handed to another segment in between. Without read permission (or
 * address space) nothing pins it: see shm.h for that window. */
int hipc_shm_remove(hipc_shm *shm)
{
    int rc = handle_check(shm);
    if (rc != HIPC_OK)
        return rc;
    if (shm->state_ & STATE_REMOVED)
        return HIPC_E_REMOVED;
    void *pin = NULL;
    if (handle_state(shm) == STATE_DETACHED) {
        int r = hipc__sys_shmat(shm->id, NULL, SHM_RDONLY, &pin);
        if (r < 0 && hipc__shm_id_gone(r))
            return hipc__fail_as(&shm->sys_errno, r, mark_gone(shm));
        if (r < 0)
            pin = NULL;
    }
    rc = remove_checked(shm);
    if (pin != NULL)
        (void)hipc__sys_shmdt(pin);
    return rc;
}

int hipc_shm_close(hipc_shm *shm)
{
    int rc = handle_check(shm);
    if (rc != HIPC_OK)
        return rc;
    if (handle_state(shm) == STATE_ATTACHED)
        rc = hipc_shm_detach(shm);
    shm->state_ = STATE_CLOSED;
    return rc;
}

/* ---- Stat and handle-less operations ----------------------------------- */

static void info_fill(int id, const struct shmid_ds *ds, hipc_shm_info *info)
{
    memset(info, 0, sizeof *info);
    info->id = id;
    info->key = ds->shm_perm.__key;
    info->seg_size = (size_t)ds->shm_segsz;
    info->nattch = (unsigned long)ds->shm_nattch;
    info->cpid = ds->shm_cpid;
    info->lpid = ds->shm_lpid;
    info->atime = (int64_t)ds->shm_atime;
    info->dtime = (int64_t)ds->shm_dtime;
    info->ctime = (int64_t)ds->shm_ctime;
    info->uid = ds->shm_perm.uid;
    info->cuid = ds->shm_perm.cuid;
    info->gid = ds->shm_perm.gid;
    info->cgid = ds->shm_perm.cgid;
    info->mode = (unsigned)ds->shm_perm.mode & 0777u;
    info->removed = (ds->shm_perm.mode & SHM_DEST) != 0;
}

int hipc_shm_stat(hipc_shm *shm, hipc_shm_info *info)
{
    int rc = handle_check(shm);
    if (rc != HIPC_OK)
        return rc;
    if (info == NULL)
        return HIPC_E_NULL;
    struct shmid_ds ds;
    rc = identity_check(shm, &ds);
    if (rc != HIPC_OK)
        return rc;
    info_fill(shm->id, &ds, info);
    if (info->removed)
        shm->state_ |= STATE_REMOVED;
    return HIPC_OK;
}

int hipc_shm_stat_id(int id, hipc_shm_info *info, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (info == NULL)
        return HIPC_E_NULL;
    if (id < 0)
        return HIPC_E_BAD_ID;
    struct shmid_ds ds;
    int r = stat_raw(id, &ds);
    if (r < 0)
        return hipc__shm_id_fail(sys_errno, r, HIPC_E_NOT_FOUND);
    info_fill(id, &ds, info);
    return HIPC_OK;
}

int hipc_shm_remove_id(int id, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (id < 0)
        return HIPC_E_BAD_ID;
    int r = hipc__sys_shmctl(id, IPC_RMID, NULL);
    return r < 0 ? hipc__shm_id_fail(sys_errno, r, HIPC_E_NOT_FOUND) : HIPC_OK;
}

int hipc_shm_remove_key(key_t key, int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (key == HIPC_SHM_KEY_PRIVATE)
        return HIPC_E_BAD_KEY;
    /* Asking for no access bits finds the segment even when its mode
     * grants us none: removal is the owner's right, not a reader's. */
    int id = hipc__sys_shmget(key, 0, 0);
    if (id < 0)
        return hipc__fail(sys_errno, id);
    return hipc_shm_remove_id(id, sys_errno);
}

/* ---- Peeking at a header (for the inspector) ------------------------- */

static int peek_fail(int neg_errno, int *sys_errno)
{
    return hipc__shm_id_fail(sys_errno, neg_errno, HIPC_E_NOT_FOUND);
}

/* The IPC_STAT comes after the attach, so the size belongs to the segment
 * that is mapped even if the id changed hands in between. */
int hipc__shm_peek_header(int id, size_t *seg_size, hipc_shm_header_info *out,
                          int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (out == NULL)
        return HIPC_E_NULL;
    if (id < 0)
        return HIPC_E_BAD_ID;
    void *base = NULL;
    int r = hipc__sys_shmat(id, NULL, SHM_RDONLY, &base);
    if (r < 0)
        return peek_fail(r, sys_errno);
    struct shmid_ds ds;
    r = stat_raw(id, &ds);
    int err = r < 0 ? -r : 0;
    int rc = r < 0 ? peek_fail(r, sys_errno)
                   : hipc__shm_page_present(base, MADV_POPULATE_READ, &err);
    if (r == 0 && seg_size != NULL)
        *seg_size = (size_t)ds.shm_segsz;
    if (rc == HIPC_OK)
        rc = header_read(base, (size_t)ds.shm_segsz, out);
    (void)hipc__sys_shmdt(base);
    hipc__set_errno(sys_errno, err);
    return rc;
}

/* ---- Keys -------------------------------------------------------------- */

/* The same key glibc's ftok() computes, from one stat() through the seam:
 * the project id in the top byte, then the low bytes of device and inode. */
int hipc_shm_key_from_path(const char *path, int proj_id, key_t *key,
                           int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (path == NULL || key == NULL)
        return HIPC_E_NULL;
    if (path[0] == '\0' || strnlen(path, PATH_MAX) >= PATH_MAX)
        return HIPC_E_BAD_PATH;
    if (proj_id < 1 || proj_id > 255)
        return HIPC_E_BAD_PROJ_ID;
    struct stat st;
    int r = hipc__sys_stat(path, &st);
    if (r < 0) {
        hipc__set_errno(sys_errno, -r);
        if (r == -EACCES || r == -EPERM)
            return HIPC_E_PERM;
        return r == -ENOMEM ? HIPC_E_NOMEM : HIPC_E_BAD_PATH;
    }
    uint32_t k = ((uint32_t)proj_id & 0xffu) << 24 |
                 ((uint32_t)st.st_dev & 0xffu) << 16 |
                 ((uint32_t)st.st_ino & 0xffffu);
    *key = (key_t)k;
    return HIPC_OK;
}
