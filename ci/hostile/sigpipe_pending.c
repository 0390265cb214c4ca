/* SPDX-License-Identifier: MIT */
/* hipc CI — runs a program with SIGPIPE blocked and already pending
 * (ci/stages/hostile.sh). A caller may well hold a SIGPIPE of its own when
 * it calls into hipc; the library must neither consume that one nor add
 * its own to it. The blocked mask and the pending signals survive execve,
 * so the program starts in exactly that state.
 *
 *   sigpipe_pending process|thread|both PROGRAM [ARG...]
 *
 *   process  one process-directed SIGPIPE (kill(getpid()))
 *   thread   one thread-directed SIGPIPE (tgkill to this thread, as raise)
 *   both     one of each: two pending, on the two queues
 *
 * Exits 125 when it cannot set that up, 127 when the program cannot be run.
 * Built by the stage with cc directly; not part of the library's build. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int send_process(void)
{
    return kill(getpid(), SIGPIPE);
}

static int send_thread(void)
{
    return (int)syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid),
                        SIGPIPE);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s process|thread|both PROGRAM [ARG...]\n",
                argv[0]);
        return 125;
    }
    int process =
        strcmp(argv[1], "process") == 0 || strcmp(argv[1], "both") == 0;
    int thread = strcmp(argv[1], "thread") == 0 || strcmp(argv[1], "both") == 0;
    if (!process && !thread) {
        fprintf(stderr, "sigpipe_pending: unknown kind '%s'\n", argv[1]);
        return 125;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (process && send_process() != 0) || (thread && send_thread() != 0)) {
        perror("sigpipe_pending");
        return 125;
    }
    /* Proof that it is pending (sigpending shows the union of both queues). */
    sigset_t pending;
    if (sigpending(&pending) != 0 || !sigismember(&pending, SIGPIPE)) {
        fprintf(stderr, "sigpipe_pending: SIGPIPE is not pending\n");
        return 125;
    }
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    return 127;
}
