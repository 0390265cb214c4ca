/* SPDX-License-Identifier: MIT */
/* hipc — inspection: the `ipcs -m` / `ipcrm` view as library functions.
 *
 * The segment table comes from /proc/sysvipc/shm, which is parsed as
 * untrusted input: the header must name the known columns, every field must
 * be a number in its range, and a line longer than HIPC_INSPECT_LINE_MAX,
 * a missing, extra or garbage field is HIPC_E_CORRUPT; input that ends in
 * the middle of a line is HIPC_E_TRUNCATED. Nothing here allocates: callers
 * pass arrays of entries and learn the total count, so they can tell when
 * their array was too small.
 *
 * The kernel shows only the segments of the caller's IPC namespace, and pids
 * as seen from the caller's pid namespace (0 when the process is not visible
 * there). The file is produced a few records at a time, so a table read
 * while others create or remove segments may miss or repeat one of them.
 */
#ifndef HIPC_INSPECT_H
#define HIPC_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hipc/config.h"
#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mode bits as /proc/sysvipc/shm prints them (octal): the permission bits
 * plus two status bits the kernel keeps in the same word. */
#define HIPC_SEG_MODE_PERMS 0777u
#define HIPC_SEG_MODE_DEST 01000u   /* marked for removal (SHM_DEST) */
#define HIPC_SEG_MODE_LOCKED 02000u /* locked in memory (SHM_LOCKED) */

/* What a segment is, as far as hipc can tell. */
enum hipc_seg_kind {
    HIPC_SEG_UNCHECKED = 0, /* not looked at (HIPC_INSPECT_NO_PEEK) */
    HIPC_SEG_HIPC = 1,      /* carries a valid hipc header */
    HIPC_SEG_FOREIGN = 2,   /* readable, but not a (valid) hipc segment */
    HIPC_SEG_UNREADABLE = 3 /* could not be attached (see kind_code) */
};

/* Whether a segment has been left behind by its creator. */
enum hipc_seg_orphan {
    HIPC_ORPHAN_UNKNOWN = 0, /* creator not visible or not checkable */
    HIPC_ORPHAN_NO = 1,      /* attached, or its creator still runs */
    HIPC_ORPHAN_YES = 2      /* no attachment and the creator is gone */
};

/* One segment. The first group comes from the table; the second is filled
 * by hipc_inspect_list() and friends (the pure parser leaves it zero). */
typedef struct hipc_seg_entry {
    hipc_key key;
    int id;
    unsigned mode;  /* perms | HIPC_SEG_MODE_DEST | HIPC_SEG_MODE_LOCKED */
    unsigned perms; /* mode & 0777 */
    int dest;       /* marked for removal */
    int locked;     /* locked in memory */
    uint64_t bytes; /* segment size */
    pid_t cpid;     /* creator (0: not visible from this pid namespace) */
    pid_t lpid;     /* last shmat/shmdt */
    uint64_t nattch;
    uid_t uid, cuid; /* owner and creator */
    gid_t gid, cgid;
    int64_t atime, dtime, ctime; /* seconds since the epoch; 0: never */
    uint64_t rss, swap;          /* bytes; only when has_rss_swap */
    int has_rss_swap;            /* the kernel prints these (Linux 4.1+) */

    enum hipc_seg_kind kind;
    int kind_code;           /* HIPC_OK for hipc segments, else why not */
    uint32_t tag;            /* hipc application tag */
    uint32_t layout_version; /* hipc layout version */
    pid_t creator_pid;       /* from the hipc header */
    uint64_t creator_start;  /* from the hipc header */
    enum hipc_seg_orphan orphan;
} hipc_seg_entry;

/* ---- Pure parser (no syscalls; fuzz targets) ------------------------- */

/* Checks the header line (without its newline). On success stores the
 * number of columns it names (14, or 16 with rss and swap). */
int hipc_inspect_parse_header(const char *line, size_t len, unsigned *ncols);

/* Parses one table line (without its newline) with 14 or 16 fields. */
int hipc_inspect_parse_line(const char *line, size_t len, hipc_seg_entry *out);

/* Called for each parsed entry; a negative return stops the parser and is
 * passed back to the caller of hipc_inspect_parser_feed(). */
typedef int (*hipc_inspect_entry_fn)(void *ctx, const hipc_seg_entry *entry);

