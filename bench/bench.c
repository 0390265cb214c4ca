/* SPDX-License-Identifier: MIT */
/* hipc bench — the channel against a raw pipe, memcpy and a bare cache line,
 * measured in one run.
 *
 * The two vCPUs of the machines this was written on change placement every
 * few seconds, which moves cross-core figures by 2-7x. So every comparison
 * is made in short interleaved rounds (A B C D, then D C B A, ...) and the
 * answer is the median of the per-round ratios; a bare cache-line
 * ping-pong before and after each round shows which placement it had.
 *
 * Each measurement is between two processes (fork), pinned to two CPUs
 * when there are two: the parent receives and keeps the clock, the child
 * sends. Benchmark code, not library code: it uses libc directly. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/hipc.h"

#define MAX_ROUNDS 64
#define MAX_SAMPLES 200000
#define LAT_BYTES 8
#define PROBE_TRIPS 2000
#define WAIT_NS ((int64_t)5 * 1000 * 1000 * 1000)

enum { PART_TPUT = 1, PART_LAT = 2, PART_PIO = 4, PART_ALL = 7 };

/* What the command line chose: every setting of a run, in one place. */
struct settings {
    int rounds;
    int64_t round_ns;
    int json;
    int pin;
    int64_t spin_ns; /* throughput ends' spin; 0: the library default */
    unsigned parts;  /* PART_* bits: which measurements to make */
    size_t ring;     /* throughput ring bytes; 0: ring_for's choice */
};

/* State shared with the child: a stop flag and the ping-pong line, each
 * on its own 128-byte line. */
struct shared {
    _Atomic uint32_t stop;
    unsigned char pad0[124];
    _Atomic uint64_t line;
    unsigned char pad1[120];
};

struct bare;

/* One run: the settings and what every measurement uses, handed down (a
 * forked child gets its copy with the fork; what it shares with the
 * parent is mapped shared). */
struct bench {
    struct settings set;
    int cpu_parent, cpu_child; /* -1: not pinned */
    struct shared *sh;
    struct bare *bare; /* the bare ring, RING_MAX bytes */
    size_t bare_cap;   /* its capacity in this measurement */
    uint64_t *samples; /* MAX_SAMPLES round-trip times */
    size_t nsamples;
    volatile uint64_t sink; /* where checksums escape the optimiser */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Keeps the compiler from dropping copies nobody reads. */
static void clobber(void)
{
    __asm__ __volatile__("" ::: "memory");
}

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static void pick_cpus(struct bench *b)
{
    cpu_set_t set;
    b->cpu_parent = b->cpu_child = -1;
    if (!b->set.pin || sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET((size_t)c, &set))
            continue;
        if (b->cpu_parent < 0)
            b->cpu_parent = c;
        else if (b->cpu_child < 0)
            b->cpu_child = c;
    }
    if (b->cpu_child < 0)
        b->cpu_parent = -1; /* one CPU: nothing to pin apart */
    pin(b->cpu_parent);
}

/* ---- children ----------------------------------------------------------- */

typedef int (*child_fn)(void *arg, int ready_fd);

static void say_ready(int fd)
{
    char b = 1;
    if (write(fd, &b, 1) != 1)
        _exit(90);
    close(fd);
}

/* Forks a pinned child running fn and waits until it says it is ready. */
static pid_t spawn(struct bench *b, child_fn fn, void *arg)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    atomic_store(&b->sh->stop, 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pin(b->cpu_child);
        _exit(fn(arg, fds[1]));
    }
    close(fds[1]);
    char ready = 0;
    ssize_t n = pid > 0 ? read(fds[0], &ready, 1) : -1;
    close(fds[0]);
    if (pid > 0 && n != 1) {
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static int reap(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int write_all(int fd, const void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const char *)buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* 1 when len bytes were read, 0 at end of file, -1 on error. */
static int read_exact(int fd, void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = read(fd, (char *)buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 && off == 0 ? 0 : -1;
        off += (size_t)n;
    }
    return 1;
}

static int make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    /* 1 MiB, as the GUIDE measured it helps large writes; best effort. */
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    return 0;
}

/* ---- statistics --------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the samples; q in [0,1]. */
static double quantile_samples(struct bench *b, double q)
{
    if (b->nsamples == 0)
        return 0;
    qsort(b->samples, b->nsamples, sizeof b->samples[0], cmp_u64);
    size_t i = (size_t)(q * (double)(b->nsamples - 1) + 0.5);
    return (double)b->samples[i];
}

static double median(const double *v, int n)
{
    double tmp[MAX_ROUNDS];
    if (n <= 0)
        return 0;
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_dbl);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* ---- the bare cache line -------------------------------------------------- */

static int child_line(void *arg, int ready_fd)
{
    struct shared *sh = ((struct bench *)arg)->sh;
    say_ready(ready_fd);
    for (uint64_t want = 1;; want += 2) {
        uint64_t v;
        while ((v = atomic_load_explicit(&sh->line, memory_order_acquire)) !=
               want) {
            if (v == UINT64_MAX)
                return 0;
            relax();
        }
        atomic_store_explicit(&sh->line, want + 1, memory_order_release);
    }
}

/* Round trips of one cache line between the two processes: `trips`, or
 * until `end`. Fills the samples. */
static int line_trips(struct bench *b, int64_t end, size_t trips)
{
    struct shared *sh = b->sh;
    atomic_store(&sh->line, 0);
    pid_t pid = spawn(b, child_line, b);
    if (pid < 0)
        return -1;
    b->nsamples = 0;
    for (uint64_t i = 0; b->nsamples < trips; i++) {
        int64_t t0 = now_ns();
        atomic_store_explicit(&sh->line, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&sh->line, memory_order_acquire) !=
               2 * i + 2)
            relax();
        int64_t t1 = now_ns();
        b->samples[b->nsamples++] = (uint64_t)(t1 - t0);
        if (t1 >= end)
            break;
    }
    atomic_store(&sh->line, UINT64_MAX);
    return reap(pid);
}

/* The placement indicator: median of a short cache-line ping-pong. */
static double probe(struct bench *b)
{
    if (line_trips(b, INT64_MAX, PROBE_TRIPS) != 0)
        return -1;
    return quantile_samples(b, 0.5);
}

/* ---- the timing loop -------------------------------------------------------- */

/* One measured step: one message moved (or one write and read made);
 * non-zero when it failed. */
typedef int (*step_fn)(void *arg);

