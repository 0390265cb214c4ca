/* SPDX-License-Identifier: MIT */
/* The inspector (lib/inspect.c) when the creator of a foreign segment
 * cannot be looked up: the verdict is "unknown", never a guess, and gc
 * leaves such a segment alone. */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <time.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "hipc/shm.h"
#include "inspect_priv.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "lists segments through /proc/sysvipc, the kernel's list, not the world's")

#ifdef HIPC_FAULT_INJECTION
#include "fault.h"

/* Lists the one segment with the nth /proc open failing (1: the table,
 * 2: the creator's stat file) with `err`. */
static enum hipc_seg_orphan verdict_with_open_failing(unsigned long nth,
                                                      int err)
{
    hipc_seg_entry e;
    size_t total = 0;
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_OPEN, nth, err);
    int n = hipc_inspect_list(&e, 1, &total, HIPC_INSPECT_NO_PEEK, NULL);
    assert_true(hipc_fault_fired());
    hipc_fault_reset();
    assert_int_equal(n, 1);
    return e.orphan;
}

static void *attached;

/* Another process attaches the orphan between gc's verdict and its
 * removal. */
static void someone_attaches(void *arg)
{
    attached = shmat(*(int *)arg, NULL, SHM_RDONLY);
}

struct takeover {
    int id, taken;
};

/* The orphan is removed and a new segment takes its very id (chosen with
 * shm_next_id in this private namespace), made by a live process. */
static void someone_takes_the_id(void *arg)
{
    struct takeover *t = arg;
    char text[32];
    shmctl(t->id, IPC_RMID, NULL);
    int fd = open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC);
    int n = snprintf(text, sizeof text, "%d", t->id);
    if (fd >= 0 && write(fd, text, (size_t)n) == n)
        t->taken = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (fd >= 0)
        close(fd);
}

/* gc looks at the segment again right before removing it: one that was
 * attached or replaced meanwhile is left alone, and that is no error. */
/* Without clocks the pid-reuse judgement is skipped, not guessed: a live
 * creator still counts as alive. */
static void without_clocks_a_live_creator_still_counts(void **state)
{
    (void)state;
    hipc_seg_entry e;
    size_t total = 0;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_CLOCK, 1, EINVAL);
    assert_int_equal(hipc_inspect_list(&e, 1, &total, HIPC_INSPECT_NO_PEEK,
                                       NULL),
                     1);
    assert_true(hipc_fault_fired());
    hipc_fault_reset();
    assert_int_equal(e.orphan, HIPC_ORPHAN_NO);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

static void gc_leaves_a_segment_that_changed_since_its_verdict(void **state)
{
    (void)state;
    hipc_seg_entry e;
    size_t found = 0;
    int id = hipc_test_make_orphan();
    assert_true(id >= 0);
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    /* With NO_PEEK, the first IPC_STAT is the one right before removal. */
    hipc_fault_hook_nth(HIPC_SYS_SHMCTL, 1, someone_attaches, &id);
    assert_int_equal(hipc_inspect_gc(&e, 1, &found, HIPC_INSPECT_NO_PEEK, NULL),
                     0);
    assert_int_equal(found, 1);
    assert_true(attached != (void *)-1 && attached != NULL);
    assert_int_equal(shmdt(attached), 0);
    struct takeover t = {id, -1};
    hipc_fault_hook_nth(HIPC_SYS_SHMCTL, 1, someone_takes_the_id, &t);
    assert_int_equal(hipc_inspect_gc(&e, 1, &found, HIPC_INSPECT_NO_PEEK, NULL),
                     0);
    hipc_fault_reset();
    /* Where the id could be chosen, the live creator's segment stayed. */
    if (t.taken == id)
        assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
    else if (t.taken >= 0)
        shmctl(t.taken, IPC_RMID, NULL);
    assert_int_equal(hipc_test_shm_count(), 0);
}

/* The orphan verdicts of our own two segments, a foreign one and a hipc
 * one, with the wall clock stepped by `step` seconds since they were made
 * (a board without RTC whose first NTP sync came after them). */
static void verdicts_with_clock_stepped(long long step, int foreign, int mine,
                                        enum hipc_seg_orphan want_foreign)
{
    hipc_seg_entry e[2];
    size_t total = 0, found = 9;
    hipc_fault_reset();
    hipc_fault_step_realtime(step);
    assert_int_equal(hipc_inspect_list(e, 2, &total, 0, NULL), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(e[i].id == foreign || e[i].id == mine);
        assert_int_equal(e[i].orphan,
                         e[i].id == mine ? HIPC_ORPHAN_NO : want_foreign);
    }
    /* We run: nothing of ours is collected, whatever the clock says. */
    assert_int_equal(hipc_inspect_gc(e, 2, &found, 0, NULL), 0);
    assert_int_equal(found, 0);
    hipc_fault_reset();
}

