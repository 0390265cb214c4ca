/* SPDX-License-Identifier: MIT */
/* hipc_bench_process — running programs through hipc against the raw
 * calls, in one run, interleaved (A B, B A, ...: see GUIDE.md on the
 * machines' placement flips), reporting the median of per-round ratios:
 *   spawn: hipc_process_spawn + wait + close of /bin/true against
 *          posix_spawn + waitpid;
 *   echo:  64 KiB through /bin/cat with hipc_process_run against the same
 *          by hand (pipe2, fork, dup2, execve, poll, waitpid).
 * --quick: a smoke (few rounds), --json: one JSON object on stdout.
 * Timings are never asserted anywhere. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/process.h"

extern char **environ;

#define ECHO_BYTES (64 * 1024)

static unsigned char echo_in[ECHO_BYTES], echo_out[ECHO_BYTES + 1];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int spawn_hipc(void)
{
    char *argv[] = {"true", NULL};
    hipc_process p;
    int status = -1;
    if (hipc_process_spawn(&p, "/bin/true", argv, NULL, NULL) != HIPC_OK)
        return -1;
    int rc = hipc_process_wait(&p, &status, HIPC_FOREVER);
    hipc_process_close(&p);
    return rc == HIPC_OK && status == 0 ? 0 : -1;
}

static int spawn_raw(void)
{
    char *argv[] = {"true", NULL};
    pid_t pid;
    int status;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int echo_hipc(void)
{
    char *argv[] = {"cat", NULL};
    hipc_process_io io = {.in = echo_in,
                          .in_len = ECHO_BYTES,
                          .out = echo_out,
                          .out_cap = sizeof echo_out};
    int rc =
        hipc_process_run("/bin/cat", argv, NULL, NULL, &io, NULL, HIPC_FOREVER);
    return rc == HIPC_OK && io.out_len == ECHO_BYTES ? 0 : -1;
}

/* The by-hand version a careful caller writes: both directions through
 * poll, SIGPIPE ignored for the bench's whole run. */
static int echo_pump(int to, int from)
{
    size_t sent = 0, got = 0;
    while (from >= 0) {
        struct pollfd f[2] = {{.fd = to, .events = POLLOUT},
                              {.fd = from, .events = POLLIN}};
        if (poll(f, 2, -1) < 0 && errno != EINTR)
            return -1;
        if (to >= 0 && f[0].revents) {
            size_t k = ECHO_BYTES - sent < 4096 ? ECHO_BYTES - sent : 4096;
            ssize_t n = write(to, echo_in + sent, k);
            if (n > 0)
                sent += (size_t)n;
            if (n < 0 || sent == ECHO_BYTES) {
                close(to);
                to = -1;
            }
        }
        if (f[1].revents) {
            ssize_t n = read(from, echo_out + got, sizeof echo_out - got);
            if (n > 0)
                got += (size_t)n;
            else {
                close(from);
                from = -1;
            }
        }
    }
    return got == ECHO_BYTES ? 0 : -1;
}

static int echo_raw(void)
{
    int in[2], out[2], status;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"cat", NULL};
        dup2(in[0], 0);
        dup2(out[1], 1);
        execve("/bin/cat", argv, environ);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    int rc = pid > 0 ? echo_pump(in[1], out[0]) : -1;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    return rc;
}

/* Seconds per call of fn, over n calls. */
static double per_call(int (*fn)(void), int n)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (fn() != 0) {
            fprintf(stderr, "bench_process: a run failed\n");
            exit(1);
        }
    return (now_s() - t0) / n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
    const char *name;
    double hipc_us, raw_us, ratio;
};

/* Rounds of A then B, alternating which goes first. */
static struct result compare(const char *name, int (*a)(void), int (*b)(void),
                             int rounds, int n)
{
    double ta[32], tb[32], ratio[32];
    for (int r = 0; r < rounds; r++) {
        if (r % 2 == 0) {
            ta[r] = per_call(a, n);
            tb[r] = per_call(b, n);
        } else {
            tb[r] = per_call(b, n);
            ta[r] = per_call(a, n);
        }
        ratio[r] = ta[r] / tb[r];
    }
    struct result res = {name, median(ta, rounds) * 1e6,
                         median(tb, rounds) * 1e6, median(ratio, rounds)};
    return res;
}

int main(int argc, char **argv)
{
    int quick = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else {
            fprintf(stderr, "usage: %s [--quick] [--json]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN); /* for the by-hand echo only */
    for (size_t i = 0; i < sizeof echo_in; i++)
        echo_in[i] = (unsigned char)(i * 31u);
    int rounds = quick ? 3 : 9;
    struct result r[2] = {
        compare("spawn_true", spawn_hipc, spawn_raw, rounds, quick ? 5 : 200),
        compare("echo_64k_cat", echo_hipc, echo_raw, rounds, quick ? 3 : 100),
    };
    for (int i = 0; i < 2; i++) {
        if (json)
            printf("%s\"%s\": {\"hipc_us\": %.1f, \"raw_us\": %.1f, "
                   "\"ratio\": %.3f}",
                   i == 0 ? "{" : ", ", r[i].name, r[i].hipc_us, r[i].raw_us,
                   r[i].ratio);
        else
            printf("%-14s hipc %8.1f us  raw %8.1f us  ratio (median of %d "
                   "rounds) %.3f\n",
                   r[i].name, r[i].hipc_us, r[i].raw_us, rounds, r[i].ratio);
    }
    if (json)
        printf(", \"rounds\": %d}\n", rounds);
    return 0;
}
