/* SPDX-License-Identifier: MIT */
/* hipcctl demo, pipe part: the seed's pipe program, corrected. The parent
 * writes "Hello, world." five times through a stream, flushing each line;
 * the forked child reads and prints them until end of file; the parent
 * reaps it. Then one write into a pipe whose reader has gone shows
 * HIPC_E_PEER_GONE where a plain write would have died of SIGPIPE. */
#include "hipcctl.h"

#include <string.h>
#include <unistd.h>

#define DEMO_GREETING "Hello, world.\n"
#define DEMO_TIMES 5

static int demo_child(hipc_pipe *pipe, FILE *in, void *arg)
{
    (void)pipe;
    (void)arg;
    char line[64];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        printf("child  %ld: read %s", (long)getpid(), line);
        n += strcmp(line, DEMO_GREETING) == 0;
    }
    return n == DEMO_TIMES ? 0 : 1;
}

static int demo_greetings(void)
{
    hipc_pipe_child c;
    int rc =
        hipc_pipe_spawn(&c, HIPC_SPAWN_PARENT_STREAM | HIPC_SPAWN_CHILD_STREAM,
                        demo_child, NULL);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo: spawning the pipe child", rc, c.sys_errno);
    printf("parent %ld: child %ld reads the pipe; writing %d greetings\n",
           (long)getpid(), (long)c.pid, DEMO_TIMES);
    fflush(stdout);
    for (int i = 0; i < DEMO_TIMES; i++)
        if (fputs(DEMO_GREETING, c.stream) < 0 || fflush(c.stream) != 0)
            break;
    int status = -1;
    rc = hipc_pipe_child_finish(&c, &status, HIPC_FOREVER);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo: finishing the pipe child", rc, c.sys_errno);
    printf("parent %ld: closed its end; child %ld exited with status %d\n",
           (long)getpid(), (long)c.pid, status);
    return status == 0 ? HIPCCTL_EXIT_OK : HIPCCTL_EXIT_FAILED;
}

/* A write with no reader left: an error code, not a dead process. */
static int demo_peer_gone(void)
{
    hipc_pipe p;
    int rc = hipc_pipe_create(&p, 0);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo: creating a pipe", rc, p.sys_errno);
    hipc_pipe_close_end(&p, HIPC_PIPE_READ_END);
    rc = hipc_pipe_write_all(&p, "anyone?", 7, NULL, HIPC_FOREVER);
    printf("parent %ld: write with the reader gone: %s (%s), still alive\n",
           (long)getpid(), hipc_err_name(rc), hipc_strerror(rc));
    hipc_pipe_close(&p);
    return rc == HIPC_E_PEER_GONE ? HIPCCTL_EXIT_OK : HIPCCTL_EXIT_FAILED;
}

int hipcctl_demo_pipe(void)
{
    printf("\n== a pipe across a fork ==\n");
    fflush(stdout);
    int rc = demo_greetings();
    if (rc == HIPCCTL_EXIT_OK)
        rc = demo_peer_gone();
    fflush(stdout);
    return rc;
}
