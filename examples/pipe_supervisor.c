/* SPDX-License-Identifier: MIT */
/* A pipe supervisor: runs a worker program with hipc_process_spawn(), its
 * stdin and stdout on pipes, sends it requests as frames and reads its
 * answers with timeouts, then stops and reaps it.
 *
 *     pipe_supervisor [COUNT]
 *
 * The worker is this same program run again as `pipe_supervisor --worker`
 * (through /proc/self/exe): it squares each number it reads on stdin and
 * writes the answer on stdout. After COUNT requests (default 100) the
 * supervisor sends one that makes the worker hang, as a stuck worker
 * would, one that also ignores SIGTERM: the answer does not come within
 * the timeout, so the supervisor stops it (SIGTERM, a grace period, then
 * SIGKILL) and reaps it. No dup2, exec, kill or waitpid by hand; no
 * SIGPIPE can reach the supervisor, and no zombie is left whatever fails.
 * Exit status: 0 when every answer was right and the hang was caught by
 * the timeout. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hipc/hipc.h"
#include "hipc/process.h"

#define HANG ((int64_t)-1) /* the request that makes the worker stall */
#define ANSWER_TIMEOUT_NS ((int64_t)2 * 1000 * 1000 * 1000)
#define HANG_TIMEOUT_NS ((int64_t)200 * 1000 * 1000)
#define GRACE_NS ((int64_t)100 * 1000 * 1000)

static int fail(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "pipe_supervisor: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

/* The worker: requests on stdin, answers on stdout, both as frames. It
 * ends at end of file (the supervisor closed its end). */
static int worker(void)
{
    hipc_pipe in, out;
    int64_t n = 0;
    if (hipc_pipe_adopt(&in, 0, HIPC_PIPE_READ_END, 0) != HIPC_OK ||
        hipc_pipe_adopt(&out, 1, HIPC_PIPE_WRITE_END, 0) != HIPC_OK)
        return 1;
    for (;;) {
        int len =
            hipc_pipe_recv_frame(&in, &n, sizeof n, sizeof n, HIPC_FOREVER);
        if (len == HIPC_E_EOF)
            return 0; /* the supervisor is done with us */
        if (len != (int)sizeof n)
            return 1;
        if (n == HANG) {
            /* Stuck, and deaf to a polite request to stop. */
            signal(SIGTERM, SIG_IGN);
            pause();
        }
        int64_t sq = n * n;
        if (hipc_pipe_send_frame(&out, &sq, sizeof sq, sizeof sq,
                                 HIPC_FOREVER) != HIPC_OK)
            return 1;
    }
}

/* One request, one answer, each within its timeout. */
static int ask(hipc_process *w, int64_t n, int64_t timeout_ns, int64_t *answer)
{
    int rc = hipc_pipe_send_frame(&w->in, &n, sizeof n, sizeof n, timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_pipe_recv_frame(&w->out, answer, sizeof *answer, sizeof *answer,
                              timeout_ns);
    return rc < 0 ? rc : rc == (int)sizeof *answer ? HIPC_OK : HIPC_E_BAD_FRAME;
}

static int converse(hipc_process *w, long count)
{
    int64_t answer = 0;
    for (int64_t i = 1; i <= count; i++) {
        int rc = ask(w, i, ANSWER_TIMEOUT_NS, &answer);
        if (rc != HIPC_OK)
            return fail("request", rc, w->out.sys_errno);
        if (answer != i * i) {
            fprintf(stderr, "pipe_supervisor: %lld squared is not %lld\n",
                    (long long)i, (long long)answer);
            return 1;
        }
    }
    printf("pipe_supervisor: %ld answers, all right\n", count);
    int rc = ask(w, HANG, HANG_TIMEOUT_NS, &answer);
    if (rc != HIPC_E_TIMEDOUT)
        return fail("the stalled request did not time out", rc, 0);
    printf("pipe_supervisor: worker %ld stalled: no answer in 200 ms, "
           "stopping it\n",
           (long)w->pid);
    return 0;
}

/* SIGTERM, 100 ms of grace, then SIGKILL: stop always reaps. */
static int stop(hipc_process *w, int expect_killed)
{
    int status = 0;
    int rc = hipc_process_stop(w, &status, GRACE_NS);
    if (rc != HIPC_OK)
        return fail("stop", rc, w->sys_errno);
    if (status < 0)
        printf("pipe_supervisor: worker reaped, killed by signal %d\n",
               -status);
    else
        printf("pipe_supervisor: worker reaped, exit code %d\n", status);
    return (expect_killed ? status == -SIGKILL : status == 0) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--worker") == 0)
        return worker();
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    if (argc > 2 || count < 1 || count > 3000000) {
        fprintf(stderr, "usage: pipe_supervisor [COUNT]\n");
        return 2;
    }
    hipc_process_config cfg = {.stdio = {HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_PIPE,
                                         HIPC_PROCESS_IO_INHERIT}};
    char *wargv[] = {"pipe_supervisor", "--worker", NULL};
    hipc_process w;
    int rc = hipc_process_spawn(&w, "/proc/self/exe", wargv, NULL, &cfg);
    if (rc != HIPC_OK)
        return fail("spawn", rc, w.sys_errno);
    int status = converse(&w, count);
    if (stop(&w, status == 0) != 0)
        status = 1;
    /* Closes the pipes; a worker still running would be killed and
     * reaped here. */
    if (hipc_process_close(&w) != HIPC_OK)
        status = 1;
    return status;
}
