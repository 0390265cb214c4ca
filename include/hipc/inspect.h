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

/* Checks the table's header line (without its newline).
 *
 * Returns HIPC_OK and stores in *ncols the number of columns it names (14,
 * or 16 with rss and swap), or: HIPC_E_NULL (`line` or `ncols` NULL),
 * HIPC_E_CORRUPT (longer than HIPC_INSPECT_LINE_MAX, a column name out of
 * the kernel's order, or neither 14 nor 16 columns). */
int hipc_inspect_parse_header(const char *line, size_t len, unsigned *ncols);

/* Parses one table line (without its newline) of 14 or 16 fields.
 *
 * Returns HIPC_OK and fills *out (the classification fields zero), or:
 * HIPC_E_NULL (`line` or `out` NULL), HIPC_E_CORRUPT (longer than
 * HIPC_INSPECT_LINE_MAX, neither 14 nor 16 fields, or a field that is not
 * a number in its column's range). */
int hipc_inspect_parse_line(const char *line, size_t len, hipc_seg_entry *out);

/* Called for each parsed entry. Return HIPC_OK to go on; a negative code
 * fails the parser with that code; a positive value stops the feed call
 * at once and is returned by it (a search that found what it wanted; the
 * rest of that chunk is not parsed). */
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

/* Prepares (zeroes) a parser. Returns nothing; a NULL `p` is ignored. */
void hipc_inspect_parser_init(hipc_inspect_parser *p);

/* Feeds `len` bytes; complete lines are parsed at once (the first one is
 * the header), each entry handed to `fn` (may be NULL: entries are only
 * counted).
 *
 * Returns HIPC_OK, fn's positive stop value, or: HIPC_E_NULL (`p` NULL, or
 * `buf` NULL with `len` > 0; the parser is not failed by it), the code an
 * earlier call failed the parser with, HIPC_E_CORRUPT (a line longer than
 * HIPC_INSPECT_LINE_MAX, a bad header or entry line, or an entry whose
 * column count differs from the header's), or fn's negative code. */
int hipc_inspect_parser_feed(hipc_inspect_parser *p, const char *buf,
                             size_t len, hipc_inspect_entry_fn fn, void *ctx);

/* Ends the input.
 *
 * Returns HIPC_OK, or: HIPC_E_NULL (`p` NULL), the code an earlier call
 * failed the parser with, HIPC_E_TRUNCATED (the input stopped inside a
 * line, or before a complete header line). */
int hipc_inspect_parser_finish(hipc_inspect_parser *p);

/* Parses a whole table: stores the first `cap` entries in `out` (which may
 * be NULL when cap is 0) and the number of entries in *total (also on
 * failure: the entries parsed before it).
 *
 * Returns the number stored (>= 0: the smaller of *total and cap), or:
 * HIPC_E_NULL (`buf` or `total` NULL, or `out` NULL with cap > 0),
 * HIPC_E_CORRUPT and HIPC_E_TRUNCATED as for the parser above,
 * HIPC_E_OVERFLOW (more than INT_MAX entries to store). */
int hipc_inspect_parse(const char *buf, size_t len, hipc_seg_entry *out,
                       size_t cap, size_t *total);

/* ---- The live table --------------------------------------------------- */

/* Flags. list and find take HIPC_INSPECT_NO_PEEK only; gc takes both. */
#define HIPC_INSPECT_NO_PEEK 0x01u /* do not attach to classify segments */
#define HIPC_INSPECT_DRY_RUN 0x02u /* gc: report orphans, remove nothing */
#define HIPC_INSPECT_FLAGS_ALL_ 0x03u

/* Reading the live table, for list, find_id and gc below: the codes they
 * all return when /proc/sysvipc/shm cannot be read whole (the errno in
 * *sys_errno, which may be NULL; each call first sets it to 0):
 *   HIPC_E_UNSUPPORTED no /proc/sysvipc/shm (ENOENT): a kernel without
 *                      System V IPC, or no procfs
 *   HIPC_E_CORRUPT     the file is not the kernel's table (see the top)
 *   HIPC_E_TRUNCATED   it ends inside a line or before its header
 *   a failed open or read: its hipc__from_errno code (HIPC_E_PERM,
 *   HIPC_E_LIMIT out of descriptors, HIPC_E_NOMEM, HIPC_E_SYS when
 *   unexpected).
 * A segment that cannot be classified or judged is no error: its kind is
 * HIPC_SEG_UNREADABLE with the reason in kind_code, its orphan verdict
 * HIPC_ORPHAN_UNKNOWN. */

/* Lists the segments of this IPC namespace: the first `cap` into `out`
 * (which may be NULL when cap is 0), the total in *total.
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
 *
 * Returns the number of entries stored (>= 0: the smaller of *total and
 * cap), or: HIPC_E_NULL (`total` NULL, or `out` NULL with cap > 0),
 * HIPC_E_BAD_FLAGS (a flag other than HIPC_INSPECT_NO_PEEK),
 * HIPC_E_OVERFLOW (more than INT_MAX entries to store), or a table-reading
 * code (above). After a table-reading failure *total holds the entries
 * seen before it. */
int hipc_inspect_list(hipc_seg_entry *out, size_t cap, size_t *total,
                      unsigned flags, int *sys_errno);

/* The entry for segment `id` from the live table, classified and judged
 * as hipc_inspect_list() does (the `ipcs -m -i` view: no read permission
 * needed but to classify; hipc_shm_stat_id() is the kernel's IPC_STAT
 * record of an id instead).
 *
 * Returns HIPC_OK and fills *out, or: HIPC_E_NULL (`out` NULL),
 * HIPC_E_BAD_FLAGS (a flag other than HIPC_INSPECT_NO_PEEK), HIPC_E_BAD_ID
 * (a negative id), HIPC_E_NOT_FOUND (no segment has that id), or a
 * table-reading code (above). */
int hipc_inspect_find_id(int id, hipc_seg_entry *out, unsigned flags,
                         int *sys_errno);

/* Removes every orphan (only reports them with HIPC_INSPECT_DRY_RUN).
 * Right before removing one, the segment is checked again (still no
 * attachment, same creator and ctime), so a segment someone attached in
 * the meantime is left alone, as is one that has gone or changed: neither
 * counts as removed nor as a failure. The first `cap` orphans go to `out`
 * (which may be NULL when cap is 0), their count to *found. Removing by id
 * is hipc_shm_remove_id(), by key hipc_shm_remove_key().
 *
 * Returns the number removed (or, with DRY_RUN, that would be), or:
 * HIPC_E_NULL (`found` NULL, or `out` NULL with cap > 0), HIPC_E_BAD_FLAGS
 * (flags other than NO_PEEK and DRY_RUN), a table-reading code (above), or
 * the code of the first orphan that could not be removed, after every
 * other orphan was tried: HIPC_E_PERM (no read permission to check it
 * again, sys_errno EACCES; or neither owner nor creator, EPERM), another
 * errno's hipc__from_errno code. *found is set whenever the table was
 * read, even in part. */
int hipc_inspect_gc(hipc_seg_entry *out, size_t cap, size_t *found,
                    unsigned flags, int *sys_errno);

#ifdef __cplusplus
}
#endif
#endif
