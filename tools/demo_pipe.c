/* SPDX-License-Identifier: MIT */
/* hipcctl demo, pipe part: the seed's pipe program, corrected. The parent
 * writes "Hello, world." five times through a stream, flushing each line;
 * the forked child reads and prints them until end of file; the parent
 * reaps it. Then one write into a pipe whose reader has gone shows
 * HIPC_E_PEER_GONE where a plain write would have died of SIGPIPE. Last,
 * the supervisor (hipc_process): /bin/cat run over pipes with a deadline,
 * a program that would run for ever stopped and reaped, and a program
 * that does not exist reported as such, not as exit status 127. */
#include "hipcctl.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "hipc/process.h"

#define DEMO_SEC ((int64_t)1000 * 1000 * 1000)

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

/* popen without a shell: input fed and output collected at once. */
static int demo_run_cat(void)
{
    char *argv[] = {"cat", NULL};
    char out[64];
    const char *in = DEMO_GREETING;
    hipc_process_io io = {.in = in,
                          .in_len = strlen(in),
                          .out = out,
                          .out_cap = sizeof out - 1};
    int err = 0;
    int rc = hipc_process_run("/bin/cat", argv, NULL, NULL, &io, &err,
                              10 * DEMO_SEC);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo: running /bin/cat", rc, err);
    out[io.out_len] = '\0';
    printf("supervisor: /bin/cat echoed %zu bytes: %s", io.out_len, out);
    return io.status == 0 && strcmp(out, in) == 0 ? HIPCCTL_EXIT_OK
                                                  : HIPCCTL_EXIT_FAILED;
}

/* cat on a pipe we never close would run for ever: stop ends it
 * (SIGTERM, then SIGKILL after the grace period) and reaps it. */
static int demo_stop_cat(void)
{
    char *argv[] = {"cat", NULL};
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_PIPE}};
    hipc_process p;
    int rc = hipc_process_spawn(&p, "/bin/cat", argv, NULL, &cfg);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo: spawning /bin/cat", rc, p.sys_errno);
    int status = 0;
    rc = hipc_process_wait(&p, &status, 0);
    printf("supervisor: /bin/cat (pid %ld) waits for input: %s\n", (long)p.pid,
           hipc_err_name(rc));
    rc = hipc_process_stop(&p, &status, DEMO_SEC);
    if (rc == HIPC_OK)
        printf("supervisor: stopped it: killed by signal %d, reaped\n",
               -status);
    int close_rc = hipc_process_close(&p);
    if (rc != HIPC_OK || close_rc != HIPC_OK)
        return hipcctl_fail("demo: stopping /bin/cat",
                            rc != HIPC_OK ? rc : close_rc, p.sys_errno);
    return status == -SIGTERM ? HIPCCTL_EXIT_OK : HIPCCTL_EXIT_FAILED;
}

static int demo_exec_failure(void)
{
    char *argv[] = {"missing", NULL};
    hipc_process p;
    int rc = hipc_process_spawn(&p, "/nonexistent/program", argv, NULL, NULL);
    printf("supervisor: spawn /nonexistent/program: %s (errno %d: %s)\n",
           hipc_err_name(rc), p.sys_errno, strerror(p.sys_errno));
    return rc == HIPC_E_EXEC && p.sys_errno == ENOENT ? HIPCCTL_EXIT_OK
                                                      : HIPCCTL_EXIT_FAILED;
}

int hipcctl_demo_pipe(void)
{
    printf("\n== a pipe across a fork ==\n");
    fflush(stdout);
    int rc = demo_greetings();
    if (rc == HIPCCTL_EXIT_OK)
        rc = demo_peer_gone();
    printf("\n== a supervised program ==\n");
    fflush(stdout);
    if (rc == HIPCCTL_EXIT_OK)
        rc = demo_run_cat();
    if (rc == HIPCCTL_EXIT_OK)
        rc = demo_stop_cat();
    if (rc == HIPCCTL_EXIT_OK)
        rc = demo_exec_failure();
    fflush(stdout);
    return rc;
}
