/* SPDX-License-Identifier: MIT */
/* Fuzz target: the /proc/sysvipc/shm parser (pure).
 *
 * Input: a byte that picks the chunk sizes for incremental feeding, a byte
 * that picks the caller's array size, then the table text. Invariants: the
 * whole-buffer parse and a chunk-by-chunk feed agree on the code and on
 * every entry; the count returned is min(total, cap) and does not depend on
 * cap; every entry, printed back the way the kernel prints it, parses to the
 * same entry; only documented codes come back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "support.h"

#define MAX_ENTRIES 64

struct seen {
    hipc_seg_entry e[MAX_ENTRIES];
    size_t n;
};

static int same(const hipc_seg_entry *a, const hipc_seg_entry *b)
{
    return a->key == b->key && a->id == b->id && a->mode == b->mode &&
           a->perms == b->perms && a->dest == b->dest &&
           a->locked == b->locked && a->bytes == b->bytes &&
           a->cpid == b->cpid && a->lpid == b->lpid && a->nattch == b->nattch &&
           a->uid == b->uid && a->cuid == b->cuid && a->gid == b->gid &&
           a->cgid == b->cgid && a->atime == b->atime && a->dtime == b->dtime &&
           a->ctime == b->ctime && a->rss == b->rss && a->swap == b->swap &&
           a->has_rss_swap == b->has_rss_swap &&
           a->kind == HIPC_SEG_UNCHECKED && b->kind == HIPC_SEG_UNCHECKED;
}

static int remember(void *ctx, const hipc_seg_entry *e)
{
    struct seen *s = ctx;
    if (s->n < MAX_ENTRIES)
        s->e[s->n] = *e;
    s->n++;
    return HIPC_OK;
}

/* The kernel's format (ipc/shm.c sysvipc_shm_proc_show). */
static void check_reprint(const hipc_seg_entry *e)
{
    char line[HIPC_INSPECT_LINE_MAX + 1];
    int n = snprintf(line, sizeof line,
                     "%10d %10d  %4o %21" PRIu64 " %5d %5d  %5" PRIu64
                     " %5u %5u %5u %5u %10" PRId64 " %10" PRId64 " %10" PRId64,
                     e->key, e->id, e->mode, e->bytes, (int)e->cpid,
                     (int)e->lpid, e->nattch, (unsigned)e->uid,
                     (unsigned)e->gid, (unsigned)e->cuid, (unsigned)e->cgid,
                     e->atime, e->dtime, e->ctime);
    HIPC_FUZZ_CHECK(n > 0 && (size_t)n < sizeof line);
    if (e->has_rss_swap) {
        size_t used = (size_t)n;
        n = snprintf(line + used, sizeof line - used,
                     " %21" PRIu64 " %21" PRIu64, e->rss, e->swap);
        HIPC_FUZZ_CHECK(n > 0 && used + (size_t)n < sizeof line);
        n += (int)used;
    }
    hipc_seg_entry back;
    HIPC_FUZZ_CHECK(hipc_inspect_parse_line(line, (size_t)n, &back) == HIPC_OK);
    HIPC_FUZZ_CHECK(same(e, &back));
}

static int code_ok(int rc)
{
    return rc >= 0 || rc == HIPC_E_CORRUPT || rc == HIPC_E_TRUNCATED;
}

/* Feeds the text in chunks whose sizes cycle through a pattern set by
 * `pattern`, so lines and the header are split at every kind of place. */
static int feed_chunks(const char *text, size_t len, uint8_t pattern,
                       struct seen *s)
{
    hipc_inspect_parser p;
    hipc_inspect_parser_init(&p);
    size_t off = 0;
    unsigned k = 0;
    int rc = HIPC_OK;
    while (rc == HIPC_OK && off < len) {
        size_t chunk = 1u + (pattern * 7u + k++ * 13u) % (pattern % 64u + 1u);
        if (chunk > len - off)
            chunk = len - off;
        rc = hipc_inspect_parser_feed(&p, text + off, chunk, remember, s);
        off += chunk;
    }
    if (rc == HIPC_OK)
        rc = hipc_inspect_parser_finish(&p);
    HIPC_FUZZ_CHECK(rc != HIPC_OK || p.entries == s->n);
    HIPC_FUZZ_CHECK(rc != HIPC_OK || p.lines == s->n + 1);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_fuzz_in in = {data, size};
    uint8_t pattern = hipc_fuzz_u8(&in);
    size_t cap = hipc_fuzz_u8(&in) % 5u;
    const char *text = (const char *)in.p;
    size_t len = in.n;

    /* The caller's array is exactly `cap` entries long. */
    hipc_seg_entry *out = cap ? malloc(cap * sizeof *out) : NULL;
    HIPC_FUZZ_CHECK(cap == 0 || out != NULL);
    size_t total = 0;
    int rc = hipc_inspect_parse(text, len, out, cap, &total);
    HIPC_FUZZ_CHECK(code_ok(rc));

    static struct seen s;
    s.n = 0;
    int frc = feed_chunks(text, len, pattern, &s);
    HIPC_FUZZ_CHECK((rc >= 0 ? HIPC_OK : rc) == frc);
    if (rc >= 0) {
        HIPC_FUZZ_CHECK(total == s.n);
        HIPC_FUZZ_CHECK((size_t)rc == (total < cap ? total : cap));
        for (size_t i = 0; i < (size_t)rc; i++)
            HIPC_FUZZ_CHECK(same(&out[i], &s.e[i]));
        for (size_t i = 0; i < s.n && i < MAX_ENTRIES; i++)
            check_reprint(&s.e[i]);
    }
    free(out);
    return 0;
}
