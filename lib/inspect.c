/* SPDX-License-Identifier: MIT */
/* hipc — inspection: parse /proc/sysvipc/shm, classify, find orphans,
 * remove. The parser is pure; the rest reads the file through lib/sys.c in
 * fixed-size stack chunks. */
#include "hipc/inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "inspect_priv.h"
#include "internal.h"
#include "proc.h"
#include "procfs.h"
#include "shm_priv.h"
#include "sys.h"

#define SHM_TABLE_PATH "/proc/sysvipc/shm"
#define COLS_BASE 14u
#define COLS_FULL 16u
/* The kernel's PID_MAX_LIMIT: no pid is ever larger. */
#define PID_LIMIT 4194304u
/* (uid_t)-1 is "no id" and never owns anything. */
#define ID_LIMIT 4294967294u

enum col_kind { COL_KEY, COL_DEC, COL_OCT };

/* The columns in the kernel's order, each with its largest valid value. */
static const struct col {
    const char *name;
    enum col_kind kind;
    uint64_t min, max;
} cols[COLS_FULL] = {
    {"key", COL_KEY, 0, 0},
    {"shmid", COL_DEC, 0, INT_MAX},
    {"perms", COL_OCT, 0, 03777},
    /* size and nattch are the kernel's widths, not ours: a 32-bit program
     * on a 64-bit kernel is shown 64-bit values. */
    {"size", COL_DEC, 1, UINT64_MAX},
    {"cpid", COL_DEC, 0, PID_LIMIT},
    {"lpid", COL_DEC, 0, PID_LIMIT},
    {"nattch", COL_DEC, 0, UINT64_MAX},
    {"uid", COL_DEC, 0, ID_LIMIT},
    {"gid", COL_DEC, 0, ID_LIMIT},
    {"cuid", COL_DEC, 0, ID_LIMIT},
    {"cgid", COL_DEC, 0, ID_LIMIT},
    {"atime", COL_DEC, 0, INT64_MAX},
    {"dtime", COL_DEC, 0, INT64_MAX},
    {"ctime", COL_DEC, 0, INT64_MAX},
    {"rss", COL_DEC, 0, UINT64_MAX},
    {"swap", COL_DEC, 0, UINT64_MAX},
};

/* ---- Pure parsing ------------------------------------------------------ */

/* Finds the next space-separated token at or after *pos. */
static int next_token(const char *s, size_t len, size_t *pos, size_t *start,
                      size_t *tlen)
{
    size_t i = *pos;
    while (i < len && s[i] == ' ')
        i++;
    if (i == len)
        return 0;
    *start = i;
    while (i < len && s[i] != ' ')
        i++;
    *tlen = i - *start;
    *pos = i;
    return 1;
}

/* Keys are printed as signed decimal ("%10d"): key_t is a 32-bit int. */
static int parse_key(const char *s, size_t n, key_t *out)
{
    int neg = n > 0 && s[0] == '-';
    uint64_t mag = 0;
    uint64_t max = neg ? (uint64_t)INT32_MAX + 1u : (uint64_t)INT32_MAX;
    int rc = hipc__parse_uint(s + neg, n - (size_t)neg, 10, max, &mag);
    if (rc != HIPC_OK)
        return rc;
    *out = neg ? (key_t)(-(int64_t)mag) : (key_t)mag;
    return HIPC_OK;
}

static int parse_field(unsigned i, const char *s, size_t n, uint64_t *v,
                       key_t *key)
{
    if (cols[i].kind == COL_KEY)
        return parse_key(s, n, key);
    int rc = hipc__parse_uint(s, n, cols[i].kind == COL_OCT ? 8u : 10u,
                              cols[i].max, v);
    if (rc == HIPC_OK && *v < cols[i].min)
        return HIPC_E_CORRUPT;
    return rc;
}

static void fill_entry(hipc_seg_entry *e, const uint64_t *v, key_t key,
                       unsigned n)
{
    memset(e, 0, sizeof *e);
    e->key = key;
    e->id = (int)v[1];
    e->mode = (unsigned)v[2];
    e->perms = e->mode & HIPC_SEG_MODE_PERMS;
    e->dest = (e->mode & HIPC_SEG_MODE_DEST) != 0;
    e->locked = (e->mode & HIPC_SEG_MODE_LOCKED) != 0;
    e->bytes = v[3];
    e->cpid = (pid_t)v[4];
    e->lpid = (pid_t)v[5];
    e->nattch = v[6];
    e->uid = (uid_t)v[7];
    e->gid = (gid_t)v[8];
    e->cuid = (uid_t)v[9];
    e->cgid = (gid_t)v[10];
    e->atime = (int64_t)v[11];
    e->dtime = (int64_t)v[12];
    e->ctime = (int64_t)v[13];
    e->has_rss_swap = n == COLS_FULL;
    e->rss = e->has_rss_swap ? v[14] : 0;
    e->swap = e->has_rss_swap ? v[15] : 0;
}

