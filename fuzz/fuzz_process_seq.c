/* SPDX-License-Identifier: MIT */
/* Fuzz target: sequences of process operations over a few handles.
 *
 * The input is a small program: each operation is an opcode byte and its
 * operands (spawn with a chosen behaviour and stdio, write to stdin, read
 * stdout, close stdin, signal, wait, stop, close, get_fd, run), over
 * SLOTS handles. The child is tests/helpers/proc_helper.c, found through
 * the absolute path the build compiled in (HIPC_PROC_HELPER): it echoes,
 * exits with a code, spews bytes, sleeps, ignores SIGTERM, or lists its
 * descriptors; a spawn of a path that does not exist must be HIPC_E_EXEC
 * with ENOENT.
 *
 * Nothing waits: reads and writes take timeout 0, wait looks once, stop
 * has no grace (SIGKILL follows SIGTERM at once), close kills. After each
 * step: the code is from the table and one the step documents; a "fds"
 * child prints exactly "0 1 2" (where the helper is not instrumented
 * itself: see fds_checkable). After every input: every
 * handle is closed and then no descriptor is left open, no child is left,
 * running or zombie (the sanitizers' symbolizer aside), and no SIGPIPE
 * reached the target or is left pending. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/process.h"
#include "support.h"

#define SLOTS 3
#define MAX_OPS 24
#define MAX_IO 8192u

/* Children get no environment of ours (an AFL-instrumented helper would
 * otherwise write into the fuzzer's coverage map). */
static char *child_env[] = {"PATH=/usr/bin:/bin", NULL};

static char *const behaviours[] = {"echo",  "exit",        "spew",
                                   "sleep", "ignore-term", "fds"};
#define BEHAVIOURS (sizeof behaviours / sizeof behaviours[0])

struct slot {
    hipc_process p;
    int open;
    unsigned what;   /* index into behaviours */
    size_t listed;   /* bytes of a "fds" child's listing read so far */
    char listing[8]; /* they, as far as they fit */
};

static uint8_t io_buf[MAX_IO];

/* Whether the helper lists "0 1 2" when nothing leaks into it: true of a
 * plain build; an afl-clang-fast build instruments the helper too, and
 * AFL's and ASan's runtimes open descriptors of their own before main,
 * not always the same ones. Learnt once by running it with every
 * descriptor from 3 up closed by hand; where it does not hold, the
 * listing is not checked here (tests/test_process.c proves it). */
static int fds_checkable;

static void on_sigpipe(int sig)
{
    (void)sig;
    hipc_fuzz_fail(__FILE__, __LINE__, "SIGPIPE reached the caller");
}

