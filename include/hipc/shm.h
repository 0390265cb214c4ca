/* SPDX-License-Identifier: MIT */
/* hipc — System V shared memory, validated.
 *
 * A hipc_shm is caller-allocated (static, on the stack, or inside another
 * struct) and needs no initialisation before hipc_shm_create/open: those
 * functions overwrite it completely. After hipc_shm_close() the handle is
 * "closed" and every call on it reports HIPC_E_STALE_HANDLE; a handle that
 * was never opened (zeroed or garbage) reports HIPC_E_BAD_HANDLE.
 *
 * A handle must stay where create/open made it: it records its own
 * address, and a copy (a struct assignment, memcpy) is HIPC_E_BAD_HANDLE
 * for every call and touches nothing, so closing a copy can never detach
 * the original's (or anyone's) mapping. Pass pointers instead. A forked
 * child's handle is the parent's, at the same address: it works.
 *
 * Identity: the kernel hands a removed segment's id to later segments. A
 * handle records its segment's key, creator pid, creation time (shm_ctime,
 * seconds) and size from IPC_STAT, and the header's creator (pid and start
 * time), and every call that acts on the id (attach, stat, remove) first
 * checks they still match; an id that now names another segment is
 * HIPC_E_REMOVED, and that segment is neither mapped, reported nor
 * removed. Limits: a segment re-created at the same id by the same
 * process with the same size within the same second cannot be told apart
 * when it has the same key, or has been marked for removal (its key then
 * reads 0): no kernel attribute differs. Once any call has found the id
 * naming another segment, every later call says HIPC_E_REMOVED. IPC_SET by any program changes shm_ctime, so
 * a segment chmod-ed that way is taken for another one (HIPC_E_REMOVED,
 * never acted on). detach and close act on this process's mapping only,
 * never on the id: while attached, the segment cannot be destroyed and its
 * id cannot be reused.
 *
 * Pages are never touched before they are known to be present: the
 * header is read only after MADV_POPULATE_READ (Linux 5.14+) made its page
 * present and mincore() shows it there. A page the kernel cannot provide
 * (a SHM_HUGETLB|SHM_NORESERVE segment with no free huge page, which a
 * read would turn into SIGBUS) is HIPC_E_NOMEM with sys_errno EFAULT. On a
 * kernel without MADV_POPULATE_READ (sys_errno EINVAL) a header page that
 * nobody has written is not shown present and is HIPC_E_UNSUPPORTED; a
 * hipc segment's header, written by its creator, is present and opens.
 * Raw payload pages are the caller's: hipc does not read them, and
 * HIPC_SHM_PREFAULT turns their shortage into HIPC_E_NOMEM as well.
 *
 * Segments that hipc creates start with a header (magic, layout version,
 * layout fingerprint, sizes, creator pid and start time, application tag),
 * written before the segment can be opened by hipc and verified by every
 * hipc_shm_open(). The payload follows the header; `data` points at it.
 * HIPC_SHM_RAW opens or creates segments without a header.
 *
 * Header layout version 1 (64 bytes, native byte order, fixed-width
 * fields): magic "HIPC" (u32 @0, stored last), version (u32 @4),
 * fingerprint (u32 @8: pointer width << 24 | endianness << 16 | header
 * size; endianness 1 little, 2 big), tag (u32 @12), requested (u64 @16),
 * payload offset (u64 @24, = 64), creator start time (u64 @32), creator
 * pid (i32 @40), reserved zeros (@44..59), checksum (u32 @60: FNV-1a of
 * bytes 4..59).
 */
#ifndef HIPC_SHM_H
#define HIPC_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the in-memory segment layout (independent of the API). */
#define HIPC_SHM_LAYOUT_VERSION 1u

/* The System V "private" key: a new segment no other key can name. */
#define HIPC_SHM_KEY_PRIVATE ((hipc_key)0)

/* Bytes of the hipc header at the start of every non-raw segment; the
 * payload follows it, so `data` is 64-byte aligned. */
#define HIPC_SHM_HEADER_SIZE 64u