int hipc_inspect_parse_line(const char *line, size_t len, hipc_seg_entry *out)
{
    if (line == NULL || out == NULL)
        return HIPC_E_NULL;
    if (len > HIPC_INSPECT_LINE_MAX)
        return HIPC_E_CORRUPT;
    uint64_t v[COLS_FULL] = {0};
    key_t key = 0;
    size_t pos = 0, start = 0, tlen = 0;
    unsigned n = 0;
    while (next_token(line, len, &pos, &start, &tlen)) {
        if (n == COLS_FULL ||
            parse_field(n, line + start, tlen, &v[n], &key) != HIPC_OK)
            return HIPC_E_CORRUPT;
        n++;
    }
    if (n != COLS_BASE && n != COLS_FULL)
        return HIPC_E_CORRUPT;
    fill_entry(out, v, key, n);
    return HIPC_OK;
}

int hipc_inspect_parse_header(const char *line, size_t len, unsigned *ncols)
{
    if (line == NULL || ncols == NULL)
        return HIPC_E_NULL;
    if (len > HIPC_INSPECT_LINE_MAX)
        return HIPC_E_CORRUPT;
    size_t pos = 0, start = 0, tlen = 0;
    unsigned n = 0;
    while (next_token(line, len, &pos, &start, &tlen)) {
        if (n == COLS_FULL || tlen != strlen(cols[n].name) ||
            memcmp(line + start, cols[n].name, tlen) != 0)
            return HIPC_E_CORRUPT;
        n++;
    }
    if (n != COLS_BASE && n != COLS_FULL)
        return HIPC_E_CORRUPT;
    *ncols = n;
    return HIPC_OK;
}

/* ---- Incremental parser -------------------------------------------------- */

void hipc_inspect_parser_init(hipc_inspect_parser *p)
{
    if (p != NULL)
        memset(p, 0, sizeof *p);
}

static int parser_fail(hipc_inspect_parser *p, int rc)
{
    p->status_ = rc;
    return rc;
}

/* One complete line: the header first, then entries with the same number
 * of columns as the header named. */
static int end_line(hipc_inspect_parser *p, hipc_inspect_entry_fn fn, void *ctx)
{
    size_t len = p->len_;
    p->len_ = 0;
    if (p->ncols_ == 0) {
        unsigned n = 0;
        int rc = hipc_inspect_parse_header(p->line_, len, &n);
        if (rc != HIPC_OK)
            return rc;
        p->ncols_ = n;
        p->lines++;
        return HIPC_OK;
    }
    hipc_seg_entry e;
    int rc = hipc_inspect_parse_line(p->line_, len, &e);
    if (rc != HIPC_OK)
        return rc;
    if ((e.has_rss_swap ? COLS_FULL : COLS_BASE) != p->ncols_)
        return HIPC_E_CORRUPT;
    p->lines++;
    p->entries++;
    return fn != NULL ? fn(ctx, &e) : HIPC_OK;
}

int hipc_inspect_parser_feed(hipc_inspect_parser *p, const char *buf,
                             size_t len, hipc_inspect_entry_fn fn, void *ctx)
{
    if (p == NULL || (buf == NULL && len > 0))
        return HIPC_E_NULL;
    if (p->status_ < 0)
        return p->status_;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') {
            /* One byte over the limit is enough to know the line is bad. */
            if (p->len_ >= sizeof p->line_)
                return parser_fail(p, HIPC_E_CORRUPT);
            p->line_[p->len_++] = buf[i];
            continue;
        }
        int rc = end_line(p, fn, ctx);
        if (rc < 0)
            return parser_fail(p, rc);
        if (rc > 0)
            return rc; /* the callback has what it wanted */
    }
    return HIPC_OK;
}

int hipc_inspect_parser_finish(hipc_inspect_parser *p)
{
    if (p == NULL)
        return HIPC_E_NULL;
    if (p->status_ < 0)
        return p->status_;
    if (p->len_ != 0 || p->ncols_ == 0)
        return parser_fail(p, HIPC_E_TRUNCATED);
    return HIPC_OK;
}

/* The number of entries stored, as a non-negative int return value. */
static int stored_count(size_t total, size_t cap)
{
    size_t n = total < cap ? total : cap;
    return n > (size_t)INT_MAX ? HIPC_E_OVERFLOW : (int)n;
}

