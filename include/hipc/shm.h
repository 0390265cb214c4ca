/* hipc — System V shared memory, validated.
 *
 * A hipc_shm is caller-allocated (static, on the stack, or inside another
 * struct) and needs no initialisation before hipc_shm_create/open: those
 * functions overwrite it completely. After hipc_shm_close() the handle is
 * "closed" and every call on it reports HIPC_E_STALE_HANDLE; a handle that
 * was never opened (zeroed or garbage) reports HIPC_E_BAD_HANDLE.
 *
 * Segments that hipc creates start with a header (magic, layout version,
 * layout fingerprint, sizes, creator pid and start time, application tag),
 * written before the segment can be opened by hipc and verified by every
 * hipc_shm_open(). The payload follows the header; `data` points at it.
 * HIPC_SHM_RAW opens or creates segments without a header.
 */
#ifndef HIPC_SHM_H
#define HIPC_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the in-memory segment layout (independent of the API). */
#define HIPC_SHM_LAYOUT_VERSION 1u

/* The System V "private" key: a new segment no other key can name. */
#define HIPC_SHM_KEY_PRIVATE ((key_t)0)

/* Bytes of the hipc header at the start of every non-raw segment; the
 * payload follows it, so `data` is 64-byte aligned. */
#define HIPC_SHM_HEADER_SIZE 64u

/* Flags for create, open and attach. Unknown bits are HIPC_E_BAD_FLAGS. */
#define HIPC_SHM_RDONLY 0x01u            /* attach read-only */
#define HIPC_SHM_RAW 0x02u               /* no hipc header */
#define HIPC_SHM_REMOVE_ON_ATTACH 0x04u  /* IPC_RMID once attached: the
                                            segment vanishes with the last
                                            detach, even after crashes */
#define HIPC_SHM_SHARED_WRITE 0x08u      /* allow group/world-writable mode */
#define HIPC_SHM_PREFAULT 0x10u          /* populate pages now: memory
                                            shortage becomes an error code,
                                            not a SIGBUS later */
#define HIPC_SHM_NO_ATTACH 0x20u         /* create/open without attaching */
#define HIPC_SHM_FLAGS_ALL_ 0x3fu

/* Zero-initialise, then set what you need. */
typedef struct hipc_shm_config {
    size_t size;   /* payload bytes wanted; must be > 0 */
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
    key_t key;
    int id;
    uint32_t tag;
    int sys_errno;    /* errno of the last failed syscall on this handle */
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned state_;
    unsigned flags_;
    void *base_;
    pid_t cpid_;      /* creator pid from IPC_STAT: tells a reused id apart */
} hipc_shm;

typedef struct hipc_shm_info {
    int id;
    key_t key;
    size_t seg_size;
    unsigned long nattch;
    pid_t cpid; /* creator */
    pid_t lpid; /* last shmat/shmdt */
    int64_t atime, dtime, ctime;
    uid_t uid, cuid;
    gid_t gid, cgid;
    unsigned mode;   /* permission bits */
    int removed;     /* marked for removal (SHM_DEST) */
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
    uint64_t shmmax;  /* largest segment, bytes */
    uint64_t shmall;  /* all segments together, pages */
    uint64_t shmmni;  /* number of segments */
    size_t page_size;
} hipc_shm_limits;

int hipc_shm_get_limits(hipc_shm_limits *out, int *sys_errno);

/* Creates a segment under `key` (or HIPC_SHM_KEY_PRIVATE) exclusively and
 * attaches it; fails with HIPC_E_EXISTS when the key is taken. */
int hipc_shm_create(hipc_shm *shm, key_t key, const hipc_shm_config *cfg);

/* Creates a segment under a key no one else holds, starting from `seed`
 * (any non-private key) and moving to new keys on collision; never shares
 * memory with a stranger. The chosen key is in shm->key. */
int hipc_shm_create_fresh(hipc_shm *shm, key_t seed, const hipc_shm_config *cfg);

/* Opens an existing segment by key or id and attaches it (unless
 * HIPC_SHM_NO_ATTACH). The size comes from IPC_STAT and the header; when
 * `expected_size` is non-zero a smaller payload is HIPC_E_SIZE_MISMATCH.
 * Without HIPC_SHM_RAW a segment without a valid header is HIPC_E_FOREIGN,
 * HIPC_E_VERSION, HIPC_E_LAYOUT or HIPC_E_CORRUPT. */
int hipc_shm_open(hipc_shm *shm, key_t key, size_t expected_size, unsigned flags);
int hipc_shm_open_id(hipc_shm *shm, int id, size_t expected_size, unsigned flags);

/* Attaches a detached handle (flags: HIPC_SHM_RDONLY only). */
int hipc_shm_attach(hipc_shm *shm, unsigned flags);
int hipc_shm_detach(hipc_shm *shm);

/* Marks the segment for removal (IPC_RMID). Attached handles stay usable;
 * the memory goes when the last process detaches. */
int hipc_shm_remove(hipc_shm *shm);

/* Detaches if attached and closes the handle. Does not remove. */
int hipc_shm_close(hipc_shm *shm);

int hipc_shm_stat(hipc_shm *shm, hipc_shm_info *info);
int hipc_shm_stat_id(int id, hipc_shm_info *info, int *sys_errno);

/* Removes a segment by id, without a handle (the ipcrm -m view). */
int hipc_shm_remove_id(int id, int *sys_errno);

/* ftok() with validation: the path must exist, proj_id must be 1..255. */
int hipc_shm_key_from_path(const char *path, int proj_id, key_t *key,
                           int *sys_errno);

/* Pure: checks `len` bytes that start a segment of `seg_size` bytes. */
int hipc_shm_header_check(const void *buf, size_t len, size_t seg_size,
                          hipc_shm_header_info *out);

#ifdef __cplusplus
}
#endif
#endif
