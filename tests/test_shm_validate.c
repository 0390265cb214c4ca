/* SPDX-License-Identifier: MIT */
/* Tests for shared-memory argument validation: every path is refused with
 * its own code before the kernel is asked, and nothing is created. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "hipc/config.h"
#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

static hipc_shm_config cfg_of(size_t size, unsigned flags, unsigned mode)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.flags = flags;
    cfg.mode = mode;
    return cfg;
}

static int create_with(size_t size, unsigned flags, unsigned mode)
{
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(size, flags, mode);
    int rc = hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc == HIPC_OK) {
        hipc_shm_remove(&shm);
        hipc_shm_close(&shm);
    }
    return rc;
}

static void null_arguments_are_refused(void **state)
{
    (void)state;
    hipc_shm_config cfg = cfg_of(1, 0, 0);
    hipc_shm_info info;
    key_t key;
    assert_int_equal(hipc_shm_create(NULL, 1, &cfg), HIPC_E_NULL);
    assert_int_equal(hipc_shm_create(NULL, 1, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_create_fresh(NULL, 1, &cfg), HIPC_E_NULL);
    assert_int_equal(hipc_shm_create_fresh(NULL, 1, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_open(NULL, 1, 0, 0), HIPC_E_NULL);
    assert_int_equal(hipc_shm_open_id(NULL, 0, 0, 0), HIPC_E_NULL);
    assert_int_equal(hipc_shm_attach(NULL, 0), HIPC_E_NULL);
    assert_int_equal(hipc_shm_detach(NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_remove(NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_stat(NULL, &info), HIPC_E_NULL);
    assert_int_equal(hipc_shm_stat_id(0, NULL, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_key_from_path(NULL, 1, &key, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_key_from_path("/", 1, NULL, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_get_limits(NULL, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_shm_header_check(NULL, 64, 64, NULL), HIPC_E_NULL);
}

static void unknown_and_conflicting_flags_are_bad_flags(void **state)
{
    (void)state;
    hipc_shm shm;
    assert_int_equal(create_with(1, 0x40, 0), HIPC_E_BAD_FLAGS);
    assert_int_equal(create_with(1, 0x80000000u, 0), HIPC_E_BAD_FLAGS);
    assert_int_equal(create_with(1, HIPC_SHM_RDONLY, 0), HIPC_E_BAD_FLAGS);
    assert_int_equal(create_with(1,
                                 HIPC_SHM_REMOVE_ON_ATTACH | HIPC_SHM_NO_ATTACH,
                                 0),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_shm_open(&shm, 1, 0, 0x40), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_shm_open(&shm, 1, 0, HIPC_SHM_SHARED_WRITE),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_shm_open_id(&shm, 0, 0,
                                      HIPC_SHM_NO_ATTACH |
                                          HIPC_SHM_REMOVE_ON_ATTACH),
                     HIPC_E_BAD_FLAGS);
    hipc_shm_config cfg = cfg_of(1, 0, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_attach(&shm, HIPC_SHM_RAW), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_shm_attach(&shm, HIPC_SHM_NO_ATTACH),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void modes_are_checked_and_default_to_0600(void **state)
{
    (void)state;
    assert_int_equal(create_with(1, 0, 01000), HIPC_E_BAD_MODE);
    assert_int_equal(create_with(1, 0, 0xffffffffu), HIPC_E_BAD_MODE);
    assert_int_equal(create_with(1, 0, 0400), HIPC_E_BAD_MODE);
    assert_int_equal(create_with(1, 0, 0660), HIPC_E_BAD_MODE);
    assert_int_equal(create_with(1, 0, 0606), HIPC_E_BAD_MODE);
    /* The message names the fix for the common case. */
    assert_non_null(
        strstr(hipc_strerror(HIPC_E_BAD_MODE), "HIPC_SHM_SHARED_WRITE"));
    assert_int_equal(create_with(1, HIPC_SHM_SHARED_WRITE, 0666), HIPC_OK);
    assert_int_equal(create_with(1, 0, 0644), HIPC_OK);
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(1, 0, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.mode, 0600);
    assert_int_equal(info.uid, getuid());
    assert_int_equal(info.cuid, getuid());
    assert_int_equal(info.gid, getgid());
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    cfg.mode = 0666;
    cfg.flags = HIPC_SHM_SHARED_WRITE;
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.mode, 0666);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void bad_sizes_each_have_their_own_code(void **state)
{
    (void)state;
    int before = hipc_test_shm_count();
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(SIZE_MAX, 0, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_OVERFLOW);
    assert_int_equal(shm.requested, SIZE_MAX);
    cfg.size = SIZE_MAX - HIPC_SHM_HEADER_SIZE - 1;
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_OVERFLOW);
    /* Fits size_t once rounded, but not ptrdiff_t. */
    cfg.size = (size_t)PTRDIFF_MAX - HIPC_SHM_HEADER_SIZE;
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_TOO_BIG);
    assert_int_equal(shm.rounded, (size_t)PTRDIFF_MAX + 1);
    cfg.size = (size_t)PTRDIFF_MAX + 1;
    cfg.flags = HIPC_SHM_RAW;
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_TOO_BIG);
    assert_int_equal(shm.sys_errno, 0);
    assert_int_equal(hipc_test_shm_count(), before);
}

