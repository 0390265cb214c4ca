/* SPDX-License-Identifier: MIT */
/* Fuzz target: sequences of pipe operations over a few handles.
 *
 * The input is a small program: each operation is an opcode byte and its
 * operands (create, raw pipe2, adopt, write, read, frames, each with a
 * timeout, close_end, close, capacity, pending, raw writes and closes), run over
 * HANDLES handle slots and a pool of raw descriptors the target holds
 * itself. Adopt is also offered closed, negative, wrong-end and non-pipe
 * descriptors (/dev/null, a socket, an O_PATH descriptor).
 *
 * Every pipe has a model: the bytes in flight, and who holds its ends. The
 * model decides which calls could block, and those are not made or get
 * timeout 0 (which never waits, on blocking pipes too): HIPC_FOREVER goes
 * only to a call the model knows can complete, so nothing ever waits or
 * sleeps.
 *
 * Frames are modelled through their failures too: a send that stops
 * part-way (a full non-blocking pipe) pushes exactly the bytes that went
 * out, and the slot remembers the frame it owes; the next send on it
 * either goes on with that frame (same buffer, same length) or tries
 * another one, or a plain write, which must be HIPC_E_BAD_STATE with
 * nothing written. Packet-mode pipes (HIPC_PIPE_DIRECT) are modelled as
 * long as only frames travel on them: each recv must return the next
 * frame whole, and a frame that is all in the pipe must never be
 * HIPC_E_AGAIN or HIPC_E_TRUNCATED on any pipe. After
 * every step: codes are from the table and the one documented for the
 * case; bytes come out in the order they went in; counts match the model
 * (FIONREAD too); a failed adopt leaves its descriptor open. After every
 * input: every descriptor is closed and no SIGPIPE is left pending. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/frame.h"
#include "hipc/pipe.h"
#include "support.h"

#define HANDLES 4
#define POOL 8
#define PIPES 8
#define MAX_OPS 48
#define MAX_IO 8192u
#define RING (128u * 1024u) /* above any capacity the target asks for */
#define PAGE 4096u

struct pipe_model {
    int used;
    int direct;   /* packet mode: modelled while only frames travel */
    int unknown;  /* the model lost track (a partial recv, packets read
                    other than as frames) */
    size_t slots; /* packet mode: pages in use, an upper bound */
    size_t cap;   /* F_GETPIPE_SZ */
    size_t head, count;
    uint8_t ring[RING];
};

struct slot {
    hipc_pipe p;
    int open;
    int pipe;          /* model index of the pipe its ends belong to */
    int ignored;       /* HIPC_PIPE_SIGPIPE_IGNORED: the caller must block it */
    int nb;            /* non-blocking: no call can wait */
    int pkt;           /* reads frames as packets (created or adopted DIRECT) */
    size_t sent;       /* bytes out of the frame it owes (0: none) */
    size_t flen, fmax; /* that frame's payload length and maximum */
    uint8_t frame[MAX_IO]; /* its payload: the buffer every send passes */
};

struct raw {
    int fd; /* -1: free */
    int pipe;
    int is_write;
    int nonblock;
};

struct world {
    struct slot s[HANDLES];
    struct raw pool[POOL];
    struct pipe_model m[PIPES];
    uint8_t fill; /* the next pattern byte written */
};

static uint8_t buf_in[MAX_IO + HIPC_FRAME_HEADER_BYTES];
static uint8_t buf_out[MAX_IO + HIPC_FRAME_HEADER_BYTES];

/* A SIGPIPE that reaches the caller is a hipc bug: make it a crash that
 * both engines record, instead of a silent death. */
static void on_sigpipe(int sig)
{
    (void)sig;
    hipc_fuzz_fail(__FILE__, __LINE__, "SIGPIPE reached the caller");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    sigaction(SIGPIPE, &sa, NULL);
    hipc_fuzz_isolate();
    return 0;
}

/* ---- The model ---------------------------------------------------------- */

static int ends(const struct world *w, int pi, int writers);

/* A model is reused once no end of its pipe is open any more. */
static int new_pipe(struct world *w, int fd, int direct)
{
    for (int i = 0; i < PIPES; i++) {
        struct pipe_model *m = &w->m[i];
        if (m->used && (ends(w, i, 0) > 0 || ends(w, i, 1) > 0))
            continue;
        int cap = hipc_fuzz_fcntl(fd, F_GETPIPE_SZ, 0);
        HIPC_FUZZ_CHECK(cap > 0);
        m->used = 1;
        m->direct = direct;
        m->unknown = 0;
        m->slots = 0;
        m->cap = (size_t)cap;
        m->head = m->count = 0;
        return i;
    }
    return -1;
}

static int trusted(const struct pipe_model *m)
{
    return !m->unknown;
}

