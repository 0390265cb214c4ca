/* SPDX-License-Identifier: MIT */
/* hipcctl rm and gc: removing segments, one by id or key, or every orphan. */
#include "hipcctl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int rm_key(const char *arg)
{
    key_t key = 0;
    if (arg == NULL || hipcctl_parse_key(arg, &key) != 0)
        return hipcctl_usage_error(
            "rm: --key needs a 32-bit key (decimal or 0x hex)");
    int err = 0;
    int rc = hipc_shm_remove_key(key, &err);
    if (rc != HIPC_OK) {
        char what[64];
        snprintf(what, sizeof what, "rm: key 0x%08" PRIx32, (uint32_t)key);
        return hipcctl_fail(what, rc, err);
    }
    printf("removed key 0x%08" PRIx32 "\n", (uint32_t)key);
    return HIPCCTL_EXIT_OK;
}

static int rm_id(const char *arg)
{
    int id = 0;
    if (hipcctl_parse_id(arg, &id) != 0)
        return hipcctl_usage_error(
            "rm: expected a segment id (0..%d), got '%s'", INT32_MAX, arg);
    int err = 0;
    int rc = hipc_shm_remove_id(id, &err);
    if (rc != HIPC_OK) {
        char what[64];
        snprintf(what, sizeof what, "rm: segment %d", id);
        return hipcctl_fail(what, rc, err);
    }
    printf("removed segment %d\n", id);
    return HIPCCTL_EXIT_OK;
}

int hipcctl_cmd_rm(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--key") == 0)
        return rm_key(argv[2]);
    if (argc == 2 && argv[1][0] != '-')
        return rm_id(argv[1]);
    return hipcctl_usage_error("usage: hipcctl rm ID | hipcctl rm --key KEY");
}

int hipcctl_cmd_gc(int argc, char **argv)
{
    unsigned flags = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            flags |= HIPC_INSPECT_DRY_RUN;
        else
            return hipcctl_usage_error("gc: unknown argument '%s'", argv[i]);
    }
    /* The library reports the first orphans it met; 256 shows plenty. */
    enum { SHOWN = 256 };
    hipc_seg_entry *e = calloc(SHOWN, sizeof *e);
    if (e == NULL)
        return hipcctl_fail("gc", HIPC_E_NOMEM, 0);
    size_t found = 0;
    int err = 0;
    int rc = hipc_inspect_gc(e, SHOWN, &found, flags, &err);
    size_t shown = found < SHOWN ? found : SHOWN;
    const char *verb =
        (flags & HIPC_INSPECT_DRY_RUN) ? "would remove" : "removed";
    for (size_t i = 0; i < shown; i++)
        printf("%s orphan: id %d key 0x%08" PRIx32 " bytes %" PRIu64
               " creator pid %ld\n",
               verb, e[i].id, (uint32_t)e[i].key, e[i].bytes,
               (long)(e[i].kind == HIPC_SEG_HIPC ? e[i].creator_pid
                                                 : e[i].cpid));
    free(e);
    if (rc < 0)
        return hipcctl_fail("gc", rc, err);
    printf("gc: %d orphan%s %s\n", rc, rc == 1 ? "" : "s",
           (flags & HIPC_INSPECT_DRY_RUN) ? "found (dry run: nothing removed)"
                                          : "removed");
    return HIPCCTL_EXIT_OK;
}