/* Flags for create, open and attach. Unknown bits are HIPC_E_BAD_FLAGS. */
#define HIPC_SHM_RDONLY 0x01u /* attach read-only */
#define HIPC_SHM_RAW 0x02u    /* no hipc header */
#define HIPC_SHM_REMOVE_ON_ATTACH                                              \
    0x04u                           /* IPC_RMID once attached: the
                                            segment vanishes with the last
                                            detach, even after crashes.
                                            Nobody can open or attach it
                                            afterwards (HIPC_E_REMOVED):
                                            share it across fork */
#define HIPC_SHM_SHARED_WRITE 0x08u /* allow group/world-writable mode */
#define HIPC_SHM_PREFAULT                                                      \
    0x10u                        /* populate pages now: memory
                                            shortage becomes an error code,
                                            not a SIGBUS later (Linux 5.14+
                                            MADV_POPULATE_*; older kernels
                                            get the MADV_WILLNEED hint) */
#define HIPC_SHM_NO_ATTACH 0x20u /* create/open without attaching */
#define HIPC_SHM_FLAGS_ALL_ 0x3fu

/* Zero-initialise, then set what you need. */
typedef struct hipc_shm_config {
    size_t size; /* payload bytes wanted; must be > 0 */
    unsigned flags;
    unsigned mode; /* permission bits (0..0777); 0 means 0600 */
    uint32_t tag;  /* application tag stored in the header */
} hipc_shm_config;

typedef struct hipc_shm {
    /* Public, read-only. */
    void *data;       /* payload start; NULL while detached */
    size_t size;      /* payload bytes available at `data` */
    size_t requested; /* payload bytes the creator asked for */
    size_t rounded;   /* header + payload rounded up to whole pages */
    size_t seg_size;  /* segment size as the kernel reports it */
    hipc_key key;
    int id;
    uint32_t tag;
    int sys_errno; /* errno of the last failed syscall on this handle */
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned state_;
    unsigned flags_;
    void *base_;
    /* The segment's identity, from IPC_STAT taken while attached at
     * create/open, and from its header: what tells it apart from a later
     * segment the kernel gives the same id. */
    pid_t cpid_;
    hipc_key key_;
    int64_t ctime_;
    pid_t hpid_;                  /* header's creator pid (0: raw) */
    uint64_t hstart_;             /* header's creator start time */
    const struct hipc_shm *self_; /* where the handle was made: a copy of
                                     it lives elsewhere */
} hipc_shm;

typedef struct hipc_shm_info {
    int id;
    hipc_key key;
    size_t seg_size;
    unsigned long nattch;
    pid_t cpid; /* creator */
    pid_t lpid; /* last shmat/shmdt */
    int64_t atime, dtime, ctime;
    uid_t uid, cuid;
    gid_t gid, cgid;
    unsigned mode; /* permission bits */
    int removed;   /* marked for removal (SHM_DEST) */
} hipc_shm_info;

/* What a hipc header says, as decoded by hipc_shm_header_check(). */
typedef struct hipc_shm_header_info {
    uint32_t version;
    uint32_t tag;
    uint64_t requested;
    uint64_t payload_offset;
    pid_t creator_pid;
    uint64_t creator_start; /* clock ticks since boot, /proc/PID/stat #22 */
} hipc_shm_header_info;

/* The kernel's System V limits as /proc/sys/kernel/ reports them for this
 * IPC namespace. A limit hipc cannot read is reported as UINT64_MAX (the
 * kernel still enforces it). */
typedef struct hipc_shm_limits {
    uint64_t shmmax; /* largest segment, bytes */
    uint64_t shmall; /* all segments together, pages */
    uint64_t shmmni; /* number of segments */
    size_t page_size;
} hipc_shm_limits;

/* HIPC_OK (never fails otherwise: an unreadable limit is UINT64_MAX, and
 * *sys_errno, if not NULL, keeps the errno of the last one that could not
 * be read, else 0), or HIPC_E_NULL for a NULL `out`. */
int hipc_shm_get_limits(hipc_shm_limits *out, int *sys_errno);