/* The one timing loop of every rate: runs `step` in batches of `batch`
 * until `ns` have passed, reading the clock once per batch, and stores the
 * steps per second in *rate. -1 when a step failed. Always inlined with a
 * constant `step`, so each caller's step is inlined into its own loop: an
 * indirect call per message would be part of every figure. */
static inline __attribute__((always_inline)) int
timed(step_fn step, void *arg, int64_t ns, int batch, double *rate)
{
    uint64_t n = 0;
    int bad = 0;
    int64_t t0 = now_ns(), end = t0 + ns, t1;
    do {
        for (int i = 0; i < batch && !bad; i++, n++)
            bad = step(arg);
        t1 = now_ns();
    } while (t1 < end && !bad);
    *rate = (double)n * 1e9 / (double)(t1 - t0);
    return bad ? -1 : 0;
}

/* ---- throughput ----------------------------------------------------------- */

enum { T_CHAN, T_CHAN_ZC, T_BARE, T_PIPE, T_MEMCPY, T_KINDS };
static const char *const t_names[T_KINDS] = {"chan_copy", "chan_zero_copy",
                                             "bare_ring", "pipe", "memcpy"};

struct tput {
    struct bench *b;
    size_t size;
    hipc_chan c; /* the parent's consumer end */
    unsigned char *src;
    unsigned char *dst; /* capacity bytes: the ring's working set */
    int fds[2];
    int zero_copy;
};

/* A reader's loop state, a local of the measuring function: with the
 * steps inlined into timed(), it stays in registers as the loops' own
 * locals did before there was one loop. */
struct reader {
    struct tput *t;
    uint64_t sum;        /* the zero-copy consumer's checksum */
    uint32_t head, tail; /* the bare ring's reader */
    size_t off;          /* memcpy's place in its window */
};

/* Steps are inlined into the loop of timed(), never called through it. */
#define STEP static inline __attribute__((always_inline)) int

static int child_chan_send(void *arg, int ready_fd)
{
    struct tput *t = arg;
    hipc_chan p;
    hipc_chan_config cfg = {.spin_ns = t->b->set.spin_ns};
    if (hipc_chan_attach_mem(&p, t->c.shm.data, t->c.shm.size,
                             HIPC_CHAN_PRODUCER, &cfg) != HIPC_OK)
        return 10;
    say_ready(ready_fd);
    while (!atomic_load_explicit(&t->b->sh->stop, memory_order_relaxed)) {
        int rc;
        if (t->zero_copy) {
            void *room = NULL;
            rc = hipc_chan_reserve(&p, t->size, &room, WAIT_NS);
            if (rc == HIPC_OK) {
                memcpy(room, t->src, t->size);
                rc = hipc_chan_commit(&p, t->size);
            }
        } else {
            rc = hipc_chan_send(&p, t->src, t->size, WAIT_NS);
        }
        if (rc != HIPC_OK)
            return 11;
    }
    return hipc_chan_close(&p) == HIPC_OK ? 0 : 12;
}

/* The zero-copy consumer reads one word of every cache line in place. */
static uint64_t touch(const void *msg, size_t len)
{
    const unsigned char *p = msg;
    uint64_t sum = 0;
    for (size_t i = 0; i + 8 <= len; i += 64) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        sum += w;
    }
    return sum;
}

static int chan_take(struct tput *t, uint64_t *sink)
{
    if (!t->zero_copy)
        return hipc_chan_recv(&t->c, t->dst, t->size, WAIT_NS);
    const void *msg = NULL;
    int n = hipc_chan_peek(&t->c, &msg, WAIT_NS);
    if (n < 0)
        return n;
    *sink += touch(msg, (size_t)n);
    return hipc_chan_release(&t->c) == HIPC_OK ? n : -1;
}

STEP chan_step(void *arg)
{
    struct reader *r = arg;
    return chan_take(r->t, &r->sum) != (int)r->t->size;
}

static int tput_chan(struct tput *t, double *rate)
{
    struct bench *b = t->b;
    pid_t pid = spawn(b, child_chan_send, t);
    if (pid < 0)
        return -1;
    struct reader r = {.t = t};
    int bad = timed(chan_step, &r, b->set.round_ns, 16, rate);
    atomic_store(&b->sh->stop, 1);
    while (chan_take(t, &r.sum) >= 0)
        ; /* drain until the child has closed: HIPC_E_PEER_GONE */
    /* The sum must escape: left in a local, the compiler drops the reads
     * and the zero-copy consumer never touches the payload (which made it
     * look as fast as memcpy in an earlier version of this program). */
    b->sink = r.sum;
    return reap(pid) != 0 || bad ? -1 : 0;
}

/* ---- the bare ring: what the hardware allows ------------------------------ */

/* The least a ring can do to move the same messages between the same two
 * processes: one length word per record, a tail and a head, no checks, no
 * waiting but a spin, no wrap-around pads beyond skipping to the start. It
 * is not safe against anything; it is here to show what part of the
 * channel's cost is the cache-line traffic every shared-memory transfer
 * pays on this machine, and what part is the channel's own. */
struct bare {
    _Atomic uint32_t tail;
    unsigned char pad0[124];
    _Atomic uint32_t head;
    unsigned char pad1[124];
    unsigned char ring[];
};

static int child_bare_send(void *arg, int ready_fd)
{
    const struct tput *t = arg;
    struct bare *bare = t->b->bare;
    uint32_t cap = (uint32_t)t->b->bare_cap;
    uint32_t rec = (uint32_t)((t->size + 15) & ~7u);
    uint32_t tail = 0, head = 0, len = (uint32_t)t->size;
    say_ready(ready_fd);
    while (!atomic_load_explicit(&t->b->sh->stop, memory_order_relaxed)) {
        uint32_t off = tail & (cap - 1),
                 need = cap - off < rec ? cap - off + rec : rec;
        while (cap - (tail - head) < need) {
            head = atomic_load_explicit(&bare->head, memory_order_acquire);
            if (atomic_load_explicit(&t->b->sh->stop, memory_order_relaxed))
                return 0;
        }
        if (cap - off < rec) { /* skip to the start; the reader does too */
            tail += cap - off;
            off = 0;
        }
        memcpy(bare->ring + off, &len, sizeof len);
        memcpy(bare->ring + off + 8, t->src, t->size);
        tail += rec;
        atomic_store_explicit(&bare->tail, tail, memory_order_release);
    }
    return 0;
}

