/* SPDX-License-Identifier: MIT */
/* The seed's pipe program, written against hipc and corrected: the parent
 * writes "Hello, world." five times into a pipe, flushing each line, and a
 * forked child reads and prints them. No sleeps: the child simply reads
 * until end of file, which comes when the parent closes its end, and the
 * parent then reaps the child and reports its exit status.
 *
 * Data flows from the write end to the read end, never the other way;
 * hipc_pipe_spawn() leaves each process only the end it uses. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hipc/hipc.h"

#define GREETING "Hello, world.\n"
#define TIMES 5

static int report(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "pipe_hello: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

/* The child: print every line that arrives; the exit code says whether
 * exactly TIMES greetings came. */
static int child(hipc_pipe *pipe, FILE *in, void *arg)
{
    (void)pipe;
    (void)arg;
    char line[64];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        printf("child %ld read: %s", (long)getpid(), line);
        n += strcmp(line, GREETING) == 0;
    }
    return n == TIMES ? 0 : 1;
}

int main(void)
{
    hipc_pipe_child c;
    int rc =
        hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM | HIPC_SPAWN_CHILD_STREAM,
                        child, NULL);
    if (rc != HIPC_OK)
        return report("spawn", rc, c.sys_errno);
    for (int i = 0; i < TIMES; i++) {
        /* Flushing hands each line to the child at once. */
        if (fputs(GREETING, c.stream) < 0 || fflush(c.stream) != 0) {
            fprintf(stderr, "pipe_hello: writing to the child failed\n");
            break;
        }
    }
    int status = -1;
    rc = hipc_pipe_child_finish(&c, &status, HIPC_FOREVER);
    if (rc != HIPC_OK)
        return report("finish", rc, c.sys_errno);
    printf("parent %ld: child %ld exited with status %d\n", (long)getpid(),
           (long)c.pid, status);
    return status == 0 ? 0 : 1;
}
