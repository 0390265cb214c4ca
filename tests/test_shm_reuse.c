/* SPDX-License-Identifier: MIT */
/* A stale handle must never act on someone else's segment, and a copy of a
 * handle must never act at all.
 *
 * Id reuse is forced the way the Linux Test Project's shm cases meet it:
 * segment A is removed behind its handle's back, and the kernel gives A's
 * id to a new segment B under another key. The suite runs in a private IPC
 * namespace, where /proc/sys/kernel/shm_next_id picks the id the next
 * shmget gets (the kernel's id = seq * 32768 + index), so B lands exactly
 * on A's id. B is made by this process and by another one; every handle
 * call on A's handle must then answer without touching B. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

/* Each segment gets a key of its own, so that one failed case leaves
 * nothing in the way of the next. */
static key_t fresh_key(void)
{
    static key_t next = 0x5e100;
    return next++;
}

static hipc_shm_config cfg_of(size_t size, unsigned flags)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.flags = flags;
    cfg.tag = 0x5e5eu;
    return cfg;
}

/* Makes the next segment of this IPC namespace get `id`; 0 when the
 * kernel does not let us (no private namespace, or no shm_next_id). */
static int next_id_is(int id)
{
    FILE *f = fopen("/proc/sys/kernel/shm_next_id", "w");
    if (f == NULL)
        return 0;
    int ok = fprintf(f, "%d\n", id) > 0;
    return fclose(f) == 0 && ok;
}

static int segment_exists(int id)
{
    struct shmid_ds ds;
    return shmctl(id, IPC_STAT, &ds) == 0;
}

/* B, a plain segment under `key` that takes `id`: from this process, or
 * from a child that exits at once (so B's creator is another process). */
static int make_b(int id, int in_child, key_t key)
{
    if (!next_id_is(id))
        return -1;
    if (!in_child)
        return shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600);
    pid_t pid = fork();
    if (pid == 0)
        _exit(shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600) == id ? 0 : 1);
    return hipc_test_wait_child(pid, 30) == 0 ? id : -1;
}

/* A hipc segment under a fresh key, detached, removed behind the handle's back. */
static void stale_a(hipc_shm *a, unsigned flags)
{
    hipc_shm_config cfg = cfg_of(100, flags);
    assert_int_equal(hipc_shm_create(a, fresh_key(), &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_detach(a), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(a->id, NULL), HIPC_OK);
    assert_false(segment_exists(a->id));
}

/* Every handle call on A's handle, with B at A's id: none may map, report
 * or remove B, and B must be left exactly as it was. */
static void handle_calls_leave_b_alone(hipc_shm *a, int b, key_t key_b)
{
    hipc_shm_info info;
    memset(&info, 0x5a, sizeof info);
    assert_int_equal(hipc_shm_stat(a, &info), HIPC_E_REMOVED);
    assert_int_equal(info.id, 0x5a5a5a5a);
    assert_int_equal(hipc_shm_attach(a, 0), HIPC_E_REMOVED);
    assert_null(a->data);
    assert_int_equal(hipc_shm_attach(a, HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT),
                     HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_remove(a), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_detach(a), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_shm_close(a), HIPC_OK);
    assert_int_equal(hipc_shm_stat(a, &info), HIPC_E_STALE_HANDLE);
    struct shmid_ds ds;
    assert_int_equal(shmctl(b, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_perm.__key, key_b);
    assert_int_equal(ds.shm_nattch, 0);
    assert_int_equal(ds.shm_perm.mode & 01000, 0); /* not marked (SHM_DEST) */
    assert_int_equal(shmctl(b, IPC_RMID, NULL), 0);
}

static void reuse_case(unsigned flags, int b_in_child)
{
    hipc_shm a;
    stale_a(&a, flags);
    key_t key_b = fresh_key();
    int b = make_b(a.id, b_in_child, key_b);
    if (b < 0)
        hipc_test_skip("cannot choose the next segment id "
                       "(/proc/sys/kernel/shm_next_id)");
    assert_int_equal(b, a.id);
    handle_calls_leave_b_alone(&a, b, key_b);
}

static void
a_reused_id_from_this_process_is_removed_for_every_call(void **state)
{
    (void)state;
    reuse_case(0, 0);
}

static void
a_reused_id_from_another_process_is_removed_for_every_call(void **state)
{
    (void)state;
    reuse_case(0, 1);
}

static void a_raw_handle_on_a_reused_id_is_removed_for_every_call(void **state)
{
    (void)state;
    reuse_case(HIPC_SHM_RAW, 0);
    reuse_case(HIPC_SHM_RAW, 1);
}

/* Open by id goes through the same pinned check: the handle it returns
 * describes B (a raw open of B is B's handle), never a mix of A and B. */
static void an_open_of_a_reused_id_describes_the_new_segment(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's next segment id (shm_next_id)");
    hipc_shm a, b;
    stale_a(&a, 0);
    key_t key_b = fresh_key();
    int id = make_b(a.id, 1, key_b);
    if (id < 0)
        hipc_test_skip("cannot choose the next segment id");
    assert_int_equal(hipc_shm_open_id(&b, id, 0, 0), HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_open_id(&b, id, 0, HIPC_SHM_RAW), HIPC_OK);
    assert_int_equal(b.key, key_b);
    assert_int_equal(b.seg_size, 8192);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&b), HIPC_OK);
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
    assert_false(segment_exists(id));
}

/* The same key, size and creator, re-created by the same process: only
 * the creation time tells A from B, so B must come at least a second
 * later (the kernel keeps shm_ctime in seconds). Waits for the kernel's
 * own second (support.h) to turn instead of sleeping a fixed time: time()
 * can turn a tick before the kernel's stamp does, which made B a twin. */
