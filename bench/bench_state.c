/* SPDX-License-Identifier: MIT */
/* hipc bench — state blocks against a plain memcpy and a pthread rwlock
 * (PTHREAD_PROCESS_SHARED) in shared memory, same run.
 *
 * Reader: the cost of one consistent 64-byte copy (hipc_state_read), of a
 * plain 64-byte memcpy from a shared segment, and of rdlock + memcpy +
 * unlock, with 1 reader (alone) and with 8 (7 more processes reading the
 * same way all the time). Writer: publishes per second alone, with 1 and
 * with 8 reader processes that each read once every PACE_US (a busy
 * reader on a 2-core machine takes the writer's core, which measures the
 * scheduler, not the block). Rounds interleave every variant (A B A B...)
 * and the figures are medians of per-round ratios (GUIDE.md: core
 * placement changes between rounds on these machines).
 *
 * Usage: hipc_bench_state [--quick] [--json] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "hipc/state.h"

#define VALUE 64u
#define ROUNDS_MAX 9
#define HELPERS 7   /* other readers besides the measuring one */
#define PACE_US 100 /* a paced reader's sleep between reads */

struct rw_area {
    pthread_rwlock_t lock;
    _Alignas(64) unsigned char data[VALUE];
};

/* Shared with the helper processes (an anonymous shared mapping). */
struct control {
    _Atomic int mode;   /* 0 idle, 1 busy state, 2 busy rwlock, 3 paced state,
                         4 quit */
    _Atomic int active; /* helpers with id < active work */
    _Atomic uint64_t sink;
};

static struct control *ctl;
static int state_id;
static struct rw_area *rw;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void rw_read(unsigned char *out)
{
    pthread_rwlock_rdlock(&rw->lock);
    memcpy(out, rw->data, VALUE);
    pthread_rwlock_unlock(&rw->lock);
}

static void helper(int me)
{
    hipc_state_reader r;
    if (hipc_state_open_reader_id(&r, state_id, NULL) != HIPC_OK)
        _exit(2);
    unsigned char buf[VALUE];
    uint64_t sum = 0;
    for (;;) {
        int mode = atomic_load_explicit(&ctl->mode, memory_order_relaxed);
        if (mode == 4)
            break;
        if (me >= atomic_load_explicit(&ctl->active, memory_order_relaxed) ||
            mode == 0) {
            pause_us(200);
            continue;
        }
        for (int i = 0; i < 256; i++) {
            if (mode == 2)
                rw_read(buf);
            else if (hipc_state_read(&r, buf, sizeof buf, NULL) < 0)
                _exit(3);
            sum += buf[(unsigned)i % VALUE];
            if (mode == 3)
                pause_us(PACE_US);
        }
    }
    atomic_fetch_add(&ctl->sink, sum);
    (void)hipc_state_close_reader(&r);
    _exit(0);
}

/* Nanoseconds per read, over n reads of one kind. */
static double reads_ns(int kind, hipc_state_reader *r, const void *shm_data,
                       long n)
{
    unsigned char buf[VALUE];
    uint64_t sum = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (kind == 0) {
            memcpy(buf, shm_data, VALUE);
            /* The copy must happen each time: the data may change. */
            __asm__ __volatile__("" : : "r"(buf) : "memory");
        } else if (kind == 1)
            (void)hipc_state_read(r, buf, sizeof buf, NULL);
        else
            rw_read(buf);
        sum += buf[(unsigned long)i % VALUE];
    }
    int64_t t = now_ns() - t0;
    atomic_fetch_add(&ctl->sink, sum);
    return (double)t / (double)n;
}