STEP bare_step(void *arg)
{
    struct reader *r = arg;
    const struct tput *t = r->t;
    struct bare *bare = t->b->bare;
    uint32_t cap = (uint32_t)t->b->bare_cap;
    uint32_t rec = (uint32_t)((t->size + 15) & ~7u);
    while (r->head == r->tail)
        r->tail = atomic_load_explicit(&bare->tail, memory_order_acquire);
    uint32_t off = r->head & (cap - 1), len;
    if (cap - off < rec) {
        r->head += cap - off;
        off = 0;
    }
    memcpy(&len, bare->ring + off, sizeof len);
    memcpy(t->dst, bare->ring + off + 8, t->size);
    r->head += rec;
    atomic_store_explicit(&bare->head, r->head, memory_order_release);
    return len != t->size;
}

static int tput_bare(struct tput *t, double *rate)
{
    struct bench *b = t->b;
    atomic_store(&b->bare->tail, 0);
    atomic_store(&b->bare->head, 0);
    pid_t pid = spawn(b, child_bare_send, t);
    if (pid < 0)
        return -1;
    struct reader r = {.t = t};
    int bad = timed(bare_step, &r, b->set.round_ns, 16, rate);
    atomic_store(&b->sh->stop, 1);
    clobber();
    return reap(pid) != 0 || bad ? -1 : 0;
}

static int child_pipe_send(void *arg, int ready_fd)
{
    struct tput *t = arg;
    close(t->fds[0]);
    say_ready(ready_fd);
    while (!atomic_load_explicit(&t->b->sh->stop, memory_order_relaxed))
        if (write_all(t->fds[1], t->src, t->size) != 0)
            return 20;
    close(t->fds[1]);
    return 0;
}

STEP pipe_step(void *arg)
{
    struct tput *t = arg;
    return read_exact(t->fds[0], t->dst, t->size) != 1;
}

static int tput_pipe(struct tput *t, double *rate)
{
    struct bench *b = t->b;
    if (make_pipe(t->fds) != 0)
        return -1;
    pid_t pid = spawn(b, child_pipe_send, t);
    close(t->fds[1]);
    if (pid < 0) {
        close(t->fds[0]);
        return -1;
    }
    int bad = timed(pipe_step, t, b->set.round_ns, 16, rate);
    atomic_store(&b->sh->stop, 1);
    while (read_exact(t->fds[0], t->dst, t->size) == 1)
        ;
    close(t->fds[0]);
    return reap(pid) != 0 || bad ? -1 : 0;
}

/* One thread copying messages round a 256 KiB window (1 MiB for 64 KiB
 * messages), whatever the ring's size: a window that fits the L2 is the
 * fastest memcpy here, so the baseline is the strictest one. */
#define MEMCPY_WINDOW(size)                                                    \
    ((size) <= 4096 ? (size_t)256 << 10 : (size_t)1 << 20)

STEP memcpy_step(void *arg)
{
    struct reader *r = arg;
    const struct tput *t = r->t;
    if (r->off + t->size > MEMCPY_WINDOW(t->size))
        r->off = 0;
    memcpy(t->dst + r->off, t->src, t->size);
    clobber();
    r->off += t->size;
    return 0;
}

static int tput_memcpy(struct tput *t, double *rate)
{
    struct reader r = {.t = t};
    return timed(memcpy_step, &r, t->b->set.round_ns, 16, rate);
}

static int tput_run(struct tput *t, int kind, double *rate)
{
    t->zero_copy = kind == T_CHAN_ZC;
    switch (kind) {
    case T_CHAN:
    case T_CHAN_ZC:
        return tput_chan(t, rate);
    case T_BARE:
        return tput_bare(t, rate);
    case T_PIPE:
        return tput_pipe(t, rate);
    default:
        return tput_memcpy(t, rate);
    }
}

struct tput_result {
    size_t size, capacity;
    double rate[T_KINDS][MAX_ROUNDS]; /* messages per second */
    double cl_before[MAX_ROUNDS], cl_after[MAX_ROUNDS];
    double chan_vs_pipe, copy_vs_memcpy, zc_vs_memcpy, copy_vs_bare;
};

/* Ring sizes: the best found here (interleaved A/B runs, same build): a
 * ring larger than both cores' L2 (1 MiB each here) means the lines a
 * producer rewrites have left the consumer's cache, so its stores need no
 * cross-core invalidation. 4 MiB moved 64 B messages 3x and 4 KiB ones 2x
 * faster than 256 KiB; 8 MiB was worse for 4 KiB, better (1.5x) for
 * 64 KiB. --ring overrides. */
static size_t ring_for(const struct settings *set, size_t size)
{
    if (set->ring != 0)
        return set->ring;
    return size <= 4096 ? (size_t)4 << 20 : (size_t)8 << 20;
}

#define RING_MAX ((size_t)64 << 20)

static int tput_setup(struct bench *b, struct tput *t, size_t size)
{
    memset(t, 0, sizeof *t);
    t->b = b;
    t->size = size;
    hipc_chan_config cfg = {.capacity = ring_for(&b->set, size),
                            .spin_ns = b->set.spin_ns};
    int rc =
        hipc_chan_create(&t->c, HIPC_SHM_KEY_PRIVATE, HIPC_CHAN_CONSUMER, &cfg);
    if (rc != HIPC_OK) {
        fprintf(stderr, "bench: chan create: %s\n", hipc_err_name(rc));
        return -1;
    }
    /* Gone with the last detach, whatever happens to this run. */
    (void)hipc_chan_remove(&t->c);
    t->src = malloc(size);
    size_t dst_size = (size_t)1 << 20; /* the largest memcpy window */
    t->dst = malloc(dst_size);
    if (t->src == NULL || t->dst == NULL) {
        /* Whichever allocation succeeded goes, and so does the channel. */
        free(t->src);
        free(t->dst);
        (void)hipc_chan_close(&t->c);
        return -1;
    }
    memset(t->src, 0x5a, size);
    memset(t->dst, 0, dst_size);
    b->bare_cap = cfg.capacity;
    return 0;
}

static void tput_teardown(struct tput *t)
{
    (void)hipc_chan_close(&t->c);
    free(t->src);
    free(t->dst);
}

static double ratio_median(const double *a, const double *b, int n)
{
    double r[MAX_ROUNDS];
    for (int i = 0; i < n; i++)
        r[i] = b[i] > 0 ? a[i] / b[i] : 0;
    return median(r, n);
}

/* Round r runs the kinds forwards when even, backwards when odd, so that
 * no kind always follows the same one. */
