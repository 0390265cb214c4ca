/* SPDX-License-Identifier: MIT */
/* Tests for the hipcctl program, run as a child: exit codes and error
 * lines, --json validity (python3 -m json.tool), `ls` against util-linux
 * `ipcs -m` on the same segments, rm, gc and demo. The whole group runs in
 * a private IPC namespace and proves it leaves no segment. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/hipc.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "runs hipcctl, another program, on the kernel's segments")

#define OUT_MAX 65536

/* What a finished command left behind. */
struct run {
    int code; /* exit code, or 128 + signal */
    char out[OUT_MAX];
    char err[4096];
};

static void drain(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || len + (size_t)n >= cap - 1) {
            if (n > 0)
                len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
}

/* Runs argv with `input` (may be NULL) on stdin; stdout and stderr are
 * captured. stderr is small, so it is read after stdout without deadlock
 * for the outputs these tests produce (bounded by OUT_MAX). */
static void run_with(const char *const argv[], const char *input, struct run *r)
{
    /* execvp wants mutable strings it never modifies. */
    char *args[16];
    size_t n = 0;
    for (; argv[n] != NULL && n < 15; n++)
        memcpy(&args[n], &argv[n], sizeof args[n]);
    args[n] = NULL;
    int out[2], err[2], in[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd = 3; fd < 64; fd++)
            close(fd);
        execvp(args[0], args);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    close(in[0]);
    if (input != NULL)
        assert_int_equal(write(in[1], input, strlen(input)),
                         (ssize_t)strlen(input));
    close(in[1]);
    drain(out[0], r->out, sizeof r->out);
    drain(err[0], r->err, sizeof r->err);
    close(out[0]);
    close(err[0]);
    r->code = hipc_test_wait_child(pid, 60);
}

#ifdef HIPCCTL_PATH
#define CTL HIPCCTL_PATH
#else
#define CTL "hipcctl"
#endif

static struct run R;

#define RUN(...)                                                               \
    do {                                                                       \
        const char *const argv_[] = {CTL, __VA_ARGS__, NULL};                  \
        run_with(argv_, NULL, &R);                                             \
    } while (0)

static int have_hipcctl(void)
{
#ifdef HIPCCTL_PATH
    return access(HIPCCTL_PATH, X_OK) == 0;
#else
    return 0;
#endif
}

/* Without the tools build (HIPC_BUILD_TOOLS=OFF) there is nothing to run. */
static int setup(void **state)
{
    (void)state;
    if (!have_hipcctl())
        fprintf(stderr, "test_hipcctl: hipcctl not built; skipping\n");
    return 0;
}

#define NEED_HIPCCTL()                                                         \
    do {                                                                       \
        (void)state;                                                           \
        if (!have_hipcctl())                                                   \
            skip();                                                            \
    } while (0)

/* ---- exit codes and error lines ---------------------------------------- */

static void help_and_version_exit_zero(void **state)
{
    NEED_HIPCCTL();
    RUN("help");
    assert_int_equal(R.code, 0);
    assert_non_null(
        strstr(R.out, "exit codes: 0 ok, 1 operation failed, 2 usage"));
    RUN("version");
    assert_int_equal(R.code, 0);
    assert_non_null(strstr(R.out, HIPC_VERSION_STRING));
    RUN("--help");
    assert_int_equal(R.code, 0);
}

