/* SPDX-License-Identifier: MIT */
/* The simulated kernel (lib/sim.c, hipc_testing_sim_begin): System V shm
 * through the seam's wrappers (keys, IPC_PRIVATE, IPC_CREAT/IPC_EXCL,
 * rounding, ids and their reuse, permissions for another uid, SHMMAX,
 * SHMALL, SHMMNI, nattch, IPC_STAT/IPC_SET/IPC_RMID with "removed but
 * attached"), pipes (capacity, O_NONBLOCK, EOF, EPIPE, F_SETPIPE_SZ, poll),
 * the calls it refuses, the sysctl files it answers, and hipc's own
 * modules running on it with no segment or descriptor made in the kernel. */
#include "hipc/config.h"

#ifdef HIPC_TESTING
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/pipe.h"
#include "hipc/shm.h"
#include "hipc/testing.h"
#include "proc.h"
#include "sim.h"
#include "support.h"
#include "sys.h"

#define PAGE hipc__sys_page_size()
#define HIPC_SIM_ARENA_BYTES hipc__sim_arena_size()

static int sim_setup(void **state)
{
    (void)hipc_testing_sim_end(); /* HIPC_FAULT_SIM=1 began one */
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_OK);
    int rc = hipc_test_fd_setup(state);
    /* The raw answers are checked here; HIPC_FAULT_MODE's transparent
     * faults on them are transparent_modes_apply's, and hipc_runs_on_it
     * takes them back. */
    assert_int_equal(hipc_testing_set_modes(NULL), HIPC_OK);
    return rc;
}

/* Every test must leave an empty world behind. */
static int sim_teardown(void **state)
{
    hipc_testing_sim_usage u;
    assert_int_equal(hipc_testing_get_sim(&u), HIPC_OK);
    assert_int_equal(u.running, 1);
    assert_int_equal(u.segments + u.attachments + u.descriptors + u.pages, 0);
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
    return hipc_test_fd_teardown(state);
}

static void begin_and_end(void **state)
{
    (void)state;
    hipc_testing_sim_limits big = {0, 0, HIPC_TESTING_SIM_SEGMENTS + 1};
    hipc_testing_sim_usage u;
    (void)hipc_testing_sim_end(); /* HIPC_FAULT_SIM=1 began one */
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_OK);
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_testing_get_sim(NULL), HIPC_E_NULL);
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
    assert_int_equal(hipc_testing_sim_end(), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_testing_get_sim(&u), HIPC_OK);
    assert_int_equal(u.running, 0);
    assert_int_equal(u.attachments, 0);
    assert_int_equal(hipc_testing_sim_begin(&big), HIPC_E_TOO_BIG);
    big.shmmni = 0;
    big.shmall = UINT32_MAX;
    assert_int_equal(hipc_testing_sim_begin(&big), HIPC_E_TOO_BIG);
    big.shmall = 0;
    big.shmmax = (uint64_t)HIPC_SIM_ARENA_BYTES + 1;
    assert_int_equal(hipc_testing_sim_begin(&big), HIPC_E_TOO_BIG);
    /* A world left with things in it: the end frees them all. */
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_OK);
    int fds[2];
    void *a;
    int id = hipc__sys_shmget(IPC_PRIVATE, 100, 0600);
    assert_true(id >= 0);
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &a), 0);
    assert_int_equal(hipc__sys_pipe2(fds, 0), 0);
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
    assert_int_equal(hipc_testing_sim_begin(NULL), HIPC_OK);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), -EINVAL);
    assert_int_equal(hipc__sys_close(fds[0]), -EBADF);
    assert_int_equal(hipc__sys_close(HIPC__SIM_FD_BASE + 100000), -EBADF);
}

