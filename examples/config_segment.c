/* SPDX-License-Identifier: MIT */
/* A configuration block: one process publishes a configuration struct in
 * a hipc state block and exits; others read it later, each in its own
 * process; finally it is removed.
 *
 *     config_segment write KEY NAME RATE_HZ   publish (create the block,
 *                                             or take it over from the
 *                                             last writer)
 *     config_segment read KEY                 print the configuration
 *     config_segment remove KEY               remove the block
 *
 * The block outlives the writer (that is its point), so `remove` is part
 * of the recipe. A state block gives the rest: readers attach read-only
 * and always get one whole value (a writer killed half-way leaves the
 * previous one), the next writer takes over from one that is gone, and
 * readers learn the generation and whether a writer is still there. The
 * value is still untrusted input - another process wrote it - so every
 * field is checked before use and the name is never assumed to be
 * NUL-terminated. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hipc/hipc.h"
#include "hipc/state.h"

#define CONFIG_NAME_MAX 32

/* The value shared between processes: fixed-width fields only. */
struct config {
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
    struct config c;
    memset(&c, 0, sizeof c);
    c.rate_hz = (uint32_t)hz;
    memcpy(c.name, name, strlen(name));
    hipc_state_writer w;
    hipc_state_config cfg = {.mode = 0644}; /* others may read */
    int rc = hipc_state_create(&w, key, sizeof c, &cfg);
    /* A block already there: take it over from the writer before us. */
    if (rc == HIPC_E_EXISTS)
        rc = hipc_state_open_writer(&w, key, NULL);
    if (rc != HIPC_OK)
        return fail("open as writer", rc, w.sys_errno);
    if (w.value_size != sizeof c) {
        (void)hipc_state_close_writer(&w);
        fprintf(stderr, "config_segment: the block holds another value\n");
        return 1;
    }
    rc = hipc_state_publish(&w, &c, sizeof c);
    if (rc != HIPC_OK)
        return fail("publish", rc, w.sys_errno);
    printf("config_segment: published \"%s\" at %ld Hz, generation %llu\n",
           name, hz, (unsigned long long)w.generation);
    /* Gives up the writer's role only: the block stays for the readers. */
    rc = hipc_state_close_writer(&w);
    return rc == HIPC_OK ? 0 : fail("close", rc, 0);
}

/* Checks what another process wrote; prints it when it makes sense. */
static int show(const struct config *c, const hipc_state_info *info)
{
    if (info->generation == 0) {
        fprintf(stderr, "config_segment: not published yet\n");
        return 1;
    }
    char name[CONFIG_NAME_MAX + 1] = {0};
    memcpy(name, c->name, CONFIG_NAME_MAX);
    if (c->rate_hz < 1 || c->rate_hz > 100000 ||
        strlen(name) == CONFIG_NAME_MAX) {
        fprintf(stderr, "config_segment: the configuration is damaged\n");
        return 1;
    }
    printf("config_segment: name \"%s\", rate %u Hz (generation %llu)\n", name,
           (unsigned)c->rate_hz, (unsigned long long)info->generation);
    return 0;
}

static int read_config(hipc_key key)
{
    hipc_state_reader r;
    int rc = hipc_state_open_reader(&r, key, NULL);
    if (rc != HIPC_OK)
        return fail("open", rc, r.sys_errno);
    struct config c;
    hipc_state_info info;
    /* The block says how big its value is; ours must be that size. */
    rc = r.value_size == sizeof c ? hipc_state_read(&r, &c, sizeof c, &info)
                                  : HIPC_E_SIZE_MISMATCH;
    int status = rc < 0 ? fail("read", rc, r.sys_errno) : show(&c, &info);
    pid_t pid = 0;
    int writer = hipc_state_get_writer(&r, &pid);
    if (status == 0 && writer == HIPC_OK)
        printf("config_segment: its writer, pid %d, still runs\n", (int)pid);
    else if (status == 0 && writer == HIPC_E_PEER_GONE)
        printf("config_segment: no writer now\n");
    rc = hipc_state_close_reader(&r);
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
