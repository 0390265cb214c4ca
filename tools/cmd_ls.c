/* SPDX-License-Identifier: MIT */
/* hipcctl ls and stat: the segment table, as text or JSON. */
#include "hipcctl.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

/* Owner name as ipcs shows it: the user name, or the number. The last
 * answer is kept, since a table usually has one or two owners and each
 * getpwuid() may read the whole user database. */
static const char *owner_name(uid_t uid, char *buf, size_t cap)
{
    static uid_t last_uid;
    static char last_name[64];
    static int have_last;
    if (!have_last || uid != last_uid) {
        const struct passwd *pw = getpwuid(uid);
        if (pw != NULL && pw->pw_name != NULL)
            snprintf(last_name, sizeof last_name, "%s", pw->pw_name);
        else
            snprintf(last_name, sizeof last_name, "%lu", (unsigned long)uid);
        last_uid = uid;
        have_last = 1;
    }
    snprintf(buf, cap, "%s", last_name);
    return buf;
}

static const char *kind_name(enum hipc_seg_kind k)
{
    switch (k) {
    case HIPC_SEG_HIPC:
        return "hipc";
    case HIPC_SEG_FOREIGN:
        return "foreign";
    case HIPC_SEG_UNREADABLE:
        return "unreadable";
    default:
        return "unchecked";
    }
}

static const char *orphan_name(enum hipc_seg_orphan o)
{
    return o == HIPC_ORPHAN_YES  ? "yes"
           : o == HIPC_ORPHAN_NO ? "no"
                                 : "unknown";
}

static const char *status_text(const hipc_seg_entry *e)
{
    if (e->dest && e->locked)
        return "dest,locked";
    return e->dest ? "dest" : e->locked ? "locked" : "";
}

void hipcctl_print_table(FILE *f, const hipc_seg_entry *e, size_t n)
{
    fprintf(f, "%-10s %-10s %-10s %-10s %-10s %-10s %-11s %-10s %s\n", "key",
            "shmid", "owner", "perms", "bytes", "nattch", "status", "hipc",
            "orphan");
    for (size_t i = 0; i < n; i++) {
        char uid[64], tag[24];
        if (e[i].kind == HIPC_SEG_HIPC) {
            char use[24];
            snprintf(tag, sizeof tag, "%s",
                     hipcctl_use_name(&e[i], use, sizeof use));
        } else
            snprintf(tag, sizeof tag, "%s",
                     e[i].kind == HIPC_SEG_FOREIGN ? "-" : "?");
        fprintf(f,
                "0x%08" PRIx32 " %-10d %-10s %-10o %-10" PRIu64 " %-10" PRIu64
                " %-11s %-10s %s\n",
                (uint32_t)e[i].key, e[i].id,
                owner_name(e[i].uid, uid, sizeof uid), e[i].perms, e[i].bytes,
                e[i].nattch, status_text(&e[i]), tag,
                e[i].orphan == HIPC_ORPHAN_UNKNOWN ? "?"
                                                   : orphan_name(e[i].orphan));
    }
}

/* JSON string with every byte that needs it escaped. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_entry(FILE *f, const hipc_seg_entry *e)
{
    char buf[64];
    fprintf(f,
            "{\"key\": %d, \"key_hex\": \"0x%08" PRIx32 "\", \"id\": %d, "
            "\"owner\": ",
            (int)e->key, (uint32_t)e->key, e->id);
    json_string(f, owner_name(e->uid, buf, sizeof buf));
    fprintf(f,
            ", \"uid\": %lu, \"gid\": %lu, \"cuid\": %lu, \"cgid\": %lu, "
            "\"perms\": \"%o\", \"mode\": %u, \"bytes\": %" PRIu64
            ", \"nattch\": %" PRIu64 ", \"cpid\": %ld, \"lpid\": %ld, "
            "\"atime\": %" PRId64 ", \"dtime\": %" PRId64
            ", \"ctime\": %" PRId64 ", \"dest\": %s, \"locked\": %s, ",
            (unsigned long)e->uid, (unsigned long)e->gid,
            (unsigned long)e->cuid, (unsigned long)e->cgid, e->perms, e->mode,
            e->bytes, e->nattch, (long)e->cpid, (long)e->lpid, e->atime,
            e->dtime, e->ctime, e->dest ? "true" : "false",
            e->locked ? "true" : "false");
    if (e->has_rss_swap)
        fprintf(f, "\"rss\": %" PRIu64 ", \"swap\": %" PRIu64 ", ", e->rss,
                e->swap);
    fprintf(f, "\"kind\": \"%s\", \"kind_code\": \"%s\", \"hipc\": %s, ",
            kind_name(e->kind), hipc_err_name(e->kind_code),
            e->kind == HIPC_SEG_HIPC ? "true" : "false");
    if (e->kind == HIPC_SEG_HIPC)
        fprintf(f,
                "\"tag\": %" PRIu32 ", \"layout_version\": %" PRIu32
                ", \"creator_pid\": %ld, \"creator_start\": %" PRIu64 ", ",
                e->tag, e->layout_version, (long)e->creator_pid,
                e->creator_start);
    hipcctl_print_use(f, e, 1);
    fprintf(f, "\"orphan\": \"%s\"}", orphan_name(e->orphan));
}

static void json_table(FILE *f, const hipc_seg_entry *e, size_t n)
{
    fprintf(f, "{\"count\": %zu, \"segments\": [", n);
    for (size_t i = 0; i < n; i++) {
        fputs(i == 0 ? "\n  " : ",\n  ", f);
        json_entry(f, &e[i]);
    }
    fputs(n == 0 ? "]}\n" : "\n]}\n", f);
}

struct ls_opts {
    int json;
    unsigned flags;
    const char *operand;
};

/* Options common to ls and stat; at most one operand. */
static int parse_opts(int argc, char **argv, struct ls_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (strcmp(argv[i], "--no-peek") == 0)
            o->flags |= HIPC_INSPECT_NO_PEEK;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return hipcctl_usage_error("%s: unknown option '%s'", argv[0],
                                       argv[i]);
        else if (o->operand != NULL)
            return hipcctl_usage_error("%s: too many arguments", argv[0]);
        else
            o->operand = argv[i];
    }
    return HIPCCTL_EXIT_OK;
}