static void shmget_keys_and_flags(void **state)
{
    (void)state;
    key_t k = 0x51510001;
    assert_int_equal(hipc__sys_shmget(k, 100, 0600), -ENOENT);
    int id = hipc__sys_shmget(k, 100, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(id >= 0);
    assert_int_equal(hipc__sys_shmget(k, 100, IPC_CREAT | IPC_EXCL | 0600),
                     -EEXIST);
    assert_int_equal(hipc__sys_shmget(k, 50, IPC_CREAT | 0600), id);
    assert_int_equal(hipc__sys_shmget(k, 0, 0), id);
    assert_int_equal(hipc__sys_shmget(k, 101, 0600), -EINVAL);
    int p1 = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    int p2 = hipc__sys_shmget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(p1 >= 0 && p2 >= 0 && p1 != p2 && p1 != id);
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 0, 0600), -EINVAL);
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 1, SHM_HUGETLB | 0600),
                     -ENOMEM);
    struct shmid_ds ds;
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_segsz, 100);
    assert_int_equal(ds.shm_perm.__key, k);
    assert_int_equal(ds.shm_perm.mode, 0600);
    assert_int_equal(ds.shm_perm.uid, geteuid());
    assert_int_equal(ds.shm_cpid, getpid());
    assert_int_equal(ds.shm_nattch, 0);
    assert_true(ds.shm_ctime > 0);
    hipc_testing_sim_usage u;
    assert_int_equal(hipc_testing_get_sim(&u), HIPC_OK);
    assert_int_equal(u.segments, 3);
    assert_int_equal(u.pages, 3); /* each rounded up to one page */
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(p1, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(p2, IPC_RMID, NULL), 0);
    /* Removed: the key is free, the id is gone and not handed out again
     * at once. */
    assert_int_equal(hipc__sys_shmget(k, 100, 0600), -ENOENT);
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), -EINVAL);
    int again = hipc__sys_shmget(k, 100, IPC_CREAT | 0600);
    assert_true(again >= 0 && again != id);
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), -EINVAL);
    assert_int_equal(hipc__sys_shmctl(-1, IPC_STAT, &ds), -EINVAL);
    assert_int_equal(hipc__sys_shmctl(HIPC_TESTING_SIM_SEGMENTS, IPC_STAT, &ds),
                     -EINVAL);
    assert_int_equal(hipc__sys_shmctl(again, IPC_STAT, NULL), -EFAULT);
    assert_int_equal(hipc__sys_shmctl(again, IPC_SET, NULL), -EFAULT);
    assert_int_equal(hipc__sys_shmctl(again, SHM_LOCK, NULL), -EINVAL);
    assert_int_equal(hipc__sys_shmctl(again, IPC_RMID, NULL), 0);
}

static void removed_but_attached(void **state)
{
    (void)state;
    key_t k = 0x51510002;
    int id = hipc__sys_shmget(k, 3 * PAGE, IPC_CREAT | 0600);
    void *a, *b;
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &a), 0);
    assert_int_equal(hipc__sys_shmat(id, NULL, SHM_RDONLY, &b), 0);
    assert_true(((uintptr_t)a % PAGE) == 0);
    memset(a, 0x5a, 3 * PAGE);
    assert_int_equal(((unsigned char *)b)[3 * PAGE - 1], 0x5a);
    struct shmid_ds ds;
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_nattch, 2);
    assert_int_equal(ds.shm_lpid, getpid());
    assert_true(ds.shm_atime > 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
    assert_int_equal(ds.shm_perm.__key, IPC_PRIVATE);
    assert_int_equal(hipc__sys_shmget(k, 1, 0600), -ENOENT);
    /* Linux lets a removed segment be attached by id until it is gone. */
    void *c;
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &c), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmdt(c), 0);
    assert_int_equal(hipc__sys_shmdt(a), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_nattch, 1);
    assert_true(ds.shm_dtime > 0);
    assert_int_equal(hipc__sys_shmdt(b), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_STAT, &ds), -EINVAL);
    assert_int_equal(hipc__sys_shmdt(b), -EINVAL);
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &c), -EINVAL);
    int other = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    assert_int_equal(hipc__sys_shmat(other, &c, 0, &c), -EINVAL);
    assert_int_equal(hipc__sys_shmctl(other, IPC_RMID, NULL), 0);
}

