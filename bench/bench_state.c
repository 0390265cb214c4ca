/* SPDX-License-Identifier: MIT */
/* hipc bench — state blocks against a plain memcpy, a minimal seqlock and
 * a pthread rwlock (PTHREAD_PROCESS_SHARED) in shared memory, same run.
 *
 * Reader: the cost of one 64-byte copy by each of
 *   memcpy   a plain memcpy from a shared segment (no consistency at all)
 *   seqlock  the floor of any seqlock, written inline here: load the
 *            sequence, copy the value in relaxed atomic words, acquire
 *            fence, load the sequence again (no handle, no checks)
 *   seqcall  the same seqlock behind an out-of-line call with the
 *            arguments of hipc_state_read: the floor of any seqlock a
 *            library offers (the call, and a copy into the caller's
 *            buffer that the compiler cannot keep in registers)
 *   state    hipc_state_read (handle check, current-copy word, sequence,
 *            generation, every word read once and checked)
 *   rwlock   rdlock + memcpy + unlock
 * with 1 reader (this process alone) and with 8 (7 more reader processes,
 * on the other CPUs, reading the block - or taking the lock, for the
 * rwlock - in a loop). The target of issue 15 is state within 2x memcpy;
 * the seqlock row is the floor any seqlock reader can reach here, so the
 * bench also prints state / seqlock and state / seqcall (each state
 * chunk against the seqlock chunks of the same turn): what hipc adds to
 * those floors.
 *
 * Writer: hipc_state_publish calls per second with 0, 1 and 8 reader
 * processes attached read-only. The writer is pinned to one CPU and the
 * readers to the others, so that a reader cannot take the writer's CPU:
 * on 2 cores, 8 spinning readers sharing the writer's core would measure
 * the scheduler, not the block. What is left is what readers cost the
 * writer through the memory they read (cache lines it must take back).
 * Two kinds of reader, both reported:
 *   paced  reads once every PACE_US (10,000 reads/s each), sleeping
 *          between reads: a reader that follows a state block. The fair
 *          measure of "readers do not slow the writer".
 *   busy   reads in a loop, as fast as it can: the worst case, where
 *          every publish must take its lines back from the readers'
 *          core. Any shared-memory design pays that; seqlock_busy_1 shows
 *          what the minimal seqlock's writer pays with one busy reader.
 * The writer never waits for a reader in software: publish takes no lock
 * and makes no syscall unless a reader announced sleep.
 * Each writer figure is measured between two writer-alone runs
 * (A X A X ... A, WCHUNKS short pairs a round) and divided by their
 * mean; a round's figure is the median of its pairs', and the figure
 * printed the median over the rounds, with the lowest and highest
 * (GUIDE.md: core placement changes between rounds here).
 * The copy figures: each round times the kinds in turn in CHUNKS short
 * pieces, each against the memcpy piece just before it; a round's ratio
 * is the median of its pieces', and the figure printed the median over
 * the rounds, with the lowest and highest.
 *
 * Usage: hipc_bench_state [--quick] [--json] */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpus.h"
#include "hipc/error.h"
#include "hipc/shm.h"
#include "hipc/state.h"

#define VALUE 64u
#define WORDS (VALUE / 8u)
#define ROUNDS_MAX 9
#define HELPERS 8   /* reader processes */
#define PACE_US 100 /* a paced reader's sleep between reads */
#define CHUNKS 21   /* timed pieces of a round's copies */
#define WCHUNKS 7   /* writer-alone / with-readers pairs per variant */
#define ALONE_MAX (ROUNDS_MAX * WVARS * WCHUNKS)

enum { K_MEMCPY, K_SEQLOCK, K_SEQCALL, K_STATE, K_RWLOCK, KINDS };
static const char *const kind_names[KINDS] = {"memcpy", "seqlock", "seqcall",
                                              "state", "rwlock"};

/* Helper modes. */
enum {
    M_IDLE,
    M_BUSY_STATE,
    M_BUSY_RWLOCK,
    M_PACED_STATE,
    M_BUSY_SEQLOCK,
    M_QUIT
};

/* Writer variants. */
enum { W_PACED1, W_PACED8, W_BUSY1, W_BUSY8, W_SEQLOCK_BUSY1, WVARS };
static const int wvar_mode[WVARS] = {M_PACED_STATE, M_PACED_STATE, M_BUSY_STATE,
                                     M_BUSY_STATE, M_BUSY_SEQLOCK};