static void a_stepped_wall_clock_never_collects_a_live_creator(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 64};
    int foreign = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(foreign >= 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    int mine = shm.id;
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    /* Forward: we seem to have started after our own segment. */
    verdicts_with_clock_stepped(100000, foreign, mine, HIPC_ORPHAN_UNKNOWN);
    /* Backward: no claim at all. */
    verdicts_with_clock_stepped(-100000, foreign, mine, HIPC_ORPHAN_NO);
    assert_int_equal(shmctl(foreign, IPC_RMID, NULL), 0);
    assert_int_equal(shmctl(mine, IPC_RMID, NULL), 0);
}

/* A creator whose stat file cannot be opened - no descriptor left, or
 * hidden from us by hidepid (ENOENT or EACCES while kill(pid, 0) finds
 * it) - is "unknown", never "gone": gc leaves its segment. */
static void a_creator_that_cannot_be_looked_up_is_unknown(void **state)
{
    (void)state;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    assert_int_equal(verdict_with_open_failing(2, EMFILE), HIPC_ORPHAN_UNKNOWN);
    assert_int_equal(verdict_with_open_failing(2, ENOENT), HIPC_ORPHAN_UNKNOWN);
    assert_int_equal(verdict_with_open_failing(2, EACCES), HIPC_ORPHAN_UNKNOWN);
    /* Nothing failing: we made it and still run, after two opens. */
    hipc_seg_entry one;
    size_t n = 0;
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    assert_int_equal(hipc_inspect_list(&one, 1, &n, HIPC_INSPECT_NO_PEEK, NULL),
                     1);
    assert_int_equal(one.orphan, HIPC_ORPHAN_NO);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_OPEN), 2);
    size_t found = 9;
    hipc_seg_entry e;
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 2, ENOENT);
    assert_int_equal(hipc_inspect_gc(&e, 1, &found, 0, NULL), 0);
    assert_true(hipc_fault_fired());
    assert_int_equal(found, 0);
    hipc_fault_reset();
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

#endif

static void lists_of_a_namespace_without_segments_are_empty(void **state)
{
    (void)state;
    hipc_seg_entry e;
    size_t total = 7;
    assert_int_equal(hipc_inspect_list(&e, 1, &total, 0, NULL), 0);
    assert_int_equal(total, 0);
    /* gc may be asked only to count: no array, no room. */
    size_t found = 7;
    assert_int_equal(hipc_inspect_gc(NULL, 0, &found, 0, NULL), 0);
    assert_int_equal(found, 0);
    assert_int_equal(hipc_inspect_gc(NULL, 1, &found, 0, NULL), HIPC_E_NULL);
    /* Preparing no parser is harmless. */
    hipc_inspect_parser_init(NULL);
}

/* The pid-reuse judgement claims nothing from clocks that make no sense. */
static void nonsense_clocks_never_prove_a_pid_reused(void **state)
{
    (void)state;
    const int64_t s = 1000000000;
    assert_int_equal(hipc__inspect_started_after(1000, 0, 2000 * s, 100 * s, 0),
                     0);
    assert_int_equal(hipc__inspect_started_after(1000, 100, 2000 * s, -1, 0),
                     0);
    assert_int_equal(hipc__inspect_started_after(1000, 100, 50 * s, 100 * s, 0),
                     0);
    assert_int_equal(hipc__inspect_started_after(1000, 2000000000, 2000 * s,
                                                 100 * s, 0),
                     0);
    /* Sane clocks: started 10 s after boot, boot at 1900: 1910 > 1000. */
    assert_int_equal(hipc__inspect_started_after(1000, 100, 2000 * s, 100 * s,
                                                 1000),
                     1);
}

/* An unprivileged gc may not even look at root's orphans: each removal
 * fails, and the first failure is the one reported, with its errno. */