static int kind_in_round(int r, int i, int kinds)
{
    return r % 2 ? kinds - 1 - i : i;
}

static int bench_tput(struct bench *b, size_t size, struct tput_result *res)
{
    struct tput t;
    memset(res, 0, sizeof *res);
    if (tput_setup(b, &t, size) != 0)
        return -1;
    res->size = size;
    res->capacity = t.c.capacity;
    int rc = 0, n = b->set.rounds;
    for (int r = 0; r < n && rc == 0; r++) {
        res->cl_before[r] = probe(b);
        for (int i = 0; i < T_KINDS && rc == 0; i++) {
            int k = kind_in_round(r, i, T_KINDS);
            rc = tput_run(&t, k, &res->rate[k][r]);
        }
        res->cl_after[r] = probe(b);
    }
    tput_teardown(&t);
    res->chan_vs_pipe = ratio_median(res->rate[T_CHAN], res->rate[T_PIPE], n);
    res->copy_vs_memcpy =
        ratio_median(res->rate[T_CHAN], res->rate[T_MEMCPY], n);
    res->zc_vs_memcpy =
        ratio_median(res->rate[T_CHAN_ZC], res->rate[T_MEMCPY], n);
    res->copy_vs_bare = ratio_median(res->rate[T_CHAN], res->rate[T_BARE], n);
    return rc;
}

/* ---- hipc's pipe I/O against the raw loop ---------------------------------- */

enum { P_RAW, P_HIPC, P_HIPC_IGN, P_KINDS };
static const char *const p_names[P_KINDS] = {"raw_loop", "hipc_pipe",
                                             "hipc_pipe_sigpipe_ignored"};

struct pio {
    struct bench *b;
    size_t size;
    int kind;
    unsigned char *buf;
    int raw[2];
    hipc_pipe hp;
};

static int child_pio_send(void *arg, int ready_fd)
{
    struct pio *t = arg;
    if (t->kind == P_RAW) {
        close(t->raw[0]);
    } else {
        (void)hipc_pipe_close_end(&t->hp, HIPC_PIPE_READ_END);
        if (t->kind == P_HIPC_IGN) { /* what that flag makes us promise */
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            sigprocmask(SIG_BLOCK, &set, NULL);
        }
    }
    say_ready(ready_fd);
    while (!atomic_load_explicit(&t->b->sh->stop, memory_order_relaxed)) {
        int bad = t->kind == P_RAW
                      ? write_all(t->raw[1], t->buf, t->size) != 0
                      : hipc_pipe_write_all(&t->hp, t->buf, t->size, NULL,
                                            HIPC_FOREVER) != HIPC_OK;
        if (bad)
            return 50;
    }
    if (t->kind == P_RAW)
        close(t->raw[1]);
    else
        (void)hipc_pipe_close(&t->hp);
    return 0;
}

static int pio_open(struct pio *t)
{
    if (t->kind == P_RAW)
        return make_pipe(t->raw);
    unsigned flags = t->kind == P_HIPC_IGN ? HIPC_PIPE_SIGPIPE_IGNORED : 0;
    if (hipc_pipe_create(&t->hp, flags) != HIPC_OK)
        return -1;
    (void)hipc_pipe_set_capacity(&t->hp, (size_t)1 << 20);
    return 0;
}

/* 1 per message, 0 at end of file, -1 on error. */
static int pio_read(struct pio *t)
{
    if (t->kind == P_RAW)
        return read_exact(t->raw[0], t->buf, t->size);
    int rc = hipc_pipe_read_exact(&t->hp, t->buf, t->size, NULL, HIPC_FOREVER);
    return rc == HIPC_OK ? 1 : rc == HIPC_E_EOF ? 0 : -1;
}

static void pio_close(struct pio *t)
{
    if (t->kind == P_RAW)
        close(t->raw[0]);
    else
        (void)hipc_pipe_close(&t->hp);
}

STEP pio_step(void *arg)
{
    return pio_read(arg) != 1;
}

static int pio_run(struct pio *t, double *rate)
{
    if (pio_open(t) != 0)
        return -1;
    pid_t pid = spawn(t->b, child_pio_send, t);
    if (t->kind == P_RAW)
        close(t->raw[1]);
    else
        (void)hipc_pipe_close_end(&t->hp, HIPC_PIPE_WRITE_END);
    int bad = pid < 0 || timed(pio_step, t, t->b->set.round_ns, 16, rate);
    atomic_store(&t->b->sh->stop, 1);
    while (pid > 0 && pio_read(t) == 1)
        ;
    pio_close(t);
    return pid < 0 || reap(pid) != 0 || bad ? -1 : 0;
}

struct pio_result {
    size_t size;
    double rate[P_KINDS][MAX_ROUNDS];
    double hipc_vs_raw, ign_vs_raw;
    double call_ns[P_KINDS][MAX_ROUNDS];      /* one thread: write + read */
    double call_hipc_vs_raw, call_ign_vs_raw; /* time ratios, raw = 1 */
};

/* One write and read of `size` bytes through one pipe, in one thread. */
STEP pio_call_step(void *arg)
{
    struct pio *t = arg;
    if (t->kind == P_RAW)
        return write_all(t->raw[1], t->buf, t->size) != 0 ||
               read_exact(t->raw[0], t->buf, t->size) != 1;
    return hipc_pipe_write_all(&t->hp, t->buf, t->size, NULL, HIPC_FOREVER) !=
               HIPC_OK ||
           hipc_pipe_read_exact(&t->hp, t->buf, t->size, NULL, HIPC_FOREVER) !=
               HIPC_OK;
}

/* The library's own cost per call, without a second process's scheduling
 * in the figure: one thread writes `size` bytes into a pipe and reads them
 * back, raw calls against hipc's, in the same round. */
static int pio_calls(struct pio *t, int kind, double *ns)
{
    t->kind = kind;
    if (pio_open(t) != 0)
        return -1;
    double rate = 0;
    int bad = timed(pio_call_step, t, t->b->set.round_ns / 4, 64, &rate);
    if (kind == P_RAW) {
        close(t->raw[0]);
        close(t->raw[1]);
    } else {
        (void)hipc_pipe_close(&t->hp);
    }
    *ns = 1e9 / rate;
    return bad;
}