struct collect {
    hipc_seg_entry *out;
    size_t cap, total;
};

static int collect_entry(void *ctx, const hipc_seg_entry *e)
{
    struct collect *c = ctx;
    if (c->total < c->cap)
        c->out[c->total] = *e;
    c->total++;
    return HIPC_OK;
}

int hipc_inspect_parse(const char *buf, size_t len, hipc_seg_entry *out,
                       size_t cap, size_t *total)
{
    if (buf == NULL || total == NULL || (out == NULL && cap > 0))
        return HIPC_E_NULL;
    struct collect c = {out, cap, 0};
    hipc_inspect_parser p;
    hipc_inspect_parser_init(&p);
    int rc = hipc_inspect_parser_feed(&p, buf, len, collect_entry, &c);
    if (rc == HIPC_OK)
        rc = hipc_inspect_parser_finish(&p);
    *total = c.total;
    if (rc != HIPC_OK)
        return rc;
    return stored_count(c.total, cap);
}

/* ---- Orphans ------------------------------------------------------------- */

#define NSEC 1000000000LL

int hipc__inspect_started_after(uint64_t start_ticks, long ticks_per_s,
                                int64_t real_now_ns, int64_t boot_now_ns,
                                int64_t ctime)
{
    if (ticks_per_s <= 0 || ticks_per_s > NSEC || boot_now_ns < 0 ||
        real_now_ns < boot_now_ns || ctime < 0 || ctime > INT64_MAX / NSEC - 2)
        return 0;
    int64_t tick_ns = NSEC / ticks_per_s;
    /* A start time beyond the current uptime is nonsense: claim nothing. */
    if (start_ticks > (uint64_t)(boot_now_ns / tick_ns))
        return 0;
    int64_t started =
        real_now_ns - boot_now_ns + (int64_t)start_ticks * tick_ns;
    return started > (ctime + 1) * NSEC + HIPC__INSPECT_SKEW_NS;
}

/* Clock readings taken once per listing. */
/* What every verdict of one listing shares: the clocks, and whether the
 * /proc we read is our pid namespace's (proc.h: in one that kept its
 * parent's /proc, a pid number names another process, so no verdict by
 * pid can be made). That is asked once, when a verdict first needs it. */
struct clocks {
    int ok;
    long ticks;
    int64_t real_ns, boot_ns;
    int proc_asked, proc_ours;
};

static int64_t as_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * NSEC + ts->tv_nsec;
}

static void read_clocks(struct clocks *c)
{
    struct timespec real, boot;
    c->ticks = hipc__sys_clock_ticks();
    /* Boot first: a delay between the readings makes starts look later,
     * which can only turn a verdict into "unknown". */
    c->ok = hipc__sys_clock_gettime(CLOCK_BOOTTIME, &boot) == 0 &&
            hipc__sys_clock_gettime(CLOCK_REALTIME, &real) == 0;
    c->real_ns = c->ok ? as_ns(&real) : 0;
    c->boot_ns = c->ok ? as_ns(&boot) : 0;
    c->proc_asked = 0;
}

/* A failure to tell leaves every verdict by pid "unknown": gc then
 * collects nothing it could not prove. */
static int proc_ours(struct clocks *c)
{
    if (!c->proc_asked)
        c->proc_ours = hipc__proc_is_ours(NULL) == 1;
    c->proc_asked = 1;
    return c->proc_ours;
}

static enum hipc_seg_orphan verdict(int state)
{
    if (state == HIPC__PROC_GONE)
        return HIPC_ORPHAN_YES;
    return state == HIPC__PROC_ALIVE ? HIPC_ORPHAN_NO : HIPC_ORPHAN_UNKNOWN;
}

/* A segment without hipc header has only the kernel's creator pid. Gone
 * (or a zombie): an orphan. Running: maybe its creator, maybe a reused
 * pid. Nothing but the wall clock can tell these apart, and a wall clock
 * can be stepped, so a process that seems to have started after the
 * segment is "unknown", never "orphan": gc leaves it to a person. */
static enum hipc_seg_orphan foreign_orphan(const hipc_seg_entry *e,
                                           const struct clocks *c)
{
    char state = 0;
    uint64_t start = 0;
    if (e->cpid <= 0)
        return HIPC_ORPHAN_UNKNOWN;
    int rc = hipc__proc_stat_seen(e->cpid, &state, &start, NULL);
    if (rc == HIPC_E_NOT_FOUND || (rc == HIPC_OK && hipc__proc_dead(state)))
        return HIPC_ORPHAN_YES;
    if (rc != HIPC_OK)
        return HIPC_ORPHAN_UNKNOWN;
    /* Without clocks the hint is skipped: the pid runs, so "no". */
    if (c->ok && hipc__inspect_started_after(start, c->ticks, c->real_ns,
                                             c->boot_ns, e->ctime))
        return HIPC_ORPHAN_UNKNOWN;
    return HIPC_ORPHAN_NO;
}