static void sizes_are_reported_requested_rounded_and_kernel(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(page - HIPC_SHM_HEADER_SIZE + 1, 0, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(shm.requested, cfg.size);
    assert_int_equal(shm.size, cfg.size);
    assert_int_equal(shm.seg_size, page + 1);
    assert_int_equal(shm.rounded, 2 * page);
    assert_true(((uintptr_t)shm.data % 64) == 0);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.seg_size, page + 1);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    cfg.flags = HIPC_SHM_RAW;
    cfg.size = 3;
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(shm.seg_size, 3);
    assert_int_equal(shm.size, 3);
    assert_int_equal(shm.rounded, page);
    assert_ptr_equal(shm.data, shm.base_);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

/* In the fault build, transparent short reads make /proc/sys unreadable in
 * one piece, and hipc then (rightly) leaves the limits to the kernel. The
 * tests that check hipc's own reading of the limits switch that off. */
static int plain_syscalls(void **state)
{
    (void)state;
#ifdef HIPC_FAULT_INJECTION
    hipc_fault_set_mode("none");
#endif
    return 0;
}

static int planned_syscalls(void **state)
{
    (void)state;
#ifdef HIPC_FAULT_INJECTION
    hipc_fault_reset();
#endif
    return 0;
}

#define plain_test(f)                                                          \
    cmocka_unit_test_setup_teardown(f, plain_syscalls, planned_syscalls)

static unsigned long long read_proc(const char *path)
{
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    unsigned long long v = 0;
    assert_int_equal(fscanf(f, "%llu", &v), 1);
    fclose(f);
    return v;
}

static void limits_are_what_the_kernel_reports(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's /proc/sys limits");
    hipc_shm_limits lim;
    int err = -1;
    assert_int_equal(hipc_shm_get_limits(&lim, &err), HIPC_OK);
    assert_int_equal(lim.shmmax, read_proc("/proc/sys/kernel/shmmax"));
    assert_int_equal(lim.shmall, read_proc("/proc/sys/kernel/shmall"));
    assert_int_equal(lim.shmmni, read_proc("/proc/sys/kernel/shmmni"));
    assert_int_equal(lim.page_size, (size_t)sysconf(_SC_PAGESIZE));
    print_message(
        "limits: shmmax %llu shmall %llu pages shmmni %llu page %zu\n",
        (unsigned long long)lim.shmmax, (unsigned long long)lim.shmall,
        (unsigned long long)lim.shmmni, lim.page_size);
}

/* The IPC sysctls belong to the IPC namespace: lowering them is only done
 * in the private namespace the suite runs in (the one our parent, the test
 * runner, does not share), never on the host's. */
static int private_ipc_namespace(void)
{
    char path[64];
    struct stat self, parent;
    snprintf(path, sizeof path, "/proc/%ld/ns/ipc", (long)getppid());
    if (stat("/proc/self/ns/ipc", &self) != 0 || stat(path, &parent) != 0)
        return 0;
    return self.st_ino != parent.st_ino;
}

static int write_proc(const char *path, unsigned long long v)
{
    FILE *f = fopen(path, "we");
    if (f == NULL)
        return -1;
    int ok = fprintf(f, "%llu\n", v) > 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

struct saved_limit {
    const char *path;
    unsigned long long old;
};

static int lower_limit(struct saved_limit *s, const char *path,
                       unsigned long long v)
{
    s->path = path;
    s->old = read_proc(path);
    return write_proc(path, v);
}

static void sizes_above_shmmax_and_shmall_are_limit(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's /proc/sys limits");
    struct saved_limit max, all;
    if (!private_ipc_namespace() ||
        lower_limit(&max, "/proc/sys/kernel/shmmax", 8192) != 0) {
        skip();
        return;
    }
    assert_int_equal(create_with(8192 - HIPC_SHM_HEADER_SIZE, 0, 0), HIPC_OK);
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(8192 - HIPC_SHM_HEADER_SIZE + 1, 0, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_LIMIT);
    assert_int_equal(shm.sys_errno, 0);
    assert_int_equal(write_proc(max.path, max.old), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(lower_limit(&all, "/proc/sys/kernel/shmall", 2), 0);
    assert_int_equal(create_with(2 * page, HIPC_SHM_RAW, 0), HIPC_OK);
    assert_int_equal(create_with(2 * page + 1, HIPC_SHM_RAW, 0), HIPC_E_LIMIT);
    assert_int_equal(write_proc(all.path, all.old), 0);
}

static void too_many_segments_is_limit_with_enospc(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the kernel's /proc/sys limits");
    struct saved_limit mni;
    if (!private_ipc_namespace() ||
        lower_limit(&mni, "/proc/sys/kernel/shmmni", 1) != 0) {
        skip();
        return;
    }
    hipc_shm a, b;
    hipc_shm_config cfg = cfg_of(1, 0, 0);
    int rc = hipc_shm_create(&a, HIPC_SHM_KEY_PRIVATE, &cfg);
    int rc2 = hipc_shm_create(&b, HIPC_SHM_KEY_PRIVATE, &cfg);
    int err = b.sys_errno;
    assert_int_equal(write_proc(mni.path, mni.old), 0);
    assert_int_equal(rc, HIPC_OK);
    assert_int_equal(rc2, HIPC_E_LIMIT);
    assert_int_equal(err, ENOSPC);
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
}

static void keys_from_paths_match_ftok_and_are_validated(void **state)
{
    (void)state;
    key_t key = 0;
    int err = -1;
    assert_int_equal(hipc_shm_key_from_path("/", 1, &key, &err), HIPC_OK);
    assert_int_equal(err, 0);
    assert_int_equal(key, ftok("/", 1));
    assert_int_equal(hipc_shm_key_from_path("/tmp", 255, &key, NULL), HIPC_OK);
    assert_int_equal(key, ftok("/tmp", 255));
    assert_int_equal(hipc_shm_key_from_path("/", 0, &key, NULL),
                     HIPC_E_BAD_PROJ_ID);
    assert_int_equal(hipc_shm_key_from_path("/", 256, &key, NULL),
                     HIPC_E_BAD_PROJ_ID);
    assert_int_equal(hipc_shm_key_from_path("/", -1, &key, NULL),
                     HIPC_E_BAD_PROJ_ID);
    assert_int_equal(hipc_shm_key_from_path("", 1, &key, NULL),
                     HIPC_E_BAD_PATH);
    assert_int_equal(hipc_shm_key_from_path("/no/such/hipc/path", 1, &key,
                                            &err),
                     HIPC_E_BAD_PATH);
    assert_int_equal(err, ENOENT);
    char *longp = malloc(PATH_MAX + 1);
    assert_non_null(longp);
    memset(longp, 'a', PATH_MAX);
    longp[PATH_MAX] = '\0';
    assert_int_equal(hipc_shm_key_from_path(longp, 1, &key, NULL),
                     HIPC_E_BAD_PATH);
    free(longp);
}

static void bad_keys_and_ids_are_refused(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_info info;
    hipc_shm_config cfg = cfg_of(1, 0, 0);
    int err = -1;
    assert_int_equal(hipc_shm_open(&shm, HIPC_SHM_KEY_PRIVATE, 0, 0),
                     HIPC_E_BAD_KEY);
    assert_int_equal(hipc_shm_create_fresh(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_BAD_KEY);
    assert_int_equal(hipc_shm_create_fresh(&shm, HIPC_SHM_KEY_PRIVATE, NULL),
                     HIPC_E_BAD_KEY);
    assert_int_equal(hipc_shm_open_id(&shm, -1, 0, 0), HIPC_E_BAD_ID);
    assert_int_equal(hipc_shm_stat_id(-1, &info, &err), HIPC_E_BAD_ID);
    assert_int_equal(err, 0);
    assert_int_equal(hipc_shm_remove_id(-5, &err), HIPC_E_BAD_ID);
}

static void missing_keys_and_ids_are_not_found(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_info info;
    int err = 0;
    assert_int_equal(hipc_shm_open(&shm, 0x0bad0bad, 0, 0), HIPC_E_NOT_FOUND);
    assert_int_equal(shm.sys_errno, ENOENT);
    assert_int_equal(hipc_shm_open_id(&shm, 0x7ffffff0, 0, 0),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(shm.sys_errno, EINVAL);
    assert_int_equal(hipc_shm_stat_id(0x7ffffff0, &info, &err),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(err, EINVAL);
    assert_int_equal(hipc_shm_remove_id(0x7ffffff0, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, EINVAL);
}

static void a_taken_key_is_exists(void **state)
{
    (void)state;
    hipc_shm a, b;
    hipc_shm_config cfg = cfg_of(1, 0, 0);
    assert_int_equal(hipc_shm_create(&a, 0x5eed, &cfg), HIPC_OK);
    assert_int_equal(hipc_shm_create(&b, 0x5eed, &cfg), HIPC_E_EXISTS);
    assert_int_equal(b.sys_errno, EEXIST);
    assert_int_equal(hipc_shm_remove(&a), HIPC_OK);
    assert_int_equal(hipc_shm_close(&a), HIPC_OK);
}

/* The same walk as the library's: a fixed odd step, skipping 0. */
static key_t step_key(key_t k)
{
    uint32_t u = (uint32_t)k + 0x9e3779b9u;
    return (key_t)(u == 0 ? u + 0x9e3779b9u : u);
}

static void create_fresh_moves_past_strangers_keys(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    int stranger = shmget(0x5eed, 1, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(stranger >= 0);
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(16, 0, 0);
    assert_int_equal(hipc_shm_create_fresh(&shm, 0x5eed, &cfg), HIPC_OK);
    assert_int_equal(shm.key, step_key(0x5eed));
    assert_true(shm.id != stranger);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(shmctl(stranger, IPC_RMID, NULL), 0);
}

/* The walk never lands on IPC_PRIVATE, which would be a new private
 * segment rather than the key asked for. */
static void create_fresh_never_picks_the_private_key(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    key_t seed = (key_t)(uint32_t)(0u - 0x9e3779b9u);
    int stranger = shmget(seed, 1, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(stranger >= 0);
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(16, HIPC_SHM_RAW, 0);
    assert_int_equal(hipc_shm_create_fresh(&shm, seed, &cfg), HIPC_OK);
    assert_int_equal(shm.key, (key_t)0x9e3779b9u);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.key, (key_t)0x9e3779b9u);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(shmctl(stranger, IPC_RMID, NULL), 0);
    assert_int_equal(hipc_shm_create_fresh(NULL, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_E_NULL);
}

static void create_fresh_gives_up_after_bounded_retries(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    int ids[HIPC_SHM_CREATE_RETRIES];
    key_t k = 0x5eed;
    for (int i = 0; i < HIPC_SHM_CREATE_RETRIES; i++, k = step_key(k)) {
        ids[i] = shmget(k, 1, IPC_CREAT | IPC_EXCL | 0600);
        assert_true(ids[i] >= 0);
    }
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(16, 0, 0);
    int rc = hipc_shm_create_fresh(&shm, 0x5eed, &cfg);
    int count = hipc_test_shm_count();
    for (int i = 0; i < HIPC_SHM_CREATE_RETRIES; i++)
        assert_int_equal(shmctl(ids[i], IPC_RMID, NULL), 0);
    assert_int_equal(rc, HIPC_E_RETRIES);
    assert_int_equal(count, HIPC_SHM_CREATE_RETRIES);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(null_arguments_are_refused),
    cmocka_unit_test(unknown_and_conflicting_flags_are_bad_flags),
    cmocka_unit_test(modes_are_checked_and_default_to_0600),
    cmocka_unit_test(bad_sizes_each_have_their_own_code),
    cmocka_unit_test(sizes_are_reported_requested_rounded_and_kernel),
    plain_test(limits_are_what_the_kernel_reports),
    plain_test(sizes_above_shmmax_and_shmall_are_limit),
    cmocka_unit_test(too_many_segments_is_limit_with_enospc),
    cmocka_unit_test(keys_from_paths_match_ftok_and_are_validated),
    cmocka_unit_test(bad_keys_and_ids_are_refused),
    cmocka_unit_test(missing_keys_and_ids_are_not_found),
    cmocka_unit_test(a_taken_key_is_exists),
    cmocka_unit_test(create_fresh_moves_past_strangers_keys),
    cmocka_unit_test(create_fresh_never_picks_the_private_key),
    cmocka_unit_test(create_fresh_gives_up_after_bounded_retries),
};

HIPC_TEST_MAIN(tests)
