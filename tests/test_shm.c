/* SPDX-License-Identifier: MIT */
/* Tests for System V shared memory: the life cycle, two processes, the
 * header, and the handle state machine. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

static hipc_shm_config cfg_of(size_t size, unsigned flags)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.flags = flags;
    cfg.tag = 0x7a67u;
    return cfg;
}

static void create_attach_write_read_and_remove(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(1000, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_non_null(shm.data);
    assert_int_equal(shm.size, 1000);
    assert_int_equal(shm.requested, 1000);
    assert_int_equal(shm.seg_size, 1000 + HIPC_SHM_HEADER_SIZE);
    assert_int_equal(shm.rounded, (size_t)sysconf(_SC_PAGESIZE));
    assert_int_equal(shm.tag, 0x7a67u);
    assert_true(shm.id >= 0);
    memset(shm.data, 0xab, shm.size);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.id, shm.id);
    assert_int_equal(info.nattch, 1);
    assert_int_equal(info.cpid, getpid());
    assert_int_equal(info.mode, 0600);
    assert_int_equal(info.removed, 0);
    assert_int_equal(info.seg_size, shm.seg_size);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.removed, 1);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void open_by_key_sees_the_creators_data(void **state)
{
    (void)state;
    hipc_shm a, b;
    hipc_shm_config cfg = cfg_of(64, 0);
    assert_int_equal(hipc_shm_create(&a, 0x1234, &cfg), HIPC_OK);
    assert_int_equal(a.key, 0x1234);
    strcpy((char *)a.data, "hello");
    assert_int_equal(hipc_shm_open(&b, 0x1234, 64, 0), HIPC_OK);
    assert_int_equal(b.id, a.id);
    assert_int_equal(b.size, 64);
    assert_int_equal(b.tag, 0x7a67u);
    assert_string_equal((char *)b.data, "hello");
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
    assert_int_equal(hipc_shm_open(&b, 0x1234, 65, 0), HIPC_E_SIZE_MISMATCH);
    assert_int_equal(hipc_shm_close(&b), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
}

/* Parent writes, child reads and answers, parent reads the answer. */
static void two_processes_share_data_both_ways(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process");
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(4096, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(done[0]);
        hipc_shm peer;
        char c;
        int ok = read(go[0], &c, 1) == 1 &&
                 hipc_shm_open_id(&peer, shm.id, 4096, 0) == HIPC_OK &&
                 strcmp((char *)peer.data, "from parent") == 0;
        if (ok)
            strcpy((char *)peer.data + 100, "from child");
        ok = ok && hipc_shm_close(&peer) == HIPC_OK;
        ok = ok && hipc_shm_detach(&shm) == HIPC_OK;
        _exit(ok && write(done[1], "x", 1) == 1 ? 0 : 1);
    }
    close(go[0]);
    close(done[1]);
    strcpy((char *)shm.data, "from parent");
    assert_int_equal(write(go[1], "g", 1), 1);
    char c;
    assert_int_equal(read(done[0], &c, 1), 1);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_string_equal((char *)shm.data + 100, "from child");
    close(go[1]);
    close(done[0]);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void detach_twice_is_bad_state_and_attach_again_works(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(10, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    ((char *)shm.data)[9] = 'z';
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    assert_null(shm.data);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_shm_attach(&shm, HIPC_SHM_RDONLY), HIPC_OK);
    assert_int_equal(((char *)shm.data)[9], 'z');
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_STALE_HANDLE);
}

static void zeroed_and_garbage_handles_are_bad(void **state)
{
    (void)state;
    hipc_shm shm;
    memset(&shm, 0, sizeof shm);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_E_BAD_HANDLE);
    memset(&shm, 0xa5, sizeof shm);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_close(NULL), HIPC_E_NULL);
}

/* A copy of `shm` that lives at `at` as if it had been made there, so one
 * scribbled field, not the copy itself, is what a test shows refused. */
static void twin(hipc_shm *at, const hipc_shm *shm)
{
    *at = *shm;
    at->self_ = at;
}

/* A real handle with one private field scribbled over, as a stray write
 * would leave it: each is caught before the kernel is asked. */