static enum hipc_seg_orphan orphan_of(const hipc_seg_entry *e, struct clocks *c)
{
    if (e->nattch != 0)
        return HIPC_ORPHAN_NO;
    if (!proc_ours(c))
        return HIPC_ORPHAN_UNKNOWN;
    /* hipc writes its header in the process that called shmget, so the
     * header's pid equals the kernel's cpid. When they differ, the creator
     * lives in another pid namespace (its pid means nothing here) or the
     * header lies: trust only the kernel's view then. The header's start
     * time is compared as a boot-clock reading, free of the wall clock. */
    if (e->kind == HIPC_SEG_HIPC && e->creator_pid == e->cpid)
        return verdict(
            hipc__proc_alive(e->creator_pid, e->creator_start, NULL));
    return foreign_orphan(e, c);
}

/* ---- Classification ------------------------------------------------------ */

/* The codes of a header that was read and is not hipc's. */
static int read_but_not_hipc(int rc)
{
    return rc == HIPC_E_FOREIGN || rc == HIPC_E_AGAIN || rc == HIPC_E_LAYOUT ||
           rc == HIPC_E_VERSION || rc == HIPC_E_CORRUPT;
}

/* Peeks at the header through shm's one checked path: never a byte of a
 * page that is not safely present (a huge-page segment without huge pages
 * would SIGBUS), the size from IPC_STAT, never from the table. */
static void classify(hipc_seg_entry *e)
{
    hipc_shm_header_info h;
    e->kind_code = hipc__shm_peek_header(e->id, NULL, &h, NULL);
    if (e->kind_code != HIPC_OK) {
        e->kind = read_but_not_hipc(e->kind_code) ? HIPC_SEG_FOREIGN
                                                  : HIPC_SEG_UNREADABLE;
        return;
    }
    e->kind = HIPC_SEG_HIPC;
    e->tag = h.tag;
    e->layout_version = h.version;
    e->creator_pid = h.creator_pid;
    e->creator_start = h.creator_start;
}

static void annotate(hipc_seg_entry *e, unsigned flags, struct clocks *c)
{
    if ((flags & HIPC_INSPECT_NO_PEEK) == 0)
        classify(e);
    e->orphan = orphan_of(e, c);
}

/* ---- Reading the live table ---------------------------------------------- */

struct table_feed {
    hipc_inspect_parser parser;
    hipc_inspect_entry_fn fn;
    void *ctx;
};

static int feed_chunk(void *ctx, const char *data, size_t len)
{
    struct table_feed *t = ctx;
    return hipc_inspect_parser_feed(&t->parser, data, len, t->fn, t->ctx);
}

/* Streams the table through the parser in small stack chunks. Returns
 * HIPC_OK, the callback's positive stop value, or a negative code. */
static int read_table(hipc_inspect_entry_fn fn, void *ctx, int *sys_errno)
{
    char chunk[256];
    int err = 0;
    struct table_feed t = {.fn = fn, .ctx = ctx};
    hipc_inspect_parser_init(&t.parser);
    int rc = hipc__procfs_stream(SHM_TABLE_PATH, chunk, sizeof chunk,
                                 feed_chunk, &t, &err);
    hipc__set_errno(sys_errno, err);
    /* No /proc/sysvipc: a kernel without System V IPC, or no procfs. */
    if (rc == HIPC_E_NOT_FOUND && err == ENOENT)
        return HIPC_E_UNSUPPORTED;
    return rc == HIPC_OK ? hipc_inspect_parser_finish(&t.parser) : rc;
}

/* What each public listing call checks first: the errno sink cleared,
 * the pointers it needs, and its flags. */
static int check_call(int pointers_ok, unsigned flags, unsigned allowed,
                      int *sys_errno)
{
    hipc__set_errno(sys_errno, 0);
    if (!pointers_ok)
        return HIPC_E_NULL;
    return (flags & ~allowed) != 0 ? HIPC_E_BAD_FLAGS : HIPC_OK;
}

/* A walk over the live table that keeps entries (all, or gc's orphans)
 * in the caller's array and counts them all. */
struct walk {
    hipc_seg_entry *out;
    size_t cap, count;
    unsigned flags;
    struct clocks clocks;
};

/* Checks the call (`allowed` flags), reads the clocks once, then the
 * table; *count gets the number of entries kept. */
