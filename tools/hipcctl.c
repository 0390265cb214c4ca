/* SPDX-License-Identifier: MIT */
/* hipcctl — inspect, clean up and demonstrate hipc's System V shared memory.
 * This file: dispatch, usage, version and the helpers every command uses. */
#include "hipcctl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct hipcctl_cmd {
    const char *name;
    hipcctl_cmd_fn run;
    const char *args;
    const char *summary;
} commands[] = {
    {"ls", hipcctl_cmd_ls, "[--json] [--no-peek]",
     "list segments: the ipcs -m columns plus hipc tag and orphan flag"},
    {"stat", hipcctl_cmd_stat, "[--json] [--no-peek] ID",
     "show everything known about segment ID"},
    {"rm", hipcctl_cmd_rm, "ID | --key KEY",
     "remove a segment (as ipcrm -m / -M)"},
    {"gc", hipcctl_cmd_gc, "[--dry-run]",
     "remove orphans: no attachment and the creator gone"},
    {"demo", hipcctl_cmd_demo, "",
     "walk through shared memory across a fork, showing the table"},
    {"bench", hipcctl_cmd_bench, "[--quick] [--json]",
     "measure the channel against pipes, memcpy and a cache line"},
    {"version", cmd_version, "", "print hipcctl's and the library's version"},
    {"help", cmd_help, "", "print this help"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fprintf(f, "usage: hipcctl COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %-24s %s\n", commands[i].name, commands[i].args,
                commands[i].summary);
    fprintf(f, "\nKEY is decimal or 0x hex, as ipcs prints it; ID is a "
               "decimal shmid.\n"
               "ls, stat and gc attach each segment read-only for a moment "
               "to find hipc\nheaders (this updates its atime and lpid); "
               "--no-peek skips that.\n"
               "\nexit codes: 0 ok, 1 operation failed, 2 usage error, "
               "3 no such segment\n");
}

static int cmd_help(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return hipcctl_usage_error("help takes no arguments");
    print_usage(stdout);
    return HIPCCTL_EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return hipcctl_usage_error("version takes no arguments");
    printf("hipcctl %s (library %s, segment layout %u)\n", HIPC_VERSION_STRING,
           hipc_version_string(), (unsigned)HIPC_SHM_LAYOUT_VERSION);
    return HIPCCTL_EXIT_OK;
}

int hipcctl_fail(const char *what, int code, int sys_errno)
{
    fprintf(stderr, "hipcctl: %s: %s (%s)", what, hipc_err_name(code),
            hipc_strerror(code));
    if (sys_errno != 0)
        fprintf(stderr, ": %s", strerror(sys_errno));
    fputc('\n', stderr);
    return code == HIPC_E_NOT_FOUND ? HIPCCTL_EXIT_NOT_FOUND
                                    : HIPCCTL_EXIT_FAILED;
}

int hipcctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hipcctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try 'hipcctl help')\n", stderr);
    return HIPCCTL_EXIT_USAGE;
}

/* strtoll with the checks it leaves to the caller: no leading space or
 * sign games, nothing after the number, within [min, max]. */
static int parse_number(const char *s, int base, long long min, long long max,
                        long long *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s) || *s == '+')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int hipcctl_parse_id(const char *s, int *id)
{
    long long v = 0;
    if (parse_number(s, 10, 0, INT_MAX, &v) != 0)
        return -1;
    *id = (int)v;
    return 0;
}

/* ipcs prints keys as 0x%08x (an unsigned view of the 32-bit key);
 * /proc prints them signed. Accept both. */
int hipcctl_parse_key(const char *s, key_t *key)
{
    long long v = 0;
    int hex = s != NULL && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (parse_number(s, hex ? 16 : 10, INT32_MIN, (long long)UINT32_MAX, &v) !=
        0)
        return -1;
    *key = (key_t)(int32_t)(uint32_t)(v & 0xffffffffLL);
    return 0;
}

int hipcctl_list(hipc_seg_entry **out, size_t *count, unsigned flags,
                 int *sys_errno)
{
    size_t total = 0, cap = 16;
    *out = NULL;
    *count = 0;
    /* The table can grow between calls: retry until everything fits. */
    for (int tries = 0; tries < 8; tries++) {
        hipc_seg_entry *e = calloc(cap, sizeof *e);
        if (e == NULL)
            return HIPC_E_NOMEM;
        int rc = hipc_inspect_list(e, cap, &total, flags, sys_errno);
        if (rc >= 0 && total <= cap) {
            *out = e;
            *count = total;
            return HIPC_OK;
        }
        free(e);
        if (rc < 0)
            return rc;
        cap = total + 16;
    }
    return HIPC_E_RETRIES;
}

static const struct hipcctl_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return HIPCCTL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    const struct hipcctl_cmd *cmd = find_command(name);
    if (cmd == NULL)
        return hipcctl_usage_error("unknown command '%s'", argv[1]);
    int rc = cmd->run(argc - 1, argv + 1);
    /* Output that never arrived is a failure, even if an earlier flush
     * (the demo flushes before each fork) was the one that noticed. */
    int flushed = fflush(stdout) == 0;
    int err = errno;
    if ((!flushed || ferror(stdout)) && rc == HIPCCTL_EXIT_OK) {
        fprintf(stderr, "hipcctl: writing output: %s\n",
                flushed ? "an earlier write failed" : strerror(err));
        return HIPCCTL_EXIT_FAILED;
    }
    return rc;
}