static double publishes_per_s(hipc_state_writer *w, long n)
{
    unsigned char v[VALUE];
    memset(v, 1, sizeof v);
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        v[0] = (unsigned char)i;
        (void)hipc_state_publish(w, v, sizeof v);
    }
    return (double)n * 1e9 / (double)(now_ns() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sets the helpers' work and gives them a moment to start it. */
static void helpers_do(int mode, int active)
{
    atomic_store(&ctl->mode, mode);
    atomic_store(&ctl->active, active);
    pause_us(2000);
}

struct figures {
    double copy_ns[2][3];   /* [1 or 8 readers][memcpy, state, rwlock] */
    double ratio_state[2];  /* state / memcpy */
    double ratio_rwlock[2]; /* rwlock / memcpy */
    double writer_rate[3];  /* alone, 1, 8 paced readers: publishes/s */
    double writer_ratio[2]; /* with 1, 8 / alone */
};

static void measure(struct figures *f, int rounds, long reads, long pubs,
                    hipc_state_writer *w, hipc_state_reader *r,
                    const void *plain)
{
    double rs[2][ROUNDS_MAX], rr[2][ROUNDS_MAX], wr[2][ROUNDS_MAX];
    double abs_copy[2][3][ROUNDS_MAX], abs_w[3][ROUNDS_MAX];
    for (int k = 0; k < rounds; k++) {
        for (int c = 0; c < 2; c++) {
            int others = c == 0 ? 0 : HELPERS;
            double t[3];
            helpers_do(1, others);
            t[0] = reads_ns(0, r, plain, reads);
            t[1] = reads_ns(1, r, plain, reads);
            helpers_do(2, others);
            t[2] = reads_ns(2, r, plain, reads);
            for (int j = 0; j < 3; j++)
                abs_copy[c][j][k] = t[j];
            rs[c][k] = t[1] / t[0];
            rr[c][k] = t[2] / t[0];
        }
        double a[3];
        int with[3] = {0, 1, HELPERS + 1};
        for (int j = 0; j < 3; j++) {
            /* Paced readers; the helpers stand for all but one of 8. */
            helpers_do(with[j] == 0 ? 0 : 3,
                       with[j] > HELPERS ? HELPERS : with[j]);
            a[j] = publishes_per_s(w, pubs);
            abs_w[j][k] = a[j];
        }
        wr[0][k] = a[1] / a[0];
        wr[1][k] = a[2] / a[0];
    }
    helpers_do(0, 0);
    for (int c = 0; c < 2; c++) {
        f->ratio_state[c] = median(rs[c], rounds);
        f->ratio_rwlock[c] = median(rr[c], rounds);
        f->writer_ratio[c] = median(wr[c], rounds);
        for (int j = 0; j < 3; j++)
            f->copy_ns[c][j] = median(abs_copy[c][j], rounds);
    }
    for (int j = 0; j < 3; j++)
        f->writer_rate[j] = median(abs_w[j], rounds);
}

static void report(const struct figures *f, int rounds, int json)
{
    if (json) {
        printf("{\"rounds\": %d, \"value_bytes\": %u,\n", rounds, VALUE);
        for (int c = 0; c < 2; c++)
            printf(" \"readers_%d\": {\"memcpy_ns\": %.2f, \"state_ns\": "
                   "%.2f, \"rwlock_ns\": %.2f, \"state_over_memcpy\": %.3f, "
                   "\"rwlock_over_memcpy\": %.3f},\n",
                   c ? 8 : 1, f->copy_ns[c][0], f->copy_ns[c][1],
                   f->copy_ns[c][2], f->ratio_state[c], f->ratio_rwlock[c]);
        printf(" \"writer_per_s\": {\"alone\": %.0f, \"readers_1\": %.0f, "
               "\"readers_8\": %.0f, \"ratio_1\": %.3f, \"ratio_8\": %.3f}}\n",
               f->writer_rate[0], f->writer_rate[1], f->writer_rate[2],
               f->writer_ratio[0], f->writer_ratio[1]);
        return;
    }
    printf("state block, %u-byte value, %d interleaved rounds (medians)\n",
           VALUE, rounds);
    for (int c = 0; c < 2; c++)
        printf("  %d reader%s: memcpy %.2f ns, state read %.2f ns (%.2fx), "
               "rwlock %.2f ns (%.2fx)\n",
               c ? 8 : 1, c ? "s" : "", f->copy_ns[c][0], f->copy_ns[c][1],
               f->ratio_state[c], f->copy_ns[c][2], f->ratio_rwlock[c]);
    printf("  writer: %.2f M/s alone, %.2f M/s with 1 paced reader (%.3fx), "
           "%.2f M/s with 8 (%.3fx)\n",
           f->writer_rate[0] / 1e6, f->writer_rate[1] / 1e6, f->writer_ratio[0],
           f->writer_rate[2] / 1e6, f->writer_ratio[1]);
}

static int setup_rwlock(hipc_shm *seg)
{
    hipc_shm_config cfg = {.size = sizeof(struct rw_area)};
    if (hipc_shm_create(seg, HIPC_SHM_KEY_PRIVATE, &cfg) != HIPC_OK)
        return -1;
    rw = seg->data;
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    int rc = pthread_rwlock_init(&rw->lock, &a);
    pthread_rwlockattr_destroy(&a);
    memset(rw->data, 7, VALUE);
    return rc == 0 ? 0 : -1;
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
    long reads = quick ? 20000 : 2000000, pubs = quick ? 20000 : 2000000;
    ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED)
        return 1;
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_shm seg;
    if (hipc_state_create(&w, HIPC_SHM_KEY_PRIVATE, VALUE, NULL) != HIPC_OK)
        return 1;
    state_id = w.shm_.id;
    int status = 1;
    if (setup_rwlock(&seg) != 0 ||
        hipc_state_open_reader_id(&r, state_id, NULL) != HIPC_OK)
        goto out;
    fflush(NULL);
    pid_t pids[HELPERS];
    int started = 0;
    for (; started < HELPERS; started++) {
        pids[started] = fork();
        if (pids[started] == 0)
            helper(started);
        if (pids[started] < 0)
            break;
    }
    if (started == HELPERS) {
        struct figures f;
        memset(&f, 0, sizeof f);
        /* The segment for the plain memcpy: the rwlock's data. */
        measure(&f, rounds, reads, pubs, &w, &r, rw->data);
        report(&f, rounds, json);
        status = 0;
    }
    atomic_store(&ctl->mode, 4);
    for (int i = 0; i < started; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            status = 1;
    }
    (void)hipc_state_close_reader(&r);
out:
    (void)hipc_shm_remove(&seg);
    (void)hipc_shm_close(&seg);
    (void)hipc_state_remove(&w);
    (void)hipc_state_close_writer(&w);
    return status;
}
