/* SPDX-License-Identifier: MIT */
/* hipc bench — the broadcast ring against the channel, same run.
 *
 * Each round runs, in turn, a channel with one consumer and a broadcast
 * ring with 1, 2 and 4 consumers (separate processes), for 64 B and 4 KiB
 * messages. The producer sends as fast as it can for a fixed time and
 * then closes; each consumer counts what it received (and, for the ring,
 * what it lost) until it sees the producer gone. Rates are messages
 * received per second of sending, per consumer; the ratio reported is the
 * median over rounds of (ring with one consumer) / (channel), because
 * these machines change core placement between rounds (GUIDE.md).
 *
 * The producer is pinned to one CPU and the consumers to the others, for
 * the channel as for the ring: the ring's producer never waits, so a
 * consumer that shares its CPU gets a slice now and then, is lapped and
 * loses messages, which measures the scheduler, not the ring. With 2 or 4
 * consumers on the one other CPU of a 2-core machine, those rows still
 * do.
 *
 * One thread: the same rounds also time each path without a second
 * process: ONE_BATCH messages sent, then received, by one thread, the
 * channel and the ring in turn; ns per message sent plus received, and
 * the ring's over the channel's (the cost of the fan-out path itself).
 *
 * Usage: hipc_bench_bcast [--quick] [--json] */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/bcast.h"
#include "hipc/chan.h"
#include "cpus.h"
#include "hipc/error.h"

#define RING (1u << 20)
#define ROUNDS_MAX 9
#define KINDS 4        /* chan, bcast x1, x2, x4 */
#define ONE_BATCH 4096 /* messages per one-thread batch (fits the ring) */

static const int consumers_of[KINDS] = {1, 1, 2, 4};
static const char *const kind_names[KINDS] = {"chan", "bcast1", "bcast2",
                                              "bcast4"};

struct run {
    double recv_rate; /* messages received per second, per consumer */
    double lost_frac; /* of what was sent, lost per consumer (ring) */
};

static cpu_set_t producer_cpus, consumer_cpus;
static int pinned;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A consumer process: counts messages until the producer is gone, then
 * writes {received, lost} to `out`. */
static void consumer(int kind, int id, int ready, int out, size_t size)
{
    static unsigned char buf[4096];
    uint64_t res[2] = {0, 0};
    int rc;
    if (pinned)
        (void)sched_setaffinity(0, sizeof consumer_cpus, &consumer_cpus);
    if (kind == 0) {
        hipc_chan ch;
        if (hipc_chan_open_id(&ch, id, HIPC_CHAN_CONSUMER, NULL) != HIPC_OK)
            _exit(2);
        (void)!write(ready, "r", 1);
        while ((rc = hipc_chan_recv(&ch, buf, size, HIPC_FOREVER)) >= 0)
            res[0]++;
        (void)hipc_chan_close(&ch);
    } else {
        hipc_bcast c;
        if (hipc_bcast_open_consumer_id(&c, id, NULL) != HIPC_OK)
            _exit(2);
        (void)!write(ready, "r", 1);
        while ((rc = hipc_bcast_recv(&c, buf, size, HIPC_FOREVER)) >= 0 ||
               rc == HIPC_E_OVERRUN)
            res[0] += rc >= 0;
        (void)hipc_bcast_get_lost(&c, NULL, &res[1]);
        (void)hipc_bcast_close(&c);
    }
    _exit(write(out, res, sizeof res) == (ssize_t)sizeof res ? 0 : 3);
}

/* Sends for `ns` nanoseconds; returns the messages sent. */
static uint64_t produce(int kind, hipc_chan *ch, hipc_bcast *b, size_t size,
                        int64_t ns)
{
    static unsigned char msg[4096];
    uint64_t sent = 0;
    int64_t end = now_ns() + ns;
    do {
        for (int i = 0; i < 256; i++) {
            int rc = kind == 0 ? hipc_chan_send(ch, msg, size, HIPC_FOREVER)
                               : hipc_bcast_send(b, msg, size);
            if (rc != HIPC_OK)
                return sent;
            sent++;
        }
    } while (now_ns() < end);
    return sent;
}

