/* SPDX-License-Identifier: MIT */
/* Liveness across the boundaries a real machine has: a creator or a peer
 * in another time namespace, or hidden by /proc's hidepid under another
 * uid, is alive - gc keeps its segment, its channel end cannot be taken,
 * and its peer does not hear "gone". Each case runs in a forked "world"
 * that builds the namespaces; exit 77 means the machine cannot build it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/hipc.h"
#include "proc.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL("reads other processes' /proc entries")

#define CHAN_KEY 0x4c495645
#define SEG_KEY 0x4c495646
/* The other unprivileged uid, beside HIPC_TEST_UID. */
#define OTHER_UID 65533
#define OTHER_GID 65533
/* Longer than a channel's 50 ms liveness slice, so a wait looks at the
 * peer at least once before it ends. */
#define PEEK_NS ((int64_t)120 * 1000 * 1000)

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Runs `fn` in a forked world and maps its exit code onto the test. */
static void in_world(int (*fn)(void))
{
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int code = hipc_test_wait_child(pid, 60);
    if (code == 77)
        hipc_test_skip("the namespaces this test needs cannot be made here");
    assert_int_equal(code, 0);
}

/* The live creator's side: a channel producer and a hipc segment that
 * nobody attaches, then a byte on `ready`, then wait on `hold`. */
static int live_creator(int ready, int hold)
{
    hipc_chan ch;
    hipc_shm shm;
    hipc_chan_config cc = {.capacity = 4096, .mode = 0666};
    hipc_shm_config sc = {.size = 64, .mode = 0644};
    if (hipc_chan_create(&ch, CHAN_KEY, HIPC_CHAN_PRODUCER, &cc) != HIPC_OK)
        return 10;
    if (hipc_shm_create(&shm, SEG_KEY, &sc) != HIPC_OK ||
        hipc_shm_close(&shm) != HIPC_OK)
        return 11;
    char c = 1;
    if (write(ready, &c, 1) != 1)
        return 12;
    (void)read(hold, &c, 1); /* until the world is done looking */
    (void)hipc_chan_remove(&ch);
    (void)hipc_chan_close(&ch);
    return 0;
}

/* What another process sees of the live creator: nothing to collect, the
 * producer end taken, a consumer that waits without hearing "gone". */
static int judge_live_creator(void)
{
    hipc_seg_entry e[4];
    size_t found = 9;
    if (hipc_inspect_gc(e, 4, &found, HIPC_INSPECT_DRY_RUN, NULL) != 0 ||
        found != 0)
        return 20;
    hipc_chan c, p;
    if (hipc_chan_open(&p, CHAN_KEY, HIPC_CHAN_PRODUCER, NULL) != HIPC_E_EXISTS)
        return 21;
    if (hipc_chan_open(&c, CHAN_KEY, HIPC_CHAN_CONSUMER, NULL) != HIPC_OK)
        return 22;
    unsigned char buf[16];
    int rc = hipc_chan_recv(&c, buf, sizeof buf, PEEK_NS);
    (void)hipc_chan_close(&c);
    return rc == HIPC_E_TIMEDOUT ? 0 : 23;
}

/* The creator's process: `before` prepares, then a child of it creates
 * (so that namespaces `before` unshared apply to the creator itself). */
static int creator_process(int ready, int hold, int (*before)(void))
{
    if (before() != 0)
        return 77;
    pid_t pid = fork();
    if (pid == 0)
        _exit(live_creator(ready, hold));
    close(ready);
    close(hold);
    return hipc_test_wait_child(pid, 40);
}

/* Starts the creator; returns its process's pid, with the fds to talk. */
static pid_t start_creator(int *ready_rd, int *hold_wr, int (*before)(void))
{
    int ready[2], hold[2];
    if (pipe(ready) != 0 || pipe(hold) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        _exit(creator_process(ready[1], hold[0], before));
    }
    close(ready[1]);
    close(hold[0]);
    *ready_rd = ready[0];
    *hold_wr = hold[1];
    return pid;
}