static void usage_errors_exit_two_with_one_line(void **state)
{
    NEED_HIPCCTL();
    static const char *const bad[][3] = {
        {"bogus", NULL, NULL},          {"ls", "extra", NULL},
        {"ls", "--frob", NULL},         {"stat", NULL, NULL},
        {"stat", "abc", NULL},          {"stat", "-1", NULL},
        {"stat", "2147483648", NULL},   {"rm", NULL, NULL},
        {"rm", "--key", NULL},          {"rm", "--key", "zz"},
        {"rm", "--key", "0x100000000"}, {"rm", "1", "2"},
        {"gc", "--now", NULL},          {"demo", "x", NULL},
        {"version", "x", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[5] = {CTL, bad[i][0], bad[i][1], bad[i][2], NULL};
        run_with(argv, NULL, &R);
        if (R.code != 2)
            fail_msg("hipcctl %s %s: exit %d", bad[i][0],
                     bad[i][1] ? bad[i][1] : "", R.code);
        assert_true(strncmp(R.err, "hipcctl: ", 9) == 0);
        assert_ptr_equal(strchr(R.err, '\n'), R.err + strlen(R.err) - 1);
    }
    const char *none[] = {CTL, NULL};
    run_with(none, NULL, &R);
    assert_int_equal(R.code, 2);
}

static void missing_segments_exit_three_with_code_and_errno(void **state)
{
    NEED_HIPCCTL();
    RUN("stat", "123456");
    assert_int_equal(R.code, 3);
    assert_string_equal(R.err,
                        "hipcctl: stat: segment 123456: HIPC_E_NOT_FOUND "
                        "(no such object)\n");
    RUN("rm", "123456");
    assert_int_equal(R.code, 3);
    assert_non_null(strstr(R.err, "HIPC_E_NOT_FOUND"));
    assert_non_null(strstr(R.err, strerror(EINVAL)));
    RUN("rm", "--key", "0x12345");
    assert_int_equal(R.code, 3);
    assert_non_null(strstr(R.err, strerror(ENOENT)));
}

static void failed_operations_exit_one(void **state)
{
    NEED_HIPCCTL();
    RUN("rm", "--key", "0");
    assert_int_equal(R.code, 1);
    assert_non_null(strstr(R.err, "HIPC_E_BAD_KEY"));
}

static void output_that_cannot_be_written_exits_one(void **state)
{
    NEED_HIPCCTL();
    if (access("/dev/full", W_OK) != 0)
        skip();
    const char *const ls[] = {"sh", "-c", "'" CTL "' ls >/dev/full", NULL};
    run_with(ls, NULL, &R);
    assert_int_equal(R.code, 1);
    assert_non_null(strstr(R.err, "hipcctl: writing output: "));
    const char *const demo[] = {"sh", "-c", "'" CTL "' demo >/dev/full", NULL};
    run_with(demo, NULL, &R);
    assert_int_equal(R.code, 1);
    assert_int_equal(hipc_test_shm_count(), 0);
}

/* ---- --json ---------------------------------------------------------------- */

static int have_python(void)
{
    const char *const argv[] = {"python3", "-c", "import json", NULL};
    run_with(argv, NULL, &R);
    return R.code == 0;
}

/* Feeds `text` to python3 -m json.tool; returns its exit code. */
static int json_check(const char *text)
{
    static struct run j;
    const char *const argv[] = {"python3", "-m", "json.tool", NULL};
    run_with(argv, text, &j);
    return j.code;
}

static void json_output_is_valid_json(void **state)
{
    NEED_HIPCCTL();
    if (!have_python())
        skip();
    static char copy[OUT_MAX];
    RUN("ls", "--json");
    assert_int_equal(R.code, 0);
    assert_int_equal(json_check(R.out), 0);
    hipc_shm shm;
    hipc_shm_config cfg = {100, 0, 0640, 0x71u};
    assert_int_equal(hipc_shm_create(&shm, 0x6161, &cfg), HIPC_OK);
    int raw = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(raw >= 0);
    assert_int_equal(shmctl(raw, IPC_RMID, NULL), 0); /* gone at once */
    int raw2 = shmget(-7, 4096, IPC_CREAT | 0666);
    RUN("ls", "--json");
    assert_int_equal(R.code, 0);
    memcpy(copy, R.out, sizeof copy);
    assert_int_equal(json_check(copy), 0);
    assert_non_null(strstr(copy, "\"count\": 2"));
    assert_non_null(strstr(copy, "\"tag\": 113"));
    assert_non_null(strstr(copy, "\"key\": -7"));
    char id[16];
    snprintf(id, sizeof id, "%d", shm.id);
    RUN("stat", "--json", id);
    assert_int_equal(R.code, 0);
    memcpy(copy, R.out, sizeof copy);
    assert_int_equal(json_check(copy), 0);
    assert_non_null(strstr(copy, "\"kind\": \"hipc\""));
    assert_int_equal(shmctl(raw2, IPC_RMID, NULL), 0);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* ---- ls against ipcs -m ------------------------------------------------------ */

/* The columns both tools print: key shmid owner perms bytes nattch status.
 * Status words are joined with ',' ("dest,locked"); empty when none. */
struct row {
    char key[16], id[16], owner[64], perms[8], bytes[24], nattch[24],
        status[24];
};

static size_t split(char *line, char **w, size_t max)
{
    size_t n = 0;
    for (char *t = strtok(line, " \t"); t != NULL && n < max;
         t = strtok(NULL, " \t"))
        w[n++] = t;
    return n;
}

/* Parses the table rows (lines starting with 0x). hipcctl adds two
 * columns, hipc and orphan, after the status. */
static size_t rows_of(char *text, struct row *rows, size_t max, size_t extra)
{
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        char *w[16];
        if (strncmp(l, "0x", 2) != 0 || n == max)
            continue;
        size_t k = split(l, w, 16);
        assert_true(k >= 6 + extra);
        struct row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->key, sizeof r->key, "%s", w[0]);
        snprintf(r->id, sizeof r->id, "%s", w[1]);
        snprintf(r->owner, sizeof r->owner, "%s", w[2]);
        snprintf(r->perms, sizeof r->perms, "%s", w[3]);
        snprintf(r->bytes, sizeof r->bytes, "%s", w[4]);
        snprintf(r->nattch, sizeof r->nattch, "%s", w[5]);
        for (size_t i = 6; i < k - extra; i++) {
            if (r->status[0] != '\0')
                strcat(r->status, ",");
            strncat(r->status, w[i], sizeof r->status - strlen(r->status) - 2);
        }
    }
    return n;
}