static int bench_pio(struct bench *b, size_t size, struct pio_result *res)
{
    struct pio t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    t.b = b;
    t.size = res->size = size;
    t.buf = calloc(1, size);
    if (t.buf == NULL)
        return -1;
    int rc = 0, n = b->set.rounds;
    for (int r = 0; r < n && rc == 0; r++)
        for (int i = 0; i < P_KINDS && rc == 0; i++) {
            t.kind = kind_in_round(r, i, P_KINDS);
            rc = pio_run(&t, &res->rate[t.kind][r]);
        }
    for (int r = 0; r < n && rc == 0; r++)
        for (int i = 0; i < P_KINDS && rc == 0; i++) {
            int k = kind_in_round(r, i, P_KINDS);
            rc = pio_calls(&t, k, &res->call_ns[k][r]);
        }
    free(t.buf);
    res->call_hipc_vs_raw =
        ratio_median(res->call_ns[P_HIPC], res->call_ns[P_RAW], n);
    res->call_ign_vs_raw =
        ratio_median(res->call_ns[P_HIPC_IGN], res->call_ns[P_RAW], n);
    res->hipc_vs_raw = ratio_median(res->rate[P_HIPC], res->rate[P_RAW], n);
    res->ign_vs_raw = ratio_median(res->rate[P_HIPC_IGN], res->rate[P_RAW], n);
    return rc;
}

/* ---- latency -------------------------------------------------------------- */

enum { L_CHAN_BUSY, L_CHAN_BLOCK, L_CHAN_DEFAULT, L_PIPE, L_LINE, L_KINDS };
static const char *const l_names[L_KINDS] = {"chan_busy_poll", "chan_blocking",
                                             "chan_default", "pipe",
                                             "cache_line"};

struct lat {
    struct bench *b;
    hipc_chan to, from; /* parent produces on `to`, consumes on `from` */
    int64_t spin_ns;
    int up[2], down[2]; /* raw pipes: parent -> child, child -> parent */
};

static int child_chan_echo(void *arg, int ready_fd)
{
    struct lat *l = arg;
    hipc_chan in, out;
    hipc_chan_config cfg = {.spin_ns = l->spin_ns};
    if (hipc_chan_attach_mem(&in, l->to.shm.data, l->to.shm.size,
                             HIPC_CHAN_CONSUMER, &cfg) != HIPC_OK ||
        hipc_chan_attach_mem(&out, l->from.shm.data, l->from.shm.size,
                             HIPC_CHAN_PRODUCER, &cfg) != HIPC_OK)
        return 30;
    say_ready(ready_fd);
    unsigned char buf[LAT_BYTES];
    for (;;) {
        int n = hipc_chan_recv(&in, buf, sizeof buf, HIPC_FOREVER);
        if (n <= 0)
            break; /* an empty message says stop */
        if (hipc_chan_send(&out, buf, (size_t)n, HIPC_FOREVER) != HIPC_OK)
            return 31;
    }
    int rc = hipc_chan_close(&in) | hipc_chan_close(&out);
    return rc == HIPC_OK ? 0 : 32;
}

static int lat_chan(struct lat *l, int64_t spin_ns, int64_t end)
{
    l->spin_ns = spin_ns;
    if (hipc_chan_set_spin(&l->to, spin_ns) != HIPC_OK ||
        hipc_chan_set_spin(&l->from, spin_ns) != HIPC_OK)
        return -1;
    struct bench *b = l->b;
    pid_t pid = spawn(b, child_chan_echo, l);
    if (pid < 0)
        return -1;
    unsigned char msg[LAT_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8}, back[LAT_BYTES];
    int bad = 0;
    b->nsamples = 0;
    while (b->nsamples < MAX_SAMPLES && !bad) {
        int64_t t0 = now_ns();
        bad = hipc_chan_send(&l->to, msg, sizeof msg, WAIT_NS) != HIPC_OK ||
              hipc_chan_recv(&l->from, back, sizeof back, WAIT_NS) !=
                  (int)sizeof back;
        int64_t t1 = now_ns();
        b->samples[b->nsamples++] = (uint64_t)(t1 - t0);
        if (t1 >= end)
            break;
    }
    (void)hipc_chan_send(&l->to, msg, 0, WAIT_NS);
    return reap(pid) != 0 || bad ? -1 : 0;
}

static int child_pipe_echo(void *arg, int ready_fd)
{
    struct lat *l = arg;
    close(l->up[1]);
    close(l->down[0]);
    say_ready(ready_fd);
    unsigned char buf[LAT_BYTES];
    int r;
    while ((r = read_exact(l->up[0], buf, sizeof buf)) == 1)
        if (write_all(l->down[1], buf, sizeof buf) != 0)
            return 40;
    return r == 0 ? 0 : 41;
}

static int lat_pipe(struct lat *l, int64_t end)
{
    if (make_pipe(l->up) != 0)
        return -1;
    if (make_pipe(l->down) != 0) {
        close(l->up[0]);
        close(l->up[1]);
        return -1;
    }
    struct bench *b = l->b;
    pid_t pid = spawn(b, child_pipe_echo, l);
    close(l->up[0]);
    close(l->down[1]);
    unsigned char msg[LAT_BYTES] = {1}, back[LAT_BYTES];
    int bad = pid < 0;
    b->nsamples = 0;
    while (b->nsamples < MAX_SAMPLES && !bad) {
        int64_t t0 = now_ns();
        bad = write_all(l->up[1], msg, sizeof msg) != 0 ||
              read_exact(l->down[0], back, sizeof back) != 1;
        int64_t t1 = now_ns();
        b->samples[b->nsamples++] = (uint64_t)(t1 - t0);
        if (t1 >= end)
            break;
    }
    close(l->up[1]);
    close(l->down[0]);
    return pid < 0 || reap(pid) != 0 || bad ? -1 : 0;
}

static int lat_run(struct lat *l, int kind)
{
    int64_t end = now_ns() + l->b->set.round_ns;
    switch (kind) {
    case L_CHAN_BUSY:
        return lat_chan(l, HIPC_CHAN_SPIN_ALWAYS, end);
    case L_CHAN_BLOCK:
        return lat_chan(l, 1, end); /* sleeps after one batch of polls */
    case L_CHAN_DEFAULT:
        return lat_chan(l, HIPC_CHAN_SPIN_DEFAULT, end);
    case L_PIPE:
        return lat_pipe(l, end);
    default:
        return line_trips(l->b, end, MAX_SAMPLES);
    }
}

struct lat_result {
    double med[L_KINDS][MAX_ROUNDS], p99[L_KINDS][MAX_ROUNDS];
    double cl_before[MAX_ROUNDS], cl_after[MAX_ROUNDS];
    double busy_vs_line, block_vs_pipe, default_vs_pipe;
};

