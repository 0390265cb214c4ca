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

struct opts {
    int rounds;
    int64_t round_ns;
    int json;
    int pin;
    int64_t spin_ns; /* throughput ends' spin; 0: the library default */
    unsigned parts;  /* PART_* bits: which measurements to make */
};

enum { PART_TPUT = 1, PART_LAT = 2, PART_PIO = 4, PART_ALL = 7 };

static int64_t tput_spin; /* the child reads it after fork */

/* State shared with the child: a stop flag and the ping-pong line, each
 * on its own 128-byte line. */
struct shared {
    _Atomic uint32_t stop;
    unsigned char pad0[124];
    _Atomic uint64_t line;
    unsigned char pad1[120];
};

static struct shared *sh;
static volatile uint64_t bench_sink;
static int cpu_parent = -1, cpu_child = -1;
static uint64_t *samples;
static size_t nsamples;

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

static void pick_cpus(int want)
{
    cpu_set_t set;
    if (!want || sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET((size_t)c, &set))
            continue;
        if (cpu_parent < 0)
            cpu_parent = c;
        else if (cpu_child < 0)
            cpu_child = c;
    }
    if (cpu_child < 0)
        cpu_parent = -1; /* one CPU: nothing to pin apart */
    pin(cpu_parent);
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
static pid_t spawn(child_fn fn, void *arg)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    atomic_store(&sh->stop, 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pin(cpu_child);
        _exit(fn(arg, fds[1]));
    }
    close(fds[1]);
    char b = 0;
    ssize_t n = pid > 0 ? read(fds[0], &b, 1) : -1;
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
static double quantile_samples(double q)
{
    if (nsamples == 0)
        return 0;
    qsort(samples, nsamples, sizeof samples[0], cmp_u64);
    size_t i = (size_t)(q * (double)(nsamples - 1) + 0.5);
    return (double)samples[i];
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
    (void)arg;
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
static int line_trips(int64_t end, size_t trips)
{
    atomic_store(&sh->line, 0);
    pid_t pid = spawn(child_line, NULL);
    if (pid < 0)
        return -1;
    nsamples = 0;
    for (uint64_t i = 0; nsamples < trips; i++) {
        int64_t t0 = now_ns();
        atomic_store_explicit(&sh->line, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&sh->line, memory_order_acquire) !=
               2 * i + 2)
            relax();
        int64_t t1 = now_ns();
        samples[nsamples++] = (uint64_t)(t1 - t0);
        if (t1 >= end)
            break;
    }
    atomic_store(&sh->line, UINT64_MAX);
    return reap(pid);
}

/* The placement indicator: median of a short cache-line ping-pong. */
static double probe(void)
{
    if (line_trips(INT64_MAX, PROBE_TRIPS) != 0)
        return -1;
    return quantile_samples(0.5);
}

/* ---- throughput ----------------------------------------------------------- */

enum { T_CHAN, T_CHAN_ZC, T_BARE, T_PIPE, T_MEMCPY, T_KINDS };
static const char *const t_names[T_KINDS] = {"chan_copy", "chan_zero_copy",
                                             "bare_ring", "pipe", "memcpy"};

struct tput {
    size_t size;
    hipc_chan c;      /* the parent's consumer end */
    unsigned char *src;
    unsigned char *dst; /* capacity bytes: the ring's working set */
    int fds[2];
    int zero_copy;
};