/* Creates a segment under `key` (or HIPC_SHM_KEY_PRIVATE) exclusively and
 * attaches it read-write (unless HIPC_SHM_NO_ATTACH).
 *
 * cfg->flags: RAW, REMOVE_ON_ATTACH, SHARED_WRITE, PREFAULT, NO_ATTACH;
 * RDONLY, unknown bits and REMOVE_ON_ATTACH with NO_ATTACH are
 * HIPC_E_BAD_FLAGS. cfg->mode: 0 means 0600; above 0777, without owner
 * read and write (the creator writes the header), or group/world-writable
 * without HIPC_SHM_SHARED_WRITE is HIPC_E_BAD_MODE.
 * Sizes, checked in this order before any segment exists:
 *   0                                                    HIPC_E_BAD_SIZE
 *   header + size, rounded to pages, wraps size_t        HIPC_E_OVERFLOW
 *   that rounded size above PTRDIFF_MAX                  HIPC_E_TOO_BIG
 *   header + size above SHMMAX, or pages above SHMALL    HIPC_E_LIMIT
 *                                                        (sys_errno 0)
 * The kernel may still refuse: HIPC_E_LIMIT with sys_errno ENOSPC (SHMMNI
 * segments exist, or SHMALL pages are in use), HIPC_E_NOMEM.
 * A taken key is HIPC_E_EXISTS (sys_errno EEXIST). The header records the
 * creator's start time from /proc/self/stat; when that cannot be read the
 * create fails with its code (HIPC_E_NOT_FOUND without /proc, HIPC_E_PERM
 * hidden, HIPC_E_UNSUPPORTED when this process's time-namespace offset
 * cannot be known, HIPC_E_CORRUPT for a malformed file).
 * NULL shm or cfg: HIPC_E_NULL (the handle is left untouched). After the
 * segment exists: shmat or a prefault short of memory HIPC_E_NOMEM
 * (sys_errno ENOMEM, or EFAULT from the prefault), a segment removed by
 * someone else before we attached HIPC_E_REMOVED, any other kernel
 * failure its hipc__from_errno code (HIPC_E_SYS for the unexpected;
 * sys_errno says which).
 *
 * On success: requested = cfg->size, size = payload bytes at `data`,
 * seg_size = header + size (what IPC_STAT reports), rounded = seg_size
 * rounded up to whole pages (what is mapped). On failure the handle is not
 * open (every call on it is HIPC_E_BAD_HANDLE; do not close it), but
 * `requested`, `rounded` and `sys_errno` tell what was tried, and no
 * segment is left behind: one created but not attached, written or
 * prefaulted is removed again.
 *
 * The header is written before the segment is published: the creator
 * writes every field, then stores the magic with release order. An opener
 * that comes between shmget and that store sees a zero magic and gets
 * HIPC_E_AGAIN (retry later). */
int hipc_shm_create(hipc_shm *shm, hipc_key key, const hipc_shm_config *cfg);

/* Creates a segment under a key no one else holds, starting from `seed`
 * (any key but HIPC_SHM_KEY_PRIVATE, else HIPC_E_BAD_KEY) and moving to a
 * new key on each EEXIST; never attaches a stranger's segment, because
 * every attempt is IPC_CREAT|IPC_EXCL. After HIPC_SHM_CREATE_RETRIES taken
 * keys: HIPC_E_RETRIES. The chosen key is in shm->key. Every other code is
 * hipc_shm_create's. */
int hipc_shm_create_fresh(hipc_shm *shm, hipc_key seed,
                          const hipc_shm_config *cfg);

