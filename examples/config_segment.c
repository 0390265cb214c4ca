/* SPDX-License-Identifier: MIT */
/* A configuration segment: one process publishes a configuration struct in
 * a hipc shared-memory segment and exits; others read it later, each in
 * its own process; finally it is removed.
 *
 *     config_segment write KEY NAME RATE_HZ   create the segment, publish
 *     config_segment read KEY                 print the configuration
 *     config_segment remove KEY               remove the segment
 *
 * The segment outlives the writer (that is its point), so `remove` is part
 * of the recipe. Readers open it read-only and treat its contents as
 * untrusted input: another process wrote them, so every field is checked
 * before use and the name is never assumed to be NUL-terminated. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hipc/hipc.h"

/* The application tag in the hipc header: a reader refuses a segment of
 * another application that happens to use the same key. */
#define CONFIG_TAG 0x43464731u /* "CFG1" */
#define CONFIG_NAME_MAX 32

/* The layout shared between processes: fixed-width fields only. The
 * writer fills everything, then sets `published` with release order; a
 * reader that sees it set (acquire) sees every field. */
struct config {
    _Atomic uint32_t published; /* 0 until the fields are complete */
    uint32_t rate_hz;           /* 1..100000 */
    char name[CONFIG_NAME_MAX]; /* NUL-padded */
};

static int fail(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "config_segment: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

static int parse_key(const char *s, hipc_key *key)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v < INT32_MIN ||
        v > (long long)UINT32_MAX)
        return -1;
    *key = (hipc_key)(int32_t)(uint32_t)(v & 0xffffffffLL);
    return 0;
}

static int write_config(hipc_key key, const char *name, const char *rate)
{
    long hz = strtol(rate, NULL, 10);
    if (strlen(name) >= CONFIG_NAME_MAX || hz < 1 || hz > 100000) {
        fprintf(stderr,
                "config_segment: NAME up to %d bytes, RATE_HZ "
                "1..100000\n",
                CONFIG_NAME_MAX - 1);
        return 2;
    }
    hipc_shm shm;
    hipc_shm_config cfg = {.size = sizeof(struct config),
                           .mode = 0644, /* others may read, not write */
                           .tag = CONFIG_TAG};
    int rc = hipc_shm_create(&shm, key, &cfg);
    if (rc != HIPC_OK)
        return fail("create", rc, shm.sys_errno);
    struct config *c = shm.data; /* zero-filled by the kernel */
    c->rate_hz = (uint32_t)hz;
    memcpy(c->name, name, strlen(name));
    atomic_store_explicit(&c->published, 1, memory_order_release);
    printf("config_segment: published \"%s\" at %ld Hz in segment %d\n", name,
           hz, shm.id);
    /* Detach only: the segment stays for the readers. */
    rc = hipc_shm_close(&shm);
    return rc == HIPC_OK ? 0 : fail("close", rc, 0);
}

/* Checks what another process wrote; prints it when it makes sense. */
static int show(const struct config *c)
{
    if (atomic_load_explicit(&c->published, memory_order_acquire) != 1) {
        fprintf(stderr, "config_segment: not published yet\n");
        return 1;
    }
    uint32_t hz = c->rate_hz; /* read once, then checked */
    char name[CONFIG_NAME_MAX + 1] = {0};
    memcpy(name, c->name, CONFIG_NAME_MAX);
    if (hz < 1 || hz > 100000 || strlen(name) == CONFIG_NAME_MAX) {
        fprintf(stderr, "config_segment: the configuration is damaged\n");
        return 1;
    }
    printf("config_segment: name \"%s\", rate %u Hz\n", name, (unsigned)hz);
    return 0;
}

static int read_config(hipc_key key)
{
    hipc_shm shm;
    /* The size comes from the segment; asking for at least ours refuses
     * one too small to hold the struct. */
    int rc = hipc_shm_open(&shm, key, sizeof(struct config), HIPC_SHM_RDONLY);
    if (rc != HIPC_OK)
        return fail("open", rc, shm.sys_errno);
    int status = shm.tag == CONFIG_TAG ? show(shm.data) : 1;
    if (shm.tag != CONFIG_TAG)
        fprintf(stderr, "config_segment: segment %d is another program's\n",
                shm.id);
    rc = hipc_shm_close(&shm);
    return rc == HIPC_OK ? status : fail("close", rc, 0);
}

int main(int argc, char **argv)
{
    hipc_key key = 0;
    if (argc < 3 || parse_key(argv[2], &key) != 0) {
        fprintf(stderr, "usage: config_segment write KEY NAME RATE_HZ | "
                        "read KEY | remove KEY\n");
        return 2;
    }
    if (strcmp(argv[1], "write") == 0 && argc == 5)
        return write_config(key, argv[3], argv[4]);
    if (strcmp(argv[1], "read") == 0 && argc == 3)
        return read_config(key);
    if (strcmp(argv[1], "remove") == 0 && argc == 3) {
        int err = 0;
        int rc = hipc_shm_remove_key(key, &err);
        if (rc != HIPC_OK)
            return fail("remove", rc, err);
        printf("config_segment: removed key 0x%08x\n", (unsigned)key);
        return 0;
    }
    fprintf(stderr, "config_segment: unknown command '%s'\n", argv[1]);
    return 2;
}