static void limits_hold(void **state)
{
    (void)state;
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
    hipc_testing_sim_limits lim = {2 * PAGE, 3, 2};
    assert_int_equal(hipc_testing_sim_begin(&lim), HIPC_OK);
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 2 * PAGE + 1, 0600),
                     -EINVAL);
    int a = hipc__sys_shmget(IPC_PRIVATE, 2 * PAGE, 0600);
    assert_true(a >= 0);
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 2 * PAGE, 0600), -ENOSPC);
    int b = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    assert_true(b >= 0);
    assert_int_equal(hipc__sys_shmctl(b, IPC_RMID, NULL), 0);
    b = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    int c = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    assert_int_equal(c, -ENOSPC); /* SHMALL: 3 pages in all */
    assert_int_equal(hipc__sys_shmctl(a, IPC_RMID, NULL), 0);
    c = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    assert_true(c >= 0);
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 1, 0600), -ENOSPC);
    struct shminfo in;
    struct shm_info si;
    assert_int_equal(hipc__sys_shmctl(0, IPC_INFO, (struct shmid_ds *)&in), 1);
    assert_int_equal(in.shmmax, 2 * PAGE);
    assert_int_equal(in.shmall, 3);
    assert_int_equal(in.shmmni, 2);
    assert_int_equal(hipc__sys_shmctl(0, SHM_INFO, (struct shmid_ds *)&si), 1);
    assert_int_equal(si.used_ids, 2);
    assert_int_equal(si.shm_tot, 2);
    assert_int_equal(hipc__sys_shmctl(0, SHM_INFO, NULL), -EFAULT);
    /* hipc reads the same limits through /proc. */
    hipc_shm_limits hl;
    assert_int_equal(hipc_shm_get_limits(&hl, NULL), HIPC_OK);
    assert_int_equal(hl.shmmax, 2 * PAGE);
    assert_int_equal(hl.shmall, 3);
    assert_int_equal(hl.shmmni, 2);
    assert_int_equal(hipc__sys_shmctl(b, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(c, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(0, SHM_INFO, (struct shmid_ds *)&si), 0);
}

static void arena_runs_out(void **state)
{
    (void)state;
    /* Segments up to SHMALL, less one pipe's buffer: the pipe takes the
     * rest of the arena, and the next segment finds no room. */
    size_t all = (size_t)HIPC_SIM_ARENA_BYTES, half = all / 2;
    int a = hipc__sys_shmget(IPC_PRIVATE, half, 0600);
    int b = hipc__sys_shmget(IPC_PRIVATE, half - 65536, 0600);
    assert_true(a >= 0 && b >= 0);
    int fds[2], more[2];
    assert_int_equal(hipc__sys_pipe2(fds, 0), 0);
    assert_int_equal(hipc__sys_shmget(IPC_PRIVATE, 1, 0600), -ENOMEM);
    assert_int_equal(hipc__sys_pipe2(more, 0), -ENOMEM);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_SETPIPE_SZ, 131072), -ENOMEM);
    assert_int_equal(hipc__sys_shmctl(a, IPC_RMID, NULL), 0);
    /* First fit: the hole the first one left is used again. */
    int c = hipc__sys_shmget(IPC_PRIVATE, PAGE, 0600);
    void *pc, *pb;
    assert_int_equal(hipc__sys_shmat(c, NULL, 0, &pc), 0);
    assert_int_equal(hipc__sys_shmat(b, NULL, 0, &pb), 0);
    assert_ptr_equal((unsigned char *)pc + half, pb);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    assert_int_equal(hipc__sys_shmdt(pc), 0);
    assert_int_equal(hipc__sys_shmdt(pb), 0);
    assert_int_equal(hipc__sys_shmctl(b, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(c, IPC_RMID, NULL), 0);
}

/* Tables full: attachments, descriptors, pipes. */
static void tables_run_out(void **state)
{
    (void)state;
    int id = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    static void *at[600];
    int n = 0;
    while (n < 600 && hipc__sys_shmat(id, NULL, 0, &at[n]) == 0)
        n++;
    assert_true(n > 0 && n < 600);
    void *x;
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &x), -EMFILE);
    while (n > 0)
        assert_int_equal(hipc__sys_shmdt(at[--n]), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
    static int fds[300][2];
    int p = 0, r = 0;
    while (p < 300 && (r = hipc__sys_pipe2(fds[p], 0)) == 0)
        p++;
    assert_int_equal(r, -ENFILE);
    /* Descriptors run out before pipes when some are taken already. */
    assert_int_equal(hipc__sys_close(fds[0][0]), 0);
    assert_int_equal(hipc__sys_close(fds[0][1]), 0);
    assert_int_equal(hipc__sys_close(fds[1][0]), 0);
    int more[2];
    int t1 = hipc__sys_open("/proc/sys/kernel/shmmni", O_RDONLY);
    int t2 = hipc__sys_open("/proc/sys/kernel/shmmni", O_RDONLY);
    assert_true(t1 >= HIPC__SIM_FD_BASE && t2 >= HIPC__SIM_FD_BASE);
    assert_int_equal(hipc__sys_pipe2(more, 0), -EMFILE); /* one fd left */
    int t3 = hipc__sys_open("/proc/sys/kernel/shmmni", O_RDONLY);
    assert_true(t3 >= HIPC__SIM_FD_BASE);
    assert_int_equal(hipc__sys_open("/proc/sys/kernel/shmmni", O_RDONLY),
                     -EMFILE);
    assert_int_equal(hipc__sys_open("/proc/self/stat", O_RDONLY), -EMFILE);
    assert_int_equal(hipc__sys_pipe2(more, 0), -EMFILE); /* none left */
    assert_int_equal(hipc__sys_close(t1), 0);
    assert_int_equal(hipc__sys_close(t2), 0);
    assert_int_equal(hipc__sys_close(t3), 0);
    assert_int_equal(hipc__sys_close(fds[1][1]), 0);
    for (int i = 2; i < p; i++) {
        assert_int_equal(hipc__sys_close(fds[i][0]), 0);
        assert_int_equal(hipc__sys_close(fds[i][1]), 0);
    }
}

/* Another uid, in a child: the mode's other class decides; the owner
 * class is matched by creator too; group by gid. */