static void model_push(struct pipe_model *m, const uint8_t *b, size_t n)
{
    if (!trusted(m))
        return;
    HIPC_FUZZ_CHECK(m->count + n <= RING);
    /* In at most two pieces (the ring's end, then its start): a loop per
     * byte, instrumented, cost more than the pipe calls it models. */
    for (size_t k = 0; k < n;) {
        size_t at = (m->head + m->count) % RING;
        size_t piece = RING - at < n - k ? RING - at : n - k;
        memcpy(m->ring + at, b + k, piece);
        m->count += piece;
        k += piece;
    }
}

/* Checks that `n` bytes read are the oldest in flight, and drops them. */
static void model_pop(struct pipe_model *m, const uint8_t *b, size_t n)
{
    if (!trusted(m))
        return;
    HIPC_FUZZ_CHECK(n <= m->count);
    for (size_t k = 0; k < n;) {
        size_t piece = RING - m->head < n - k ? RING - m->head : n - k;
        HIPC_FUZZ_CHECK(memcmp(m->ring + m->head, b + k, piece) == 0);
        m->head = (m->head + piece) % RING;
        m->count -= piece;
        k += piece;
    }
}

/* How many ends of pipe `pi` are open, counting handles and the pool. */
static int ends(const struct world *w, int pi, int writers)
{
    int n = 0;
    for (int i = 0; i < HANDLES; i++) {
        const struct slot *sl = &w->s[i];
        if (sl->open && sl->pipe == pi)
            n += (writers ? sl->p.write_fd : sl->p.read_fd) >= 0;
    }
    for (int i = 0; i < POOL; i++)
        n += w->pool[i].fd >= 0 && w->pool[i].pipe == pi &&
             w->pool[i].is_write == writers;
    return n;
}

/* Poll with timeout 0 is a question, not a wait. */
static int ready(int fd, short events)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    return hipc_fuzz_poll(&pfd, 1, 0) == 1;
}

/* A blocking write of n bytes to `fd` of pipe `pi` cannot wait: no reader
 * (EPIPE at once), room for it even if every page were only half used, or
 * (model lost) poll promises a free page and n fits one. */
static int write_safe(const struct world *w, int pi, int fd, size_t n)
{
    const struct pipe_model *m = &w->m[pi];
    if (ends(w, pi, 0) == 0)
        return 1;
    /* A packet takes a page of its own however short it is. */
    if (!trusted(m) || m->direct)
        return n <= PAGE && ready(fd, POLLOUT);
    return 2 * (m->count + n) + 2 * PAGE <= m->cap;
}

/* A blocking read of n bytes (any count for read_some) cannot wait: the
 * writers are gone, or enough is in flight. */
static int read_safe(const struct world *w, int pi, int fd, size_t n, int some)
{
    const struct pipe_model *m = &w->m[pi];
    int pending = 0;
    if (ends(w, pi, 1) == 0)
        return 1;
    if (m->direct) /* packets drop what a read does not take */
        return ends(w, pi, 1) == 0;
    if (m->unknown)
        return hipc_fuzz_fionread(fd, &pending) == 0 && pending > 0 &&
               (some || (size_t)pending >= n);
    return some ? m->count > 0 : m->count >= n;
}

/* ---- Descriptors to adopt ----------------------------------------------- */

static void pool_put(struct world *w, int fd, int pi, int is_write, int nb)
{
    for (int i = 0; i < POOL; i++)
        if (w->pool[i].fd < 0) {
            w->pool[i] = (struct raw){fd, pi, is_write, nb};
            return;
        }
    HIPC_FUZZ_CHECK(hipc_fuzz_close(fd) == 0);
}

static void op_raw_pipe(struct world *w, hipc_fuzz_in *in)
{
    int nb = hipc_fuzz_u8(in) & 1;
    int fds[2];
    HIPC_FUZZ_CHECK(hipc_fuzz_pipe2(fds, O_CLOEXEC | (nb ? O_NONBLOCK : 0)) ==
                    0);
    int pi = new_pipe(w, fds[0], 0);
    if (pi < 0) {
        hipc_fuzz_close(fds[0]);
        hipc_fuzz_close(fds[1]);
        return;
    }
    pool_put(w, fds[0], pi, 0, nb);
    pool_put(w, fds[1], pi, 1, nb);
}

/* A descriptor that is not a usable pipe end, and the code adopt owes it.
 * The target closes it again after the adopt. */