static const int wvar_readers[WVARS] = {1, HELPERS, 1, HELPERS, 1};
static const char *const wvar_names[WVARS] = {"paced_1", "paced_8", "busy_1",
                                              "busy_8", "seqlock_busy_1"};

struct seqlock {
    _Atomic uint32_t seq;
    _Alignas(8) _Atomic uint64_t words[WORDS];
};

struct shared_area {
    pthread_rwlock_t lock;
    _Alignas(64) unsigned char data[VALUE];
    _Alignas(64) struct seqlock sl;
};

/* Shared with the helper processes (an anonymous shared mapping). */
struct control {
    _Atomic int mode;
    _Atomic int active; /* helpers with id < active work */
    _Atomic uint64_t sink;
};

static struct control *ctl;
static int state_id;
static struct shared_area *area;
static cpu_set_t writer_cpus, reader_cpus;
static int pinned;

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
    pthread_rwlock_rdlock(&area->lock);
    memcpy(out, area->data, VALUE);
    pthread_rwlock_unlock(&area->lock);
}

/* The minimal seqlock: nothing is ever written to it during a run, yet
 * the reader cannot know that, so it does all a seqlock reader does. */
static inline void seqlock_read(unsigned char *out)
{
    struct seqlock *s = &area->sl;
    for (;;) {
        uint32_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
        for (unsigned i = 0; i < WORDS; i++) {
            uint64_t w =
                atomic_load_explicit(&s->words[i], memory_order_relaxed);
            memcpy(out + 8 * i, &w, 8);
        }
        atomic_thread_fence(memory_order_acquire);
        if ((q & 1u) == 0 &&
            atomic_load_explicit(&s->seq, memory_order_relaxed) == q)
            return;
    }
}

/* Out of line, and never cloned with the bench's constant arguments: a
 * library's function is not. */
int seqlock_call(void *block, void *buf, size_t cap, void *info);
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline, noclone))
#else
__attribute__((noinline))
#endif
int seqlock_call(void *block, void *buf, size_t cap, void *info)
{
    (void)block;
    (void)info;
    if (cap < VALUE)
        return -1;
    seqlock_read(buf);
    return VALUE;
}

static void helper(int me)
{
    if (pinned)
        (void)sched_setaffinity(0, sizeof reader_cpus, &reader_cpus);
    hipc_state_reader r;
    if (hipc_state_open_reader_id(&r, state_id, NULL) != HIPC_OK)
        _exit(2);
    unsigned char buf[VALUE];
    uint64_t sum = 0;
    for (;;) {
        int mode = atomic_load_explicit(&ctl->mode, memory_order_relaxed);
        if (mode == M_QUIT)
            break;
        if (me >= atomic_load_explicit(&ctl->active, memory_order_relaxed) ||
            mode == M_IDLE) {
            pause_us(200);
            continue;
        }
        /* The mode is looked at every read: a paced reader would
         * otherwise go on for 256 of its sleeps after a change. */
        for (int i = 0;
             i < 256 &&
             atomic_load_explicit(&ctl->mode, memory_order_relaxed) == mode;
             i++) {
            if (mode == M_BUSY_RWLOCK)
                rw_read(buf);
            else if (mode == M_BUSY_SEQLOCK)
                seqlock_read(buf);
            else if (hipc_state_read(&r, buf, sizeof buf, NULL) < 0)
                _exit(3);
            sum += buf[(unsigned)i % VALUE];
            if (mode == M_PACED_STATE)
                pause_us(PACE_US);
        }
    }
    atomic_fetch_add(&ctl->sink, sum);
    (void)hipc_state_close_reader(&r);
    _exit(0);
}

/* Nanoseconds per copy, over n copies of one kind. */
static double reads_ns(int kind, hipc_state_reader *r, long n)
{
    unsigned char buf[VALUE];
    uint64_t sum = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (kind == K_MEMCPY) {
            memcpy(buf, area->data, VALUE);
            /* The copy must happen each time: the data may change. */
            __asm__ __volatile__("" : : "r"(buf) : "memory");
        } else if (kind == K_SEQLOCK)
            seqlock_read(buf);
        else if (kind == K_SEQCALL)
            (void)seqlock_call(area, buf, sizeof buf, NULL);
        else if (kind == K_STATE)
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

/* The minimal seqlock's writer: sequence odd, the words, sequence even. */
static double seqlock_writes_per_s(long n)
{
    struct seqlock *s = &area->sl;
    uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++, q += 2) {
        atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        for (unsigned k = 0; k < WORDS; k++)
            atomic_store_explicit(&s->words[k], (uint64_t)i,
                                  memory_order_relaxed);
        atomic_store_explicit(&s->seq, q + 2, memory_order_release);
    }
    return (double)n * 1e9 / (double)(now_ns() - t0);
}