/* Waits for the creator to be ready, runs `judge`, lets the creator go. */
static int judge_and_release(pid_t pid, int ready, int hold, int (*judge)(void))
{
    char c = 0;
    int verdict = read(ready, &c, 1) == 1 ? judge() : -1;
    close(hold);
    close(ready);
    int code = hipc_test_wait_child(pid, 30);
    shmctl(shmget(SEG_KEY, 0, 0), IPC_RMID, NULL);
    if (verdict == -1) /* the creator never got ready: its code says why */
        return code != 0 ? code : 30;
    return verdict != 0 ? verdict : code;
}

static int nothing(void)
{
    return 0;
}

/* The offsets of a new time namespace can be set until a process enters
 * it: far from ours, so that raw start times could never match. */
static int enter_far_time_namespace(void)
{
    static const char offsets[] = "monotonic 86400 0\nboottime 100000 0\n";
    if (unshare(CLONE_NEWTIME) != 0)
        return -1;
    int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, offsets, sizeof offsets - 1) ==
                            (ssize_t)(sizeof offsets - 1);
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

/* The creator's parent enters the namespace (unshare moves only the
 * children), so the creator is born there; the world, which judges,
 * never unshared anything. */
static int born_in_time_namespace(void)
{
    return enter_far_time_namespace();
}

static int creator_in_time_namespace_world(void)
{
    int ready = -1, hold = -1;
    pid_t pid = start_creator(&ready, &hold, born_in_time_namespace);
    return pid < 0 ? 2
                   : judge_and_release(pid, ready, hold, judge_live_creator);
}

static void creator_in_another_time_namespace_is_alive(void **state)
{
    (void)state;
    in_world(creator_in_time_namespace_world);
}

/* The other way round: the creator stays, the judge moves. */
static int judge_in_time_namespace(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(judge_live_creator());
    return hipc_test_wait_child(pid, 30);
}

static int judge_in_time_namespace_world(void)
{
    int ready = -1, hold = -1;
    pid_t pid = start_creator(&ready, &hold, nothing);
    if (pid < 0)
        return 2;
    if (enter_far_time_namespace() != 0) {
        judge_and_release(pid, ready, hold, nothing);
        return 77;
    }
    return judge_and_release(pid, ready, hold, judge_in_time_namespace);
}

static void judge_in_another_time_namespace_sees_the_creator_alive(void **state)
{
    (void)state;
    in_world(judge_in_time_namespace_world);
}

/* Right after unshare(CLONE_NEWTIME) a process stays in its old time
 * namespace while timens_offsets shows the new one's: its own offset is
 * unknown. It says so (HIPC_E_UNSUPPORTED) rather than record a wrong
 * start time, and judges no one gone. */
static int unshared_not_entered_world(void)
{
    uint64_t parent = 0, start = 0;
    if (hipc__proc_start_time(getppid(), &parent, NULL) != HIPC_OK)
        return 2;
    if (enter_far_time_namespace() != 0)
        return 77;
    if (hipc__proc_self_start(&start, NULL) != HIPC_E_UNSUPPORTED)
        return 3;
    if (hipc__proc_alive(getppid(), parent, NULL) != HIPC__PROC_UNKNOWN)
        return 4;
    hipc_chan ch;
    hipc_chan_config cc = {.capacity = 4096};
    return hipc_chan_create(&ch, CHAN_KEY, HIPC_CHAN_PRODUCER, &cc) ==
                   HIPC_E_UNSUPPORTED
               ? 0
               : 5;
}

static void a_time_namespace_unshared_but_not_entered_is_said_so(void **state)
{
    (void)state;
    in_world(unshared_not_entered_world);
}

/* ---- hidepid ------------------------------------------------------------ */

static pid_t hidden_pid;

/* The judge runs as another unprivileged uid, which hidepid blinds to the
 * creator's /proc entry; it owns the segment (so gc could remove it). */
static int blind_judge(void)
{
    char path[48];
    if (setgroups(0, NULL) != 0 || setgid(OTHER_GID) != 0 ||
        setuid(OTHER_UID) != 0)
        return 40;
    /* The stat file, not the directory: hidepid=noaccess lists the
     * directory but refuses what is inside. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int)hidden_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 77; /* hidepid did not hide it: nothing to test */
    }
    return judge_live_creator();
}