static int walk_table(struct walk *w, unsigned allowed,
                      hipc_inspect_entry_fn fn, void *ctx, size_t *count,
                      int *sys_errno)
{
    int rc = check_call(count != NULL && (w->out != NULL || w->cap == 0),
                        w->flags, allowed, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    read_clocks(&w->clocks);
    rc = read_table(fn, ctx, sys_errno);
    *count = w->count;
    return rc;
}

static int list_entry(void *ctx, const hipc_seg_entry *e)
{
    struct walk *c = ctx;
    if (c->count < c->cap) {
        c->out[c->count] = *e;
        annotate(&c->out[c->count], c->flags, &c->clocks);
    }
    c->count++;
    return HIPC_OK;
}

int hipc_inspect_list(hipc_seg_entry *out, size_t cap, size_t *total,
                      unsigned flags, int *sys_errno)
{
    struct walk c = {out, cap, 0, flags, {0, 0, 0, 0, 0, 0}};
    int rc =
        walk_table(&c, HIPC_INSPECT_NO_PEEK, list_entry, &c, total, sys_errno);
    return rc != HIPC_OK ? rc : stored_count(c.count, cap);
}

struct find_ctx {
    int id;
    hipc_seg_entry *out;
};

static int find_entry(void *ctx, const hipc_seg_entry *e)
{
    struct find_ctx *c = ctx;
    if (e->id != c->id)
        return HIPC_OK;
    *c->out = *e;
    return 1;
}

int hipc_inspect_find_id(int id, hipc_seg_entry *out, unsigned flags,
                         int *sys_errno)
{
    int rc = check_call(out != NULL, flags, HIPC_INSPECT_NO_PEEK, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    if (id < 0)
        return HIPC_E_BAD_ID;
    struct find_ctx c = {id, out};
    rc = read_table(find_entry, &c, sys_errno);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return HIPC_E_NOT_FOUND;
    struct clocks clocks;
    read_clocks(&clocks);
    annotate(out, flags, &clocks);
    return HIPC_OK;
}

/* ---- Garbage collection -------------------------------------------------- */

struct gc_ctx {
    struct walk w; /* count: orphans found */
    int removed, first_error, sys_errno;
};

/* Checks again right before IPC_RMID that the segment is the one judged
 * (same creator, same ctime) and still has no attachment. */
static int remove_if_unchanged(const hipc_seg_entry *e, int *sys_errno)
{
    struct shmid_ds ds;
    int rc = hipc__sys_shmctl(e->id, IPC_STAT, &ds);
    if (rc < 0)
        return hipc__shm_id_fail(sys_errno, rc, HIPC_E_NOT_FOUND);
    if (ds.shm_nattch != 0 || ds.shm_cpid != e->cpid ||
        (int64_t)ds.shm_ctime != e->ctime)
        return HIPC_E_BAD_STATE;
    return hipc_shm_remove_id(e->id, sys_errno);
}

static int gc_entry(void *ctx, const hipc_seg_entry *entry)
{
    struct gc_ctx *c = ctx;
    struct walk *w = &c->w;
    hipc_seg_entry e = *entry;
    annotate(&e, w->flags & HIPC_INSPECT_NO_PEEK, &w->clocks);
    if (e.orphan != HIPC_ORPHAN_YES)
        return HIPC_OK;
    if (w->count < w->cap)
        w->out[w->count] = e;
    w->count++;
    if (w->flags & HIPC_INSPECT_DRY_RUN) {
        c->removed++;
        return HIPC_OK;
    }
    int err = 0;
    int rc = remove_if_unchanged(&e, &err);
    if (rc == HIPC_OK)
        c->removed++;
    /* Gone or changed meanwhile: someone else acted; not a failure. */
    else if (rc != HIPC_E_NOT_FOUND && rc != HIPC_E_REMOVED &&
             rc != HIPC_E_BAD_STATE && c->first_error == 0) {
        c->first_error = rc;
        c->sys_errno = err;
    }
    return HIPC_OK;
}

int hipc_inspect_gc(hipc_seg_entry *out, size_t cap, size_t *found,
                    unsigned flags, int *sys_errno)
{
    struct gc_ctx c = {{out, cap, 0, flags, {0, 0, 0, 0, 0, 0}}, 0, 0, 0};
    int rc = walk_table(&c.w, HIPC_INSPECT_FLAGS_ALL_, gc_entry, &c, found,
                        sys_errno);
    if (rc != HIPC_OK)
        return rc;
    if (c.first_error != 0) {
        hipc__set_errno(sys_errno, c.sys_errno);
        return c.first_error;
    }
    return c.removed;
}