static int lat_setup(struct bench *b, struct lat *l)
{
    memset(l, 0, sizeof *l);
    l->b = b;
    hipc_chan_config cfg = {.capacity = 4096};
    if (hipc_chan_create(&l->to, HIPC_SHM_KEY_PRIVATE, HIPC_CHAN_PRODUCER,
                         &cfg) != HIPC_OK)
        return -1;
    (void)hipc_chan_remove(&l->to);
    if (hipc_chan_create(&l->from, HIPC_SHM_KEY_PRIVATE, HIPC_CHAN_CONSUMER,
                         &cfg) != HIPC_OK) {
        (void)hipc_chan_close(&l->to);
        return -1;
    }
    (void)hipc_chan_remove(&l->from);
    return 0;
}

static int bench_lat(struct bench *b, struct lat_result *res)
{
    struct lat l;
    memset(res, 0, sizeof *res);
    if (lat_setup(b, &l) != 0)
        return -1;
    int rc = 0, n = b->set.rounds;
    for (int r = 0; r < n && rc == 0; r++) {
        res->cl_before[r] = probe(b);
        for (int i = 0; i < L_KINDS && rc == 0; i++) {
            int k = kind_in_round(r, i, L_KINDS);
            rc = lat_run(&l, k);
            res->p99[k][r] = quantile_samples(b, 0.99);
            res->med[k][r] = quantile_samples(b, 0.5);
        }
        res->cl_after[r] = probe(b);
    }
    (void)hipc_chan_close(&l.to);
    (void)hipc_chan_close(&l.from);
    res->busy_vs_line =
        ratio_median(res->med[L_CHAN_BUSY], res->med[L_LINE], n);
    res->block_vs_pipe =
        ratio_median(res->med[L_CHAN_BLOCK], res->med[L_PIPE], n);
    res->default_vs_pipe =
        ratio_median(res->med[L_CHAN_DEFAULT], res->med[L_PIPE], n);
    return rc;
}

/* ---- report ----------------------------------------------------------------- */

#define NSIZES 3
static const size_t sizes[NSIZES] = {64, 4096, 65536};
#define NPIO 2
static const size_t pio_sizes[NPIO] = {64, 4096};

/* Everything one run measured. */
struct results {
    struct tput_result t[NSIZES];
    struct lat_result l;
    struct pio_result p[NPIO];
};

/* The targets: which ratio of the run each one judges, and what it
 * must reach. The text report and the JSON both print from this table. */
struct target {
    const char *name;
    size_t at; /* offset of the ratio in struct results */
    double want;
    int higher_is_better;
    unsigned part; /* the PART_* that measures it */
};

#define RATIO(field) offsetof(struct results, field)

static const struct target targets[] = {
    {.name = "chan 64 B msg rate / raw pipe",
     .at = RATIO(t[0].chan_vs_pipe),
     .want = 10.0,
     .higher_is_better = 1,
     .part = PART_TPUT},
    {.name = "chan 4 KiB copy / memcpy",
     .at = RATIO(t[1].copy_vs_memcpy),
     .want = 0.4,
     .higher_is_better = 1,
     .part = PART_TPUT},
    {.name = "chan 4 KiB zero-copy / memcpy",
     .at = RATIO(t[1].zc_vs_memcpy),
     .want = 0.8,
     .higher_is_better = 1,
     .part = PART_TPUT},
    {.name = "busy-poll RTT / cache-line RTT",
     .at = RATIO(l.busy_vs_line),
     .want = 3.0,
     .higher_is_better = 0,
     .part = PART_LAT},
    {.name = "blocking RTT / raw pipe RTT",
     .at = RATIO(l.block_vs_pipe),
     .want = 1.0,
     .higher_is_better = 0,
     .part = PART_LAT},
    {.name = "hipc pipe 64 B / raw loop",
     .at = RATIO(p[0].hipc_vs_raw),
     .want = 0.97,
     .higher_is_better = 1,
     .part = PART_PIO},
    {.name = "hipc pipe 64 B sigpipe-ign / raw",
     .at = RATIO(p[0].ign_vs_raw),
     .want = 0.97,
     .higher_is_better = 1,
     .part = PART_PIO},
    {.name = "hipc pipe 4 KiB / raw loop",
     .at = RATIO(p[1].hipc_vs_raw),
     .want = 0.97,
     .higher_is_better = 1,
     .part = PART_PIO},
    {.name = "hipc pipe 64 B ign, 1 thread: time",
     .at = RATIO(p[0].call_ign_vs_raw),
     .want = 1.03,
     .higher_is_better = 0,
     .part = PART_PIO},
};

#define NTARGETS (sizeof targets / sizeof targets[0])

static double ratio_of(const struct target *tg, const struct results *res)
{
    double v;
    memcpy(&v, (const char *)res + tg->at, sizeof v);
    return v;
}

/* 1 met, 0 missed, -1 not run. */
static int verdict(const struct target *tg, const struct results *res,
                   const struct settings *set)
{
    if (!(set->parts & tg->part))
        return -1;
    double r = ratio_of(tg, res);
    return tg->higher_is_better ? r >= tg->want : r <= tg->want;
}

static void print_placement(const double *before, const double *after, int n)
{
    double lo = 1e30, hi = 0;
    for (int i = 0; i < n; i++) {
        double v[2] = {before[i], after[i]};
        for (int k = 0; k < 2; k++) {
            lo = v[k] < lo ? v[k] : lo;
            hi = v[k] > hi ? v[k] : hi;
        }
    }
    printf("  placement: cache-line RTT before/after rounds %.0f..%.0f ns\n",
           lo, hi);
}

static void print_pio(int n, const struct pio_result *p)
{
    printf("\npipe I/O, Mmsg/s   %10s %10s %10s   %9s %9s\n", "raw loop",
           "hipc", "hipc ign", "hipc/raw", "ign/raw");
    for (int s = 0; s < NPIO; s++) {
        printf("  %6zu B        ", p[s].size);
        for (int k = 0; k < P_KINDS; k++)
            printf(" %10.3f", median(p[s].rate[k], n) / 1e6);
        printf("   %9.3f %9.3f\n", p[s].hipc_vs_raw, p[s].ign_vs_raw);
    }
    printf("one thread, ns per write + read (time ratios, raw = 1)\n");
    for (int s = 0; s < NPIO; s++) {
        printf("  %6zu B        ", p[s].size);
        for (int k = 0; k < P_KINDS; k++)
            printf(" %10.0f", median(p[s].call_ns[k], n));
        printf("   %9.3f %9.3f\n", p[s].call_hipc_vs_raw, p[s].call_ign_vs_raw);
    }
}