/* In a child: the first check that fails ends it, naming itself. */
#define CK(e)                                                                  \
    do {                                                                       \
        if (!(e)) {                                                            \
            fprintf(stderr, "child: %s failed\n", #e);                         \
            _exit(1);                                                          \
        }                                                                      \
    } while (0)

static void permissions_for_another_uid(void **state)
{
    (void)state;
    int ro = hipc__sys_shmget(0x51510003, 1, IPC_CREAT | 0604);
    int none = hipc__sys_shmget(0x51510004, 1, IPC_CREAT | 0600);
    int grp = hipc__sys_shmget(0x51510005, 1, IPC_CREAT | 0660);
    struct shmid_ds ds;
    assert_int_equal(hipc__sys_shmctl(grp, IPC_STAT, &ds), 0);
    ds.shm_perm.gid = HIPC_TEST_GID;
    assert_int_equal(hipc__sys_shmctl(grp, IPC_SET, &ds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        void *a;
        struct shmid_ds d;
        int fds[2];
        CK(hipc_test_drop_privileges() == 0);
        /* A forked child is asked again who it is, at its first look. */
        CK(hipc__sys_geteuid() == geteuid());
        CK(hipc__sys_getegid() == getegid());
        CK(hipc__sys_getpid() == getpid());
        CK(hipc__sys_shmget(0x51510003, 1, 0444) == ro);
        CK(hipc__sys_shmget(0x51510003, 1, 0666) == -EACCES);
        CK(hipc__sys_shmget(0x51510004, 1, 0) == none);
        CK(hipc__sys_shmget(0x51510004, 1, 0400) == -EACCES);
        CK(hipc__sys_shmat(ro, NULL, SHM_RDONLY, &a) == 0);
        CK(hipc__sys_shmdt(a) == 0);
        CK(hipc__sys_shmat(ro, NULL, 0, &a) == -EACCES);
        CK(hipc__sys_shmat(ro, NULL, SHM_RDONLY | SHM_EXEC, &a) == -EACCES);
        CK(hipc__sys_shmctl(ro, IPC_STAT, &d) == 0);
        CK(hipc__sys_shmctl(none, IPC_STAT, &d) == -EACCES);
        CK(hipc__sys_shmat(grp, NULL, 0, &a) == 0);
        CK(hipc__sys_shmdt(a) == 0);
        CK(hipc__sys_shmctl(ro, IPC_SET, &d) == -EPERM);
        CK(hipc__sys_shmctl(ro, IPC_RMID, NULL) == -EPERM);
        /* Above pipe-max-size is for privileged callers only. */
        CK(hipc__sys_pipe2(fds, 0) == 0);
        CK(hipc__sys_fcntl(fds[0], F_SETPIPE_SZ, 2 << 20) == -EPERM);
        _exit(0);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    /* IPC_SET by the owner: uid and mode change, the creator stays. */
    assert_int_equal(hipc__sys_shmctl(ro, IPC_STAT, &ds), 0);
    ds.shm_perm.uid = HIPC_TEST_UID;
    ds.shm_perm.mode = 0640 | SHM_DEST;
    assert_int_equal(hipc__sys_shmctl(ro, IPC_SET, &ds), 0);
    assert_int_equal(hipc__sys_shmctl(ro, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_perm.uid, HIPC_TEST_UID);
    assert_int_equal(ds.shm_perm.cuid, geteuid());
    assert_int_equal(ds.shm_perm.mode, 0640);
    assert_int_equal(hipc__sys_shmctl(ro, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(none, IPC_RMID, NULL), 0);
    assert_int_equal(hipc__sys_shmctl(grp, IPC_RMID, NULL), 0);
}

static void pipe_semantics(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(hipc__sys_pipe2(fds, 0x40000000), -EINVAL);
    assert_int_equal(hipc__sys_pipe2(fds, O_DIRECT), -ENOSYS);
    assert_int_equal(hipc__sys_pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    assert_true(fds[0] >= HIPC__SIM_FD_BASE && fds[1] == fds[0] + 1);
    assert_int_equal(hipc__sys_fcntl(fds[0], F_GETFL, 0),
                     O_RDONLY | O_NONBLOCK);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_GETFL, 0),
                     O_WRONLY | O_NONBLOCK);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_GETFD, 0), FD_CLOEXEC);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_SETFD, 0), 0);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_GETFD, 0), 0);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_GETPIPE_SZ, 0), 65536);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_DUPFD, 0), -EINVAL);
    unsigned char buf[70000], out[70000];
    hipc_test_fill(buf, sizeof buf, 7);
    assert_int_equal(hipc__sys_read(fds[0], out, 10), -EAGAIN);
    assert_int_equal(hipc__sys_write(fds[1], buf, 0), 0);
    struct pollfd pf[3] = {{fds[0], POLLIN, 0},
                           {fds[1], POLLOUT, 0},
                           {-1, POLLIN, 0}};
    assert_int_equal(hipc__sys_poll(pf, 3, 0), 1);
    assert_int_equal(pf[0].revents, 0);
    assert_int_equal(pf[1].revents, POLLOUT);
    assert_int_equal(hipc__sys_poll(pf, 1, 10), 0); /* bounded: at once */
    assert_int_equal(hipc__sys_poll(pf, 1, -1), -ENOSYS);
    /* A big write fills what fits; a small one is all or nothing. */
    assert_int_equal(hipc__sys_write(fds[1], buf, sizeof buf), 65536);
    assert_int_equal(hipc__sys_write(fds[1], buf, 1), -EAGAIN);
    assert_int_equal(hipc__sys_poll(pf, 2, 0), 1);
    assert_int_equal(pf[0].revents, POLLIN);
    int pending = 0;
    assert_int_equal(hipc__sys_ioctl_int(fds[0], FIONREAD, &pending), 0);
    assert_int_equal(pending, 65536);
    assert_int_equal(hipc__sys_ioctl_int(fds[0], TIOCGWINSZ, &pending),
                     -ENOTTY);
    assert_int_equal(hipc__sys_fcntl(fds[0], F_SETPIPE_SZ, 4096), -EBUSY);
    assert_int_equal(hipc__sys_fcntl(fds[0], F_SETPIPE_SZ, 0), -EINVAL);
    assert_int_equal(hipc__sys_read(fds[0], out, 1000), 1000);
    assert_memory_equal(out, buf, 1000);
    /* Grown while holding data that wraps: the bytes keep their order. */
    assert_int_equal(hipc__sys_write(fds[1], buf + 65536, 1000), 1000);
    assert_int_equal(hipc__sys_fcntl(fds[0], F_SETPIPE_SZ, 65537), 131072);
    assert_int_equal(hipc__sys_fcntl(fds[0], F_SETPIPE_SZ, 131072), 131072);
    assert_int_equal(hipc__sys_write(fds[1], buf + 66536, 3464), 3464);
    struct iovec iov[2] = {{out + 1000, 30000}, {out + 31000, 39000}};
    assert_int_equal(hipc__sys_readv(fds[0], iov, 2), 69000);
    assert_memory_equal(out, buf, sizeof buf);
    /* Writers gone: what is left, then end of file. */
    assert_int_equal(hipc__sys_write(fds[1], "ab", 2), 2);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
    assert_int_equal(hipc__sys_poll(pf, 1, 0), 1);
    assert_int_equal(pf[0].revents, POLLIN | POLLHUP);
    assert_int_equal(hipc__sys_read(fds[0], out, 10), 2);
    assert_int_equal(hipc__sys_read(fds[0], out, 10), 0);
    assert_int_equal(hipc__sys_read(fds[1], out, 10), -EBADF);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[0]), -EBADF);
    assert_int_equal(hipc__sys_poll(pf, 1, 0), 1);
    assert_int_equal(pf[0].revents, POLLNVAL);
}