static int have_ipcs(void)
{
    const char *const argv[] = {"ipcs", "-m", NULL};
    run_with(argv, NULL, &R);
    return R.code == 0;
}

static void compare_with_ipcs(const char *flag)
{
    static struct run ours;
    static struct row a[16], b[16];
    const char *const argv[] = {CTL, "ls", flag, NULL};
    run_with(argv, NULL, &ours);
    assert_int_equal(ours.code, 0);
    const char *const ipcs[] = {"ipcs", "-m", NULL};
    run_with(ipcs, NULL, &R);
    assert_int_equal(R.code, 0);
    size_t na = rows_of(ours.out, a, 16, 2);
    size_t nb = rows_of(R.out, b, 16, 0);
    assert_int_equal(na, 5);
    assert_int_equal(nb, na);
    /* Both list by id order; compare row by row, field by field. */
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].key, b[i].key);
        assert_string_equal(a[i].id, b[i].id);
        assert_string_equal(a[i].owner, b[i].owner);
        assert_string_equal(a[i].perms, b[i].perms);
        assert_string_equal(a[i].bytes, b[i].bytes);
        assert_string_equal(a[i].nattch, b[i].nattch);
        assert_string_equal(a[i].status, b[i].status);
    }
}

static void ls_agrees_with_ipcs(void **state)
{
    NEED_HIPCCTL();
    if (!have_ipcs())
        skip();
    assert_int_equal(hipc_test_shm_count(), 0);
    /* Keys positive and negative, odd sizes and modes, attached twice,
     * locked, marked for removal while attached, and a hipc segment. */
    int plain = shmget(0x00c0ffee, 100, IPC_CREAT | 0640);
    int neg = shmget((key_t)0xfffffff0, 8193, IPC_CREAT | 0604);
    int dest = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0666);
    int locked = shmget(0x4c4f434b, 65536, IPC_CREAT | 0600);
    assert_true(plain >= 0 && neg >= 0 && dest >= 0 && locked >= 0);
    void *p1 = shmat(neg, NULL, 0), *p2 = shmat(neg, NULL, SHM_RDONLY);
    void *p3 = shmat(dest, NULL, 0);
    assert_true(p1 != (void *)-1 && p2 != (void *)-1 && p3 != (void *)-1);
    assert_int_equal(shmctl(dest, IPC_RMID, NULL), 0);
    int lock_ok = shmctl(locked, SHM_LOCK, NULL) == 0;
    hipc_shm shm;
    hipc_shm_config cfg = {5000, 0, 0, 0x42u};
    assert_int_equal(hipc_shm_create(&shm, 0x7e57, &cfg), HIPC_OK);

    compare_with_ipcs("--no-peek");
    compare_with_ipcs(NULL);

    if (lock_ok)
        assert_int_equal(shmctl(locked, SHM_UNLOCK, NULL), 0);
    assert_int_equal(shmdt(p1), 0);
    assert_int_equal(shmdt(p2), 0);
    assert_int_equal(shmdt(p3), 0);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    RUN("rm", "--key", "0x00c0ffee");
    assert_int_equal(R.code, 0);
    char id[16];
    snprintf(id, sizeof id, "%d", locked);
    RUN("rm", id);
    assert_int_equal(R.code, 0);
    RUN("rm", "--key", "-16");
    assert_int_equal(R.code, 0);
    /* Proof: nothing left, by both tools. */
    assert_int_equal(hipc_test_shm_count(), 0);
    RUN("ls");
    assert_null(strstr(R.out, "\n0x"));
    const char *const ipcs[] = {"ipcs", "-m", NULL};
    run_with(ipcs, NULL, &R);
    assert_null(strstr(R.out, "\n0x"));
}