static void learn_fds_baseline(void)
{
    int fds[2];
    HIPC_FUZZ_CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    HIPC_FUZZ_CHECK(pid >= 0);
    if (pid == 0) {
        char *argv[] = {"proc_helper", "fds", NULL};
        int null = open("/dev/null", O_RDONLY);
        if (dup2(null, 0) < 0 || dup2(fds[1], 1) < 0)
            _exit(126);
        for (int fd = 3; fd < 4096; fd++)
            close(fd);
        execve(HIPC_PROC_HELPER, argv, child_env);
        _exit(127);
    }
    close(fds[1]);
    char out[64];
    ssize_t n, got = 0;
    while ((n = read(fds[0], out + got, sizeof out - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    out[got] = '\0';
    fds_checkable = status == 0 && strcmp(out, "0 1 2\n") == 0;
}

/* Set when RLIMIT_NOFILE is too low for every slot's descriptors. */
static int starved;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    sigaction(SIGPIPE, &sa, NULL);
    if (access(HIPC_PROC_HELPER, X_OK) != 0) {
        fprintf(stderr, "fuzz_process_seq: no helper at %s\n",
                HIPC_PROC_HELPER);
        exit(HIPC_FUZZ_SKIP_STATUS);
    }
    learn_fds_baseline();
    struct rlimit lim;
    starved = getrlimit(RLIMIT_NOFILE, &lim) == 0 &&
              lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < 64;
    return 0;
}

/* A pipe or /dev/null, never the target's own descriptors: the fuzzer's
 * input and output. */
static enum hipc_process_stdio pick_io(uint8_t b)
{
    return b % 3 != 1 ? HIPC_PROCESS_IO_PIPE : HIPC_PROCESS_IO_NULL;
}

static void op_spawn(struct slot *s, hipc_fuzz_in *in)
{
    uint8_t what = hipc_fuzz_u8(in), io = hipc_fuzz_u8(in);
    uint8_t extra = hipc_fuzz_u8(in);
    if (s->open)
        return;
    hipc_process_config cfg = {.stdio = {pick_io(io),
                                         pick_io((uint8_t)(io >> 2)),
                                         pick_io((uint8_t)(io >> 4))},
                               .group =
                                   (enum hipc_process_group)((io >> 6) % 3)};
    if (extra & 0x80)
        cfg.stdio[2] = HIPC_PROCESS_IO_STDOUT;
    char arg[16];
    snprintf(arg, sizeof arg, "%u", (unsigned)(extra & 0x7f) * 97u);
    s->what = what % (BEHAVIOURS + 1);
    s->listed = 0;
    char *argv[] = {"proc_helper", behaviours[s->what % BEHAVIOURS], arg, NULL};
    const char *path =
        s->what == BEHAVIOURS ? "/nonexistent/helper" : HIPC_PROC_HELPER;
    int rc = hipc_process_spawn(&s->p, path, argv, child_env, &cfg);
    hipc_fuzz_trace("spawn", (int)s->what, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    /* Under a descriptor limit too low for all slots (the hostile
     * stage's nofile runs), running out is the right answer. */
    if (rc == HIPC_E_LIMIT && starved)
        return;
    if (s->what == BEHAVIOURS) {
        HIPC_FUZZ_CHECK(rc == HIPC_E_EXEC && s->p.sys_errno == ENOENT);
        return;
    }
    HIPC_FUZZ_CHECK(rc == HIPC_OK && s->p.pid > 0);
    s->open = 1;
}

static void op_write(struct slot *s, hipc_fuzz_in *in)
{
    size_t len = hipc_fuzz_u16(in) % MAX_IO;
    size_t done = 0;
    int rc = hipc_pipe_write_all(&s->p.in, io_buf, len, &done, 0);
    hipc_fuzz_trace("write", 0, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(done <= len);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_AGAIN ||
                    rc == HIPC_E_PEER_GONE || rc == HIPC_E_BAD_HANDLE ||
                    rc == HIPC_E_STALE_HANDLE || rc == HIPC_E_WRONG_END);
}

/* A "fds" child writes its listing in one write, but a read may take it
 * in pieces (a read of 1 byte, then the rest): the pieces are gathered,
 * and the listing is judged whole, at its newline. */
static void check_listing(struct slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++, s->listed++) {
        HIPC_FUZZ_CHECK(s->listed < sizeof s->listing);
        s->listing[s->listed] = (char)io_buf[i];
        if (io_buf[i] == '\n')
            HIPC_FUZZ_CHECK(s->listed == 5 &&
                            memcmp(s->listing, "0 1 2\n", 6) == 0);
    }
}

static void op_read(struct slot *s, hipc_fuzz_in *in)
{
    size_t len = 1 + hipc_fuzz_u16(in) % (MAX_IO - 1);
    int rc = hipc_pipe_read_some(&s->p.out, io_buf, len, 0);
    hipc_fuzz_trace("read", (int)s->what, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc > 0 || rc == HIPC_E_AGAIN || rc == HIPC_E_EOF ||
                    rc == HIPC_E_BAD_HANDLE || rc == HIPC_E_STALE_HANDLE ||
                    rc == HIPC_E_WRONG_END);
    if (rc > 0 && s->open && s->what == 5 && fds_checkable)
        check_listing(s, (size_t)rc);
}

static void op_signal(struct slot *s, hipc_fuzz_in *in)
{
    static const int sigs[] = {0, SIGTERM, SIGKILL, SIGUSR1, SIGSTOP, SIGCONT};
    int sig = sigs[hipc_fuzz_u8(in) % 6];
    int rc = hipc_process_signal(&s->p, sig);
    hipc_fuzz_trace("signal", sig, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_BAD_STATE ||
                    rc == HIPC_E_BAD_HANDLE || rc == HIPC_E_STALE_HANDLE);
}

static void op_wait(struct slot *s)
{
    int status = -1000;
    int rc = hipc_process_wait(&s->p, &status, 0);
    hipc_fuzz_trace("wait", status, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_AGAIN ||
                    rc == HIPC_E_BAD_HANDLE || rc == HIPC_E_STALE_HANDLE);
    if (rc == HIPC_OK)
        HIPC_FUZZ_CHECK(status >= -64 && status <= 255 && status != -1000);
}

static void op_stop(struct slot *s)
{
    int status = -1000;
    int rc = hipc_process_stop(&s->p, &status, 0);
    hipc_fuzz_trace("stop", status, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_BAD_HANDLE ||
                    rc == HIPC_E_STALE_HANDLE);
    if (rc == HIPC_OK)
        HIPC_FUZZ_CHECK(status != -1000);
}

static void op_close(struct slot *s)
{
    int rc = hipc_process_close(&s->p);
    hipc_fuzz_trace("close", 0, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_BAD_HANDLE ||
                    rc == HIPC_E_STALE_HANDLE);
    s->open = 0;
}

static void op_get_fd(struct slot *s, hipc_fuzz_in *in)
{
    int rc =
        hipc_process_get_fd(&s->p,
                            (enum hipc_process_stream)(hipc_fuzz_u8(in) % 5));
    hipc_fuzz_trace("get_fd", 0, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
}

/* run with an ending behaviour: echo of the input, or exit. */
static void op_run(hipc_fuzz_in *in)
{
    uint8_t sel = hipc_fuzz_u8(in);
    size_t len = hipc_fuzz_u16(in) % MAX_IO;
    static uint8_t out[MAX_IO];
    char *echo[] = {"proc_helper", "echo", NULL};
    char *spew[] = {"proc_helper", "spew", "20000", NULL};
    hipc_process_io io = {.in = io_buf,
                          .in_len = len,
                          .out = out,
                          .out_cap = (sel & 1) ? len / 2 : sizeof out};
    int rc =
        hipc_process_run(HIPC_PROC_HELPER, (sel & 2) ? spew : echo, child_env,
                         NULL, &io, NULL, (int64_t)10 * 1000 * 1000 * 1000);
    hipc_fuzz_trace("run", (int)io.out_len, rc);
    HIPC_FUZZ_CHECK_CODE(rc);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_BUF_TOO_SMALL);
    HIPC_FUZZ_CHECK(io.out_len <= io.out_cap);
    if (rc == HIPC_OK && !(sel & 2)) {
        HIPC_FUZZ_CHECK(io.in_done == len && io.out_len == len);
        HIPC_FUZZ_CHECK(memcmp(out, io_buf, len) == 0);
    }
}

/* A running child of ours other than the sanitizers' symbolizer, which
 * ASan starts as a child of the fuzzer the first time it symbolizes a
 * frame (libFuzzer's NEW_FUNC lines) and keeps. */
static int foreign_child_running(void)
{
    DIR *d = opendir("/proc");
    HIPC_FUZZ_CHECK(d != NULL);
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], stat[256];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *close_paren = strrchr(stat, ')');
        int ppid = 0;
        char state = 0;
        if (close_paren == NULL ||
            sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2 ||
            ppid != (int)getpid())
            continue;
        found = strstr(stat, "symbolizer") == NULL;
    }
    closedir(d);
    return found;
}