static void pipe_readers_gone_and_blocking(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(hipc__sys_pipe2(fds, 0), 0);
    char c;
    /* Blocking and empty: only another process could end the wait. */
    assert_int_equal(hipc__sys_read(fds[0], &c, 1), -ENOSYS);
    assert_int_equal(hipc__sys_read(fds[0], &c, 0), 0);
    assert_int_equal(hipc__sys_write(fds[0], "x", 1), -EBADF);
    static unsigned char big[65536];
    assert_int_equal(hipc__sys_write(fds[1], big, sizeof big), 65536);
    assert_int_equal(hipc__sys_write(fds[1], "x", 1), -ENOSYS);
    struct pollfd pf = {fds[1], POLLOUT, 0};
    assert_int_equal(hipc__sys_poll(&pf, 1, 0), 0);
    assert_int_equal(hipc__sys_fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(hipc__sys_write(fds[1], "x", 1), -EAGAIN);
    struct stat st;
    assert_int_equal(hipc__sys_fstat(fds[1], &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(hipc__sys_fstat(fds[1] + 100, &st), -EBADF);
    assert_int_equal(hipc__sys_fcntl(fds[1] + 100, F_GETFL, 0), -EBADF);
    assert_int_equal(hipc__sys_ioctl_int(fds[1] + 100, FIONREAD, NULL), -EBADF);
    assert_int_equal(hipc__sys_write(fds[1] + 100, "x", 1), -EBADF);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_poll(&pf, 1, 0), 1);
    assert_int_equal(pf.revents, POLLERR);
    assert_int_equal(hipc__sys_write(fds[1], "x", 1), -EPIPE);
    struct iovec v = {(void *)"y", 1};
    assert_int_equal(hipc__sys_writev_nosignal(fds[1], &v, 1), -EPIPE);
    assert_int_equal(hipc__sys_writev(fds[1], &v, 1), -EPIPE);
    /* poll over a real descriptor and a simulated one needs the kernel */
    struct pollfd mix[2] = {{0, POLLIN, 0}, {fds[1], POLLOUT, 0}};
    assert_int_equal(hipc__sys_poll(mix, 2, 0), -ENOSYS);
    assert_int_equal(hipc__sys_dup2(fds[1], 5), -ENOSYS);
    assert_int_equal(hipc__sys_dup2(2, fds[1]), -ENOSYS);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
}

/* A futex word in a simulated segment is the world's: nobody else can
 * change it, so an endless wait is refused, a timed one sleeps out its
 * time, a wake finds nobody. */
static void futex_words_in_the_world_are_simulated(void **state)
{
    (void)state;
    int id = hipc__sys_shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
    void *a;
    assert_true(id >= 0);
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &a), 0);
    unsigned *word = a;
    struct timespec tiny = {0, 1000000};
    assert_int_equal(hipc__sys_futex_wait(word, 0, NULL), -ENOSYS);
    assert_int_equal(hipc__sys_futex_wait(word, 1, &tiny), -EAGAIN);
    assert_int_equal(hipc__sys_futex_wait(word, 0, &tiny), -ETIMEDOUT);
    assert_int_equal(hipc__sys_futex_wake(word, 1), 0);
    assert_int_equal(hipc__sys_shmdt(a), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
}

/* The child waits until its parent sleeps in the futex, then changes the
 * word and wakes it through the kernel: 0 when it woke exactly one. */
static int wake_parent(unsigned *word)
{
    if (!hipc_test_wait_blocked_in(getppid(), SYS_futex))
        return 1;
    __atomic_store_n(word, 1u, __ATOMIC_RELAXED);
    return syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0) == 1 ? 0 : 2;
}