static int run_one(int kind, size_t size, int64_t ns, struct run *r)
{
    hipc_chan ch;
    hipc_bcast b;
    hipc_chan_config cc = {.capacity = RING};
    hipc_bcast_config bc = {.capacity = RING};
    int rc = kind == 0 ? hipc_chan_create(&ch, HIPC_SHM_KEY_PRIVATE,
                                          HIPC_CHAN_PRODUCER, &cc)
                       : hipc_bcast_create(&b, HIPC_SHM_KEY_PRIVATE, &bc);
    if (rc != HIPC_OK)
        return rc;
    int id = kind == 0 ? ch.shm.id : b.shm.id;
    int ready[2], out[2];
    if (pipe(ready) != 0 || pipe(out) != 0)
        return HIPC_E_SYS;
    int n = consumers_of[kind];
    pid_t kids[4];
    for (int i = 0; i < n; i++)
        if ((kids[i] = fork()) == 0)
            consumer(kind, id, ready[1], out[1], size);
    char c;
    for (int i = 0; i < n; i++)
        if (read(ready[0], &c, 1) != 1)
            return HIPC_E_CHILD;
    (void)(kind == 0 ? hipc_chan_remove(&ch) : hipc_bcast_remove(&b));
    int64_t t0 = now_ns();
    uint64_t sent = produce(kind, &ch, &b, size, ns);
    double secs = (double)(now_ns() - t0) / 1e9;
    (void)(kind == 0 ? hipc_chan_close(&ch) : hipc_bcast_close(&b));
    double got = 0, lost = 0;
    for (int i = 0; i < n; i++) {
        uint64_t res[2];
        int status = 0;
        if (read(out[0], res, sizeof res) != (ssize_t)sizeof res)
            return HIPC_E_CHILD;
        got += (double)res[0];
        lost += (double)res[1];
        (void)waitpid(kids[i], &status, 0);
    }
    close(ready[0]);
    close(ready[1]);
    close(out[0]);
    close(out[1]);
    r->recv_rate = got / n / secs;
    r->lost_frac = sent != 0 ? lost / n / (double)sent : 0;
    return HIPC_OK;
}

/* One thread: ns per message sent and received, in batches that fill
 * at most half the ring. */