/* ---- gc and demo ---------------------------------------------------------------- */

static void
gc_removes_a_dead_creators_segment_and_dry_run_does_not(void **state)
{
    NEED_HIPCCTL();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        _exit(write(fds[1], &id, sizeof id) == (ssize_t)sizeof id ? 0 : 1);
    }
    close(fds[1]);
    int id = -1;
    assert_int_equal(read(fds[0], &id, sizeof id), (ssize_t)sizeof id);
    close(fds[0]);
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
    int mine = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0 && mine >= 0);
    char line[64];
    snprintf(line, sizeof line, "would remove orphan: id %d ", id);
    RUN("gc", "--dry-run");
    assert_int_equal(R.code, 0);
    assert_non_null(strstr(R.out, line));
    assert_non_null(
        strstr(R.out, "gc: 1 orphan found (dry run: nothing removed)"));
    assert_int_equal(hipc_test_shm_count(), 2);
    RUN("gc");
    assert_int_equal(R.code, 0);
    assert_non_null(strstr(R.out, "gc: 1 orphan removed"));
    assert_int_equal(hipc_test_shm_count(), 1);
    assert_int_equal(shmctl(mine, IPC_RMID, NULL), 0);
}

static void demo_exits_zero_and_leaves_nothing(void **state)
{
    NEED_HIPCCTL();
    RUN("demo");
    assert_int_equal(R.code, 0);
    assert_non_null(strstr(R.out, "read: \"hello from parent"));
    assert_non_null(strstr(R.out, "read its answer: \"hello back from child"));
    assert_non_null(strstr(R.out, "/bin/cat echoed 14 bytes: Hello, world."));
    assert_non_null(strstr(R.out, "stopped it: killed by signal 15, reaped"));
    assert_non_null(
        strstr(R.out, "/nonexistent/program: HIPC_E_EXEC (errno 2"));
    assert_string_equal(R.err, "");
    assert_int_equal(hipc_test_shm_count(), 0);
}

#define T(f) cmocka_unit_test_setup(f, setup)

static const struct CMUnitTest tests[] = {
    T(help_and_version_exit_zero),
    T(usage_errors_exit_two_with_one_line),
    T(missing_segments_exit_three_with_code_and_errno),
    T(failed_operations_exit_one),
    T(output_that_cannot_be_written_exits_one),
    T(json_output_is_valid_json),
    T(ls_agrees_with_ipcs),
    T(gc_removes_a_dead_creators_segment_and_dry_run_does_not),
    T(demo_exits_zero_and_leaves_nothing),
};

HIPC_TEST_MAIN(tests)