static void print_tput(int n, const struct tput_result *t)
{
    printf("throughput   %10s %10s %10s %10s %10s  %9s %9s %9s %9s\n",
           "chan copy", "chan 0cp", "bare ring", "raw pipe", "memcpy",
           "chan/pipe", "copy/mcpy", "0cp/mcpy", "copy/bare");
    for (int s = 0; s < NSIZES; s++) {
        const struct tput_result *r = &t[s];
        printf("%6zu B Mmsg/s", r->size);
        for (int k = 0; k < T_KINDS; k++)
            printf(" %10.3f", median(r->rate[k], n) / 1e6);
        printf("  %9.2f %9.3f %9.3f %9.3f\n", r->chan_vs_pipe,
               r->copy_vs_memcpy, r->zc_vs_memcpy, r->copy_vs_bare);
        printf("%6s   GB/s", "");
        for (int k = 0; k < T_KINDS; k++)
            printf(" %10.2f", median(r->rate[k], n) * (double)r->size / 1e9);
        printf("  (ring %zu KiB)\n", r->capacity >> 10);
        print_placement(r->cl_before, r->cl_after, n);
    }
}

static void print_lat(int n, const struct lat_result *l)
{
    printf("\nround trip, %d B     median ns    p99 ns\n", LAT_BYTES);
    for (int k = 0; k < L_KINDS; k++)
        printf("  %-16s %12.0f %9.0f\n", l_names[k], median(l->med[k], n),
               median(l->p99[k], n));
    printf("  busy/cache-line %.2f   blocking/pipe %.2f   default/pipe %.2f\n",
           l->busy_vs_line, l->block_vs_pipe, l->default_vs_pipe);
    print_placement(l->cl_before, l->cl_after, n);
}

static void print_targets(const struct bench *b, const struct results *res)
{
    printf("\ntargets (same run):\n");
    for (size_t i = 0; i < NTARGETS; i++) {
        const struct target *tg = &targets[i];
        int v = verdict(tg, res, &b->set);
        if (v < 0) {
            printf("  %-34s  not run\n", tg->name);
            continue;
        }
        printf("  %-34s %8.4f  want %s %.2f  %s\n", tg->name, ratio_of(tg, res),
               tg->higher_is_better ? ">=" : "<=", tg->want,
               v ? "met" : "MISSED");
    }
}

static void print_table(const struct bench *b, const struct results *res)
{
    const struct settings *set = &b->set;
    printf("hipc bench: %d interleaved rounds of %.0f ms per kind; CPUs %d,%d;"
           " figures are medians over rounds,\nratios the median of "
           "per-round ratios.\n\n",
           set->rounds, (double)set->round_ns / 1e6, b->cpu_parent,
           b->cpu_child);
    if (set->parts & PART_TPUT)
        print_tput(set->rounds, res->t);
    if (set->parts & PART_LAT)
        print_lat(set->rounds, &res->l);
    if (set->parts & PART_PIO)
        print_pio(set->rounds, res->p);
    print_targets(b, res);
}

static void json_array(const char *name, const double *v, int n, int last)
{
    printf("\"%s\": [", name);
    for (int i = 0; i < n; i++)
        printf("%s%.6g", i ? ", " : "", v[i]);
    printf("]%s", last ? "" : ", ");
}

/* The rounds of every kind of a table, as "<kind><suffix>": [...]. */
static void json_kinds(const char *const *names, const char *suffix,
                       const double (*v)[MAX_ROUNDS], int kinds, int n)
{
    for (int k = 0; k < kinds; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", names[k], suffix);
        json_array(name, v[k], n, 0);
    }
}

static void print_json_tput(int n, const struct tput_result *t)
{
    for (int s = 0; s < NSIZES; s++) {
        printf("  {\"size\": %zu, \"ring\": %zu, ", t[s].size, t[s].capacity);
        json_kinds(t_names, "_msgs_per_s", t[s].rate, T_KINDS, n);
        json_array("cache_line_before_ns", t[s].cl_before, n, 0);
        json_array("cache_line_after_ns", t[s].cl_after, n, 0);
        printf(
            "\"chan_vs_pipe\": %.4g, \"copy_vs_memcpy\": %.4g, "
            "\"zero_copy_vs_memcpy\": %.4g, \"copy_vs_bare_ring\": %.4g}%s\n",
            t[s].chan_vs_pipe, t[s].copy_vs_memcpy, t[s].zc_vs_memcpy,
            t[s].copy_vs_bare, s + 1 < NSIZES ? "," : "");
    }
}

static void print_json_lat(int n, const struct lat_result *l)
{
    printf("{\"bytes\": %d, ", LAT_BYTES);
    for (int k = 0; k < L_KINDS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_median_ns", l_names[k]);
        json_array(name, l->med[k], n, 0);
        snprintf(name, sizeof name, "%s_p99_ns", l_names[k]);
        json_array(name, l->p99[k], n, 0);
    }
    json_array("cache_line_before_ns", l->cl_before, n, 0);
    json_array("cache_line_after_ns", l->cl_after, n, 0);
    printf("\"busy_vs_cache_line\": %.4g, \"blocking_vs_pipe\": %.4g, "
           "\"default_vs_pipe\": %.4g},\n",
           l->busy_vs_line, l->block_vs_pipe, l->default_vs_pipe);
}

static void print_json_pio(int n, const struct pio_result *p)
{
    for (int s = 0; s < NPIO; s++) {
        printf("  {\"size\": %zu, ", p[s].size);
        json_kinds(p_names, "_msgs_per_s", p[s].rate, P_KINDS, n);
        json_kinds(p_names, "_one_thread_ns", p[s].call_ns, P_KINDS, n);
        printf("\"hipc_vs_raw\": %.4g, \"sigpipe_ignored_vs_raw\": %.4g, "
               "\"one_thread_time_hipc_vs_raw\": %.4g, "
               "\"one_thread_time_ignored_vs_raw\": %.4g}%s\n",
               p[s].hipc_vs_raw, p[s].ign_vs_raw, p[s].call_hipc_vs_raw,
               p[s].call_ign_vs_raw, s + 1 < NPIO ? "," : "");
    }
}