static int child_chan_send(void *arg, int ready_fd)
{
    struct tput *t = arg;
    hipc_chan p;
    hipc_chan_config cfg = {.spin_ns = tput_spin};
    if (hipc_chan_attach_mem(&p, t->c.shm.data, t->c.shm.size,
                             HIPC_CHAN_PRODUCER, &cfg) != HIPC_OK)
        return 10;
    say_ready(ready_fd);
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
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

static int tput_chan(struct tput *t, const struct opts *o, double *rate)
{
    pid_t pid = spawn(child_chan_send, t);
    if (pid < 0)
        return -1;
    uint64_t n = 0, sink = 0;
    int64_t t0 = now_ns(), end = t0 + o->round_ns, t1;
    int bad = 0;
    do {
        for (int i = 0; i < 16 && !bad; i++, n++)
            bad = chan_take(t, &sink) != (int)t->size;
        t1 = now_ns();
    } while (t1 < end && !bad);
    atomic_store(&sh->stop, 1);
    while (chan_take(t, &sink) >= 0)
        ; /* drain until the child has closed: HIPC_E_PEER_GONE */
    /* The sum must escape: left in a local, the compiler drops the reads
     * and the zero-copy consumer never touches the payload (which made it
     * look as fast as memcpy in an earlier version of this program). */
    bench_sink = sink;
    *rate = (double)n * 1e9 / (double)(t1 - t0);
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

static struct bare *bare;
static size_t bare_cap;

static int child_bare_send(void *arg, int ready_fd)
{
    const struct tput *t = arg;
    uint32_t cap = (uint32_t)bare_cap, rec = (uint32_t)((t->size + 15) & ~7u);
    uint32_t tail = 0, head = 0, len = (uint32_t)t->size;
    say_ready(ready_fd);
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        uint32_t off = tail & (cap - 1), need = cap - off < rec ? cap - off + rec : rec;
        while (cap - (tail - head) < need) {
            head = atomic_load_explicit(&bare->head, memory_order_acquire);
            if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
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

static int tput_bare(struct tput *t, const struct opts *o, double *rate)
{
    atomic_store(&bare->tail, 0);
    atomic_store(&bare->head, 0);
    pid_t pid = spawn(child_bare_send, t);
    if (pid < 0)
        return -1;
    uint32_t cap = (uint32_t)bare_cap, rec = (uint32_t)((t->size + 15) & ~7u);
    uint32_t head = 0, tail = 0;
    uint64_t n = 0;
    int64_t t0 = now_ns(), end = t0 + o->round_ns, t1;
    int bad = 0;
    do {
        for (int i = 0; i < 16 && !bad; i++, n++) {
            while (head == tail)
                tail = atomic_load_explicit(&bare->tail, memory_order_acquire);
            uint32_t off = head & (cap - 1), len;
            if (cap - off < rec) {
                head += cap - off;
                off = 0;
            }
            memcpy(&len, bare->ring + off, sizeof len);
            bad = len != t->size;
            memcpy(t->dst, bare->ring + off + 8, t->size);
            head += rec;
            atomic_store_explicit(&bare->head, head, memory_order_release);
        }
        t1 = now_ns();
    } while (t1 < end && !bad);
    atomic_store(&sh->stop, 1);
    clobber();
    *rate = (double)n * 1e9 / (double)(t1 - t0);
    return reap(pid) != 0 || bad ? -1 : 0;
}

static int child_pipe_send(void *arg, int ready_fd)
{
    struct tput *t = arg;
    close(t->fds[0]);
    say_ready(ready_fd);
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed))
        if (write_all(t->fds[1], t->src, t->size) != 0)
            return 20;
    close(t->fds[1]);
    return 0;
}

static int tput_pipe(struct tput *t, const struct opts *o, double *rate)
{
    if (make_pipe(t->fds) != 0)
        return -1;
    pid_t pid = spawn(child_pipe_send, t);
    close(t->fds[1]);
    if (pid < 0) {
        close(t->fds[0]);
        return -1;
    }
    uint64_t n = 0;
    int64_t t0 = now_ns(), end = t0 + o->round_ns, t1;
    int bad = 0;
    do {
        for (int i = 0; i < 16 && !bad; i++, n++)
            bad = read_exact(t->fds[0], t->dst, t->size) != 1;
        t1 = now_ns();
    } while (t1 < end && !bad);
    atomic_store(&sh->stop, 1);
    while (read_exact(t->fds[0], t->dst, t->size) == 1)
        ;
    close(t->fds[0]);
    *rate = (double)n * 1e9 / (double)(t1 - t0);
    return reap(pid) != 0 || bad ? -1 : 0;
}

/* One thread copying messages round a 256 KiB window (1 MiB for 64 KiB
 * messages), whatever the ring's size: a window that fits the L2 is the
 * fastest memcpy here, so the baseline is the strictest one. */
#define MEMCPY_WINDOW (t->size <= 4096 ? (size_t)256 << 10 : (size_t)1 << 20)

static int tput_memcpy(struct tput *t, const struct opts *o, double *rate)
{
    size_t cap = MEMCPY_WINDOW, off = 0;
    uint64_t n = 0;
    int64_t t0 = now_ns(), end = t0 + o->round_ns, t1;
    do {
        for (int i = 0; i < 16; i++, n++) {
            if (off + t->size > cap)
                off = 0;
            memcpy(t->dst + off, t->src, t->size);
            clobber();
            off += t->size;
        }
        t1 = now_ns();
    } while (t1 < end);
    *rate = (double)n * 1e9 / (double)(t1 - t0);
    return 0;
}

static int tput_run(struct tput *t, int kind, const struct opts *o,
                    double *rate)
{
    t->zero_copy = kind == T_CHAN_ZC;
    switch (kind) {
    case T_CHAN:
    case T_CHAN_ZC:
        return tput_chan(t, o, rate);
    case T_BARE:
        return tput_bare(t, o, rate);
    case T_PIPE:
        return tput_pipe(t, o, rate);
    default:
        return tput_memcpy(t, o, rate);
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
static size_t ring_override;

static size_t ring_for(size_t size)
{
    if (ring_override != 0)
        return ring_override;
    return size <= 4096 ? (size_t)4 << 20 : (size_t)8 << 20;
}

#define RING_MAX ((size_t)64 << 20)

static int tput_setup(struct tput *t, size_t size)
{
    memset(t, 0, sizeof *t);
    t->size = size;
    hipc_chan_config cfg = {.capacity = ring_for(size), .spin_ns = tput_spin};
    int rc = hipc_chan_create(&t->c, HIPC_SHM_KEY_PRIVATE, HIPC_CHAN_CONSUMER,
                              &cfg);
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
    bare_cap = cfg.capacity;
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

static int bench_tput(size_t size, const struct opts *o, struct tput_result *res)
{
    struct tput t;
    memset(res, 0, sizeof *res);
    if (tput_setup(&t, size) != 0)
        return -1;
    res->size = size;
    res->capacity = t.c.capacity;
    int rc = 0;
    for (int r = 0; r < o->rounds && rc == 0; r++) {
        res->cl_before[r] = probe();
        for (int i = 0; i < T_KINDS && rc == 0; i++) {
            int k = r % 2 ? T_KINDS - 1 - i : i;
            rc = tput_run(&t, k, o, &res->rate[k][r]);
        }
        res->cl_after[r] = probe();
    }
    tput_teardown(&t);
    int n = o->rounds;
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
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        int bad = t->kind == P_RAW
                      ? write_all(t->raw[1], t->buf, t->size) != 0
                      : hipc_pipe_write_all(&t->hp, t->buf, t->size, NULL) !=
                            HIPC_OK;
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
    int rc = hipc_pipe_read_exact(&t->hp, t->buf, t->size, NULL);
    return rc == HIPC_OK ? 1 : rc == HIPC_E_EOF ? 0 : -1;
}

static void pio_close(struct pio *t)
{
    if (t->kind == P_RAW)
        close(t->raw[0]);
    else
        (void)hipc_pipe_close(&t->hp);
}

static int pio_run(struct pio *t, const struct opts *o, double *rate)
{
    if (pio_open(t) != 0)
        return -1;
    pid_t pid = spawn(child_pio_send, t);
    if (t->kind == P_RAW)
        close(t->raw[1]);
    else
        (void)hipc_pipe_close_end(&t->hp, HIPC_PIPE_WRITE_END);
    uint64_t n = 0;
    int64_t t0 = now_ns(), end = t0 + o->round_ns, t1 = t0;
    int bad = pid < 0;
    while (!bad) {
        for (int i = 0; i < 16 && !bad; i++, n++)
            bad = pio_read(t) != 1;
        t1 = now_ns();
        if (t1 >= end)
            break;
    }
    atomic_store(&sh->stop, 1);
    while (pid > 0 && pio_read(t) == 1)
        ;
    pio_close(t);
    *rate = (double)n * 1e9 / (double)(t1 - t0);
    return pid < 0 || reap(pid) != 0 || bad ? -1 : 0;
}

struct pio_result {
    size_t size;
    double rate[P_KINDS][MAX_ROUNDS];
    double hipc_vs_raw, ign_vs_raw;
    double call_ns[P_KINDS][MAX_ROUNDS]; /* one thread: write + read */
    double call_hipc_vs_raw, call_ign_vs_raw; /* time ratios, raw = 1 */
};

/* The library's own cost per call, without a second process's scheduling
 * in the figure: one thread writes `size` bytes into a pipe and reads them
 * back, raw calls against hipc's, in the same round. */
static int pio_calls(struct pio *t, int kind, const struct opts *o,
                     double *ns)
{
    t->kind = kind;
    if (pio_open(t) != 0)
        return -1;
    int wfd = kind == P_RAW ? t->raw[1] : t->hp.write_fd;
    int rfd = kind == P_RAW ? t->raw[0] : t->hp.read_fd;
    uint64_t n = 0;
    int bad = 0;
    int64_t t0 = now_ns(), end = t0 + o->round_ns / 4, t1;
    do {
        for (int i = 0; i < 64 && !bad; i++, n++) {
            if (kind == P_RAW)
                bad = write_all(wfd, t->buf, t->size) != 0 ||
                      read_exact(rfd, t->buf, t->size) != 1;
            else
                bad = hipc_pipe_write_all(&t->hp, t->buf, t->size, NULL) !=
                          HIPC_OK ||
                      hipc_pipe_read_exact(&t->hp, t->buf, t->size, NULL) !=
                          HIPC_OK;
        }
        t1 = now_ns();
    } while (t1 < end && !bad);
    if (kind == P_RAW) {
        close(t->raw[0]);
        close(t->raw[1]);
    } else {
        (void)hipc_pipe_close(&t->hp);
    }
    *ns = (double)(t1 - t0) / (double)n;
    return bad ? -1 : 0;
}

static int bench_pio(size_t size, const struct opts *o, struct pio_result *res)
{
    struct pio t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    t.size = res->size = size;
    t.buf = calloc(1, size);
    if (t.buf == NULL)
        return -1;
    int rc = 0;
    for (int r = 0; r < o->rounds && rc == 0; r++)
        for (int i = 0; i < P_KINDS && rc == 0; i++) {
            t.kind = r % 2 ? P_KINDS - 1 - i : i;
            rc = pio_run(&t, o, &res->rate[t.kind][r]);
        }
    for (int r = 0; r < o->rounds && rc == 0; r++)
        for (int i = 0; i < P_KINDS && rc == 0; i++) {
            int k = r % 2 ? P_KINDS - 1 - i : i;
            rc = pio_calls(&t, k, o, &res->call_ns[k][r]);
        }
    free(t.buf);
    res->call_hipc_vs_raw = ratio_median(res->call_ns[P_HIPC],
                                         res->call_ns[P_RAW], o->rounds);
    res->call_ign_vs_raw = ratio_median(res->call_ns[P_HIPC_IGN],
                                        res->call_ns[P_RAW], o->rounds);
    res->hipc_vs_raw = ratio_median(res->rate[P_HIPC], res->rate[P_RAW],
                                    o->rounds);
    res->ign_vs_raw = ratio_median(res->rate[P_HIPC_IGN], res->rate[P_RAW],
                                   o->rounds);
    return rc;
}

/* ---- latency -------------------------------------------------------------- */

enum { L_CHAN_BUSY, L_CHAN_BLOCK, L_CHAN_DEFAULT, L_PIPE, L_LINE, L_KINDS };
static const char *const l_names[L_KINDS] = {
    "chan_busy_poll", "chan_blocking", "chan_default", "pipe", "cache_line"};

struct lat {
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
        int n = hipc_chan_recv(&in, buf, sizeof buf, HIPC_CHAN_FOREVER);
        if (n <= 0)
            break; /* an empty message says stop */
        if (hipc_chan_send(&out, buf, (size_t)n, HIPC_CHAN_FOREVER) != HIPC_OK)
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
    pid_t pid = spawn(child_chan_echo, l);
    if (pid < 0)
        return -1;
    unsigned char msg[LAT_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8}, back[LAT_BYTES];
    int bad = 0;
    nsamples = 0;
    while (nsamples < MAX_SAMPLES && !bad) {
        int64_t t0 = now_ns();
        bad = hipc_chan_send(&l->to, msg, sizeof msg, WAIT_NS) != HIPC_OK ||
              hipc_chan_recv(&l->from, back, sizeof back, WAIT_NS) !=
                  (int)sizeof back;
        int64_t t1 = now_ns();
        samples[nsamples++] = (uint64_t)(t1 - t0);
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
    pid_t pid = spawn(child_pipe_echo, l);
    close(l->up[0]);
    close(l->down[1]);
    unsigned char msg[LAT_BYTES] = {1}, back[LAT_BYTES];
    int bad = pid < 0;
    nsamples = 0;
    while (nsamples < MAX_SAMPLES && !bad) {
        int64_t t0 = now_ns();
        bad = write_all(l->up[1], msg, sizeof msg) != 0 ||
              read_exact(l->down[0], back, sizeof back) != 1;
        int64_t t1 = now_ns();
        samples[nsamples++] = (uint64_t)(t1 - t0);
        if (t1 >= end)
            break;
    }
    close(l->up[1]);
    close(l->down[0]);
    return pid < 0 || reap(pid) != 0 || bad ? -1 : 0;
}

static int lat_run(struct lat *l, int kind, const struct opts *o)
{
    int64_t end = now_ns() + o->round_ns;
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
        return line_trips(end, MAX_SAMPLES);
    }
}

struct lat_result {
    double med[L_KINDS][MAX_ROUNDS], p99[L_KINDS][MAX_ROUNDS];
    double cl_before[MAX_ROUNDS], cl_after[MAX_ROUNDS];
    double busy_vs_line, block_vs_pipe, default_vs_pipe;
};

static int lat_setup(struct lat *l)
{
    memset(l, 0, sizeof *l);
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

static int bench_lat(const struct opts *o, struct lat_result *res)
{
    struct lat l;
    memset(res, 0, sizeof *res);
    if (lat_setup(&l) != 0)
        return -1;
    int rc = 0;
    for (int r = 0; r < o->rounds && rc == 0; r++) {
        res->cl_before[r] = probe();
        for (int i = 0; i < L_KINDS && rc == 0; i++) {
            int k = r % 2 ? L_KINDS - 1 - i : i;
            rc = lat_run(&l, k, o);
            res->p99[k][r] = quantile_samples(0.99);
            res->med[k][r] = quantile_samples(0.5);
        }
        res->cl_after[r] = probe();
    }
    (void)hipc_chan_close(&l.to);
    (void)hipc_chan_close(&l.from);
    int n = o->rounds;
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

struct target {
    const char *name;
    double ratio, want;
    int higher_is_better;
    unsigned part; /* the PART_* that measures it */
};

#define NTARGETS 9
#define NPIO 2
static const size_t pio_sizes[NPIO] = {64, 4096};

static void fill_targets(const struct tput_result *t, const struct lat_result *l,
                         const struct pio_result *p, struct target out[NTARGETS])
{
    out[0] = (struct target){"chan 64 B msg rate / raw pipe", t[0].chan_vs_pipe,
                             10.0, 1, PART_TPUT};
    out[1] = (struct target){"chan 4 KiB copy / memcpy", t[1].copy_vs_memcpy,
                             0.4, 1, PART_TPUT};
    out[2] = (struct target){"chan 4 KiB zero-copy / memcpy",
                             t[1].zc_vs_memcpy, 0.8, 1, PART_TPUT};
    out[3] = (struct target){"busy-poll RTT / cache-line RTT", l->busy_vs_line,
                             3.0, 0, PART_LAT};
    out[4] = (struct target){"blocking RTT / raw pipe RTT", l->block_vs_pipe,
                             1.0, 0, PART_LAT};
    out[5] = (struct target){"hipc pipe 64 B / raw loop", p[0].hipc_vs_raw,
                             0.97, 1, PART_PIO};
    out[6] = (struct target){"hipc pipe 64 B sigpipe-ign / raw", p[0].ign_vs_raw,
                             0.97, 1, PART_PIO};
    out[8] = (struct target){"hipc pipe 64 B ign, 1 thread: time",
                             p[0].call_ign_vs_raw, 1.03, 0, PART_PIO};
    out[7] = (struct target){"hipc pipe 4 KiB / raw loop", p[1].hipc_vs_raw,
                             0.97, 1, PART_PIO};
}

static int met(const struct target *t)
{
    return t->higher_is_better ? t->ratio >= t->want : t->ratio <= t->want;
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

static void print_pio(const struct opts *o, const struct pio_result *p)
{
    printf("\npipe I/O, Mmsg/s   %10s %10s %10s   %9s %9s\n", "raw loop",
           "hipc", "hipc ign", "hipc/raw", "ign/raw");
    for (int s = 0; s < NPIO; s++) {
        printf("  %6zu B        ", p[s].size);
        for (int k = 0; k < P_KINDS; k++)
            printf(" %10.3f", median(p[s].rate[k], o->rounds) / 1e6);
        printf("   %9.3f %9.3f\n", p[s].hipc_vs_raw, p[s].ign_vs_raw);
    }
    printf("one thread, ns per write + read (time ratios, raw = 1)\n");
    for (int s = 0; s < NPIO; s++) {
        printf("  %6zu B        ", p[s].size);
        for (int k = 0; k < P_KINDS; k++)
            printf(" %10.0f", median(p[s].call_ns[k], o->rounds));
        printf("   %9.3f %9.3f\n", p[s].call_hipc_vs_raw, p[s].call_ign_vs_raw);
    }
}

static void print_tput(const struct opts *o, const struct tput_result *t);
static void print_lat(const struct opts *o, const struct lat_result *l);

static void print_table(const struct opts *o, const struct tput_result *t,
                        const struct lat_result *l, const struct pio_result *p,
                        const struct target *tg)
{
    int n = o->rounds;
    printf("hipc bench: %d interleaved rounds of %.0f ms per kind; CPUs %d,%d;"
           " figures are medians over rounds,\nratios the median of "
           "per-round ratios.\n\n", n, (double)o->round_ns / 1e6,
           cpu_parent, cpu_child);
    if (o->parts & PART_TPUT)
        print_tput(o, t);
    if (o->parts & PART_LAT)
        print_lat(o, l);
    if (o->parts & PART_PIO)
        print_pio(o, p);
    printf("\ntargets (same run):\n");
    for (int i = 0; i < NTARGETS; i++) {
        if (!(o->parts & tg[i].part)) {
            printf("  %-34s  not run\n", tg[i].name);
            continue;
        }
        printf("  %-34s %8.4f  want %s %.2f  %s\n", tg[i].name, tg[i].ratio,
               tg[i].higher_is_better ? ">=" : "<=", tg[i].want,
               met(&tg[i]) ? "met" : "MISSED");
    }
}

static void print_tput(const struct opts *o, const struct tput_result *t)
{
    int n = o->rounds;
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

static void print_lat(const struct opts *o, const struct lat_result *l)
{
    int n = o->rounds;
    printf("\nround trip, %d B     median ns    p99 ns\n", LAT_BYTES);
    for (int k = 0; k < L_KINDS; k++)
        printf("  %-16s %12.0f %9.0f\n", l_names[k], median(l->med[k], n),
               median(l->p99[k], n));
    printf("  busy/cache-line %.2f   blocking/pipe %.2f   default/pipe %.2f\n",
           l->busy_vs_line, l->block_vs_pipe, l->default_vs_pipe);
    print_placement(l->cl_before, l->cl_after, n);
}

static void json_array(const char *name, const double *v, int n, int last)
{
    printf("\"%s\": [", name);
    for (int i = 0; i < n; i++)
        printf("%s%.6g", i ? ", " : "", v[i]);
    printf("]%s", last ? "" : ", ");
}

static void print_json_lat(const struct opts *o, const struct lat_result *l);
static void print_json_targets(const struct opts *o, const struct target *tg);

static void print_json(const struct opts *o, const struct tput_result *t,
                       const struct lat_result *l, const struct pio_result *p,
                       const struct target *tg)
{
    int n = o->rounds;
    printf("{\"rounds\": %d, \"round_ms\": %.1f, \"cpus\": [%d, %d],\n",
           n, (double)o->round_ns / 1e6, cpu_parent, cpu_child);
    printf(" \"throughput\": [\n");
    for (int s = 0; s < NSIZES && (o->parts & PART_TPUT); s++) {
        printf("  {\"size\": %zu, \"ring\": %zu, ", t[s].size, t[s].capacity);
        for (int k = 0; k < T_KINDS; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s_msgs_per_s", t_names[k]);
            json_array(name, t[s].rate[k], n, 0);
        }
        json_array("cache_line_before_ns", t[s].cl_before, n, 0);
        json_array("cache_line_after_ns", t[s].cl_after, n, 0);
        printf("\"chan_vs_pipe\": %.4g, \"copy_vs_memcpy\": %.4g, "
               "\"zero_copy_vs_memcpy\": %.4g, \"copy_vs_bare_ring\": %.4g}%s\n",
               t[s].chan_vs_pipe, t[s].copy_vs_memcpy, t[s].zc_vs_memcpy,
               t[s].copy_vs_bare,
               s + 1 < NSIZES ? "," : "");
    }
    printf(" ],\n \"latency\": ");
    if (o->parts & PART_LAT)
        print_json_lat(o, l);
    else
        printf("null,\n");
    printf(" \"pipe_io\": [\n");
    for (int s = 0; s < NPIO && (o->parts & PART_PIO); s++) {
        printf("  {\"size\": %zu, ", p[s].size);
        for (int k = 0; k < P_KINDS; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s_msgs_per_s", p_names[k]);
            json_array(name, p[s].rate[k], n, 0);
        }
        for (int k = 0; k < P_KINDS; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s_one_thread_ns", p_names[k]);
            json_array(name, p[s].call_ns[k], n, 0);
        }
        printf("\"hipc_vs_raw\": %.4g, \"sigpipe_ignored_vs_raw\": %.4g, "
               "\"one_thread_time_hipc_vs_raw\": %.4g, "
               "\"one_thread_time_ignored_vs_raw\": %.4g}%s\n",
               p[s].hipc_vs_raw, p[s].ign_vs_raw, p[s].call_hipc_vs_raw,
               p[s].call_ign_vs_raw, s + 1 < NPIO ? "," : "");
    }
    print_json_targets(o, tg);
}

static void print_json_lat(const struct opts *o, const struct lat_result *l)
{
    int n = o->rounds;
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
           "\"default_vs_pipe\": %.4g},\n", l->busy_vs_line, l->block_vs_pipe,
           l->default_vs_pipe);
}

static void print_json_targets(const struct opts *o, const struct target *tg)
{
    printf(" ],\n \"targets\": [\n");
    for (int i = 0; i < NTARGETS; i++)
        printf("  {\"name\": \"%s\", \"ratio\": %.4g, \"want\": %.3g, "
               "\"higher_is_better\": %s, \"met\": %s}%s\n", tg[i].name,
               tg[i].ratio, tg[i].want, tg[i].higher_is_better ? "true" : "false",
               !(o->parts & tg[i].part) ? "null"
               : met(&tg[i])            ? "true"
                                        : "false",
               i + 1 < NTARGETS ? "," : "");
    printf(" ]}\n");
}

/* ---- command line ------------------------------------------------------------ */

static int usage(const char *prog, FILE *f)
{
    fprintf(f, "usage: %s [--quick] [--json] [--rounds N] [--round-ms MS] "
               "[--no-pin] [--spin-ns NS]\n"
               "       [--only throughput|latency|pipe] [--ring BYTES]\n"
               "  default: 15 rounds of 50 ms per kind (about 30 s); --quick: "
               "3 rounds of 15 ms\n"
               "  --spin-ns: busy-poll time of the throughput channels' ends "
               "(-1: never sleep)\n", prog);
    return f == stderr ? 2 : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){15, 50 * 1000 * 1000, 0, 1, 0, PART_ALL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            o->rounds = 3;
            o->round_ns = 15 * 1000 * 1000;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--no-pin") == 0) {
            o->pin = 0;
        } else if (strcmp(a, "--rounds") == 0 && i + 1 < argc) {
            o->rounds = atoi(argv[++i]);
            if (o->rounds < 1 || o->rounds > MAX_ROUNDS)
                return -1;
        } else if (strcmp(a, "--round-ms") == 0 && i + 1 < argc) {
            int ms = atoi(argv[++i]);
            if (ms < 1 || ms > 10000)
                return -1;
            o->round_ns = (int64_t)ms * 1000 * 1000;
        } else if (strcmp(a, "--spin-ns") == 0 && i + 1 < argc) {
            o->spin_ns = atoll(argv[++i]);
            if (o->spin_ns < 0)
                o->spin_ns = HIPC_CHAN_SPIN_ALWAYS;
        } else if (strcmp(a, "--ring") == 0 && i + 1 < argc) {
            ring_override = (size_t)atoll(argv[++i]);
            if (ring_override < 65536 || ring_override > RING_MAX ||
                (ring_override & (ring_override - 1)) != 0)
                return -1;
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
            const char *w = argv[++i];
            o->parts = strcmp(w, "throughput") == 0 ? PART_TPUT
                       : strcmp(w, "latency") == 0  ? PART_LAT
                       : strcmp(w, "pipe") == 0     ? PART_PIO
                                                    : 0;
            if (o->parts == 0)
                return -1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else {
            return -1;
        }
    }
    return 0;
}

static int run_all(const struct opts *o)
{
    static struct tput_result t[NSIZES];
    static struct lat_result l;
    static struct pio_result p[NPIO];
    for (int s = 0; s < NSIZES && (o->parts & PART_TPUT); s++)
        if (bench_tput(sizes[s], o, &t[s]) != 0) {
            fprintf(stderr, "bench: throughput at %zu B failed\n", sizes[s]);
            return 1;
        }
    if ((o->parts & PART_LAT) && bench_lat(o, &l) != 0) {
        fprintf(stderr, "bench: latency failed\n");
        return 1;
    }
    for (int s = 0; s < NPIO && (o->parts & PART_PIO); s++)
        if (bench_pio(pio_sizes[s], o, &p[s]) != 0) {
            fprintf(stderr, "bench: pipe I/O at %zu B failed\n", pio_sizes[s]);
            return 1;
        }
    struct target tg[NTARGETS];
    fill_targets(t, &l, p, tg);
    if (o->json)
        print_json(o, t, &l, p, tg);
    else
        print_table(o, t, &l, p, tg);
    return 0;
}

int hipc_bench_main(int argc, char **argv)
{
    struct opts o;
    int p = parse(argc, argv, &o);
    if (p != 0)
        return usage(argv[0], p < 0 ? stderr : stdout);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    samples = malloc(MAX_SAMPLES * sizeof *samples);
    size_t bare_size = sizeof *bare + RING_MAX;
    bare = mmap(NULL, bare_size, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || samples == NULL || bare == MAP_FAILED) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    pick_cpus(o.pin);
    tput_spin = o.spin_ns;
    int rc = run_all(&o);
    free(samples);
    munmap(sh, sizeof *sh);
    munmap(bare, bare_size);
    return rc;
}
