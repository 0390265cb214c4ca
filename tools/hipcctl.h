/* SPDX-License-Identifier: MIT */
/* hipcctl — shared declarations of the command-line tool.
 *
 * tools/hipcctl.c dispatches to one function per command; each command
 * group lives in its own file (cmd_ls.c, cmd_rm.c, cmd_demo.c, ...).
 * A new command is one file plus one line in the table in hipcctl.c.
 */
#ifndef HIPCCTL_H
#define HIPCCTL_H

#include <stddef.h>
#include <stdio.h>

#include "hipc/hipc.h"

/* Exit codes (documented in `hipcctl help` and README.md). */
enum hipcctl_exit {
    HIPCCTL_EXIT_OK = 0,       /* done */
    HIPCCTL_EXIT_FAILED = 1,   /* an operation failed (message on stderr) */
    HIPCCTL_EXIT_USAGE = 2,    /* bad command line */
    HIPCCTL_EXIT_NOT_FOUND = 3 /* no such segment (stat, rm) */
};

/* A command: argv[0] is the command name, argv[1..] its arguments. */
typedef int (*hipcctl_cmd_fn)(int argc, char **argv);

/* Prints "hipcctl: WHAT: HIPC_E_NAME (message)[: errno text]" to stderr
 * and returns the exit code that fits the failure. */
int hipcctl_fail(const char *what, int code, int sys_errno);

/* Prints "hipcctl: MESSAGE" and the usage hint; returns HIPCCTL_EXIT_USAGE. */
int hipcctl_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Parses a segment id (decimal, 0..INT_MAX) or a key (decimal or 0x hex,
 * 32-bit, as ipcs prints it). Return 0 on success, -1 on garbage. */
int hipcctl_parse_id(const char *s, int *id);
int hipcctl_parse_key(const char *s, key_t *key);

/* Lists the live table into a heap array sized to fit; the caller frees
 * *out. Returns HIPC_OK or a negative code (sys_errno set). */
int hipcctl_list(hipc_seg_entry **out, size_t *count, unsigned flags,
                 int *sys_errno);

/* The ipcs -m style table (plus hipc tag and orphan flag). */
void hipcctl_print_table(FILE *f, const hipc_seg_entry *e, size_t n);

/* What a hipc segment is used for (tools/use.c): the name `ls` shows for
 * its tag (chan, state, bcast, board, or the tag in hex, written to buf),
 * and the details `stat` prints for state blocks and broadcast rings (as
 * a "use" JSON member ending in ", " when json is set). */
const char *hipcctl_use_name(const hipc_seg_entry *e, char *buf, size_t cap);
void hipcctl_print_use(FILE *f, const hipc_seg_entry *e, int json);

/* Commands. */
int hipcctl_cmd_ls(int argc, char **argv);
int hipcctl_cmd_stat(int argc, char **argv);
int hipcctl_cmd_rm(int argc, char **argv);
int hipcctl_cmd_gc(int argc, char **argv);
int hipcctl_cmd_demo(int argc, char **argv);
int hipcctl_cmd_bench(int argc, char **argv); /* tools/cmd_bench.c */

/* Parts of `hipcctl demo`, run in order by hipcctl_cmd_demo(). Each
 * returns an exit code. Hook: the pipe helper adds tools/demo_pipe.c with
 * hipcctl_demo_pipe() and one call line in cmd_demo.c. */
int hipcctl_demo_shm(void);
int hipcctl_demo_pipe(void);

#endif