/* Opens an existing segment by key or id and attaches it (unless
 * HIPC_SHM_NO_ATTACH). Flags: RDONLY, RAW, REMOVE_ON_ATTACH, PREFAULT,
 * NO_ATTACH. The size comes from IPC_STAT and the header, never from the
 * caller; when `expected_size` is non-zero a smaller payload is
 * HIPC_E_SIZE_MISMATCH.
 * Without HIPC_SHM_RAW the header is verified (even with NO_ATTACH, through
 * a short read-only attach): another program's segment is HIPC_E_FOREIGN,
 * another layout version HIPC_E_VERSION, another ABI (pointer width,
 * endianness, header size) HIPC_E_LAYOUT, a bad checksum or inconsistent
 * field HIPC_E_CORRUPT. A zero magic is HIPC_E_AGAIN while someone is
 * attached (a creator may still be writing), HIPC_E_FOREIGN otherwise.
 * Errors: NULL shm HIPC_E_NULL; flags outside the list above, or
 * REMOVE_ON_ATTACH with NO_ATTACH,
 * HIPC_E_BAD_FLAGS; key HIPC_SHM_KEY_PRIVATE HIPC_E_BAD_KEY, negative id
 * HIPC_E_BAD_ID, no such key or id HIPC_E_NOT_FOUND (sys_errno ENOENT or
 * EINVAL), no permission HIPC_E_PERM (sys_errno EACCES), a segment
 * marked for removal, or removed or replaced between the lookup and the
 * attach, HIPC_E_REMOVED (see hipc_shm_attach). A header page that cannot
 * be made present HIPC_E_NOMEM (sys_errno EFAULT or ENOMEM) or
 * HIPC_E_UNSUPPORTED (see the top of this file); a prefault short of
 * memory HIPC_E_NOMEM; any other kernel failure its hipc__from_errno code.
 * On failure the handle is not open (HIPC_E_BAD_HANDLE), sys_errno kept,
 * and nothing stays attached. */
int hipc_shm_open(hipc_shm *shm, hipc_key key, size_t expected_size,
                  unsigned flags);
int hipc_shm_open_id(hipc_shm *shm, int id, size_t expected_size,
                     unsigned flags);

/* Attaches a detached handle (flags: RDONLY, PREFAULT, REMOVE_ON_ATTACH;
 * others HIPC_E_BAD_FLAGS) and verifies the header again. NULL
 * HIPC_E_NULL, a copy or garbage HIPC_E_BAD_HANDLE, a closed handle
 * HIPC_E_STALE_HANDLE, an attached one HIPC_E_BAD_STATE.
 * A segment that is gone (EINVAL/EIDRM), whose id now names another
 * segment (key, creator, creation time, size or header creator differ),
 * or that is marked for removal is HIPC_E_REMOVED: Linux would let a
 * removed-but-still-attached segment be attached again, but POSIX leaves
 * that undefined and a removed segment has no key, so hipc refuses it.
 * The check runs after shmat, while the new mapping pins the segment, and
 * before any prefault, so another segment's pages are never touched.
 * Header and memory codes are hipc_shm_open's; no permission HIPC_E_PERM.
 * On failure the handle stays detached and otherwise unchanged (but for
 * sys_errno, and for having learnt the segment is removed). */
int hipc_shm_attach(hipc_shm *shm, unsigned flags);
/* A handle that is not attached is HIPC_E_BAD_STATE. A failed shmdt (the
 * kernel saw nothing attached there: HIPC_E_SYS, sys_errno EINVAL) leaves
 * the handle detached too. NULL HIPC_E_NULL, a copy or garbage
 * HIPC_E_BAD_HANDLE, a closed handle HIPC_E_STALE_HANDLE. Acts on this
 * process's mapping only, never on the id. */
int hipc_shm_detach(hipc_shm *shm);

/* Marks the segment for removal (IPC_RMID). Attached handles stay usable;
 * the memory goes when the last process detaches. A second remove, a
 * segment already gone (sys_errno EINVAL/EIDRM), one someone else marked
 * for removal, or an id that now names another segment is HIPC_E_REMOVED,
 * and nothing is removed; not the owner, HIPC_E_PERM (sys_errno EPERM);
 * without read permission the identity cannot be checked: HIPC_E_PERM
 * (sys_errno EACCES), nothing removed (hipc_shm_remove_id removes by id
 * without that check). NULL HIPC_E_NULL, a copy or garbage
 * HIPC_E_BAD_HANDLE, a closed handle HIPC_E_STALE_HANDLE; other kernel
 * failures their hipc__from_errno code.
 * Race: IPC_STAT (the identity) and IPC_RMID are two calls. The segment is
 * pinned between them by an attach (the handle's own, or a read-only one
 * taken for the moment), so it cannot be destroyed and its id cannot pass
 * to another segment: no window. Only when that attach fails for another
 * reason than the segment being gone (no read permission, no address
 * space: EACCES, ENOMEM) is the segment unpinned, and then, between the
 * two calls (about 1 us), another process would have to remove it and the
 * kernel give its very id to a new segment for that one to be removed. */