static int one_thread_ns(int ring, size_t size, long total, double *ns)
{
    long batch = (long)(RING / 2 / (size + 32));
    batch = batch < ONE_BATCH ? batch : ONE_BATCH;
    long batches = total / batch;
    static unsigned char msg[4096], buf[4096];
    hipc_chan p, c;
    hipc_bcast b, bc;
    hipc_chan_config cc = {.capacity = RING};
    hipc_bcast_config bcfg = {.capacity = RING};
    int rc = ring ? hipc_bcast_create(&b, HIPC_SHM_KEY_PRIVATE, &bcfg)
                  : hipc_chan_create(&p, HIPC_SHM_KEY_PRIVATE,
                                     HIPC_CHAN_PRODUCER, &cc);
    if (rc != HIPC_OK)
        return rc;
    rc = ring ? hipc_bcast_open_consumer_id(&bc, b.shm.id, NULL)
              : hipc_chan_open_id(&c, p.shm.id, HIPC_CHAN_CONSUMER, NULL);
    (void)(ring ? hipc_bcast_remove(&b) : hipc_chan_remove(&p));
    int64_t t0 = now_ns();
    for (long k = 0; rc == HIPC_OK && k < batches; k++) {
        for (long i = 0; rc == HIPC_OK && i < batch; i++)
            rc = ring ? hipc_bcast_send(&b, msg, size)
                      : hipc_chan_send(&p, msg, size, 0);
        for (long i = 0; rc == HIPC_OK && i < batch; i++) {
            int got = ring ? hipc_bcast_recv(&bc, buf, sizeof buf, 0)
                           : hipc_chan_recv(&c, buf, sizeof buf, 0);
            rc = got == (int)size ? HIPC_OK : got < 0 ? got : HIPC_E_CORRUPT;
        }
    }
    *ns = (double)(now_ns() - t0) / ((double)batches * (double)batch);
    if (ring) {
        (void)hipc_bcast_close(&bc);
        (void)hipc_bcast_close(&b);
    } else {
        (void)hipc_chan_close(&c);
        (void)hipc_chan_close(&p);
    }
    return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[ROUNDS_MAX];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_dbl);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
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
    int rounds = quick ? 1 : ROUNDS_MAX;
    int64_t ns = quick ? 20000000 : 200000000;
    long one_total = quick ? 8192 : 1 << 19;
    static const size_t sizes[] = {64, 4096};
    static struct run res[2][KINDS][ROUNDS_MAX];
    double ratio[2][ROUNDS_MAX], one[2][2][ROUNDS_MAX],
        one_ratio[2][ROUNDS_MAX];
    pinned = hipc_bench_split_cpus(&producer_cpus, &consumer_cpus);
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < rounds; r++) {
            for (int ring = 0; ring < 2; ring++) {
                int rc =
                    one_thread_ns(ring, sizes[s], one_total, &one[s][ring][r]);
                if (rc != HIPC_OK) {
                    fprintf(stderr, "one thread %s %zu B: %s\n",
                            ring ? "bcast" : "chan", sizes[s],
                            hipc_strerror(rc));
                    return 1;
                }
            }
            one_ratio[s][r] = one[s][1][r] / one[s][0][r];
            for (int k = 0; k < KINDS; k++) {
                int rc = run_one(k, sizes[s], ns, &res[s][k][r]);
                if (rc != HIPC_OK) {
                    fprintf(stderr, "%s %zu B: %s\n", kind_names[k], sizes[s],
                            hipc_strerror(rc));
                    return 1;
                }
            }
            ratio[s][r] = res[s][1][r].recv_rate / res[s][0][r].recv_rate;
        }
    if (json)
        printf("{\"rounds\": %d, \"results\": [", rounds);
    for (int s = 0; s < 2; s++) {
        double med[KINDS], lost[KINDS];
        for (int k = 0; k < KINDS; k++) {
            double v[ROUNDS_MAX], l[ROUNDS_MAX];
            for (int r = 0; r < rounds; r++) {
                v[r] = res[s][k][r].recv_rate;
                l[r] = res[s][k][r].lost_frac;
            }
            med[k] = median(v, rounds);
            lost[k] = median(l, rounds);
        }
        double rt = median(ratio[s], rounds);
        double o_chan = median(one[s][0], rounds),
               o_ring = median(one[s][1], rounds),
               o_ratio = median(one_ratio[s], rounds);
        if (json) {
            printf("%s{\"size\": %zu, \"pinned\": %s, "
                   "\"one_thread_chan_ns\": %.2f, "
                   "\"one_thread_bcast_ns\": %.2f, "
                   "\"one_thread_bcast_over_chan\": %.3f",
                   s ? ", " : "", sizes[s], pinned ? "true" : "false", o_chan,
                   o_ring, o_ratio);
            for (int k = 0; k < KINDS; k++)
                printf(", \"%s_msgs_per_s\": %.0f, \"%s_lost\": %.4f",
                       kind_names[k], med[k], kind_names[k], lost[k]);
            printf(", \"bcast1_over_chan\": %.3f}", rt);
        } else {
            printf("%zu B messages, medians of %d round(s); producer %s\n",
                   sizes[s], rounds,
                   pinned ? "pinned to one CPU, consumers to the others"
                          : "NOT pinned (one CPU)");
            printf("  one thread, ns per message sent and received: chan "
                   "%.1f, bcast %.1f, bcast / chan %.2fx\n",
                   o_chan, o_ring, o_ratio);
            printf("  two processes, per consumer:\n");
            for (int k = 0; k < KINDS; k++)
                printf("  %-7s %6.2f M msgs/s received, %5.1f %% lost\n",
                       kind_names[k], med[k] / 1e6, lost[k] * 100);
            printf("  bcast1 / chan (median of per-round ratios): %.2fx%s\n",
                   rt, sizes[s] == 64 ? " (target >= 0.80x)" : "");
        }
    }
    if (json)
        printf("]}\n");
    return 0;
}