static void gc_reports_the_first_of_several_failures(void **state)
{
    (void)state;
    int a = hipc_test_make_orphan(), b = hipc_test_make_orphan();
    assert_true(a >= 0 && b >= 0);
    pid_t pid = fork();
    if (pid == 0) {
        hipc_seg_entry e[2];
        size_t found = 0;
        int err = 0;
        if (hipc_test_drop_privileges() != 0)
            _exit(2);
        int rc = hipc_inspect_gc(e, 2, &found, HIPC_INSPECT_NO_PEEK, &err);
        _exit(rc == HIPC_E_PERM && found == 2 && err == EACCES ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(shmctl(a, IPC_RMID, NULL), 0);
    assert_int_equal(shmctl(b, IPC_RMID, NULL), 0);
}

/* Pid 1 of a fresh pid namespace, with its own /proc: a child (pid 2)
 * makes a segment and exits; three seconds later pid 2 is handed out again
 * (ns_last_pid) to a process that could not have made a segment older than
 * itself. The inspector must not take it for the creator, and since only
 * the wall clock says so (it may have been stepped), gc must leave the
 * segment alone: the verdict is "unknown". */
static int reused_pid_body(void)
{
    int idp[2], hold[2], id = -1;
    /* Type and source are ignored for a propagation change; named all the
     * same, as valgrind checks every string the call takes. */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("proc", "/proc", "proc", 0, NULL) != 0 ||
        pipe2(idp, O_NONBLOCK) != 0 || pipe(hold) != 0)
        return 77;
    pid_t maker = fork();
    if (maker == 0) {
        id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        _exit(write(idp[1], &id, sizeof id) == (ssize_t)sizeof id ? 0 : 1);
    }
    waitpid(maker, NULL, 0);
    if (read(idp[0], &id, sizeof id) != (ssize_t)sizeof id || id < 0)
        return 2;
    /* Wall-clock time must pass, not synchronise anything: ctime is
     * truncated to the second, so a start is only known to be later when
     * it is past ctime + 1 s (+1 ms of allowed clock-reading skew). The
     * margin left (0.49 s) is only ever eaten by the start time's own
     * truncation to a tick (10 ms); delays make the new process later. */
    struct timespec wait = {1, 500000000};
    while (nanosleep(&wait, &wait) != 0)
        ;
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    char text[16];
    int n = snprintf(text, sizeof text, "%d", (int)maker - 1);
    int ok = fd >= 0 && write(fd, text, (size_t)n) == n;
    if (fd >= 0)
        close(fd);
    pid_t again = ok ? fork() : -1;
    if (again == 0) {
        char c;
        close(hold[1]); /* so that the parent's close ends the read */
        _exit(read(hold[0], &c, 1) >= 0 ? 0 : 1);
    }
    hipc_seg_entry e;
    size_t total = 0;
    int listed = hipc_inspect_list(&e, 1, &total, HIPC_INSPECT_NO_PEEK, NULL);
    int verdict = listed == 1 ? (int)e.orphan : -1;
    size_t found = 9;
    if (hipc_inspect_gc(NULL, 0, &found, HIPC_INSPECT_NO_PEEK, NULL) != 0 ||
        found != 0)
        verdict = -2;
    shmctl(id, IPC_RMID, NULL);
    close(hold[1]);
    if (again > 0)
        waitpid(again, NULL, 0);
    if (again != maker)
        return 77; /* the pid could not be handed out again here */
    return verdict == HIPC_ORPHAN_UNKNOWN ? 0 : 3;
}

static void a_reused_pid_is_not_taken_for_the_creator(void **state)
{
    (void)state;
#ifdef HIPC_FAULT_INJECTION
    /* The hint under test reads the wall clock; stepped back (hostile
     * stage, realtime=-N) it rightly claims nothing. */
    if (hipc_fault_realtime_shift() < 0)
        hipc_test_skip("the wall clock is stepped back (HIPC_FAULT_MODE "
                       "realtime=-N): the wall-clock hint cannot be made");
#endif
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
            _exit(77);
        pid_t init = fork();
        if (init == 0)
            _exit(reused_pid_body());
        int status = 0;
        waitpid(init, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
    }
    int code = hipc_test_wait_child(pid, 60);
    if (code == 77)
        skip();
    assert_int_equal(code, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lists_of_a_namespace_without_segments_are_empty),
    cmocka_unit_test(nonsense_clocks_never_prove_a_pid_reused),
    cmocka_unit_test(gc_reports_the_first_of_several_failures),
    cmocka_unit_test(a_reused_pid_is_not_taken_for_the_creator),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_creator_that_cannot_be_looked_up_is_unknown),
    cmocka_unit_test(gc_leaves_a_segment_that_changed_since_its_verdict),
    cmocka_unit_test(without_clocks_a_live_creator_still_counts),
    cmocka_unit_test(a_stepped_wall_clock_never_collects_a_live_creator),
#endif
};

HIPC_TEST_MAIN(tests)
