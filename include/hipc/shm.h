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

/* Payload bytes of a segment whose config leaves `size` zero (or that is
 * created with a NULL config): one 4 KiB page's worth, the same on every
 * machine. The segment itself is HIPC_SHM_HEADER_SIZE bytes more (none
 * more with HIPC_SHM_RAW), rounded up to whole pages when mapped. */
#define HIPC_SHM_DEFAULT_SIZE 4096u

/* Zeroed means defaults, field by field; a NULL config pointer means all
 * defaults: HIPC_SHM_DEFAULT_SIZE bytes, no flags, mode 0600, tag 0. */
typedef struct hipc_shm_config {
    size_t size;    /* payload bytes wanted; 0 means HIPC_SHM_DEFAULT_SIZE */
    unsigned flags; /* HIPC_SHM_* create flags; 0 means none */
    unsigned mode;  /* permission bits (0..0777); 0 means 0600 */
    uint32_t tag;   /* application tag stored in the header */
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

/* Reads the System V limits of this IPC namespace into *out.
 *
 * Returns HIPC_OK, or HIPC_E_NULL when `out` is NULL. Never fails
 * otherwise: a limit that cannot be read is UINT64_MAX, and *sys_errno
 * (if not NULL) keeps the errno of the last one that could not be read,
 * else 0. */
int hipc_shm_get_limits(hipc_shm_limits *out, int *sys_errno);

/* Creates a segment under `key` (or HIPC_SHM_KEY_PRIVATE) exclusively and
 * attaches it read-write (unless HIPC_SHM_NO_ATTACH). `cfg` may be NULL
 * (all defaults); a zero field is its default (see hipc_shm_config).
 *
 * Returns HIPC_OK, or one of these; the checks before the kernel is asked
 * run in this order, and sys_errno is 0 for them:
 *   HIPC_E_NULL       `shm` is NULL (nothing is written to it)
 *   HIPC_E_BAD_FLAGS  cfg->flags holds RDONLY or unknown bits, or
 *                     REMOVE_ON_ATTACH together with NO_ATTACH (allowed:
 *                     RAW, REMOVE_ON_ATTACH, SHARED_WRITE, PREFAULT,
 *                     NO_ATTACH)
 *   HIPC_E_BAD_MODE   cfg->mode above 0777, without owner read and write
 *                     (the creator writes the header), or group/world-
 *                     writable without HIPC_SHM_SHARED_WRITE
 *   HIPC_E_OVERFLOW   header + size, rounded up to pages, wraps size_t
 *   HIPC_E_TOO_BIG    that rounded size is above PTRDIFF_MAX
 *   HIPC_E_LIMIT      header + size above SHMMAX, or its pages above SHMALL
 * Reading this process's start time for the header (not with RAW):
 *   HIPC_E_NOT_FOUND  no /proc; HIPC_E_PERM /proc/self hidden;
 *   HIPC_E_UNSUPPORTED this process's time-namespace offset cannot be
 *                     known; HIPC_E_CORRUPT a malformed /proc/self/stat;
 *                     a failed open or read its mapped code (HIPC_E_LIMIT
 *                     out of descriptors, HIPC_E_NOMEM, HIPC_E_SYS)
 * The kernel (sys_errno says which errno):
 *   HIPC_E_EXISTS     the key is taken (EEXIST)
 *   HIPC_E_LIMIT      SHMMNI segments exist or SHMALL pages are in use
 *                     (ENOSPC), or the kernel refuses the size (EINVAL)
 *   HIPC_E_NOMEM      no memory for the segment, no address space for the
 *                     attach (ENOMEM), or a prefault (header page, or all
 *                     pages with PREFAULT) short of memory (EFAULT, ENOMEM)
 *   HIPC_E_REMOVED    someone removed the new segment before we attached
 *   HIPC_E_PERM       refused by the kernel or a security module
 *   any other errno   hipc__from_errno's code (HIPC_E_SYS when unexpected)
 *
 * On success: requested = the payload size asked for, size = payload bytes
 * at `data`, seg_size = header + size (what IPC_STAT reports), rounded =
 * seg_size rounded up to whole pages (what is mapped). On failure the
 * handle is not open (every call on it is HIPC_E_BAD_HANDLE; do not close
 * it), but `requested`, `rounded` and `sys_errno` tell what was tried, and
 * no segment is left behind: one created but not attached, written or
 * prefaulted is removed again.
 *
 * The header is written before the segment is published: the creator
 * writes every field, then stores the magic with release order. An opener
 * that comes between shmget and that store sees a zero magic and gets
 * HIPC_E_AGAIN (retry later). */
int hipc_shm_create(hipc_shm *shm, hipc_key key, const hipc_shm_config *cfg);

/* Creates a segment under a key no one else holds, starting from `seed`
 * and moving to a new key on each EEXIST; never attaches a stranger's
 * segment, because every attempt is IPC_CREAT|IPC_EXCL. The chosen key is
 * in shm->key. `cfg` as for hipc_shm_create (NULL: all defaults).
 *
 * Returns HIPC_OK, HIPC_E_NULL (`shm` NULL), HIPC_E_BAD_KEY (`seed` is
 * HIPC_SHM_KEY_PRIVATE), HIPC_E_RETRIES (HIPC_SHM_CREATE_RETRIES keys in a
 * row were taken), or any other code of hipc_shm_create (never
 * HIPC_E_EXISTS). */
int hipc_shm_create_fresh(hipc_shm *shm, hipc_key seed,
                          const hipc_shm_config *cfg);

/* Opens an existing segment by key (hipc_shm_open) or id
 * (hipc_shm_open_id) and attaches it (unless HIPC_SHM_NO_ATTACH). The
 * size comes from IPC_STAT and the header, never from the caller; when
 * `expected_size` is non-zero a smaller payload is refused. Without
 * HIPC_SHM_RAW the header is verified (even with NO_ATTACH, through a
 * short read-only attach).
 *
 * Returns HIPC_OK, or:
 *   HIPC_E_NULL       `shm` is NULL
 *   HIPC_E_BAD_FLAGS  flags other than RDONLY, RAW, REMOVE_ON_ATTACH,
 *                     PREFAULT, NO_ATTACH, or REMOVE_ON_ATTACH with
 *                     NO_ATTACH
 *   HIPC_E_BAD_KEY    (open) key HIPC_SHM_KEY_PRIVATE
 *   HIPC_E_BAD_ID     (open_id) a negative id
 *   HIPC_E_NOT_FOUND  no such key (sys_errno ENOENT) or id (EINVAL)
 *   HIPC_E_PERM       no read permission (EACCES; or no write permission
 *                     for a read-write attach), or REMOVE_ON_ATTACH by a
 *                     process that is neither owner nor creator (EPERM)
 *   HIPC_E_REMOVED    the segment is marked for removal, or was removed or
 *                     replaced between the lookup and the attach (see
 *                     hipc_shm_attach)
 *   HIPC_E_TOO_BIG    (32-bit processes) a segment too large to map
 *   HIPC_E_SIZE_MISMATCH  the payload is smaller than `expected_size`
 *   HIPC_E_FOREIGN    another program's segment: not the hipc magic, or a
 *                     zero magic while nobody is attached
 *   HIPC_E_AGAIN      a zero magic while someone is attached: a creator
 *                     may still be writing the header; retry
 *   HIPC_E_VERSION    another header layout version
 *   HIPC_E_LAYOUT     another ABI (pointer width, endianness, header size)
 *   HIPC_E_CORRUPT    a bad checksum or an inconsistent header field
 *   HIPC_E_NOMEM      no address space (ENOMEM), or a header page (or,
 *                     with PREFAULT, any page) that cannot be made present
 *                     (EFAULT, ENOMEM)
 *   HIPC_E_UNSUPPORTED a kernel without MADV_POPULATE_READ (sys_errno
 *                     EINVAL) on which the header page is not shown
 *                     present (see the top of this file)
 *   any other errno   hipc__from_errno's code (HIPC_E_SYS when unexpected)
 * On failure the handle is not open (HIPC_E_BAD_HANDLE), sys_errno is
 * kept, and nothing stays attached. */
int hipc_shm_open(hipc_shm *shm, hipc_key key, size_t expected_size,
                  unsigned flags);
int hipc_shm_open_id(hipc_shm *shm, int id, size_t expected_size,
                     unsigned flags);

/* Attaches a detached handle (flags: RDONLY, PREFAULT, REMOVE_ON_ATTACH)
 * and verifies the header again.
 *
 * Returns HIPC_OK, or: HIPC_E_NULL (`shm` NULL), HIPC_E_BAD_HANDLE (a copy
 * or garbage), HIPC_E_STALE_HANDLE (closed), HIPC_E_BAD_FLAGS (other
 * flags), HIPC_E_BAD_STATE (already attached), HIPC_E_REMOVED (see
 * below), or any code of hipc_shm_open from the attach on: HIPC_E_PERM,
 * HIPC_E_NOMEM, HIPC_E_UNSUPPORTED, HIPC_E_FOREIGN, HIPC_E_AGAIN,
 * HIPC_E_VERSION, HIPC_E_LAYOUT, HIPC_E_CORRUPT (someone rewrote the
 * header since), another errno's hipc__from_errno code.
 *
 * HIPC_E_REMOVED: a segment that is gone (EINVAL/EIDRM), whose id now
 * names another segment (key, creator, creation time, size or header
 * creator differ), or that is marked for removal: Linux would let a
 * removed-but-still-attached segment be attached again, but POSIX leaves
 * that undefined and a removed segment has no key, so hipc refuses it.
 * The check runs after shmat, while the new mapping pins the segment, and
 * before any prefault, so another segment's pages are never touched.
 * On failure the handle stays detached and otherwise unchanged (but for
 * sys_errno, and for having learnt the segment is removed). */
int hipc_shm_attach(hipc_shm *shm, unsigned flags);

/* Detaches this process's mapping; never acts on the id.
 *
 * Returns HIPC_OK, or: HIPC_E_NULL (`shm` NULL), HIPC_E_BAD_HANDLE (a copy
 * or garbage), HIPC_E_STALE_HANDLE (closed), HIPC_E_BAD_STATE (not
 * attached), HIPC_E_SYS (shmdt failed: the kernel saw nothing attached
 * there, sys_errno EINVAL; the handle is detached all the same). */
int hipc_shm_detach(hipc_shm *shm);

/* Marks the handle's segment for removal (IPC_RMID). Attached handles stay
 * usable; the memory goes when the last process detaches.
 *
 * Returns HIPC_OK, or:
 *   HIPC_E_NULL, HIPC_E_BAD_HANDLE, HIPC_E_STALE_HANDLE  as for detach
 *   HIPC_E_REMOVED    a second remove, a segment already gone (sys_errno
 *                     EINVAL/EIDRM), one someone else marked for removal,
 *                     or an id that now names another segment: nothing is
 *                     removed
 *   HIPC_E_PERM       not the owner or creator (sys_errno EPERM); or no
 *                     read permission (EACCES), so the identity cannot be
 *                     checked and nothing is removed (hipc_shm_remove_id
 *                     removes by id without that check)
 *   any other errno   hipc__from_errno's code (HIPC_E_SYS when unexpected)
 * Race: IPC_STAT (the identity) and IPC_RMID are two calls. The segment is
 * pinned between them by an attach (the handle's own, or a read-only one
 * taken for the moment), so it cannot be destroyed and its id cannot pass
 * to another segment: no window. Only when that attach fails for another
 * reason than the segment being gone (no read permission, no address
 * space: EACCES, ENOMEM) is the segment unpinned, and then, between the
 * two calls, another process would have to remove it and the kernel give
 * its very id to a new segment for that one to be removed. */
int hipc_shm_remove(hipc_shm *shm);

/* Detaches if attached and closes the handle. Does not remove, never acts
 * on the id.
 *
 * Returns HIPC_OK, or: HIPC_E_NULL (`shm` NULL), HIPC_E_BAD_HANDLE (a copy
 * or garbage), HIPC_E_STALE_HANDLE (closed already), HIPC_E_SYS (shmdt
 * failed, sys_errno EINVAL: nothing was attached at the address; the
 * handle is detached and closed all the same). */
int hipc_shm_close(hipc_shm *shm);

/* IPC_STAT of the handle's segment (attached or not), checked to be the
 * handle's segment still. One marked for removal but still attached
 * somewhere succeeds with info->removed set (and key HIPC_SHM_KEY_PRIVATE,
 * as the kernel drops it).
 *
 * Returns HIPC_OK, or: HIPC_E_NULL (`shm` or `info` NULL),
 * HIPC_E_BAD_HANDLE (a copy or garbage), HIPC_E_STALE_HANDLE (closed),
 * HIPC_E_REMOVED (the segment is gone, sys_errno EINVAL/EIDRM, or its id
 * now names another segment; *info untouched), HIPC_E_PERM (no read
 * permission, sys_errno EACCES), or another errno's hipc__from_errno
 * code. */
int hipc_shm_stat(hipc_shm *shm, hipc_shm_info *info);

/* IPC_STAT by id, without a handle: whatever the id names now, no identity
 * check. The kernel's own record, in one call (needs read permission);
 * hipc_inspect_find_id() is the `ipcs` view instead (the /proc table, no
 * permission needed, plus the hipc header and orphan verdict).
 *
 * Returns HIPC_OK, or: HIPC_E_NULL (`info` NULL), HIPC_E_BAD_ID (a
 * negative id), HIPC_E_NOT_FOUND (no such id, sys_errno EINVAL or EIDRM),
 * HIPC_E_PERM (no read permission, sys_errno EACCES), or another errno's
 * hipc__from_errno code. *sys_errno (may be NULL) is 0 on success. */
int hipc_shm_stat_id(int id, hipc_shm_info *info, int *sys_errno);

/* Removes a segment by id (IPC_RMID, as `ipcrm -m`), without a handle and
 * without an identity check: whatever the id names now. The memory goes
 * when the last process detaches.
 *
 * Returns HIPC_OK (also for a segment already marked for removal), or:
 * HIPC_E_BAD_ID (a negative id), HIPC_E_NOT_FOUND (no such id, sys_errno
 * EINVAL or EIDRM), HIPC_E_PERM (neither owner nor creator, sys_errno
 * EPERM), or another errno's hipc__from_errno code. *sys_errno (may be
 * NULL) is 0 on success. */
int hipc_shm_remove_id(int id, int *sys_errno);

/* Removes the segment that `key` names (as `ipcrm -M`): looks the key up,
 * then removes that id as hipc_shm_remove_id() does. Needs no access bits
 * on the segment: removal is the owner's right, not a reader's. A segment
 * marked for removal has lost its key and is not found.
 *
 * Returns HIPC_OK, or: HIPC_E_BAD_KEY (HIPC_SHM_KEY_PRIVATE, which names
 * no one segment), HIPC_E_NOT_FOUND (no such key, sys_errno ENOENT; or
 * removed between the lookup and the removal, EINVAL or EIDRM),
 * HIPC_E_PERM (neither owner nor creator, sys_errno EPERM), or another
 * errno's hipc__from_errno code. *sys_errno (may be NULL) is 0 on
 * success. */
int hipc_shm_remove_key(hipc_key key, int *sys_errno);

/* ftok() with validation. The key is computed from one stat() exactly as
 * glibc's ftok() does: (proj_id & 0xff) << 24 | (st_dev & 0xff) << 16 |
 * (st_ino & 0xffff). Like ftok, two paths can share a key;
 * hipc_shm_create_fresh() is the collision-safe choice.
 *
 * Returns HIPC_OK and *key, or: HIPC_E_NULL (`path` or `key` NULL),
 * HIPC_E_BAD_PATH (an empty path, one of PATH_MAX bytes or more, or one
 * that cannot be found: sys_errno ENOENT, ENOTDIR, ENAMETOOLONG, ELOOP, or
 * 0 when refused before the kernel), HIPC_E_BAD_PROJ_ID (proj_id outside
 * 1..255), HIPC_E_PERM (a directory on the path may not be searched,
 * EACCES or EPERM), HIPC_E_NOMEM (the kernel is short of memory). Any
 * other stat() failure is HIPC_E_BAD_PATH with its errno. */
int hipc_shm_key_from_path(const char *path, int proj_id, hipc_key *key,
                           int *sys_errno);

/* Pure (no syscalls; a fuzz target): checks the first `len` bytes of a
 * segment of `seg_size` bytes.
 *
 * Returns HIPC_OK and fills *out (`out` may be NULL), or, checked in this
 * order: HIPC_E_NULL (`buf` NULL), HIPC_E_FOREIGN (fewer than 4 bytes, or
 * not the hipc magic), HIPC_E_AGAIN (zero magic: not written yet),
 * HIPC_E_LAYOUT (byte-swapped magic), HIPC_E_CORRUPT (fewer than
 * HIPC_SHM_HEADER_SIZE bytes), HIPC_E_VERSION, HIPC_E_LAYOUT
 * (fingerprint), HIPC_E_CORRUPT (checksum, reserved fields, offsets or
 * sizes that do not fit seg_size). */
int hipc_shm_header_check(const void *buf, size_t len, size_t seg_size,
                          hipc_shm_header_info *out);

#ifdef __cplusplus
}
#endif
#endif
