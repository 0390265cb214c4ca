/* SPDX-License-Identifier: MIT */
/* A stream of samples broadcast to two consumer processes: a fast one that
 * keeps up and a slow one that falls behind and reports exactly how many
 * samples it lost. The consumers attach read-only and the producer never
 * waits for them. Run with no arguments; exits 0 and leaves nothing
 * behind (the segment is marked for removal as soon as both consumers
 * have attached). */
#include <inttypes.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/bcast.h"
#include "hipc/error.h"

#define SAMPLES 5000u

struct sample {
    uint64_t n;      /* sample number */
    double value;    /* the measurement */
    int64_t when_ns; /* when it was taken */
};

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* Reads until the producer is gone; the slow consumer naps per sample.
 * Every sample is either received or counted lost. */
static int consume(int id, const char *name, long nap_ns, int ready)
{
    hipc_bcast c;
    hipc_bcast_config cfg = {.flags = HIPC_BCAST_OLDEST};
    int rc = hipc_bcast_open_consumer_id(&c, id, &cfg);
    if (rc != HIPC_OK) {
        fprintf(stderr, "%s: open: %s\n", name, hipc_strerror(rc));
        return 1;
    }
    (void)!write(ready, "r", 1);
    uint64_t got = 0, lost = 0, last = 0;
    int64_t oldest_ns = INT64_MAX, newest_ns = 0;
    double sum = 0;
    struct sample s;
    for (;;) {
        rc = hipc_bcast_recv(&c, &s, sizeof s, HIPC_FOREVER);
        if (rc == HIPC_E_OVERRUN) {
            (void)hipc_bcast_get_lost(&c, &last, &lost);
            continue;
        }
        if (rc != (int)sizeof s)
            break;
        /* In order, and every sample before it received or counted lost. */
        if (s.n != got + lost) {
            rc = HIPC_E_CORRUPT;
            break;
        }
        got++;
        sum += s.value;
        oldest_ns = s.when_ns < oldest_ns ? s.when_ns : oldest_ns;
        newest_ns = s.when_ns > newest_ns ? s.when_ns : newest_ns;
        if (nap_ns > 0)
            nap(nap_ns);
    }
    (void)hipc_bcast_close(&c);
    printf("%s: received %" PRIu64 ", lost %" PRIu64 " (%s at the end)\n", name,
           got, lost, hipc_err_name(rc));
    if (got > 0)
        printf("%s: mean value %.2f over %.1f ms of samples\n", name,
               sum / (double)got, (double)(newest_ns - oldest_ns) / 1e6);
    fflush(stdout); /* the child leaves with _exit */
    return rc == HIPC_E_PEER_GONE && got + lost == SAMPLES ? 0 : 1;
}

static pid_t start(int id, const char *name, long nap_ns, int ready)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(consume(id, name, nap_ns, ready));
    return pid;
}

static int produce(hipc_bcast *p)
{
    for (uint64_t n = 0; n < SAMPLES; n++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        struct sample s = {n, (double)(n % 100) / 10.0,
                           (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec};
        int rc = hipc_bcast_send(p, &s, sizeof s);
        if (rc != HIPC_OK) {
            fprintf(stderr, "send: %s\n", hipc_strerror(rc));
            return 1;
        }
        if (n % 50 == 49)
            nap(200000); /* a sample rate the fast consumer can follow */
    }
    return 0;
}

int main(void)
{
    hipc_bcast p;
    int rc = hipc_bcast_create(&p, HIPC_SHM_KEY_PRIVATE, NULL); /* 64 KiB */
    int ready[2];
    if (rc != HIPC_OK || pipe(ready) != 0) {
        fprintf(stderr, "create: %s\n", hipc_strerror(rc));
        return 1;
    }
    pid_t fast = start(p.shm.id, "fast", 0, ready[1]);
    pid_t slow = start(p.shm.id, "slow", 100000, ready[1]);
    char r;
    int ok = fast > 0 && slow > 0 && read(ready[0], &r, 1) == 1 &&
             read(ready[0], &r, 1) == 1;
    /* Both attached: the segment goes with the last of us. */
    (void)hipc_bcast_remove(&p);
    if (ok)
        ok = produce(&p) == 0;
    (void)hipc_bcast_close(&p); /* the consumers drain, then see it gone */
    int status = 0, fails = 0;
    pid_t kids[] = {fast, slow};
    for (int i = 0; i < 2; i++)
        if (kids[i] > 0 && (waitpid(kids[i], &status, 0) != kids[i] ||
                            !WIFEXITED(status) || WEXITSTATUS(status) != 0))
            fails++;
    close(ready[0]);
    close(ready[1]);
    return ok && fails == 0 ? 0 : 1;
}