static void a_same_key_recreated_a_second_later_is_another_segment(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's next segment id (shm_next_id)");
    hipc_shm a, b;
    stale_a(&a, HIPC_SHM_RAW);
    time_t t0 = hipc_test_kernel_seconds();
    assert_true(t0 != (time_t)-1);
    while (hipc_test_kernel_seconds() == t0)
        usleep(10000);
    if (!next_id_is(a.id))
        hipc_test_skip("cannot choose the next segment id");
    hipc_shm_config cfg = cfg_of(100, HIPC_SHM_RAW | HIPC_SHM_NO_ATTACH);
    assert_int_equal(hipc_shm_create(&b, a.key, &cfg), HIPC_OK);
    assert_int_equal(b.id, a.id);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&a, &info), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_attach(&a, 0), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_remove(&a), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
    assert_int_equal(hipc_shm_stat(&b, &info), HIPC_OK);
    assert_int_equal(info.removed, 0);
    assert_int_equal(hipc_shm_remove(&b), HIPC_OK);
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
}

/* The handle still names its own segment after a remove by someone else
 * that leaves it attached: stat says removed, the key is gone, but it is
 * the same segment, so stat succeeds and a second remove is REMOVED. */
static void a_segment_marked_by_someone_else_is_still_ours(void **state)
{
    (void)state;
    hipc_shm a;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&a, fresh_key(), &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(a.id, NULL), HIPC_OK);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&a, &info), HIPC_OK);
    assert_int_equal(info.removed, 1);
    assert_int_equal(info.key, HIPC_SHM_KEY_PRIVATE);
    assert_int_equal(hipc_shm_remove(&a), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
    assert_false(segment_exists(a.id));
}

/* A detached handle whose segment someone else marked (it lives on, held
 * by another attach) is REMOVED for remove too, and nothing is done. */
static void remove_of_a_segment_someone_else_marked_is_removed(void **state)
{
    (void)state;
    hipc_shm a, other;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&a, fresh_key(), &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_open_id(&other, a.id, 0, 0), HIPC_OK);
    assert_int_equal(hipc_shm_detach(&a), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(a.id, NULL), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&a), HIPC_E_REMOVED);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    assert_false(segment_exists(a.id));
}

/* ---- Copies ------------------------------------------------------------ */

/* The copy is refused by every call and touches nothing: the original's
 * mapping stays attached and usable. */
static void every_call_on_a_copy_is_bad_handle_and_touches_nothing(void **state)
{
    (void)state;
    hipc_shm a;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&a, fresh_key(), &cfg), HIPC_OK);
    strcpy((char *)a.data, "still here");
    hipc_shm copy = a;
    hipc_shm_info info;
    assert_int_equal(hipc_shm_detach(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_close(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_remove(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_stat(&copy, &info), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_attach(&copy, 0), HIPC_E_BAD_HANDLE);
    assert_string_equal((char *)a.data, "still here");
    assert_int_equal(hipc_shm_stat(&a, &info), HIPC_OK);
    assert_int_equal(info.nattch, 1);
    assert_int_equal(info.removed, 0);
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
    /* A copy of a closed handle is no closed handle either. */
    copy = a;
    assert_int_equal(hipc_shm_close(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_close(&a), HIPC_E_STALE_HANDLE);
}

/* The case the review found: a copy closed after the original closed
 * would detach whatever another handle had mapped at the same address. */
static void a_copy_closed_late_leaves_another_handles_mapping(void **state)
{
    (void)state;
    hipc_shm a, b;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&a, fresh_key(), &cfg), HIPC_OK);
    hipc_shm copy = a;
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
    assert_int_equal(hipc_shm_create(&b, fresh_key(), &cfg), HIPC_OK);
    strcpy((char *)b.data, "b's data");
    assert_int_equal(hipc_shm_close(&copy), HIPC_E_BAD_HANDLE);
    assert_string_equal((char *)b.data, "b's data");
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&b, &info), HIPC_OK);
    assert_int_equal(info.nattch, 1);
    assert_int_equal(hipc_shm_remove(&b), HIPC_OK);
    assert_int_equal(hipc_shm_close(&b), HIPC_OK);
}

/* A forked child's handle is the parent's, at the same address: it works. */
static void a_forked_childs_inherited_handle_still_works(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process");
    hipc_shm a;
    hipc_shm_config cfg = cfg_of(100, 0);
    assert_int_equal(hipc_shm_create(&a, fresh_key(), &cfg), HIPC_OK);
    pid_t pid = fork();
    if (pid == 0) {
        hipc_shm_info info;
        int ok = hipc_shm_stat(&a, &info) == HIPC_OK && info.nattch == 2 &&
                 hipc_shm_close(&a) == HIPC_OK;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_reused_id_from_this_process_is_removed_for_every_call),
    cmocka_unit_test(
        a_reused_id_from_another_process_is_removed_for_every_call),
    cmocka_unit_test(a_raw_handle_on_a_reused_id_is_removed_for_every_call),
    cmocka_unit_test(an_open_of_a_reused_id_describes_the_new_segment),
    cmocka_unit_test(a_same_key_recreated_a_second_later_is_another_segment),
    cmocka_unit_test(a_segment_marked_by_someone_else_is_still_ours),
    cmocka_unit_test(remove_of_a_segment_someone_else_marked_is_removed),
    cmocka_unit_test(every_call_on_a_copy_is_bad_handle_and_touches_nothing),
    cmocka_unit_test(a_copy_closed_late_leaves_another_handles_mapping),
    cmocka_unit_test(a_forked_childs_inherited_handle_still_works),
};
HIPC_TEST_MAIN(tests)