static void scribbled_handles_are_bad(void **state)
{
    (void)state;
    hipc_shm shm, bad;
    hipc_shm_info info;
    hipc_shm_config cfg = cfg_of(10, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    twin(&bad, &shm);
    bad.state_ = 7;
    assert_int_equal(hipc_shm_stat(&bad, &info), HIPC_E_BAD_HANDLE);
    twin(&bad, &shm);
    bad.state_ |= 0x8000u;
    assert_int_equal(hipc_shm_stat(&bad, &info), HIPC_E_BAD_HANDLE);
    twin(&bad, &shm);
    bad.flags_ = 0x80u;
    assert_int_equal(hipc_shm_stat(&bad, &info), HIPC_E_BAD_HANDLE);
    twin(&bad, &shm);
    bad.base_ = NULL; /* attached, but no mapping */
    assert_int_equal(hipc_shm_detach(&bad), HIPC_E_BAD_HANDLE);
    twin(&bad, &shm);
    bad.id = -3;
    assert_int_equal(hipc_shm_remove(&bad), HIPC_E_BAD_HANDLE);
    twin(&bad, &shm);
    bad.magic_ ^= 1u;
    assert_int_equal(hipc_shm_close(&bad), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_stat(&shm, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* An id that now names another segment (the kernel recycles ids) must not
 * be attached, stated or removed as if it were ours. Simulated by a handle
 * whose recorded identity (creator, size, key, creation time, header
 * creator) no longer matches the segment; tests/test_shm_reuse.c makes the
 * kernel really reuse the id. */
static void expect_another_segment(const hipc_shm *shm, int field)
{
    hipc_shm other;
    hipc_shm_info info;
    twin(&other, shm);
    switch (field) {
    case 0:
        other.cpid_ += 1;
        break;
    case 1:
        other.seg_size += 1;
        break;
    case 2:
        other.key_ += 1;
        break;
    case 3:
        other.ctime_ -= 1;
        break;
    default:
        other.hstart_ += 1;
        break;
    }
    if (field < 4) {
        assert_int_equal(hipc_shm_stat(&other, &info), HIPC_E_REMOVED);
        twin(&other, &other);
        other.state_ &= 0xffu; /* forget what stat learnt */
        assert_int_equal(hipc_shm_remove(&other), HIPC_E_REMOVED);
        other.state_ &= 0xffu;
    }
    assert_int_equal(hipc_shm_attach(&other, 0), HIPC_E_REMOVED);
    assert_null(other.data);
}

static void an_id_that_names_another_segment_is_removed(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(10, HIPC_SHM_NO_ATTACH);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    for (int field = 0; field < 5; field++)
        expect_another_segment(&shm, field);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.nattch, 0);
    assert_int_equal(info.removed, 0);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void a_plain_segment_with_junk_is_foreign(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    char *p = shmat(id, NULL, 0);
    assert_true(p != (void *)-1);
    memset(p, 0x5a, 4096);
    hipc_shm shm;
    assert_int_equal(hipc_shm_open_id(&shm, id, 0, 0), HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_open_id(&shm, id, 0, HIPC_SHM_RAW), HIPC_OK);
    assert_int_equal(shm.size, 4096);
    assert_int_equal(((unsigned char *)shm.data)[4095], 0x5a);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    shmdt(p);
    assert_int_equal(hipc_shm_remove_id(id, NULL), HIPC_OK);
}

/* Runs the real util-linux ipcrm, behind the library's back. */
static void ipcrm_m(int id)
{
    char arg[32];
    snprintf(arg, sizeof arg, "%d", id);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("ipcrm", "ipcrm", "-m", arg, (char *)NULL);
        _exit(127);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
}

static void a_segment_removed_by_ipcrm_is_removed(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the ipcrm program (another process, on the kernel's segments)");
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&shm, 0x1bc, &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    ipcrm_m(shm.id);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_E_REMOVED);
    assert_int_equal(shm.sys_errno, EINVAL);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    hipc_shm again;
    assert_int_equal(hipc_shm_open(&again, 0x1bc, 0, 0), HIPC_E_NOT_FOUND);
}

static void a_fresh_handle_meets_ipcrm_on_attach(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the ipcrm program (another process, on the kernel's segments)");
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(100, HIPC_SHM_NO_ATTACH);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_null(shm.data);
    ipcrm_m(shm.id);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_REMOVED);
    assert_int_equal(shm.sys_errno, EINVAL);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* ipcrm while attached only marks the segment: the memory stays usable
 * until the last detach, and then the segment is gone. */
static void ipcrm_while_attached_marks_and_detach_destroys(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the ipcrm program (another process, on the kernel's segments)");
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    int id = shm.id;
    ipcrm_m(id);
    ((char *)shm.data)[99] = 1;
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.removed, 1);
    assert_int_equal(info.key, 0);
    hipc_shm other;
    assert_int_equal(hipc_shm_open_id(&other, id, 0, 0), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_attach(&shm, 0), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_stat_id(id, &info, NULL), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* The child creates a remove-on-attach segment and is killed while it is
 * attached: the kernel frees the segment with the last detach. */
static void remove_on_attach_survives_a_sigkilled_child(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process");
    int ready[2], hold[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        hipc_shm shm;
        hipc_shm_config cfg =
            cfg_of(1 << 20, HIPC_SHM_REMOVE_ON_ATTACH | HIPC_SHM_PREFAULT);
        int id = -1;
        if (hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_OK)
            id = shm.id;
        if (write(ready[1], &id, sizeof id) != sizeof id)
            _exit(1);
        char c;
        (void)read(hold[0], &c, 1); /* never returns: we are killed */
        _exit(2);
    }
    close(ready[1]);
    close(hold[0]);
    int id = -1;
    assert_int_equal(read(ready[0], &id, sizeof id), sizeof id);
    assert_true(id >= 0);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat_id(id, &info, NULL), HIPC_OK);
    assert_int_equal(info.removed, 1);
    assert_int_equal(info.nattch, 1);
    assert_int_equal(info.cpid, pid);
    assert_int_equal(info.seg_size, (1 << 20) + HIPC_SHM_HEADER_SIZE);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
    assert_int_equal(hipc_shm_stat_id(id, &info, NULL), HIPC_E_NOT_FOUND);
    close(ready[0]);
    close(hold[1]);
}

static void open_with_remove_on_attach_marks_the_segment(void **state)
{
    (void)state;
    hipc_shm a, b;
    hipc_shm_config cfg = cfg_of(32, HIPC_SHM_NO_ATTACH);
    assert_int_equal(hipc_shm_create(&a, 0x70a, &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_open(&b, 0x70a, 32,
                                   HIPC_SHM_REMOVE_ON_ATTACH |
                                       HIPC_SHM_PREFAULT),
                     HIPC_OK);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&b, &info), HIPC_OK);
    assert_int_equal(info.removed, 1);
    assert_int_equal(hipc_shm_remove(&b), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_attach(&a, 0), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
    assert_int_equal(hipc_shm_stat(&a, &info), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
}

/* Writing through a read-only attachment is the kernel's SIGSEGV, caught
 * in a child; reading works. */
static void a_read_only_attachment_cannot_be_written(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process (killed by SIGSEGV)");
    hipc_shm shm, ro;
    hipc_shm_config cfg = cfg_of(64, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    strcpy((char *)shm.data, "read me");
    assert_int_equal(hipc_shm_open_id(&ro, shm.id, 64,
                                      HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT),
                     HIPC_OK);
    assert_string_equal((char *)ro.data, "read me");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches SIGSEGV; the child must really die of it. */
        signal(SIGSEGV, SIG_DFL);
        ((volatile char *)ro.data)[0] = 'X';
        _exit(0);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGSEGV);
    assert_string_equal((char *)shm.data, "read me");
    assert_int_equal(hipc_shm_close(&ro), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void stat_reports_attachments_pids_and_times(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process");
    hipc_shm shm, b;
    hipc_shm_config cfg = cfg_of(64, HIPC_SHM_NO_ATTACH);
    time_t t0 = hipc_test_kernel_seconds(); /* as the kernel stamps */
    assert_true(t0 != (time_t)-1);
    assert_int_equal(hipc_shm_create(&shm, 0x57a7, &cfg), HIPC_OK);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat_id(shm.id, &info, NULL), HIPC_OK);
    assert_int_equal(info.nattch, 0);
    assert_int_equal(info.key, 0x57a7);
    assert_int_equal(info.id, shm.id);
    assert_true(info.ctime >= t0 && info.dtime >= t0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(hipc_shm_attach(&shm, 0) == HIPC_OK ? 0 : 1);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.cpid, getpid());
    assert_int_equal(info.lpid, pid);
    assert_true(info.atime >= t0);
    assert_int_equal(info.nattch, 0);
    assert_int_equal(hipc_shm_open(&b, 0x57a7, 64, HIPC_SHM_NO_ATTACH),
                     HIPC_OK);
    assert_null(b.data);
    assert_int_equal(hipc_shm_attach(&b, HIPC_SHM_PREFAULT), HIPC_OK);
    assert_int_equal(hipc_shm_stat(&b, &info), HIPC_OK);
    assert_int_equal(info.nattch, 1);
    assert_int_equal(info.lpid, getpid());
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void raw_create_has_no_header(void **state)
{
    (void)state;
    hipc_shm shm, h;
    hipc_shm_config cfg = cfg_of(100, HIPC_SHM_RAW);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(shm.seg_size, 100);
    assert_int_equal(((unsigned char *)shm.data)[0], 0);
    /* Someone is attached, so a zero magic may be a creator mid-write. */
    assert_int_equal(hipc_shm_open_id(&h, shm.id, 0, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_shm_open_id(&h, shm.id, 0, HIPC_SHM_RAW), HIPC_OK);
    assert_int_equal(h.size, 100);
    assert_int_equal(hipc_shm_close(&h), HIPC_OK);
    assert_int_equal(hipc_shm_open_id(&h, shm.id, 100,
                                      HIPC_SHM_RAW | HIPC_SHM_NO_ATTACH),
                     HIPC_OK);
    assert_null(h.data);
    assert_int_equal(h.seg_size, 100);
    assert_int_equal(hipc_shm_attach(&h, HIPC_SHM_RDONLY), HIPC_OK);
    assert_ptr_equal(h.data, h.base_);
    assert_int_equal(hipc_shm_close(&h), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* A NULL config is all defaults, and so is a zeroed one: a working,
 * private-mode segment of HIPC_SHM_DEFAULT_SIZE payload bytes. */
static void check_default_segment(hipc_shm *shm, size_t header)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(shm->size, HIPC_SHM_DEFAULT_SIZE);
    assert_int_equal(shm->requested, HIPC_SHM_DEFAULT_SIZE);
    assert_int_equal(shm->seg_size, HIPC_SHM_DEFAULT_SIZE + header);
    assert_int_equal(shm->rounded,
                     (HIPC_SHM_DEFAULT_SIZE + header + page - 1) / page * page);
    assert_int_equal(shm->tag, 0);
    assert_non_null(shm->data);
    memset(shm->data, 0x5a, shm->size);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(shm, &info), HIPC_OK);
    assert_int_equal(info.mode, 0600);
    assert_int_equal(info.seg_size, shm->seg_size);
    hipc_shm other;
    unsigned raw = header == 0 ? HIPC_SHM_RAW : 0;
    assert_int_equal(hipc_shm_open_id(&other, shm->id, HIPC_SHM_DEFAULT_SIZE,
                                      raw | HIPC_SHM_RDONLY),
                     HIPC_OK);
    assert_int_equal(other.size, HIPC_SHM_DEFAULT_SIZE);
    assert_int_equal(((unsigned char *)other.data)[other.size - 1], 0x5a);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    assert_int_equal(hipc_shm_remove(shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(shm), HIPC_OK);
}

static void a_null_or_zeroed_config_gives_a_default_segment(void **state)
{
    (void)state;
    int before = hipc_test_shm_count();
    hipc_shm shm;
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, NULL),
                     HIPC_OK);
    check_default_segment(&shm, HIPC_SHM_HEADER_SIZE);
    hipc_shm_config zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &zero),
                     HIPC_OK);
    check_default_segment(&shm, HIPC_SHM_HEADER_SIZE);
    assert_int_equal(hipc_shm_create_fresh(&shm, 0x6466, NULL), HIPC_OK);
    assert_int_not_equal(shm.key, HIPC_SHM_KEY_PRIVATE);
    check_default_segment(&shm, HIPC_SHM_HEADER_SIZE);
    /* Only the size is defaulted: the other fields keep what was set. */
    hipc_shm_config raw = {.flags = HIPC_SHM_RAW};
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &raw),
                     HIPC_OK);
    check_default_segment(&shm, 0);
    assert_int_equal(hipc_test_shm_count(), before);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_null_or_zeroed_config_gives_a_default_segment),
    cmocka_unit_test(create_attach_write_read_and_remove),
    cmocka_unit_test(open_by_key_sees_the_creators_data),
    cmocka_unit_test(two_processes_share_data_both_ways),
    cmocka_unit_test(detach_twice_is_bad_state_and_attach_again_works),
    cmocka_unit_test(zeroed_and_garbage_handles_are_bad),
    cmocka_unit_test(scribbled_handles_are_bad),
    cmocka_unit_test(an_id_that_names_another_segment_is_removed),
    cmocka_unit_test(a_plain_segment_with_junk_is_foreign),
    cmocka_unit_test(a_segment_removed_by_ipcrm_is_removed),
    cmocka_unit_test(a_fresh_handle_meets_ipcrm_on_attach),
    cmocka_unit_test(ipcrm_while_attached_marks_and_detach_destroys),
    cmocka_unit_test(remove_on_attach_survives_a_sigkilled_child),
    cmocka_unit_test(open_with_remove_on_attach_marks_the_segment),
    cmocka_unit_test(a_read_only_attachment_cannot_be_written),
    cmocka_unit_test(stat_reports_attachments_pids_and_times),
    cmocka_unit_test(raw_create_has_no_header),
};

HIPC_TEST_MAIN(tests)