static double writes_per_s(int v, hipc_state_writer *w, long n)
{
    return v == W_SEQLOCK_BUSY1 ? seqlock_writes_per_s(n)
                                : publishes_per_s(w, n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median, lowest and highest of v[0..n) (v is sorted). */
struct spread {
    double med, lo, hi;
};

static struct spread spread_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    struct spread s = {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[0],
                       v[n - 1]};
    return s;
}

/* Sets the helpers' work and gives them a moment to start it. */
static void helpers_do(int mode, int active)
{
    atomic_store(&ctl->mode, mode);
    atomic_store(&ctl->active, active);
    pause_us(2000);
}

struct figures {
    struct spread copy_ns[2][KINDS]; /* [1 or 8 readers][kind] */
    struct spread ratio[2][KINDS];   /* kind / memcpy, same round */
    struct spread over_floor[2][2];  /* state / seqlock, / seqcall */
    struct spread alone;             /* publishes/s, writer alone */
    struct spread wrate[WVARS];      /* publishes/s with readers */
    struct spread wratio[WVARS];     /* / mean of the alone runs around it */
};

struct samples {
    double copy[2][KINDS][ROUNDS_MAX], ratio[2][KINDS][ROUNDS_MAX];
    double over_floor[2][2][ROUNDS_MAX];
    double alone[ALONE_MAX];
    double wrate[WVARS][ROUNDS_MAX], wratio[WVARS][ROUNDS_MAX];
};

/* Copies are timed in short chunks, kinds taken in turn (A B C A B C...),
 * each chunk against the memcpy chunk just before it: a chunk the
 * scheduler cut into is one outlier among CHUNKS, not a round's figure.
 * The rwlock's other readers take the lock, the others' read the block. */
static void copy_chunks(double *t, long n, hipc_state_reader *r,
                        const int *kinds, int nk)
{
    double ratio[KINDS][CHUNKS], ns[KINDS][CHUNKS], floor[2][CHUNKS];
    for (int i = 0; i < CHUNKS; i++) {
        for (int j = 0; j < nk; j++) {
            ns[j][i] = reads_ns(kinds[j], r, n / CHUNKS);
            ratio[j][i] = ns[j][i] / ns[0][i];
        }
        /* State against the two seqlock chunks of the same turn. */
        floor[0][i] = nk == 4 ? ns[3][i] / ns[1][i] : 0;
        floor[1][i] = nk == 4 ? ns[3][i] / ns[2][i] : 0;
    }
    for (int j = 0; j < nk; j++) {
        t[kinds[j]] = spread_of(ns[j], CHUNKS).med;
        /* Stored as a ratio: spread_of sorts, so kept apart from ns. */
        t[KINDS + kinds[j]] = spread_of(ratio[j], CHUNKS).med;
    }
    t[2 * KINDS] = spread_of(floor[0], CHUNKS).med;
    t[2 * KINDS + 1] = spread_of(floor[1], CHUNKS).med;
}

static void copy_round(struct samples *sm, int k, long reads,
                       hipc_state_reader *r)
{
    static const int plain[] = {K_MEMCPY, K_SEQLOCK, K_SEQCALL, K_STATE};
    static const int locked[] = {K_MEMCPY, K_RWLOCK};
    for (int c = 0; c < 2; c++) {
        int others = c == 0 ? 0 : HELPERS - 1;
        double t[2 * KINDS + 2];
        helpers_do(M_BUSY_RWLOCK, others);
        copy_chunks(t, reads, r, locked, 2);
        double rw_ns = t[K_RWLOCK], rw_ratio = t[KINDS + K_RWLOCK];
        helpers_do(M_BUSY_STATE, others);
        copy_chunks(t, reads, r, plain, 4);
        t[K_RWLOCK] = rw_ns;
        t[KINDS + K_RWLOCK] = rw_ratio;
        for (int j = 0; j < KINDS; j++) {
            sm->copy[c][j][k] = t[j];
            sm->ratio[c][j][k] = t[KINDS + j];
        }
        sm->over_floor[c][0][k] = t[2 * KINDS];
        sm->over_floor[c][1][k] = t[2 * KINDS + 1];
    }
}

/* For each variant X: A X A X ... A in WCHUNKS short pairs, each X
 * against the mean of the alone runs around it (the seqlock's against
 * the seqlock writer's); a round's figure is the median of its pairs'. */
static void writer_round(struct samples *sm, int k, long pubs,
                         hipc_state_writer *w, int *n_alone)
{
    long n = pubs / WCHUNKS;
    for (int v = 0; v < WVARS; v++) {
        double x[WCHUNKS], ratio[WCHUNKS];
        helpers_do(M_IDLE, 0);
        double before = writes_per_s(v, w, n);
        for (int i = 0; i < WCHUNKS; i++) {
            helpers_do(wvar_mode[v], wvar_readers[v]);
            x[i] = writes_per_s(v, w, n);
            helpers_do(M_IDLE, 0);
            double after = writes_per_s(v, w, n);
            ratio[i] = x[i] / ((before + after) / 2);
            if (v != W_SEQLOCK_BUSY1 && *n_alone < ALONE_MAX)
                sm->alone[(*n_alone)++] = after;
            before = after;
        }
        sm->wrate[v][k] = spread_of(x, WCHUNKS).med;
        sm->wratio[v][k] = spread_of(ratio, WCHUNKS).med;
    }
}

static void measure(struct figures *f, int rounds, long reads, long pubs,
                    hipc_state_writer *w, hipc_state_reader *r)
{
    static struct samples sm;
    int n_alone = 0;
    for (int k = 0; k < rounds; k++) {
        copy_round(&sm, k, reads, r);
        writer_round(&sm, k, pubs, w, &n_alone);
    }
    helpers_do(M_IDLE, 0);
    for (int c = 0; c < 2; c++) {
        for (int j = 0; j < KINDS; j++) {
            f->copy_ns[c][j] = spread_of(sm.copy[c][j], rounds);
            f->ratio[c][j] = spread_of(sm.ratio[c][j], rounds);
        }
        for (int j = 0; j < 2; j++)
            f->over_floor[c][j] = spread_of(sm.over_floor[c][j], rounds);
    }
    f->alone = spread_of(sm.alone, n_alone);
    for (int v = 0; v < WVARS; v++) {
        f->wrate[v] = spread_of(sm.wrate[v], rounds);
        f->wratio[v] = spread_of(sm.wratio[v], rounds);
    }
}

static void report_json(const struct figures *f, int rounds)
{
    printf("{\"rounds\": %d, \"value_bytes\": %u, \"pinned\": %s,\n", rounds,
           VALUE, pinned ? "true" : "false");
    for (int c = 0; c < 2; c++) {
        printf(" \"readers_%d\": {", c ? 8 : 1);
        for (int j = 0; j < KINDS; j++)
            printf("%s\"%s_ns\": %.2f, \"%s_over_memcpy\": %.3f, "
                   "\"%s_over_memcpy_lo\": %.3f, \"%s_over_memcpy_hi\": %.3f",
                   j ? ", " : "", kind_names[j], f->copy_ns[c][j].med,
                   kind_names[j], f->ratio[c][j].med, kind_names[j],
                   f->ratio[c][j].lo, kind_names[j], f->ratio[c][j].hi);
        for (int j = 0; j < 2; j++)
            printf(", \"state_over_%s\": %.3f, \"state_over_%s_lo\": %.3f, "
                   "\"state_over_%s_hi\": %.3f",
                   kind_names[K_SEQLOCK + j], f->over_floor[c][j].med,
                   kind_names[K_SEQLOCK + j], f->over_floor[c][j].lo,
                   kind_names[K_SEQLOCK + j], f->over_floor[c][j].hi);
        printf("},\n");
    }
    printf(" \"writer_per_s\": {\"alone\": %.0f", f->alone.med);
    for (int v = 0; v < WVARS; v++)
        printf(", \"%s\": %.0f, \"%s_ratio\": %.3f, \"%s_ratio_lo\": %.3f, "
               "\"%s_ratio_hi\": %.3f",
               wvar_names[v], f->wrate[v].med, wvar_names[v], f->wratio[v].med,
               wvar_names[v], f->wratio[v].lo, wvar_names[v], f->wratio[v].hi);
    printf("}}\n");
}

static void report(const struct figures *f, int rounds, int json)
{
    if (json) {
        report_json(f, rounds);
        return;
    }
    printf("state block, %u-byte value, %d interleaved round(s): medians "
           "[lowest, highest] of per-round ratios\n",
           VALUE, rounds);
    for (int c = 0; c < 2; c++) {
        printf("  %d reader%s, ns per copy and / memcpy:\n", c ? 8 : 1,
               c ? "s" : "");
        for (int j = 0; j < KINDS; j++)
            printf("    %-8s %7.2f ns  %6.2fx [%.2f, %.2f]\n", kind_names[j],
                   f->copy_ns[c][j].med, f->ratio[c][j].med, f->ratio[c][j].lo,
                   f->ratio[c][j].hi);
        printf("    state / seqlock %.2fx [%.2f, %.2f], state / seqcall %.2fx "
               "[%.2f, %.2f] (issue 15: state <= 2x memcpy)\n",
               f->over_floor[c][0].med, f->over_floor[c][0].lo,
               f->over_floor[c][0].hi, f->over_floor[c][1].med,
               f->over_floor[c][1].lo, f->over_floor[c][1].hi);
    }
    printf("  writer %s: %.2f M publishes/s alone; with readers, / the "
           "alone runs around it:\n",
           pinned ? "pinned to one CPU, readers to the others"
                  : "NOT pinned (one CPU)",
           f->alone.med / 1e6);
    for (int v = 0; v < WVARS; v++)
        printf("    %-14s %6.2f M/s  %6.3fx [%.3f, %.3f]\n", wvar_names[v],
               f->wrate[v].med / 1e6, f->wratio[v].med, f->wratio[v].lo,
               f->wratio[v].hi);
    printf("  (paced: each reader reads every %d us; busy: in a loop; "
           "seqlock_busy_1: the minimal seqlock's writer and one busy "
           "reader of it, against that writer alone)\n",
           PACE_US);
}

static int setup_area(hipc_shm *seg)
{
    hipc_shm_config cfg = {.size = sizeof(struct shared_area)};
    if (hipc_shm_create(seg, HIPC_SHM_KEY_PRIVATE, &cfg) != HIPC_OK)
        return -1;
    area = seg->data;
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    int rc = pthread_rwlock_init(&area->lock, &a);
    pthread_rwlockattr_destroy(&a);
    memset(area->data, 7, VALUE);
    for (unsigned i = 0; i < WORDS; i++)
        atomic_store(&area->sl.words[i], 0x0707070707070707u);
    return rc == 0 ? 0 : -1;
}

static int run(int rounds, long reads, long pubs, int json,
               hipc_state_writer *w, hipc_state_reader *r)
{
    fflush(NULL);
    pid_t pids[HELPERS];
    int started = 0, status = 1;
    for (; started < HELPERS; started++) {
        pids[started] = fork();
        if (pids[started] == 0)
            helper(started);
        if (pids[started] < 0)
            break;
    }
    if (started == HELPERS) {
        static struct figures f;
        measure(&f, rounds, reads, pubs, w, r);
        report(&f, rounds, json);
        status = 0;
    }
    atomic_store(&ctl->mode, M_QUIT);
    for (int i = 0; i < started; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            status = 1;
    }
    return status;
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
    long reads = quick ? 21000 : 2100000, pubs = quick ? 7000 : 1400000;
    ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED)
        return 1;
    pinned = hipc_bench_split_cpus(&writer_cpus, &reader_cpus);
    hipc_state_writer w;
    hipc_state_reader r;
    hipc_shm seg;
    if (hipc_state_create(&w, HIPC_SHM_KEY_PRIVATE, VALUE, NULL) != HIPC_OK)
        return 1;
    state_id = w.shm_.id;
    int status = 1;
    if (setup_area(&seg) == 0 &&
        hipc_state_open_reader_id(&r, state_id, NULL) == HIPC_OK) {
        status = run(rounds, reads, pubs, json, &w, &r);
        (void)hipc_state_close_reader(&r);
    }
    (void)hipc_shm_remove(&seg);
    (void)hipc_shm_close(&seg);
    (void)hipc_state_remove(&w);
    (void)hipc_state_close_writer(&w);
    return status;
}