static int judge_blind(void)
{
    int id = shmget(SEG_KEY, 0, 0);
    struct shmid_ds ds;
    if (id < 0 || shmctl(id, IPC_STAT, &ds) != 0)
        return 41;
    ds.shm_perm.uid = OTHER_UID;
    if (shmctl(id, IPC_SET, &ds) != 0)
        return 42;
    pid_t pid = fork();
    if (pid == 0)
        _exit(blind_judge());
    return hipc_test_wait_child(pid, 30);
}

static int remount_proc_hidden(void)
{
    static const char *const opts[] = {"hidepid=invisible", "hidepid=2"};
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    for (size_t i = 0; i < 2; i++)
        if (mount("proc", "/proc", "proc", 0, opts[i]) == 0)
            return 0;
    return -1;
}

/* Pid 1 of a new pid namespace with its own /proc, mounted hidepid. */
static int hidepid_init(void)
{
    if (remount_proc_hidden() != 0)
        return 77;
    int ready = -1, hold = -1;
    pid_t pid = start_creator(&ready, &hold, hipc_test_drop_privileges);
    if (pid < 0)
        return 2;
    hidden_pid = pid;
    return judge_and_release(pid, ready, hold, judge_blind);
}

static int hidepid_world(void)
{
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
        return 77;
    pid_t init = fork();
    if (init == 0)
        _exit(hidepid_init());
    return hipc_test_wait_child(init, 50);
}

static void peer_hidden_by_hidepid_is_alive(void **state)
{
    (void)state;
    in_world(hidepid_world);
}

/* ---- pid namespaces ----------------------------------------------------- */

/* A container's view: its own /proc, so that it reads its own identity
 * right, as a creator in a container does. */
static int own_proc(void)
{
    if (unshare(CLONE_NEWNS) != 0 ||
        mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("proc", "/proc", "proc", 0, NULL) != 0)
        return -1;
    return 0;
}

/* The producer end is held by pid 2 of a new pid namespace (a container
 * with its own /proc): here, pid 2 names another process (kthreadd, or
 * nobody). The end is held all the same, and its consumer waits. */
static int producer_in_pid_namespace_world(void)
{
    if (unshare(CLONE_NEWPID) != 0)
        return 77;
    int ready = -1, hold = -1;
    pid_t pid = start_creator(&ready, &hold, own_proc);
    return pid < 0 ? 2
                   : judge_and_release(pid, ready, hold, judge_live_creator);
}

static void an_end_held_from_another_pid_namespace_is_held(void **state)
{
    (void)state;
    in_world(producer_in_pid_namespace_world);
}

/* ---- a pid namespace without its own /proc ------------------------------ */

/* Init of a pid namespace that kept its parent's /proc (unshare --pid
 * --fork without --mount-proc, as AFL++ runs its targets). The creator
 * and the judge are both in it, and a pid number of theirs read in that
 * /proc names another process (pid 2 there is kthreadd). The end is held
 * all the same, its consumer waits, and nothing is collected. */
static int foreign_proc_init(void)
{
    int ready = -1, hold = -1;
    pid_t pid = start_creator(&ready, &hold, nothing);
    return pid < 0 ? 2
                   : judge_and_release(pid, ready, hold, judge_live_creator);
}

static int foreign_proc_world(void)
{
    if (unshare(CLONE_NEWPID) != 0)
        return 77;
    pid_t init = fork();
    if (init < 0)
        return 2;
    if (init == 0)
        _exit(foreign_proc_init());
    return hipc_test_wait_child(init, 50);
}

static void
a_pid_namespace_without_its_own_proc_judges_nobody_gone(void **state)
{
    (void)state;
    in_world(foreign_proc_world);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(creator_in_another_time_namespace_is_alive),
    cmocka_unit_test(judge_in_another_time_namespace_sees_the_creator_alive),
    cmocka_unit_test(a_time_namespace_unshared_but_not_entered_is_said_so),
    cmocka_unit_test(peer_hidden_by_hidepid_is_alive),
    cmocka_unit_test(an_end_held_from_another_pid_namespace_is_held),
    cmocka_unit_test(a_pid_namespace_without_its_own_proc_judges_nobody_gone),
};

HIPC_TEST_MAIN(tests)
