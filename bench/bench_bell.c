/* SPDX-License-Identifier: MIT */
/* hipc_bench_bell — waiting for a channel in an event loop (issue 16),
 * against the other ways to wait, in one run, interleaved (A B, B A, ...:
 * see GUIDE.md on the machines' placement flips), reporting medians of
 * per-round figures and of per-round ratios:
 *   rtt:    a 64-byte ping-pong between two processes over two channels,
 *           each side waiting in epoll on its consumer's descriptor
 *           (hipc_chan_get_fd), against the same with blocking recv on
 *           the futex (spin 1 ns: a pure sleep), against a raw pipe
 *           pair (blocking read/write of 64 bytes), and against the same
 *           pipes waited in epoll (epoll_wait, then read: what any event
 *           loop pays on a plain descriptor, so the figures split the
 *           loop's cost from hipc's);
 *   stream: 64-byte messages from a producer with blocking sends, the
 *           consumer draining in an epoll loop, against a consumer in a
 *           blocking recv (both with the default spin for the producer);
 *   fan-out (interleaved among themselves): a round trip over two state
 *           blocks, each side's reader in epoll on hipc_state_get_fd
 *           against the same in a blocking hipc_state_wait; over two
 *           broadcast rings, each consumer in epoll on hipc_bcast_get_fd
 *           against a blocking recv (spin 1 ns); a broadcast stream kept
 *           in flow by acks (WINDOW messages in flight; the producer
 *           waits for acks on a state block, the same in both) into a
 *           consumer in epoll against one in a blocking recv (default
 *           spin). Each round's ratio is printed as well as the median.
 * The two sides of a stream run on CPUs of their own (producer on the
 * first, consumer on the rest); the round trips are left to the
 * scheduler.
 * --quick: a smoke (few rounds), --json: one JSON object on stdout,
 * --only VARIANT N: one variant alone (for strace -c, perf stat; also
 * rtt_epoll_spin and rtt_futex_spin: the round trips with the default
 * spin, for A/B runs of the spin after progress; stream_try: the stream
 * into a consumer that calls with timeout 0 until a message comes, no
 * descriptor, no loop).
 * Timings are never asserted anywhere. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpus.h"
#include "hipc/bcast.h"
#include "hipc/chan.h"
#include "hipc/error.h"
#include "hipc/state.h"

#define MSG 64
#define CAP (1u << 16)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_bell: %s\n", what);
    exit(1);
}

/* A channel in shared anonymous memory, formatted, for both processes. */
static void *chan_mem(size_t *size)
{
    if (hipc_chan_mem_size(CAP, size) != HIPC_OK)
        die("mem_size");
    void *p = mmap(NULL, *size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    hipc_chan_config cfg = {.capacity = CAP};
    if (p == MAP_FAILED || hipc_chan_init_mem(p, *size, &cfg) != HIPC_OK)
        die("chan memory");
    return p;
}

/* The two sides of a stream on CPUs of their own (cpus.h), as in the other
 * benches: a stream measures two CPUs at work, not two processes taking
 * turns on one (a forked side starts on its parent's CPU). The VM's own
 * placement still moves the figures between rounds (GUIDE.md): the
 * per-round ratios are what to read. */
static cpu_set_t all_cpus, child_cpus, parent_cpus;
static int pinned;

static void pin_setup(void)
{
    if (sched_getaffinity(0, sizeof all_cpus, &all_cpus) != 0)
        return;
    pinned = hipc_bench_split_cpus(&child_cpus, &parent_cpus);
    (void)sched_setaffinity(0, sizeof all_cpus, &all_cpus);
}

/* After a pinned run: the wake-up round trips are left to the scheduler,
 * which puts a woken side on its waker's CPU where it can; pinned apart,
 * every wake-up would be a cross-CPU one (2-3x slower here, pipes too). */
static void unpin(void)
{
    if (pinned)
        (void)sched_setaffinity(0, sizeof all_cpus, &all_cpus);
}

static pid_t fork_apart(void)
{
    pid_t pid = fork();
    if (pid >= 0 && pinned)
        (void)sched_setaffinity(0, sizeof child_cpus,
                                pid == 0 ? &child_cpus : &parent_cpus);
    return pid;
}

/* WAIT_TRY: no descriptor; the consumer calls with timeout 0 until a
 * message comes (a diagnostic: what a try costs without the loop's
 * syscalls). */
enum wait_kind { WAIT_EPOLL, WAIT_FUTEX, WAIT_TRY };

/* One end waiting the chosen way: an epoll set on its descriptor. */
struct end {
    hipc_chan ch;
    int ep;
    enum wait_kind how;
};

static void end_attach(struct end *e, void *mem, size_t size,
                       hipc_chan_role role, enum wait_kind how, int64_t spin)
{
    hipc_chan_config cfg = {.spin_ns = spin};
    e->ep = -1;
    e->how = how;
    if (hipc_chan_attach_mem(&e->ch, mem, size, role, &cfg) != HIPC_OK)
        die("attach");
    if (how != WAIT_EPOLL || role != HIPC_CHAN_CONSUMER)
        return;
    int fd = -1;
    e->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (e->ep < 0 || hipc_chan_get_fd(&e->ch, &fd) != HIPC_OK ||
        epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("bell");
}

static void end_close(struct end *e)
{
    if (e->ep >= 0)
        close(e->ep);
    hipc_chan_close(&e->ch);
}

/* The next message, waited for the end's way; its length or a code. */
static int take(struct end *e, void *buf)
{
    if (e->how == WAIT_TRY) {
        int n;
        while ((n = hipc_chan_recv(&e->ch, buf, MSG, 0)) == HIPC_E_AGAIN)
            ;
        return n;
    }
    if (e->ep < 0)
        return hipc_chan_recv(&e->ch, buf, MSG, HIPC_FOREVER);
    for (;;) {
        int n = hipc_chan_recv(&e->ch, buf, MSG, 0);
        if (n != HIPC_E_AGAIN)
            return n;
        struct epoll_event ev;
        if (epoll_wait(e->ep, &ev, 1, -1) < 0 && errno != EINTR)
            return HIPC_E_SYS;
    }
}

/* ---- round trips -------------------------------------------------------- */

struct pair {
    void *ping, *pong;
    size_t size;
};

static void pong_side(struct pair *p, enum wait_kind how, int64_t spin, int n)
{
    struct end in, out;
    unsigned char buf[MSG];
    end_attach(&in, p->ping, p->size, HIPC_CHAN_CONSUMER, how, spin);
    end_attach(&out, p->pong, p->size, HIPC_CHAN_PRODUCER, how, spin);
    for (int i = 0; i < n; i++)
        if (take(&in, buf) != MSG ||
            hipc_chan_send(&out.ch, buf, MSG, HIPC_FOREVER) != HIPC_OK)
            _exit(1);
    end_close(&in);
    end_close(&out);
    _exit(0);
}

/* Seconds per round trip over n, through channels waited on `how`. */
static double rtt_chan(enum wait_kind how, int64_t spin, int n)
{
    struct pair p;
    p.ping = chan_mem(&p.size);
    p.pong = chan_mem(&p.size);
    pid_t pid = fork();
    if (pid == 0)
        pong_side(&p, how, spin, n + 1);
    struct end out, in;
    unsigned char buf[MSG] = {0};
    end_attach(&out, p.ping, p.size, HIPC_CHAN_PRODUCER, how, spin);
    end_attach(&in, p.pong, p.size, HIPC_CHAN_CONSUMER, how, spin);
    /* One trip first, so both sides are attached and warm. */
    if (hipc_chan_send(&out.ch, buf, MSG, HIPC_FOREVER) != HIPC_OK ||
        take(&in, buf) != MSG)
        die("warm-up trip");
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (hipc_chan_send(&out.ch, buf, MSG, HIPC_FOREVER) != HIPC_OK ||
            take(&in, buf) != MSG)
            die("trip");
    double t = (now_s() - t0) / n;
    int status = 1;
    end_close(&out);
    end_close(&in);
    waitpid(pid, &status, 0);
    munmap(p.ping, p.size);
    munmap(p.pong, p.size);
    if (status != 0)
        die("pong side");
    return t;
}

static double rtt_epoll(int n)
{
    return rtt_chan(WAIT_EPOLL, 1, n);
}

static double rtt_futex(int n)
{
    return rtt_chan(WAIT_FUTEX, 1, n);
}

/* The same two round trips with the default spin (a request/response
 * loop that leaves the spin as it is). */
static double rtt_epoll_spin(int n)
{
    return rtt_chan(WAIT_EPOLL, 0, n);
}

static double rtt_futex_spin(int n)
{
    return rtt_chan(WAIT_FUTEX, 0, n);
}

static int full_io(ssize_t (*io)(int, void *, size_t), int fd, void *buf)
{
    size_t done = 0;
    while (done < MSG) {
        ssize_t k = io(fd, (char *)buf + done, MSG - done);
        if (k <= 0 && !(k < 0 && errno == EINTR))
            return -1;
        done += k > 0 ? (size_t)k : 0;
    }
    return 0;
}

static ssize_t write_io(int fd, void *buf, size_t n)
{
    return write(fd, buf, n);
}

static double rtt_pipe(int n)
{
    int a[2], b[2];
    unsigned char buf[MSG] = {0};
    if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0)
        die("pipe2");
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < n + 1; i++)
            if (full_io(read, a[0], buf) != 0 ||
                full_io(write_io, b[1], buf) != 0)
                _exit(1);
        _exit(0);
    }
    if (full_io(write_io, a[1], buf) != 0 || full_io(read, b[0], buf) != 0)
        die("pipe warm-up");
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (full_io(write_io, a[1], buf) != 0 || full_io(read, b[0], buf) != 0)
            die("pipe trip");
    double t = (now_s() - t0) / n;
    int status = 1;
    waitpid(pid, &status, 0);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    if (status != 0)
        die("pipe side");
    return t;
}