static void print_json_targets(const struct bench *b, const struct results *res)
{
    static const char *const verdicts[] = {"null", "false", "true"};
    printf(" \"targets\": [\n");
    for (size_t i = 0; i < NTARGETS; i++) {
        const struct target *tg = &targets[i];
        printf("  {\"name\": \"%s\", \"ratio\": %.4g, \"want\": %.3g, "
               "\"higher_is_better\": %s, \"met\": %s}%s\n",
               tg->name, ratio_of(tg, res), tg->want,
               tg->higher_is_better ? "true" : "false",
               verdicts[verdict(tg, res, &b->set) + 1],
               i + 1 < NTARGETS ? "," : "");
    }
    printf(" ]}\n");
}

static void print_json(const struct bench *b, const struct results *res)
{
    const struct settings *set = &b->set;
    int n = set->rounds;
    printf("{\"rounds\": %d, \"round_ms\": %.1f, \"cpus\": [%d, %d],\n", n,
           (double)set->round_ns / 1e6, b->cpu_parent, b->cpu_child);
    printf(" \"throughput\": [\n");
    if (set->parts & PART_TPUT)
        print_json_tput(n, res->t);
    printf(" ],\n \"latency\": ");
    if (set->parts & PART_LAT)
        print_json_lat(n, &res->l);
    else
        printf("null,\n");
    printf(" \"pipe_io\": [\n");
    if (set->parts & PART_PIO)
        print_json_pio(n, res->p);
    printf(" ],\n");
    print_json_targets(b, res);
}

/* ---- command line ------------------------------------------------------------ */

static int usage(const char *prog, FILE *f)
{
    fprintf(f,
            "usage: %s [--quick] [--json] [--rounds N] [--round-ms MS] "
            "[--no-pin] [--spin-ns NS]\n"
            "       [--only throughput|latency|pipe] [--ring BYTES]\n"
            "  default: 15 rounds of 50 ms per kind (about 30 s); --quick: "
            "3 rounds of 15 ms\n"
            "  --spin-ns: busy-poll time of the throughput channels' ends "
            "(-1: never sleep)\n",
            prog);
    return f == stderr ? 2 : 0;
}

/* The part --only names; 0 for none. */
static unsigned part_named(const char *w)
{
    return strcmp(w, "throughput") == 0 ? PART_TPUT
           : strcmp(w, "latency") == 0  ? PART_LAT
           : strcmp(w, "pipe") == 0     ? PART_PIO
                                        : 0;
}

static int valid_ring(size_t ring)
{
    return ring >= 65536 && ring <= RING_MAX && (ring & (ring - 1)) == 0;
}

/* One option with a value; -1 when the value is out of range. */
static int parse_valued(const char *a, const char *v, struct settings *set)
{
    if (strcmp(a, "--rounds") == 0) {
        set->rounds = atoi(v);
        return set->rounds >= 1 && set->rounds <= MAX_ROUNDS ? 0 : -1;
    }
    if (strcmp(a, "--round-ms") == 0) {
        int ms = atoi(v);
        set->round_ns = (int64_t)ms * 1000 * 1000;
        return ms >= 1 && ms <= 10000 ? 0 : -1;
    }
    if (strcmp(a, "--spin-ns") == 0) {
        set->spin_ns = atoll(v);
        if (set->spin_ns < 0)
            set->spin_ns = HIPC_CHAN_SPIN_ALWAYS;
        return 0;
    }
    if (strcmp(a, "--ring") == 0) {
        set->ring = (size_t)atoll(v);
        return valid_ring(set->ring) ? 0 : -1;
    }
    if (strcmp(a, "--only") == 0) {
        set->parts = part_named(v);
        return set->parts != 0 ? 0 : -1;
    }
    return -1;
}

/* 0 to run, 1 for --help, -1 for a bad command line. */
static int parse(int argc, char **argv, struct settings *set)
{
    *set = (struct settings){.rounds = 15,
                             .round_ns = 50 * 1000 * 1000,
                             .pin = 1,
                             .parts = PART_ALL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            set->rounds = 3;
            set->round_ns = 15 * 1000 * 1000;
        } else if (strcmp(a, "--json") == 0) {
            set->json = 1;
        } else if (strcmp(a, "--no-pin") == 0) {
            set->pin = 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else if (i + 1 < argc && parse_valued(a, argv[i + 1], set) == 0) {
            i++;
        } else {
            return -1;
        }
    }
    return 0;
}

static int measure(struct bench *b, struct results *res)
{
    unsigned parts = b->set.parts;
    for (int s = 0; s < NSIZES && (parts & PART_TPUT); s++)
        if (bench_tput(b, sizes[s], &res->t[s]) != 0) {
            fprintf(stderr, "bench: throughput at %zu B failed\n", sizes[s]);
            return 1;
        }
    if ((parts & PART_LAT) && bench_lat(b, &res->l) != 0) {
        fprintf(stderr, "bench: latency failed\n");
        return 1;
    }
    for (int s = 0; s < NPIO && (parts & PART_PIO); s++)
        if (bench_pio(b, pio_sizes[s], &res->p[s]) != 0) {
            fprintf(stderr, "bench: pipe I/O at %zu B failed\n", pio_sizes[s]);
            return 1;
        }
    return 0;
}

static int run_all(struct bench *b)
{
    struct results *res = calloc(1, sizeof *res); /* too big for a stack */
    if (res == NULL)
        return 1;
    int rc = measure(b, res);
    if (rc == 0 && b->set.json)
        print_json(b, res);
    else if (rc == 0)
        print_table(b, res);
    free(res);
    return rc;
}

int hipc_bench_main(int argc, char **argv)
{
    struct bench b;
    memset(&b, 0, sizeof b);
    int p = parse(argc, argv, &b.set);
    if (p != 0)
        return usage(argv[0], p < 0 ? stderr : stdout);
    b.sh = mmap(NULL, sizeof *b.sh, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    b.samples = malloc(MAX_SAMPLES * sizeof *b.samples);
    size_t bare_size = sizeof *b.bare + RING_MAX;
    b.bare = mmap(NULL, bare_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int rc = 1;
    if (b.sh == MAP_FAILED || b.samples == NULL || b.bare == MAP_FAILED) {
        fprintf(stderr, "bench: out of memory\n");
    } else {
        pick_cpus(&b);
        rc = run_all(&b);
    }
    free(b.samples);
    if (b.sh != MAP_FAILED)
        munmap(b.sh, sizeof *b.sh);
    if (b.bare != MAP_FAILED)
        munmap(b.bare, bare_size);
    return rc;
}