static int not_a_pipe(uint8_t sel, int *expect)
{
    int fd = -1, sv[2];
    *expect = HIPC_E_NOT_PIPE;
    if (sel % 5 < 4)
        hipc_fuzz_real_fd_ahead(); /* real descriptors, made here */
    switch (sel % 5) {
    case 0:
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        break;
    case 1:
        HIPC_FUZZ_CHECK(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        close(sv[1]);
        fd = sv[0];
        break;
    case 2:
        fd = open("/", O_PATH | O_CLOEXEC);
        *expect = HIPC_E_BAD_FD;
        break;
    case 3: /* a number that names nothing right now */
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            perror("open /dev/null");
        HIPC_FUZZ_CHECK(fd >= 0);
        HIPC_FUZZ_CHECK(close(fd) == 0);
        *expect = HIPC_E_BAD_FD;
        return -fd - 1000; /* told apart from a real descriptor below */
    default:
        *expect = HIPC_E_BAD_FD;
        return -1;
    }
    HIPC_FUZZ_CHECK(fd >= 0);
    return fd;
}

static struct slot *fresh_slot(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    if (sl->open)
        HIPC_FUZZ_CHECK(hipc_pipe_close(&sl->p) == HIPC_OK);
    sl->open = 0;
    sl->sent = 0;
    return sl;
}

static void op_create(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = fresh_slot(w, in);
    unsigned flags = hipc_fuzz_u8(in) & 0x0fu;
    int rc = hipc_pipe_create(&sl->p, flags);
    hipc_fuzz_trace("create", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK((rc == HIPC_E_BAD_FLAGS) == ((flags & 0x08u) != 0));
    if (rc != HIPC_OK)
        return;
    int pi = new_pipe(w, sl->p.read_fd, (flags & HIPC_PIPE_DIRECT) != 0);
    if (pi < 0) {
        HIPC_FUZZ_CHECK(hipc_pipe_close(&sl->p) == HIPC_OK);
        return;
    }
    *sl = (struct slot){sl->p,
                        1,
                        pi,
                        (flags & HIPC_PIPE_SIGPIPE_IGNORED) != 0,
                        (flags & HIPC_PIPE_NONBLOCK) != 0,
                        (flags & HIPC_PIPE_DIRECT) != 0,
                        0,
                        0,
                        0,
                        {0}};
}

static void op_adopt(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = fresh_slot(w, in);
    uint8_t src = hipc_fuzz_u8(in);
    uint8_t end_sel = hipc_fuzz_u8(in);
    unsigned flags = hipc_fuzz_u8(in) & 0x07u;
    enum hipc_pipe_end end = (enum hipc_pipe_end)(end_sel % 4u);
    int expect = HIPC_OK, fd;
    struct raw *r = NULL;
    if (src < 0xc0) {
        r = &w->pool[src % POOL];
        fd = r->fd;
        if (fd < 0)
            expect = HIPC_E_BAD_FD;
        else if ((end == HIPC_PIPE_WRITE_END) != r->is_write)
            expect = HIPC_E_WRONG_END;
    } else {
        fd = not_a_pipe(src, &expect);
    }
    int arg = fd <= -1000 ? -(fd + 1000) : fd;
    /* A read end may be declared a packet reader; nothing else may. */
    unsigned allowed = HIPC_PIPE_SIGPIPE_IGNORED |
                       (end == HIPC_PIPE_READ_END ? HIPC_PIPE_DIRECT : 0u);
    if (!(end == HIPC_PIPE_READ_END || end == HIPC_PIPE_WRITE_END))
        expect = HIPC_E_WRONG_END;
    else if ((flags & ~allowed) != 0)
        expect = HIPC_E_BAD_FLAGS;
    int rc = hipc_pipe_adopt(&sl->p, arg, end, flags);
    hipc_fuzz_trace("adopt", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK(rc == expect);
    if (rc == HIPC_OK) {
        *sl =
            (struct slot){sl->p,       1,
                          r->pipe,     (flags & HIPC_PIPE_SIGPIPE_IGNORED) != 0,
                          r->nonblock, (flags & HIPC_PIPE_DIRECT) != 0,
                          0,           0,
                          0,           {0}};
        r->fd = -1; /* the handle owns it now */
        return;
    }
    /* On failure the descriptor is left open and untouched. */
    if (fd >= 0)
        HIPC_FUZZ_CHECK(hipc_fuzz_fcntl(fd, F_GETFD, 0) >= 0);
    if (r == NULL && fd >= 0)
        HIPC_FUZZ_CHECK(hipc_fuzz_close(fd) == 0);
}

/* ---- I/O ------------------------------------------------------------------ */

/* The caller's side of HIPC_PIPE_SIGPIPE_IGNORED: SIGPIPE blocked around
 * the call, and whatever the kernel raised taken afterwards - unless one
 * was pending already (a harness started with one blocked and pending):
 * then the caller's mask comes back as it was and nothing is taken, so
 * what the harness found stays. */
static void guard(const struct slot *sl, int on)
{
    static sigset_t old;
    static int was_pending;
    /* A simulated pipe raises no SIGPIPE: nothing to block. */
    if (!sl->open || !sl->ignored || hipc_fuzz_fd_is_sim(sl->p.write_fd))
        return;
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (on) {
        HIPC_FUZZ_CHECK(sigpending(&pending) == 0);
        was_pending = sigismember(&pending, SIGPIPE);
        HIPC_FUZZ_CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
        return;
    }
    struct timespec zero = {0, 0};
    while (!was_pending && sigtimedwait(&set, NULL, &zero) == SIGPIPE)
        ;
    HIPC_FUZZ_CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

#define MS_ 1000000
static int64_t pick_timeout(hipc_fuzz_in *in, int safe)
{
    /* -2: not a timeout (HIPC_E_BAD_TIMEOUT), as HIPC_FOREVER is -1. */
    static const int64_t t[] = {-2, 0, MS_, 10 * MS_, 1000 * MS_, INT64_MAX};
    int64_t v = t[hipc_fuzz_u8(in) % 6u];
    /* A call that could wait gets no time to wait in. */
    return v > 0 && !safe ? 0 : v;
}

/* What an untimed call of the old model was: for ever where it cannot
 * wait, else a try that never waits. */
static int64_t forever_if(int safe)
{
    return safe ? HIPC_FOREVER : 0;
}

/* Byte i of the pattern is i * 131 + 7, which repeats every 256 bytes:
 * copied from a table twice that long rather than made byte by byte (an
 * instrumented loop per byte cost more than the calls it feeds). */
static size_t fill(struct world *w, hipc_fuzz_in *in, size_t n)
{
    static uint8_t pattern[512];
    if (pattern[1] == 0)
        for (size_t i = 0; i < sizeof pattern; i++)
            pattern[i] = (uint8_t)(i * 131u + 7u);
    for (size_t k = 0; k < n;) {
        size_t piece = n - k < 256 ? n - k : 256;
        memcpy(buf_out + k, pattern + w->fill, piece);
        w->fill = (uint8_t)(w->fill + piece);
        k += piece;
    }
    (void)in;
    return n;
}

static void op_write(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    uint8_t kind = hipc_fuzz_u8(in) % 3u;
    size_t n = fill(w, in, hipc_fuzz_u16(in) % (MAX_IO + 1u));
    int has = sl->open && sl->p.write_fd >= 0;
    /* Timed calls wait on non-blocking pipes too: only the model can say
     * that a deadline will not be waited for. */
    int ready_now = has && write_safe(w, sl->pipe, sl->p.write_fd, n);
    int64_t timeout = pick_timeout(in, ready_now);
    size_t done = 0;
    int rc;
    if (kind == 0 && has && !sl->nb && !ready_now)
        kind = 1; /* for ever could block: ask with a deadline */
    guard(sl, 1);
    rc = hipc_pipe_write_all(&sl->p, buf_out, n, &done,
                             kind == 0   ? forever_if(ready_now)
                             : kind == 1 ? timeout
                                         : 0);
    guard(sl, 0);
    hipc_fuzz_trace("write", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(done <= n && (rc != HIPC_OK || done == n));
    if (!sl->open || sl->p.write_fd < 0) {
        HIPC_FUZZ_CHECK(rc != HIPC_OK);
        return;
    }
    if (sl->sent != 0) { /* a frame is owed: nothing may be spliced in */
        HIPC_FUZZ_CHECK(rc == HIPC_E_BAD_STATE || rc == HIPC_E_BAD_TIMEOUT);
        HIPC_FUZZ_CHECK(done == 0);
        return;
    }
    if (ends(w, sl->pipe, 0) == 0 && n > 0)
        HIPC_FUZZ_CHECK(rc == HIPC_E_PEER_GONE || rc == HIPC_E_BAD_TIMEOUT);
    model_push(&w->m[sl->pipe], buf_out, done);
    if (w->m[sl->pipe].direct && done > 0)
        w->m[sl->pipe].unknown = 1; /* packets that are not frames */
}

static void check_read(struct world *w, struct slot *sl, int rc, size_t len,
                       size_t done, int some)
{
    struct pipe_model *m = &w->m[sl->pipe];
    size_t before = m->count;
    int writers = ends(w, sl->pipe, 1);
    model_pop(m, buf_in, done);
    if (!trusted(m) || rc == HIPC_E_BAD_TIMEOUT || rc == HIPC_E_BAD_SIZE)
        return;
    if (rc == HIPC_OK && len > 0)
        HIPC_FUZZ_CHECK(done == len || (some && done > 0 && done <= before));
    if (rc == HIPC_E_EOF)
        HIPC_FUZZ_CHECK(before == 0 && writers == 0 && done == 0);
    if (rc == HIPC_E_TRUNCATED)
        HIPC_FUZZ_CHECK(writers == 0 && done == before && done < len);
    if (writers == 0 && before >= len && !some)
        HIPC_FUZZ_CHECK(rc == HIPC_OK);
}

static void op_read(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    uint8_t kind = hipc_fuzz_u8(in) % 4u;
    size_t len = hipc_fuzz_u16(in) % (MAX_IO + 1u);
    int some = kind & 1;
    int has = sl->open && sl->p.read_fd >= 0;
    int ready_now = has && read_safe(w, sl->pipe, sl->p.read_fd, len, some);
    int64_t timeout = pick_timeout(in, ready_now);
    if (kind < 2 && has && !sl->nb && !ready_now)
        kind = (uint8_t)(kind + 2); /* could block: use a deadline */
    if (kind < 2)
        timeout = forever_if(ready_now);
    size_t done = 0;
    int rc;
    if (kind == 0 || kind == 2)
        rc = hipc_pipe_read_exact(&sl->p, buf_in, len, &done, timeout);
    else {
        rc = hipc_pipe_read_some(&sl->p, buf_in, len, timeout);
        done = rc > 0 ? (size_t)rc : 0;
        HIPC_FUZZ_CHECK(rc != 0);
        if (rc > 0)
            rc = HIPC_OK;
    }
    hipc_fuzz_trace("read", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(done <= len);
    if (!has) {
        HIPC_FUZZ_CHECK(rc != HIPC_OK);
        return;
    }
    /* A packet read drops what it does not take: the bytes are lost. */
    if (w->m[sl->pipe].direct)
        w->m[sl->pipe].unknown = 1;
    check_read(w, sl, rc, len, done, some);
}

/* ---- Frames --------------------------------------------------------------- */

static size_t pick_max(uint8_t sel)
{
    static const size_t t[] = {16, 256, 4096, MAX_IO, 0};
    return t[sel % 5u];
}

/* Pages a packet-mode send of `n` bytes may fill: its packets, and one
 * more for each piece a cut send and its resumption may leave. */
static size_t send_slots(size_t n)
{
    return (n + PAGE - 1) / PAGE + 2;
}

/* A blocking send of the `n` bytes a frame still owes cannot wait. */
static int send_safe(const struct world *w, const struct slot *sl, size_t n)
{
    const struct pipe_model *m = &w->m[sl->pipe];
    if (!m->direct || ends(w, sl->pipe, 0) == 0)
        return write_safe(w, sl->pipe, sl->p.write_fd, n);
    if (!trusted(m))
        return n <= PAGE && ready(sl->p.write_fd, POLLOUT);
    return m->slots + send_slots(n) <= m->cap / PAGE;
}

/* Pushes the frame's bytes from `from` to `to` (header included). */
static void push_frame(struct pipe_model *m, const uint8_t *hdr,
                       const uint8_t *payload, size_t from, size_t to)
{
    size_t h = HIPC_FRAME_HEADER_BYTES;
    if (from < h)
        model_push(m, hdr + from, (to < h ? to : h) - from);
    if (to > h)
        model_push(m, payload + (from > h ? from - h : 0),
                   to - (from > h ? from : h));
}

/* Another frame, or the owed one with another length: refused whole. */
static void send_other_frame(struct world *w, struct slot *sl, uint8_t sel)
{
    size_t n = sl->flen, before = 0, after = 0;
    const uint8_t *pay = sl->frame;
    if (sel & 4)
        pay = buf_out;
    else
        n = (n + 1u + sel) % (MAX_IO + 1u);
    if (pay == sl->frame && n == sl->flen)
        n = (n + 1u) % (MAX_IO + 1u);
    HIPC_FUZZ_CHECK(hipc_pipe_get_pending(&sl->p, &before) == HIPC_OK);
    guard(sl, 1);
    int rc = hipc_pipe_send_frame(&sl->p, pay, n, sl->fmax, 0);
    guard(sl, 0);
    hipc_fuzz_trace("send_frame (other)", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK(rc == HIPC_E_BAD_STATE || rc == HIPC_E_MSG_TOO_BIG);
    HIPC_FUZZ_CHECK(hipc_pipe_get_pending(&sl->p, &after) == HIPC_OK);
    HIPC_FUZZ_CHECK(after >= before || ends(w, sl->pipe, 0) > 0);
    size_t owed = 0;
    HIPC_FUZZ_CHECK(hipc_pipe_get_frame_owed(&sl->p, &owed) == HIPC_OK);
    HIPC_FUZZ_CHECK(owed == HIPC_FRAME_HEADER_BYTES + sl->flen - sl->sent);
}

/* After a send: the bytes that went out are the frame's next ones. */
static void account_send(struct world *w, struct slot *sl, int rc,
                         const uint8_t *hdr, size_t from)
{
    struct pipe_model *m = &w->m[sl->pipe];
    size_t owed = 0, total = HIPC_FRAME_HEADER_BYTES + sl->flen;
    HIPC_FUZZ_CHECK(hipc_pipe_get_frame_owed(&sl->p, &owed) == HIPC_OK);
    HIPC_FUZZ_CHECK(owed <= total && (rc != HIPC_OK || owed == 0));
    /* Nothing owed after a failure: nothing of the frame went out. */
    size_t to = owed != 0 ? total - owed : rc == HIPC_OK ? total : from;
    HIPC_FUZZ_CHECK(to >= from && (owed != 0 || rc == HIPC_OK || from == 0));
    push_frame(m, hdr, sl->frame, from, to);
    if (m->direct)
        m->slots += send_slots(to - from);
    sl->sent = owed != 0 ? to : 0;
}

static void op_send_frame(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    uint8_t sel = hipc_fuzz_u8(in);
    size_t max = pick_max(hipc_fuzz_u8(in));
    size_t n = fill(w, in, hipc_fuzz_u16(in) % (MAX_IO + 1u));
    int has = sl->open && sl->p.write_fd >= 0;
    if (has && sl->sent != 0 && (sel & 3) == 0) {
        send_other_frame(w, sl, sel);
        return;
    }
    if (has && sl->sent != 0) { /* the owed frame goes on */
        n = sl->flen;
        max = sl->fmax;
    } else if (has) {
        memcpy(sl->frame, buf_out, n);
    }
    size_t from = has ? sl->sent : 0;
    /* A send on a blocking pipe that could wait is not made; one on a
     * non-blocking pipe never waits. */
    if (has && !sl->nb && !send_safe(w, sl, HIPC_FRAME_HEADER_BYTES + n - from))
        return;
    guard(sl, 1);
    int rc = hipc_pipe_send_frame(&sl->p, has ? sl->frame : buf_out, n, max,
                                  forever_if(!sl->nb));
    guard(sl, 0);
    hipc_fuzz_trace("send_frame", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (!has) {
        HIPC_FUZZ_CHECK(rc != HIPC_OK);
        return;
    }
    uint8_t hdr[HIPC_FRAME_HEADER_BYTES];
    if (hipc_frame_encode_header(hdr, n, max) != HIPC_OK) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_MSG_TOO_BIG && from == 0);
        return;
    }
    sl->flen = n;
    sl->fmax = max;
    account_send(w, sl, rc, hdr, from);
}

/* The next frame in the model is readable without waiting: the header is
 * bad (only it is read) or header and payload are all there. */
static int frame_ready(const struct pipe_model *m, size_t max)
{
    uint8_t hdr[HIPC_FRAME_HEADER_BYTES];
    if (!trusted(m) || m->count < sizeof hdr)
        return 0;
    for (size_t i = 0; i < sizeof hdr; i++)
        hdr[i] = m->ring[(m->head + i) % RING];
    size_t n = 0;
    if (hipc_frame_decode_header(hdr, sizeof hdr, max, &n) != HIPC_OK)
        return 1;
    return m->count >= sizeof hdr + n;
}

static void model_drop(struct pipe_model *m, size_t n)
{
    if (!trusted(m))
        return;
    HIPC_FUZZ_CHECK(n <= m->count);
    m->head = (m->head + n) % RING;
    m->count -= n;
}

static void op_recv_frame(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    size_t max = pick_max(hipc_fuzz_u8(in));
    size_t cap = hipc_fuzz_u8(in) < 0x20 ? 8u : sizeof buf_in;
    int has = sl->open && sl->p.read_fd >= 0;
    int whole = has && frame_ready(&w->m[sl->pipe], max);
    if (has && !sl->nb && ends(w, sl->pipe, 1) > 0 && !whole)
        return;
    size_t len = 0;
    int rc =
        hipc_pipe_recv_frame(&sl->p, buf_in, cap, max, forever_if(!sl->nb));
    HIPC_FUZZ_CHECK(rc <= (int)cap);
    if (rc >= 0) {
        len = (size_t)rc;
        rc = HIPC_OK;
    }
    hipc_fuzz_trace("recv_frame", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (!has) {
        HIPC_FUZZ_CHECK(rc != HIPC_OK);
        return;
    }
    struct pipe_model *m = &w->m[sl->pipe];
    size_t eff = max ? max : 16u * 1024u * 1024u;
    HIPC_FUZZ_CHECK((rc == HIPC_E_BUF_TOO_SMALL) == (cap < eff));
    if (sl->pkt != m->direct) { /* packets read as a stream, or the reverse */
        m->unknown = 1;
        return;
    }
    /* A frame that is all there is never "again" nor cut short. */
    if (whole && cap >= eff)
        HIPC_FUZZ_CHECK(rc != HIPC_E_AGAIN && rc != HIPC_E_TRUNCATED &&
                        rc != HIPC_E_EOF);
    if (rc == HIPC_OK) {
        uint8_t hdr[HIPC_FRAME_HEADER_BYTES];
        HIPC_FUZZ_CHECK(len <= eff);
        HIPC_FUZZ_CHECK(hipc_frame_encode_header(hdr, len, max) == HIPC_OK);
        model_pop(m, hdr, sizeof hdr);
        model_pop(m, buf_in, len);
    } else if (rc == HIPC_E_BAD_FRAME || rc == HIPC_E_VERSION ||
               rc == HIPC_E_MSG_TOO_BIG) {
        model_drop(m, HIPC_FRAME_HEADER_BYTES);
        if (m->direct) /* the rest of its packet went with it */
            m->unknown = 1;
    } else if (rc == HIPC_E_TRUNCATED) {
        model_drop(m, m->count);
    } else if (rc != HIPC_E_EOF && rc != HIPC_E_BUF_TOO_SMALL) {
        m->unknown = 1; /* consumed part of a frame, or who knows */
    }
    if (m->direct && trusted(m) && m->count == 0)
        m->slots = 0;
}

/* ---- Ends, capacity, the pool -------------------------------------------- */

static void op_close(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    uint8_t sel = hipc_fuzz_u8(in);
    int was = sl->open, rc;
    if (sel < 0x80) {
        rc = hipc_pipe_close(&sl->p);
        HIPC_FUZZ_CHECK(rc == HIPC_OK || !was);
        sl->open = 0;
    } else {
        enum hipc_pipe_end end = (enum hipc_pipe_end)(sel % 4u);
        int held = was && hipc_pipe_get_fd(&sl->p, end) >= 0;
        rc = hipc_pipe_close_end(&sl->p, end);
        HIPC_FUZZ_CHECK(rc == HIPC_OK || !held);
        if (rc == HIPC_OK)
            sl->open = sl->p.read_fd >= 0 || sl->p.write_fd >= 0;
    }
    /* Without its write end a handle owes no frame: it was given up. */
    if (!sl->open || sl->p.write_fd < 0)
        sl->sent = 0;
    hipc_fuzz_trace("close", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc != HIPC_OK || was);
}

static size_t pick_capacity(hipc_fuzz_in *in)
{
    static const size_t special[] = {0, SIZE_MAX, (1u << 20) + 1u};
    uint16_t v = hipc_fuzz_u16(in);
    if ((v & 0xf000u) == 0xf000u)
        return special[v % 3u];
    return v % 65537u;
}

static void op_capacity(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    int set = hipc_fuzz_u8(in) & 1;
    size_t want = set ? pick_capacity(in) : 0;
    int rc = set ? hipc_pipe_set_capacity(&sl->p, want)
                 : hipc_pipe_get_capacity(&sl->p);
    hipc_fuzz_trace(set ? "set_capacity" : "capacity", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(sl->open || rc < 0);
    if (rc < 0)
        return;
    struct pipe_model *m = &w->m[sl->pipe];
    if (!set) {
        HIPC_FUZZ_CHECK((size_t)rc == m->cap);
        return;
    }
    HIPC_FUZZ_CHECK((size_t)rc >= want && rc % (int)PAGE == 0);
    m->cap = (size_t)rc;
}

static void op_pending(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    size_t bytes = 0;
    int rc = hipc_pipe_get_pending(&sl->p, &bytes);
    hipc_fuzz_trace("pending", (int)(sl - w->s), rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(sl->open || rc != HIPC_OK);
    if (rc == HIPC_OK && trusted(&w->m[sl->pipe]))
        HIPC_FUZZ_CHECK(bytes == w->m[sl->pipe].count);
}

/* The target's own end of a pipe, as a peer outside hipc would use it. */
static void op_raw_io(struct world *w, hipc_fuzz_in *in)
{
    struct raw *r = &w->pool[hipc_fuzz_u8(in) % POOL];
    uint8_t sel = hipc_fuzz_u8(in);
    size_t n = hipc_fuzz_u16(in) % (MAX_IO + 1u);
    if (r->fd < 0)
        return;
    if (sel >= 0xc0) {
        HIPC_FUZZ_CHECK(hipc_fuzz_close(r->fd) == 0);
        r->fd = -1;
        return;
    }
    struct pipe_model *m = &w->m[r->pipe];
    if (r->is_write) {
        /* Never write without a reader: that SIGPIPE would be ours. */
        if (ends(w, r->pipe, 0) == 0 || n == 0 ||
            (!r->nonblock && !write_safe(w, r->pipe, r->fd, n)))
            return;
        fill(w, in, n);
        long k = hipc_fuzz_write(r->fd, buf_out, n);
        HIPC_FUZZ_CHECK(k > 0 || (k < 0 && r->nonblock));
        model_push(m, buf_out, k > 0 ? (size_t)k : 0);
        return;
    }
    if (n == 0 || (!r->nonblock && !read_safe(w, r->pipe, r->fd, 1, 1)))
        return;
    long k = hipc_fuzz_read(r->fd, buf_in, n);
    HIPC_FUZZ_CHECK(k >= 0 || r->nonblock);
    model_pop(m, buf_in, k > 0 ? (size_t)k : 0);
}

static void op_misc(struct world *w, hipc_fuzz_in *in)
{
    struct slot *sl = &w->s[hipc_fuzz_u8(in) % HANDLES];
    uint8_t sel = hipc_fuzz_u8(in);
    if (sel & 0x80) {
        size_t bytes = 0;
        int err = 0;
        HIPC_FUZZ_CHECK(hipc_pipe_get_max_size(&bytes, &err) == HIPC_OK);
        HIPC_FUZZ_CHECK(bytes >= PAGE && err == 0);
        return;
    }
    enum hipc_pipe_end end = (enum hipc_pipe_end)(sel % 4u);
    int rc = hipc_pipe_get_fd(&sl->p, end);
    HIPC_FUZZ_CHECK_CODE(rc);
    if (rc >= 0)
        HIPC_FUZZ_CHECK(
            sl->open &&
            rc == (end == HIPC_PIPE_READ_END ? sl->p.read_fd : sl->p.write_fd));
}

/* ---- The program ------------------------------------------------------ */

static void step(struct world *w, hipc_fuzz_in *in)
{
    switch (hipc_fuzz_u8(in) % 12u) {
    case 0:
        op_create(w, in);
        break;
    case 1:
        op_raw_pipe(w, in);
        break;
    case 2:
        op_adopt(w, in);
        break;
    case 3:
        op_write(w, in);
        break;
    case 4:
        op_read(w, in);
        break;
    case 5:
        op_send_frame(w, in);
        break;
    case 6:
        op_recv_frame(w, in);
        break;
    case 7:
        op_close(w, in);
        break;
    case 8:
        op_capacity(w, in);
        break;
    case 9:
        op_pending(w, in);
        break;
    case 10:
        op_raw_io(w, in);
        break;
    default:
        op_misc(w, in);
        break;
    }
}

/* `fds` is marked when the input started: the engine may open or close
 * its own descriptors between inputs (libFuzzer's -fork children do). */
/* Whether SIGPIPE was pending, and blocked, when the harness started (a
 * test started with one blocked and pending, as the hostile stage does):
 * hipc must leave both as they were, and add nothing of its own. */
struct sigpipe_state {
    int known, pending, blocked;
};

static struct sigpipe_state sigpipe_at_start(void)
{
    static struct sigpipe_state s;
    sigset_t pending, mask;
    if (!s.known && sigpending(&pending) == 0 &&
        sigprocmask(SIG_BLOCK, NULL, &mask) == 0)
        s = (struct sigpipe_state){1, sigismember(&pending, SIGPIPE),
                                   sigismember(&mask, SIGPIPE)};
    return s;
}

static void cleanup(struct world *w, const hipc_fuzz_fds *fds)
{
    for (int i = 0; i < HANDLES; i++)
        if (w->s[i].open)
            HIPC_FUZZ_CHECK(hipc_pipe_close(&w->s[i].p) == HIPC_OK);
    for (int i = 0; i < POOL; i++)
        if (w->pool[i].fd >= 0)
            HIPC_FUZZ_CHECK(hipc_fuzz_close(w->pool[i].fd) == 0);
    /* In a world, an input that touched no real descriptor and made no
     * signal call cannot have raised, left pending or blocked SIGPIPE. */
    int real = hipc_fuzz_fds_touched_real(fds);
    hipc_fuzz_fds_check(fds);
    if (!real)
        return;
    sigset_t pending, mask;
    HIPC_FUZZ_CHECK(sigpending(&pending) == 0);
    HIPC_FUZZ_CHECK(sigismember(&pending, SIGPIPE) ==
                    sigpipe_at_start().pending);
    HIPC_FUZZ_CHECK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0);
    HIPC_FUZZ_CHECK(sigismember(&mask, SIGPIPE) == sigpipe_at_start().blocked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world w;
    /* The rings are 1 MiB together: only the bookkeeping is reset. */
    memset(w.s, 0, sizeof w.s);
    for (int i = 0; i < PIPES; i++)
        w.m[i].used = 0;
    for (int i = 0; i < POOL; i++)
        w.pool[i].fd = -1;
    w.fill = 0;
    hipc_fuzz_fds fds;
    hipc_fuzz_fds_mark(&fds);
    (void)sigpipe_at_start(); /* taken before the first input runs */
    hipc_fuzz_in in = {data, size};
    for (int op = 0; op < MAX_OPS && in.n > 0; op++)
        step(&w, &in);
    cleanup(&w, &fds);
    return 0;
}