/* Incremental parser: feed the file in chunks of any size. Caller-owned;
 * hipc_inspect_parser_init() prepares it. After an error it stays failed. */
typedef struct hipc_inspect_parser {
    /* Public, read-only. */
    size_t lines; /* complete lines seen, the header included */
    size_t entries;
    /* Private: do not touch. */
    int status_;
    unsigned ncols_;
    size_t len_;
    char line_[HIPC_INSPECT_LINE_MAX];
} hipc_inspect_parser;

void hipc_inspect_parser_init(hipc_inspect_parser *p);
int hipc_inspect_parser_feed(hipc_inspect_parser *p, const char *buf,
                             size_t len, hipc_inspect_entry_fn fn, void *ctx);
/* Ends the input: HIPC_E_TRUNCATED when it stopped inside a line or
 * before the header. */
int hipc_inspect_parser_finish(hipc_inspect_parser *p);

/* Parses a whole table. Stores the first `cap` entries in `out` (which may
 * be NULL when cap is 0) and the number of entries in *total. Returns the
 * number stored, or a negative code. */
int hipc_inspect_parse(const char *buf, size_t len, hipc_seg_entry *out,
                       size_t cap, size_t *total);

/* ---- The live table --------------------------------------------------- */

/* Flags. list and find take HIPC_INSPECT_NO_PEEK only; gc takes both. */
#define HIPC_INSPECT_NO_PEEK 0x01u /* do not attach to classify segments */
#define HIPC_INSPECT_DRY_RUN 0x02u /* gc: report orphans, remove nothing */
#define HIPC_INSPECT_FLAGS_ALL_ 0x03u

/* Lists the segments of this IPC namespace into `out` (first `cap`), the
 * total in *total; returns the number stored or a negative code.
 *
 * Classifying means attaching each segment read-only for a moment and
 * checking its header: this updates the segment's atime and lpid (as any
 * reader would) and needs read permission; HIPC_INSPECT_NO_PEEK skips it.
 * Orphans: a segment with no attachment whose creator has gone. "Gone"
 * is only ever what hipc can see; whatever it cannot tell is
 * HIPC_ORPHAN_UNKNOWN, which gc never removes:
 * - hipc segments: the header's creator pid and start time identify the
 *   creator, so a reused pid does not count as alive. Start times are
 *   compared as boot-clock readings taken back to the initial time
 *   namespace, so creators in other time namespaces are judged right and
 *   the wall clock plays no part.
 * - other segments (and hipc segments whose header pid is not the
 *   kernel's cpid: a creator in another pid namespace) have only the
 *   kernel's cpid. No such process (or a zombie): orphan. A process with
 *   that pid that started after the segment's ctime by the wall clock
 *   (more than 1 s + 1 ms after, the bound of ctime's and the start time's
 *   truncation) is probably a reused pid, but a wall clock stepped since
 *   (a board's first NTP sync) looks the same: unknown. Otherwise: not an
 *   orphan.
 * - a creator whose /proc entry is hidden (hidepid, another uid) but that
 *   kill(pid, 0) finds, or one outside this pid namespace (cpid 0): unknown.
 */
int hipc_inspect_list(hipc_seg_entry *out, size_t cap, size_t *total,
                      unsigned flags, int *sys_errno);

/* The entry for segment `id`: HIPC_E_NOT_FOUND when there is none. */
int hipc_inspect_find_id(int id, hipc_seg_entry *out, unsigned flags,
                         int *sys_errno);

/* Removes by id or key (IPC_RMID, as ipcrm -m / -M). The memory goes when
 * the last process detaches. HIPC_SHM_KEY_PRIVATE names no one segment and
 * is HIPC_E_BAD_KEY. */
int hipc_inspect_remove_id(int id, int *sys_errno);
int hipc_inspect_remove_key(hipc_key key, int *sys_errno);

/* Removes every orphan (only reports them with HIPC_INSPECT_DRY_RUN).
 * Right before removing one, the segment is checked again (still no
 * attachment, same creator and ctime), so a segment someone attached in the
 * meantime is left alone. The first `cap` orphans go to `out`, their count
 * to *found; returns the number removed (or that would be), or a negative
 * code. */
int hipc_inspect_gc(hipc_seg_entry *out, size_t cap, size_t *found,
                    unsigned flags, int *sys_errno);

#ifdef __cplusplus
}
#endif
#endif