/* A futex word in the caller's own memory (a channel over its mapping,
 * shared with a real child) is the kernel's: the child's wake reaches a
 * wait made in the world, which would otherwise sleep out its time. */
static void futex_words_outside_the_world_are_the_kernels(void **state)
{
    (void)state;
    if (hipc_test_syscall_numbers_are_foreign())
        hipc_test_skip(HIPC_TEST_FOREIGN_SYSCALL_REASON);
    unsigned *word = mmap(NULL, (size_t)PAGE, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(word != MAP_FAILED);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(wake_parent(word));
    struct timespec ts = {30, 0};
    assert_int_equal(hipc__sys_futex_wait(word, 0, &ts), 0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(munmap(word, (size_t)PAGE), 0);
}

static void refused_and_answered(void **state)
{
    (void)state;
    assert_int_equal(hipc__sys_fork(), -ENOSYS);
    struct hipc__exec_plan plan;
    memset(&plan, 0, sizeof plan);
    int pidfd;
    assert_int_equal(hipc__sys_spawn(&plan, &pidfd), -ENOSYS);
    assert_int_equal(hipc__sys_mkfifoat(AT_FDCWD, "x", 0600), -ENOSYS);
    assert_int_equal(hipc__sys_socket_dgram(), -ENOSYS);
    assert_int_equal(hipc__sys_epoll_create(), -ENOSYS);
    assert_int_equal(hipc__sys_timerfd_create(), -ENOSYS);
    assert_int_equal(hipc__sys_pidfd_signal(3, 0), -ENOSYS);
    char own[32];
    snprintf(own, sizeof own, "/proc/%d/stat", (int)getpid());
    assert_int_equal(hipc__sys_open("/proc/1/stat", O_RDONLY), -ENOSYS);
    assert_int_equal(hipc__sys_open("/proc/sysvipc/shm", O_RDONLY), -ENOSYS);
    assert_int_equal(hipc__sys_open("/proc/1", O_RDONLY), -ENOSYS);
    int real = hipc__sys_open(own, O_RDONLY);
    assert_true(real >= 0 && real < HIPC__SIM_FD_BASE);
    assert_int_equal(hipc__sys_close(real), 0);
    assert_int_equal(hipc__sys_open("/proc/sys/kernel/shmmax", O_RDWR),
                     -EACCES);
    /* Not under /proc: the real file. */
    int fd = hipc__sys_open("/dev/null", O_RDONLY);
    assert_true(fd >= 0 && fd < HIPC__SIM_FD_BASE);
    assert_int_equal(hipc__sys_close(fd), 0);
    fd = hipc__sys_open("/proc/sys/fs/pipe-max-size", O_RDONLY);
    char text[32];
    assert_int_equal(hipc__sys_read(fd, text, 3), 3);
    struct iovec v = {text + 3, sizeof text - 3};
    assert_int_equal(hipc__sys_readv(fd, &v, 1), 5);
    assert_memory_equal(text, "1048576\n", 8);
    assert_int_equal(hipc__sys_read(fd, text, 1), 0);
    assert_int_equal(hipc__sys_fcntl(fd, F_GETFD, 0), FD_CLOEXEC);
    assert_int_equal(hipc__sys_fcntl(fd, F_GETPIPE_SZ, 0), -EBADF);
    assert_int_equal(hipc__sys_ioctl_int(fd, FIONREAD, &pidfd), -ENOTTY);
    assert_int_equal(hipc__sys_write(fd, "x", 1), -EBADF);
    struct stat st;
    assert_int_equal(hipc__sys_fstat(fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    struct pollfd pf = {fd, POLLIN | POLLPRI, 0};
    assert_int_equal(hipc__sys_poll(&pf, 1, 0), 1);
    assert_int_equal(pf.revents, POLLIN);
    assert_int_equal(hipc__sys_close(fd), 0);
    /* The arena is memory of this process: madvise and mincore say so. */
    int id = hipc__sys_shmget(IPC_PRIVATE, 1, 0600);
    void *a;
    unsigned char vec = 0;
    assert_int_equal(hipc__sys_shmat(id, NULL, 0, &a), 0);
    assert_int_equal(hipc__sys_madvise(a, PAGE, MADV_POPULATE_WRITE), 0);
    assert_int_equal(hipc__sys_mincore(a, PAGE, &vec), 0);
    assert_int_equal(vec, 1);
    assert_int_equal(hipc__sys_shmdt(a), 0);
    assert_int_equal(hipc__sys_shmctl(id, IPC_RMID, NULL), 0);
}

/* hipc's own modules on the simulation: nothing reaches the kernel. */
static void hipc_runs_on_it(void **state)
{
    (void)state;
    hipc_testing_reset(); /* HIPC_FAULT_MODE's faults: hipc absorbs them */
    int before = hipc_test_kernel_shm_count();
    hipc_shm s, o;
    hipc_shm_config cfg = {0};
    cfg.size = 10000;
    cfg.mode = 0600;
    assert_int_equal(hipc_shm_create(&s, 0x51510006, &cfg), HIPC_OK);
    assert_int_equal(hipc_test_kernel_shm_count(), before);
    assert_int_equal(hipc_shm_open(&o, 0x51510006, 10000, 0), HIPC_OK);
    assert_non_null(o.data);
    assert_ptr_equal(o.data, s.data); /* one copy: the same address */
    assert_int_equal(hipc_shm_remove(&s), HIPC_OK);
    assert_int_equal(hipc_shm_close(&s), HIPC_OK);
    assert_int_equal(hipc_shm_close(&o), HIPC_OK);
    hipc_pipe p;
    size_t done = 0;
    char buf[5];
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_true(hipc_pipe_get_fd(&p, HIPC_PIPE_READ_END) >= HIPC__SIM_FD_BASE);
    assert_int_equal(hipc_pipe_write_all(&p, "hello", 5, &done, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 5, &done, 0), HIPC_OK);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    /* A planned failure still comes first. */
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_SHMGET, 1, ENOSPC),
                     HIPC_OK);
    assert_int_equal(hipc_shm_create(&s, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_LIMIT);
    hipc_testing_reset();
}

/* The transparent modes reach simulated descriptors as they reach real
 * ones: EINTR first on a blocking end, EAGAIN first on a non-blocking
 * one, short transfers on pipes but not on the sysctl files. */
static void transparent_modes_apply(void **state)
{
    (void)state;
    int fds[2];
    static unsigned char big[5000];
    char c[8];
    hipc_testing_modes m = {1, 1, 1, 0};
    assert_int_equal(hipc__sys_pipe2(fds, 0), 0);
    assert_int_equal(hipc_testing_set_modes(&m), HIPC_OK);
    assert_int_equal(hipc__sys_write(fds[1], big, sizeof big), -EINTR);
    assert_int_equal(hipc__sys_write(fds[1], big, sizeof big), 1);
    assert_int_equal(hipc__sys_write(fds[1], "ab", 2), -EINTR);
    assert_int_equal(hipc__sys_write(fds[1], "ab", 2), 2); /* <= PIPE_BUF */
    assert_int_equal(hipc__sys_fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(hipc__sys_read(fds[0], c, 3), -EAGAIN);
    assert_int_equal(hipc__sys_read(fds[0], c, 3), 1);
    int fd = hipc__sys_open("/proc/sys/kernel/shmmni", O_RDONLY);
    assert_int_equal(hipc__sys_read(fd, c, 4), 4); /* a file: whole */
    assert_int_equal(hipc__sys_close(fd), 0);
    assert_int_equal(hipc__sys_read(fds[1] + 50, c, 4), -EBADF);
    assert_int_equal(hipc_testing_set_modes(NULL), HIPC_OK);
    assert_int_equal(hipc__sys_read(fds[0], c, 3), 2);
    assert_int_equal(hipc__sys_close(fds[0]), 0);
    assert_int_equal(hipc__sys_close(fds[1]), 0);
}

/* The text hipc reads from a descriptor of the seam, whole. */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while ((n = hipc__sys_read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    assert_int_equal(n, 0);
    return len;
}

/* Who this process is, as hipc asks (its ids, pid, /proc/self/stat, its
 * namespaces, the /proc/self link): the world's answers, taken from the
 * kernel once and the same at every later look, with no descriptor of
 * the kernel's and no syscall. */
static void identity_is_fixed(void **state)
{
    (void)state;
    assert_int_equal(hipc__sys_getpid(), getpid());
    assert_int_equal(hipc__sys_geteuid(), geteuid());
    assert_int_equal(hipc__sys_getegid(), getegid());
    char a[1024], b[1024];
    int fd = hipc__sys_open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= HIPC__SIM_FD_BASE);
    size_t la = read_all(fd, a, sizeof a);
    assert_int_equal(hipc__sys_close(fd), 0);
    fd = hipc__sys_open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= HIPC__SIM_FD_BASE);
    assert_int_equal(read_all(fd, b, sizeof b), la);
    assert_memory_equal(a, b, la);
    assert_int_equal(hipc__sys_close(fd), 0);
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%d ", (int)getpid());
    assert_memory_equal(a, pid, (size_t)n);
    assert_int_equal(hipc__sys_open("/proc/self/stat", O_RDWR), -EACCES);
    struct stat real, seen;
    assert_int_equal(stat("/proc/self/ns/pid", &real), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hipc__sys_stat("/proc/self/ns/pid", &seen), 0);
        assert_true(seen.st_ino == real.st_ino && seen.st_dev == real.st_dev);
    }
    char link[24];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hipc__sys_readlink("/proc/self", link, sizeof link),
                         n - 1);
        assert_memory_equal(link, pid, (size_t)n - 1);
        assert_int_equal(link[n - 1], '\0');
    }
    assert_int_equal(hipc__sys_readlink("/proc/self", link, (size_t)n - 1),
                     -ENAMETOOLONG);
    /* A memo whose first look failed (nothing kept, as for an EMFILE
     * that passes): the real file answers. */
    struct hipc__sim_memo *m =
        hipc__sim_memo("/proc/self/timens_offsets", HIPC__SIM_MEMO_TEXT);
    assert_non_null(m);
    assert_null(
        hipc__sim_memo("/proc/self/timens_offsets", HIPC__SIM_MEMO_STAT));
    assert_null(hipc__sim_memo("/proc/self/status", HIPC__SIM_MEMO_TEXT));
    m->have = 0;
    assert_int_equal(hipc__sim_open("/proc/self/timens_offsets", O_RDONLY), 1);
    /* hipc's own look at itself is answered by the world. */
    uint64_t start = 0, again = 0;
    int err = 0;
    assert_int_equal(hipc__proc_self_start(&start, &err), HIPC_OK);
    assert_int_equal(hipc__proc_self_start(&again, &err), HIPC_OK);
    assert_true(start > 0 && again == start);
    assert_true(m->have);
}

