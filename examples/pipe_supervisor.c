/* SPDX-License-Identifier: MIT */
/* A pipe supervisor: forks a worker with hipc_pipe_spawn(), sends it
 * requests as frames and reads its answers with timeouts, then reaps it.
 *
 *     pipe_supervisor [COUNT]
 *
 * The worker squares each number it is sent. After COUNT requests
 * (default 100) the supervisor sends one that makes the worker hang, as a
 * stuck worker would: the answer does not come within the timeout, so the
 * supervisor kills the worker and reaps it. Spawn's pipe carries requests
 * (parent to child); a second pipe, made before the fork, carries answers
 * back. Exit status: 0 when every answer was right and the hang was
 * caught by the timeout. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hipc/hipc.h"

#define MAX_FRAME 64
#define HANG ((int64_t)-1) /* the request that makes the worker stall */
#define ANSWER_TIMEOUT_NS ((int64_t)2 * 1000 * 1000 * 1000)
#define HANG_TIMEOUT_NS ((int64_t)200 * 1000 * 1000)
#define REAP_TIMEOUT_NS ((int64_t)5 * 1000 * 1000 * 1000)

static int fail(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "pipe_supervisor: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

/* The worker: requests come on `in`, answers go out on the pipe `arg`
 * points at (inherited across the fork, at the same address). It ends
 * when the supervisor closes the request pipe. */
static int worker(hipc_pipe *in, FILE *stream, void *arg)
{
    (void)stream;
    hipc_pipe *out = arg;
    int64_t n = 0;
    if (hipc_pipe_close_end(out, HIPC_PIPE_READ_END) != HIPC_OK)
        return 1;
    for (;;) {
        int len =
            hipc_pipe_recv_frame(in, &n, sizeof n, sizeof n, HIPC_FOREVER);
        if (len == HIPC_E_EOF)
            return 0; /* the supervisor is done with us */
        if (len != (int)sizeof n)
            return 1;
        if (n == HANG)
            pause(); /* stuck, as a worker blocked on something would be */
        int64_t sq = n * n;
        if (hipc_pipe_send_frame(out, &sq, sizeof sq, sizeof sq,
                                 HIPC_FOREVER) != HIPC_OK)
            return 1;
    }
}

/* One request, one answer, each within its timeout. */
static int ask(hipc_pipe_child *c, hipc_pipe *answers, int64_t n,
               int64_t timeout_ns, int64_t *answer)
{
    int rc = hipc_pipe_send_frame(&c->pipe, &n, sizeof n, sizeof n, timeout_ns);
    if (rc != HIPC_OK)
        return rc;
    rc = hipc_pipe_recv_frame(answers, answer, sizeof *answer, sizeof *answer,
                              timeout_ns);
    return rc < 0 ? rc : rc == (int)sizeof *answer ? HIPC_OK : HIPC_E_BAD_FRAME;
}

static int converse(hipc_pipe_child *c, hipc_pipe *answers, long count)
{
    int64_t answer = 0;
    for (int64_t i = 1; i <= count; i++) {
        int rc = ask(c, answers, i, ANSWER_TIMEOUT_NS, &answer);
        if (rc != HIPC_OK)
            return fail("request", rc, answers->sys_errno);
        if (answer != i * i) {
            fprintf(stderr, "pipe_supervisor: %lld squared is not %lld\n",
                    (long long)i, (long long)answer);
            return 1;
        }
    }
    printf("pipe_supervisor: %ld answers, all right\n", count);
    int rc = ask(c, answers, HANG, HANG_TIMEOUT_NS, &answer);
    if (rc != HIPC_E_TIMEDOUT)
        return fail("the stalled request did not time out", rc, 0);
    printf("pipe_supervisor: worker %ld stalled: no answer in 200 ms, "
           "killing it\n",
           (long)c->pid);
    return kill(c->pid, SIGKILL) == 0 ? 0 : fail("kill", HIPC_E_SYS, errno);
}

/* Closes our end of the requests and reaps the worker; a worker killed by
 * a signal is HIPC_E_CHILD with 128 + the signal as its exit code. */
static int reap(hipc_pipe_child *c, int expect_killed)
{
    int code = -1;
    int rc = hipc_pipe_child_finish(c, &code, REAP_TIMEOUT_NS);
    if (rc == HIPC_E_TIMEDOUT) { /* never leave it running */
        (void)kill(c->pid, SIGKILL);
        rc = hipc_pipe_child_finish(c, &code, HIPC_FOREVER);
    }
    printf("pipe_supervisor: worker reaped, exit code %d\n", code);
    if (expect_killed)
        return rc == HIPC_E_CHILD && code == 128 + SIGKILL
                   ? 0
                   : fail("reap: expected the kill", rc, c->sys_errno);
    return rc == HIPC_OK && code == 0 ? 0 : fail("reap", rc, c->sys_errno);
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    if (argc > 2 || count < 1 || count > 3000000) {
        fprintf(stderr, "usage: pipe_supervisor [COUNT]\n");
        return 2;
    }
    hipc_pipe answers;
    int rc = hipc_pipe_create(&answers, 0);
    if (rc != HIPC_OK)
        return fail("pipe", rc, answers.sys_errno);
    hipc_pipe_child c;
    rc = hipc_pipe_spawn(&c, 0, worker, &answers);
    if (rc != HIPC_OK) {
        (void)hipc_pipe_close(&answers);
        return fail("spawn", rc, c.sys_errno);
    }
    /* The worker holds the answers' write end now: drop ours, so its exit
     * is seen as end of file. */
    rc = hipc_pipe_close_end(&answers, HIPC_PIPE_WRITE_END);
    int status = rc == HIPC_OK ? converse(&c, &answers, count)
                               : fail("close", rc, answers.sys_errno);
    int killed = status == 0;
    if (reap(&c, killed) != 0)
        status = 1;
    if (hipc_pipe_close(&answers) != HIPC_OK)
        status = 1;
    return status;
}