int hipc_shm_remove(hipc_shm *shm);

/* Detaches if attached and closes the handle. Does not remove, never acts
 * on the id. shmdt can only fail when nothing is attached at the address,
 * so the handle is detached (and closed) even then; the error (HIPC_E_SYS,
 * sys_errno EINVAL) is still returned. NULL HIPC_E_NULL, a copy or
 * garbage HIPC_E_BAD_HANDLE, closed already HIPC_E_STALE_HANDLE. */
int hipc_shm_close(hipc_shm *shm);

/* IPC_STAT of the handle's segment (attached or not). A segment gone
 * (sys_errno EINVAL/EIDRM), or an id that now names another segment, is
 * HIPC_E_REMOVED and *info is left untouched; one marked for removal but
 * still attached somewhere succeeds with info->removed set (and key
 * HIPC_SHM_KEY_PRIVATE, as the kernel drops it). NULL shm or info
 * HIPC_E_NULL, a copy or garbage HIPC_E_BAD_HANDLE, a closed handle
 * HIPC_E_STALE_HANDLE, no read permission HIPC_E_PERM (sys_errno EACCES). */
int hipc_shm_stat(hipc_shm *shm, hipc_shm_info *info);
/* The same by id: no such id HIPC_E_NOT_FOUND (sys_errno EINVAL or EIDRM,
 * kept), a negative id HIPC_E_BAD_ID, NULL info HIPC_E_NULL,
 * no read permission HIPC_E_PERM (sys_errno EACCES). No identity check:
 * it reports whatever the id names now. */
int hipc_shm_stat_id(int id, hipc_shm_info *info, int *sys_errno);

/* Removes a segment by id, without a handle (the ipcrm -m view), whatever
 * it names now. No such id: HIPC_E_NOT_FOUND (sys_errno EINVAL or EIDRM,
 * kept); a negative id HIPC_E_BAD_ID; not the owner: HIPC_E_PERM
 * (sys_errno EPERM). A segment already marked is removed again: HIPC_OK. */
int hipc_shm_remove_id(int id, int *sys_errno);

/* ftok() with validation: NULL arguments HIPC_E_NULL; an empty path, one
 * of PATH_MAX bytes or more, or one that does not exist HIPC_E_BAD_PATH
 * (sys_errno says why: ENOENT, ENOTDIR, ENAMETOOLONG, ELOOP, or 0 when
 * refused before the kernel); a path that may not be searched HIPC_E_PERM;
 * the kernel short of memory HIPC_E_NOMEM;
 * proj_id outside 1..255 HIPC_E_BAD_PROJ_ID. The key is computed from one
 * stat() exactly as glibc's ftok() does: (proj_id & 0xff) << 24 |
 * (st_dev & 0xff) << 16 | (st_ino & 0xffff). Like ftok, two paths can
 * share a key; hipc_shm_create_fresh() is the collision-safe choice. */
int hipc_shm_key_from_path(const char *path, int proj_id, hipc_key *key,
                           int *sys_errno);

/* Pure (no syscalls; a fuzz target): checks the first `len` bytes of a
 * segment of `seg_size` bytes. HIPC_OK and *out filled (out may be NULL),
 * or, in this order: HIPC_E_NULL (buf), HIPC_E_FOREIGN (fewer than 4
 * bytes, or not the hipc magic), HIPC_E_AGAIN (zero magic: not written
 * yet), HIPC_E_LAYOUT (byte-swapped magic), HIPC_E_CORRUPT (truncated),
 * HIPC_E_VERSION, HIPC_E_LAYOUT (fingerprint), HIPC_E_CORRUPT (checksum,
 * reserved fields, offsets or sizes that do not fit seg_size). */
int hipc_shm_header_check(const void *buf, size_t len, size_t seg_size,
                          hipc_shm_header_info *out);

#ifdef __cplusplus
}
#endif
#endif