/* A pipe end read the way an event loop reads it: wait in epoll for
 * readability, then read. What any loop pays to wait on a plain
 * descriptor, hipc's bell or not. */
struct looped {
    int ep, fd;
};

static void looped_open(struct looped *l, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN};
    l->fd = fd;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("pipe epoll");
}

static int looped_read(struct looped *l, void *buf)
{
    size_t done = 0;
    while (done < MSG) {
        struct epoll_event ev;
        if (epoll_wait(l->ep, &ev, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        ssize_t k = read(l->fd, (char *)buf + done, MSG - done);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
            return -1;
        done += k > 0 ? (size_t)k : 0;
    }
    return 0;
}

static double rtt_pipe_epoll(int n)
{
    int a[2], b[2];
    unsigned char buf[MSG] = {0};
    struct looped in;
    if (pipe2(a, O_CLOEXEC | O_NONBLOCK) != 0 ||
        pipe2(b, O_CLOEXEC | O_NONBLOCK) != 0)
        die("pipe2");
    pid_t pid = fork();
    if (pid == 0) {
        looped_open(&in, a[0]);
        for (int i = 0; i < n + 1; i++)
            if (looped_read(&in, buf) != 0 || full_io(write_io, b[1], buf) != 0)
                _exit(1);
        _exit(0);
    }
    looped_open(&in, b[0]);
    if (full_io(write_io, a[1], buf) != 0 || looped_read(&in, buf) != 0)
        die("pipe warm-up");
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (full_io(write_io, a[1], buf) != 0 || looped_read(&in, buf) != 0)
            die("pipe trip");
    double t = (now_s() - t0) / n;
    int status = 1;
    waitpid(pid, &status, 0);
    close(in.ep);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    if (status != 0)
        die("pipe side");
    return t;
}

/* ---- streams ------------------------------------------------------------- */

/* Seconds per message over n, the consumer waiting `how`. */
static double stream(enum wait_kind how, int n)
{
    size_t size;
    void *mem = chan_mem(&size);
    pid_t pid = fork_apart();
    if (pid == 0) {
        struct end p;
        unsigned char buf[MSG] = {0};
        end_attach(&p, mem, size, HIPC_CHAN_PRODUCER, how, 0);
        for (int i = 0; i < n; i++)
            if (hipc_chan_send(&p.ch, buf, MSG, HIPC_FOREVER) != HIPC_OK)
                _exit(1);
        end_close(&p);
        _exit(0);
    }
    struct end c;
    unsigned char buf[MSG];
    end_attach(&c, mem, size, HIPC_CHAN_CONSUMER, how, 0);
    if (take(&c, buf) != MSG) /* the clock starts at the first message */
        die("first message");
    double t0 = now_s();
    for (int i = 1; i < n; i++)
        if (take(&c, buf) != MSG)
            die("stream message");
    double t = (now_s() - t0) / (n - 1);
    int status = 1;
    end_close(&c);
    waitpid(pid, &status, 0);
    unpin();
    munmap(mem, size);
    if (status != 0)
        die("producer");
    return t;
}

static double stream_epoll(int n)
{
    return stream(WAIT_EPOLL, n);
}

static double stream_blocking(int n)
{
    return stream(WAIT_FUTEX, n);
}

static double stream_try(int n)
{
    return stream(WAIT_TRY, n);
}

/* ---- fan-out readers: state blocks and broadcast rings ------------------ */

/* The objects of a fan-out run: each process writes one and reads the
 * other's. The parent makes its own before the fork (the child finds it
 * by the id in its copy of the parent's memory); the child makes its own
 * and sends the id on a pipe. Both are marked removed once both sides
 * hold them, so nothing outlives the run. */
#define SVALUE 64u
#define WINDOW 256 /* a stream's messages in flight before an ack */

struct fan {
    hipc_state_writer sw;
    hipc_state_reader sr;
    hipc_bcast bp, bc;
    int ep; /* the reader's epoll set, or -1: it blocks */
};

static void fan_epoll(struct fan *f, enum wait_kind how, int bcast)
{
    int fd = -1;
    f->ep = -1;
    if (how != WAIT_EPOLL)
        return;
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    int rc =
        bcast ? hipc_bcast_get_fd(&f->bc, &fd) : hipc_state_get_fd(&f->sr, &fd);
    if (f->ep < 0 || rc != HIPC_OK ||
        epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("fan-out bell");
}

/* The next value of the state block read, waited for the reader's way. */
static int state_take(struct fan *f, void *buf)
{
    int rc;
    while ((rc = hipc_state_wait(&f->sr, f->ep < 0 ? HIPC_FOREVER : 0)) ==
           HIPC_E_AGAIN) {
        struct epoll_event ev;
        if (epoll_wait(f->ep, &ev, 1, -1) < 0 && errno != EINTR)
            return HIPC_E_SYS;
    }
    return rc == HIPC_OK ? hipc_state_read(&f->sr, buf, SVALUE, NULL) : rc;
}

/* The next broadcast message, waited for the consumer's way. */
static int bcast_take(struct fan *f, void *buf)
{
    int n;
    while (
        (n = hipc_bcast_recv(&f->bc, buf, MSG, f->ep < 0 ? HIPC_FOREVER : 0)) ==
        HIPC_E_AGAIN) {
        struct epoll_event ev;
        if (epoll_wait(f->ep, &ev, 1, -1) < 0 && errno != EINTR)
            return HIPC_E_SYS;
    }
    return n;
}

/* Makes this side's object: a state block (state) or a ring. */
static int fan_make(struct fan *f, int state)
{
    hipc_bcast_config cfg = {.capacity = CAP};
    int rc = state
                 ? hipc_state_create(&f->sw, HIPC_SHM_KEY_PRIVATE, SVALUE, NULL)
                 : hipc_bcast_create(&f->bp, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc != HIPC_OK)
        die("fan-out create");
    /* No public getter for a state block's id: the handle's segment. */
    return state ? f->sw.shm_.id : f->bp.shm.id;
}

/* Opens the other side's object by id: a state block or a ring. */
static void fan_open(struct fan *f, int state, int id, int64_t spin)
{
    hipc_bcast_config cfg = {.spin_ns = spin};
    int rc = state ? hipc_state_open_reader_id(&f->sr, id, NULL)
                   : hipc_bcast_open_consumer_id(&f->bc, id, &cfg);
    if (rc != HIPC_OK)
        die("fan-out open");
}

static void fan_remove(struct fan *f, int state)
{
    (void)(state ? hipc_state_remove(&f->sw) : hipc_bcast_remove(&f->bp));
}

static void fan_close(struct fan *f, int wrote_state, int read_state)
{
    if (f->ep >= 0)
        close(f->ep);
    (void)(wrote_state ? hipc_state_close_writer(&f->sw)
                       : hipc_bcast_close(&f->bp));
    (void)(read_state ? hipc_state_close_reader(&f->sr)
                      : hipc_bcast_close(&f->bc));
}

/* Child's half of the set-up: opens the parent's object (`theirs`, id),
 * makes its own (`mine`), sends its id, waits for the parent's word that
 * it holds it, then marks its own removed. */
static void fan_child_setup(struct fan *f, int theirs, int id, int mine,
                            int pipes[2][2], enum wait_kind how, int64_t spin)
{
    fan_open(f, theirs, id, spin);
    fan_epoll(f, how, !theirs);
    int my = fan_make(f, mine);
    char c;
    if (write(pipes[1][1], &my, sizeof my) != sizeof my ||
        read(pipes[0][0], &c, 1) != 1)
        _exit(1);
    fan_remove(f, mine);
}

/* Parent's half: opens the child's object, says so, marks its own
 * removed. */
static void fan_parent_setup(struct fan *f, int theirs, int mine,
                             int pipes[2][2], enum wait_kind how, int64_t spin)
{
    int id;
    if (read(pipes[1][0], &id, sizeof id) != sizeof id)
        die("fan-out child");
    fan_open(f, theirs, id, spin);
    fan_epoll(f, how, !theirs);
    if (write(pipes[0][1], "g", 1) != 1)
        die("fan-out go");
    fan_remove(f, mine);
}

static void fan_pipes(int pipes[2][2])
{
    if (pipe2(pipes[0], O_CLOEXEC) != 0 || pipe2(pipes[1], O_CLOEXEC) != 0)
        die("pipe2");
}

static void fan_end(pid_t pid, int pipes[2][2], const char *what)
{
    int status = 1;
    waitpid(pid, &status, 0);
    for (int i = 0; i < 2; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    if (status != 0)
        die(what);
}

/* One trip: publish into ours, take from theirs. */
static int fan_trip(struct fan *f, int state, unsigned char *buf)
{
    if (state)
        return hipc_state_publish(&f->sw, buf, SVALUE) == HIPC_OK &&
               state_take(f, buf) == (int)SVALUE;
    return hipc_bcast_send(&f->bp, buf, MSG) == HIPC_OK &&
           bcast_take(f, buf) == MSG;
}

/* Seconds per round trip over n: two state blocks (state) or two rings,
 * each side's reader waiting `how` (blocking: the futex, spin 1 ns). */
static double rtt_fan(int state, enum wait_kind how, int n)
{
    struct fan f;
    unsigned char buf[SVALUE] = {0};
    int pipes[2][2];
    fan_pipes(pipes);
    int id = fan_make(&f, state);
    pid_t pid = fork();
    if (pid == 0) {
        fan_child_setup(&f, state, id, state, pipes, how, 1);
        for (int i = 0; i < n + 1; i++) {
            int ok = state ? state_take(&f, buf) == (int)SVALUE
                           : bcast_take(&f, buf) == MSG;
            if (!ok ||
                !(state ? hipc_state_publish(&f.sw, buf, SVALUE) == HIPC_OK
                        : hipc_bcast_send(&f.bp, buf, MSG) == HIPC_OK))
                _exit(1);
        }
        fan_close(&f, state, state);
        _exit(0);
    }
    fan_parent_setup(&f, state, state, pipes, how, 1);
    if (!fan_trip(&f, state, buf))
        die("fan-out warm-up trip");
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (!fan_trip(&f, state, buf))
            die("fan-out trip");
    double t = (now_s() - t0) / n;
    fan_close(&f, state, state);
    fan_end(pid, pipes, "fan-out pong side");
    return t;
}

static double rtt_state_epoll(int n)
{
    return rtt_fan(1, WAIT_EPOLL, n);
}

static double rtt_state_wait(int n)
{
    return rtt_fan(1, WAIT_FUTEX, n);
}

static double rtt_bcast_epoll(int n)
{
    return rtt_fan(0, WAIT_EPOLL, n);
}

static double rtt_bcast_recv(int n)
{
    return rtt_fan(0, WAIT_FUTEX, n);
}

/* A broadcast stream kept in flow by acks: the child produces n messages
 * with at most WINDOW unacknowledged, waiting (blocking, the same for both
 * variants) on a state block in which the consumer publishes its count
 * every WINDOW / 4 messages. Only the consumer's way of waiting differs:
 * seconds per message. */
static void stream_fan_producer(struct fan *f, int n)
{
    unsigned char buf[SVALUE] = {0};
    uint64_t acked = 0;
    for (int i = 0; i < n; i++) {
        while ((uint64_t)i - acked >= WINDOW) {
            if (hipc_state_wait(&f->sr, HIPC_FOREVER) != HIPC_OK ||
                hipc_state_read(&f->sr, buf, SVALUE, NULL) != (int)SVALUE)
                _exit(1);
            memcpy(&acked, buf, sizeof acked);
        }
        if (hipc_bcast_send(&f->bp, buf, MSG) != HIPC_OK)
            _exit(1);
    }
}

static double stream_fan(enum wait_kind how, int n)
{
    struct fan f;
    unsigned char buf[SVALUE] = {0};
    int pipes[2][2];
    fan_pipes(pipes);
    int id = fan_make(&f, 1);
    pid_t pid = fork_apart();
    if (pid == 0) {
        f.ep = -1;
        fan_child_setup(&f, 1, id, 0, pipes, WAIT_FUTEX, 0);
        stream_fan_producer(&f, n);
        fan_close(&f, 0, 1);
        _exit(0);
    }
    fan_parent_setup(&f, 0, 1, pipes, how, 0);
    if (bcast_take(&f, buf) != MSG) /* the clock starts at the first */
        die("fan-out first message");
    double t0 = now_s();
    for (uint64_t i = 2; i <= (uint64_t)n; i++) {
        if (bcast_take(&f, buf) != MSG)
            die("fan-out stream message");
        if (i % (WINDOW / 4) == 0) {
            memcpy(buf, &i, sizeof i);
            if (hipc_state_publish(&f.sw, buf, SVALUE) != HIPC_OK)
                die("fan-out ack");
        }
    }
    double t = (now_s() - t0) / (n - 1);
    fan_close(&f, 1, 0);
    fan_end(pid, pipes, "fan-out producer");
    unpin();
    return t;
}

static double stream_bcast_epoll(int n)
{
    return stream_fan(WAIT_EPOLL, n);
}

static double stream_bcast_recv(int n)
{
    return stream_fan(WAIT_FUTEX, n);
}

/* ---- rounds -------------------------------------------------------------- */

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

#define MAX_ROUNDS 32

/* Rounds of every variant, the order rotating each round; t[v][r]. */
static void rounds_of(double (*fn[])(int), int nv, int rounds, int n,
                      double t[][MAX_ROUNDS])
{
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < nv; k++) {
            int v = (k + r) % nv;
            t[v][r] = fn[v](n);
        }
}

/* Median over rounds of t[a][r] / t[b][r]. */
static double ratio(double t[][MAX_ROUNDS], int a, int b, int rounds)
{
    double q[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        q[r] = t[a][r] / t[b][r];
    return median(q, rounds);
}

/* Each round's t[a][r] / t[b][r] (inverse: t[b][r] / t[a][r], a rate's
 * ratio), as a JSON array or a text list. */
static void per_round(double t[][MAX_ROUNDS], int a, int b, int inverse,
                      int rounds, int json)
{
    printf(json ? "[" : "");
    for (int r = 0; r < rounds; r++)
        printf(json ? "%s%.3f" : "%s%.2f", r ? (json ? ", " : " ") : "",
               inverse ? t[b][r] / t[a][r] : t[a][r] / t[b][r]);
    printf(json ? "]" : "");
}

/* The fan-out rows: state and broadcast readers in epoll against the
 * same readers blocking, interleaved among themselves. */
static void fan_rows(int rounds, int quick, int json)
{
    double rt[4][MAX_ROUNDS], st[2][MAX_ROUNDS], med[4], smed[2];
    double (*rtt[])(int) = {rtt_state_epoll, rtt_state_wait, rtt_bcast_epoll,
                            rtt_bcast_recv};
    double (*str[])(int) = {stream_bcast_epoll, stream_bcast_recv};
    rounds_of(rtt, 4, rounds, quick ? 200 : 10000, rt);
    rounds_of(str, 2, rounds, quick ? 20000 : 1000000, st);
    for (int v = 0; v < 4; v++)
        med[v] = median(rt[v], rounds) * 1e6;
    for (int v = 0; v < 2; v++)
        smed[v] = 1.0 / median(st[v], rounds) / 1e6;
    if (json) {
        printf("{\"rtt_us\": {\"state_epoll\": %.2f, \"state_wait\": %.2f, "
               "\"bcast_epoll\": %.2f, \"bcast_recv\": %.2f}, "
               "\"rtt_state_epoll_over_wait\": %.3f, "
               "\"rtt_bcast_epoll_over_recv\": %.3f, "
               "\"stream_bcast_mmsgs\": {\"epoll\": %.2f, \"recv\": %.2f}, "
               "\"stream_bcast_epoll_over_recv\": %.3f, \"rounds\": %d, "
               "\"per_round\": {\"rtt_state\": ",
               med[0], med[1], med[2], med[3], ratio(rt, 0, 1, rounds),
               ratio(rt, 2, 3, rounds), smed[0], smed[1],
               ratio(st, 1, 0, rounds), rounds);
        per_round(rt, 0, 1, 0, rounds, json);
        printf(", \"rtt_bcast\": ");
        per_round(rt, 2, 3, 0, rounds, json);
        printf(", \"stream_bcast\": ");
        per_round(st, 0, 1, 1, rounds, json);
        printf("}}");
        return;
    }
    printf("fan-out round trip 64 B (medians of %d rounds, interleaved):\n"
           "  state reader in epoll on hipc_state_get_fd            %8.2f us\n"
           "  state reader in a blocking hipc_state_wait (futex)    %8.2f us\n"
           "  bcast consumer in epoll on hipc_bcast_get_fd          %8.2f us\n"
           "  bcast consumer in a blocking recv (spin 1 ns)         %8.2f us\n"
           "  ratios: state epoll/wait %.3f, bcast epoll/recv %.3f\n",
           rounds, med[0], med[1], med[2], med[3], ratio(rt, 0, 1, rounds),
           ratio(rt, 2, 3, rounds));
    printf("    per round, state epoll/wait: ");
    per_round(rt, 0, 1, 0, rounds, json);
    printf("\n    per round, bcast epoll/recv: ");
    per_round(rt, 2, 3, 0, rounds, json);
    printf("\nbcast stream 64 B (%d in flight, acked): epoll consumer %.2f M "
           "msgs/s, blocking recv %.2f M msgs/s; epoll/blocking rate %.3f\n"
           "    per round: ",
           WINDOW, smed[0], smed[1], ratio(st, 1, 0, rounds));
    per_round(st, 0, 1, 1, rounds, json);
    printf("\n");
}

/* --only VARIANT N: one variant, n iterations, for strace -c and perf. */
static int only(const char *name, int n)
{
    static const struct {
        const char *name;
        double (*fn)(int);
    } v[] = {{"rtt_epoll", rtt_epoll},
             {"rtt_futex", rtt_futex},
             {"rtt_epoll_spin", rtt_epoll_spin},
             {"rtt_futex_spin", rtt_futex_spin},
             {"rtt_pipe", rtt_pipe},
             {"rtt_pipe_epoll", rtt_pipe_epoll},
             {"stream_epoll", stream_epoll},
             {"stream_blocking", stream_blocking},
             {"stream_try", stream_try},
             {"rtt_state_epoll", rtt_state_epoll},
             {"rtt_state_wait", rtt_state_wait},
             {"rtt_bcast_epoll", rtt_bcast_epoll},
             {"rtt_bcast_recv", rtt_bcast_recv},
             {"stream_bcast_epoll", stream_bcast_epoll},
             {"stream_bcast_recv", stream_bcast_recv}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (strcmp(name, v[i].name) == 0) {
            printf("%s: %.3f us\n", name, v[i].fn(n) * 1e6);
            return 0;
        }
    fprintf(stderr, "bench_bell: no variant %s\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    int quick = 0, json = 0;
    pin_setup();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 2 < argc)
            return only(argv[i + 1], atoi(argv[i + 2]));
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else {
            fprintf(stderr, "usage: %s [--quick] [--json]\n", argv[0]);
            return 2;
        }
    }
    int rounds = quick ? 3 : 9;
    double rt[5][MAX_ROUNDS], st[2][MAX_ROUNDS], med[5], smed[2];
    double (*rtt[])(int) = {rtt_epoll, rtt_futex, rtt_pipe, rtt_pipe_epoll,
                            rtt_epoll_spin};
    double (*str[])(int) = {stream_epoll, stream_blocking};
    rounds_of(rtt, 5, rounds, quick ? 200 : 20000, rt);
    rounds_of(str, 2, rounds, quick ? 20000 : 2000000, st);
    for (int v = 0; v < 5; v++)
        med[v] = median(rt[v], rounds) * 1e6;
    for (int v = 0; v < 2; v++)
        smed[v] = 1.0 / median(st[v], rounds) / 1e6;
    double e_pipe = ratio(rt, 0, 2, rounds), e_futex = ratio(rt, 0, 1, rounds);
    double e_pipe_ep = ratio(rt, 0, 3, rounds),
           p_loop = ratio(rt, 3, 2, rounds),
           spin_pipe = ratio(rt, 4, 2, rounds);
    /* A rate is the inverse of the time: epoll's rate over blocking's. */
    double s_ratio = ratio(st, 1, 0, rounds);
    if (json)
        printf("{\"rtt_us\": {\"epoll\": %.2f, \"futex\": %.2f, \"pipe\": "
               "%.2f, \"pipe_epoll\": %.2f, \"epoll_spin\": %.2f}, "
               "\"rtt_epoll_over_pipe\": %.3f, "
               "\"rtt_epoll_spin_over_pipe\": %.3f, "
               "\"rtt_epoll_over_pipe_epoll\": %.3f, "
               "\"rtt_pipe_epoll_over_pipe\": %.3f, "
               "\"rtt_epoll_over_futex\": %.3f, \"stream_mmsgs\": "
               "{\"epoll\": %.2f, \"blocking\": %.2f}, "
               "\"stream_epoll_over_blocking\": %.3f, \"rounds\": %d, "
               "\"fanout\": ",
               med[0], med[1], med[2], med[3], med[4], e_pipe, spin_pipe,
               e_pipe_ep, p_loop, e_futex, smed[0], smed[1], s_ratio, rounds);
    else
        printf("round trip 64 B (medians of %d rounds, interleaved):\n"
               "  hipc channel, each side in epoll on hipc_chan_get_fd  %8.2f "
               "us\n"
               "  hipc channel, blocking recv (futex, no spin)         %8.2f "
               "us\n"
               "  raw pipe, blocking read                              %8.2f "
               "us\n"
               "  raw pipe waited in epoll (epoll_wait, then read)     %8.2f "
               "us\n"
               "  hipc channel in epoll, the default spin              %8.2f "
               "us\n"
               "  ratios: epoll/pipe %.3f (target <= 1), epoll with the "
               "default spin/pipe %.3f, epoll/pipe-in-epoll "
               "%.3f (hipc's part), pipe-in-epoll/pipe %.3f (the loop's "
               "part), epoll/futex %.3f\n"
               "stream 64 B: epoll consumer %.2f M msgs/s, blocking recv %.2f "
               "M msgs/s; epoll/blocking rate %.3f (target >= 0.9)\n",
               rounds, med[0], med[1], med[2], med[3], med[4], e_pipe,
               spin_pipe, e_pipe_ep, p_loop, e_futex, smed[0], smed[1],
               s_ratio);
    fan_rows(rounds, quick, json);
    if (json)
        printf("}\n");
    return 0;
}