/* No zombie and no running child: waitid without reaping answers the
 * common case; /proc only when something runs. */
static int no_child_left(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
        return errno == ECHILD;
    return si.si_pid == 0 && !foreign_child_running();
}

static void step(struct slot *slots, uint8_t op, hipc_fuzz_in *in)
{
    struct slot *s = &slots[(op >> 4) % SLOTS];
    switch (op % 10) {
    case 0:
        op_spawn(s, in);
        break;
    case 1:
        op_write(s, in);
        break;
    case 2:
        op_read(s, in);
        break;
    case 3:
        hipc_fuzz_trace("close_in", 0, hipc_pipe_close(&s->p.in));
        break;
    case 4:
        op_signal(s, in);
        break;
    case 5:
        op_wait(s);
        break;
    case 6:
        op_stop(s);
        break;
    case 7:
        op_close(s);
        break;
    case 8:
        op_get_fd(s, in);
        break;
    default:
        op_run(in);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct slot slots[SLOTS];
    hipc_fuzz_in in = {data, size};
    int fds0 = hipc_fuzz_fd_count();
    memset(slots, 0, sizeof slots);
    for (size_t i = 0; i < sizeof io_buf; i++)
        io_buf[i] = (uint8_t)(i * 7u + 1u);
    for (int n = 0; n < MAX_OPS && in.n > 0; n++)
        step(slots, hipc_fuzz_u8(&in), &in);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].open)
            HIPC_FUZZ_CHECK(hipc_process_close(&slots[i].p) == HIPC_OK);
    hipc_fuzz_check_fds(fds0);
    HIPC_FUZZ_CHECK(no_child_left());
    sigset_t pending;
    HIPC_FUZZ_CHECK(sigpending(&pending) == 0 &&
                    !sigismember(&pending, SIGPIPE));
    return 0;
}