int hipcctl_cmd_ls(int argc, char **argv)
{
    struct ls_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != HIPCCTL_EXIT_OK)
        return rc;
    if (o.operand != NULL)
        return hipcctl_usage_error("ls: unexpected argument '%s'", o.operand);
    hipc_seg_entry *e = NULL;
    size_t n = 0;
    int err = 0;
    rc = hipcctl_list(&e, &n, o.flags, &err);
    if (rc != HIPC_OK)
        return hipcctl_fail("ls: reading the segment table", rc, err);
    if (o.json)
        json_table(stdout, e, n);
    else
        hipcctl_print_table(stdout, e, n);
    free(e);
    return HIPCCTL_EXIT_OK;
}

static void print_stat(FILE *f, const hipc_seg_entry *e)
{
    char buf[64];
    fprintf(f, "id       %d\nkey      0x%08" PRIx32 " (%d)\n", e->id,
            (uint32_t)e->key, (int)e->key);
    fprintf(f, "owner    %s (uid %lu, gid %lu)\n",
            owner_name(e->uid, buf, sizeof buf), (unsigned long)e->uid,
            (unsigned long)e->gid);
    fprintf(f, "creator  uid %lu, gid %lu, pid %ld\n", (unsigned long)e->cuid,
            (unsigned long)e->cgid, (long)e->cpid);
    fprintf(f,
            "perms    %o\nbytes    %" PRIu64 "\nnattch   %" PRIu64
            "\nlast pid %ld\nstatus   %s\n",
            e->perms, e->bytes, e->nattch, (long)e->lpid,
            e->dest || e->locked ? status_text(e) : "-");
    fprintf(f,
            "times    attach %" PRId64 ", detach %" PRId64 ", change %" PRId64
            "\n",
            e->atime, e->dtime, e->ctime);
    fprintf(f, "kind     %s (%s)\n", kind_name(e->kind),
            hipc_err_name(e->kind_code));
    if (e->kind == HIPC_SEG_HIPC)
        fprintf(f,
                "hipc     tag 0x%08" PRIx32 ", layout %" PRIu32
                ", creator pid %ld started at tick %" PRIu64 "\n",
                e->tag, e->layout_version, (long)e->creator_pid,
                e->creator_start);
    hipcctl_print_use(f, e, 0);
    fprintf(f, "orphan   %s\n", orphan_name(e->orphan));
}

int hipcctl_cmd_stat(int argc, char **argv)
{
    struct ls_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != HIPCCTL_EXIT_OK)
        return rc;
    int id = 0;
    if (o.operand == NULL || hipcctl_parse_id(o.operand, &id) != 0)
        return hipcctl_usage_error("stat: expected a segment id (0..%d)",
                                   INT32_MAX);
    hipc_seg_entry e;
    int err = 0;
    rc = hipc_inspect_find_id(id, &e, o.flags, &err);
    if (rc != HIPC_OK) {
        char what[64];
        snprintf(what, sizeof what, "stat: segment %d", id);
        return hipcctl_fail(what, rc, err);
    }
    if (o.json) {
        json_entry(stdout, &e);
        fputc('\n', stdout);
    } else {
        print_stat(stdout, &e);
    }
    return HIPCCTL_EXIT_OK;
}