/* HIPC_FAULT_SIM, read before main: 1 runs this very program in a
 * simulated world (it passes there too), anything else but 0 stops it
 * with status 125. Only from a run without it, so the child does not
 * start its own; not under qemu-user, where a program's exec of
 * /proc/self/exe reaches the emulator's own binary, not this one. */
static void environment_switch(void **state)
{
    (void)state;
    if (getenv("HIPC_FAULT_SIM") != NULL || hipc_test_own_stat_is_faked())
        skip();
    static const char *const values[2] = {"bogus", "1"};
    static const int status[2] = {125, 0};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setenv("HIPC_FAULT_SIM", values[i], 1);
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execl("/proc/self/exe", "test_sim", (char *)NULL);
            _exit(99);
        }
        assert_int_equal(hipc_test_wait_child(pid, 60), status[i]);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, sim_setup, sim_teardown)
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(begin_and_end),
    T(shmget_keys_and_flags),
    T(removed_but_attached),
    T(limits_hold),
    T(arena_runs_out),
    T(tables_run_out),
    T(permissions_for_another_uid),
    T(pipe_semantics),
    T(pipe_readers_gone_and_blocking),
    T(refused_and_answered),
    T(futex_words_in_the_world_are_simulated),
    T(futex_words_outside_the_world_are_the_kernels),
    T(identity_is_fixed),
    T(hipc_runs_on_it),
    T(transparent_modes_apply),
    cmocka_unit_test(environment_switch),
};
HIPC_TEST_MAIN(tests)
#else
#include "support.h"
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
