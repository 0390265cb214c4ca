/* SPDX-License-Identifier: MIT */
/* Permission tests: a forked child drops to an unprivileged uid and meets
 * the kernel's EACCES/EPERM for real (as root it would be let through). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#define DROP_FAILED 77

static void make(hipc_shm *shm, key_t key, unsigned mode, unsigned flags)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 256;
    cfg.mode = mode;
    cfg.flags = flags;
    assert_int_equal(hipc_shm_create(shm, key, &cfg), HIPC_OK);
    strcpy((char *)shm->data, "owner's data");
}

static void drop(hipc_shm *shm)
{
    assert_int_equal(hipc_shm_remove(shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(shm), HIPC_OK);
}

/* Runs `body` in a child without privileges; its exit code is the number
 * of the first check that failed, 0 when all held. */
static void in_unprivileged_child(int (*body)(hipc_shm *), hipc_shm *shm)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (hipc_test_drop_privileges() != 0)
            _exit(DROP_FAILED);
        _exit(body(shm));
    }
    int rc = hipc_test_wait_child(pid, 30);
    if (rc == DROP_FAILED) {
        skip();
        return;
    }
    assert_int_equal(rc, 0);
}

static int private_segment_body(hipc_shm *shm)
{
    hipc_shm h;
    hipc_shm_info info;
    int err = 0;
    if (hipc_shm_open_id(&h, shm->id, 0, 0) != HIPC_E_PERM ||
        h.sys_errno != EACCES)
        return 1;
    if (hipc_shm_open_id(&h, shm->id, 0, HIPC_SHM_RDONLY) != HIPC_E_PERM)
        return 2;
    if (hipc_shm_open(&h, shm->key, 0, 0) != HIPC_E_PERM ||
        h.sys_errno != EACCES)
        return 3;
    if (hipc_shm_stat_id(shm->id, &info, &err) != HIPC_E_PERM || err != EACCES)
        return 4;
    if (hipc_shm_remove_id(shm->id, &err) != HIPC_E_PERM || err != EPERM)
        return 5;
    /* The child's inherited handle (the parent's, at the same address) is
     * still bound by the kernel's rules. Its remove must first prove the
     * id still names its segment, and IPC_STAT needs read permission. */
    hipc_shm *inherited = shm;
    if (hipc_shm_remove(inherited) != HIPC_E_PERM ||
        inherited->sys_errno != EACCES)
        return 6;
    return 0;
}

static void an_owner_only_segment_refuses_other_users(void **state)
{
    (void)state;
    hipc_shm shm;
    make(&shm, 0x9e41, 0, 0);
    in_unprivileged_child(private_segment_body, &shm);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&shm, &info), HIPC_OK);
    assert_int_equal(info.removed, 0);
    drop(&shm);
}

static int readable_segment_body(hipc_shm *shm)
{
    hipc_shm h;
    if (hipc_shm_open_id(&h, shm->id, 0, 0) != HIPC_E_PERM ||
        h.sys_errno != EACCES)
        return 1;
    if (hipc_shm_open_id(&h, shm->id, 256, HIPC_SHM_RDONLY) != HIPC_OK)
        return 2;
    if (strcmp((const char *)h.data, "owner's data") != 0)
        return 3;
    if (hipc_shm_remove(&h) != HIPC_E_PERM || h.sys_errno != EPERM)
        return 4;
    if (hipc_shm_detach(&h) != HIPC_OK)
        return 5;
    if (hipc_shm_attach(&h, 0) != HIPC_E_PERM || h.sys_errno != EACCES)
        return 6;
    return hipc_shm_close(&h) == HIPC_OK ? 0 : 7;
}

static void a_world_readable_segment_is_read_only_for_others(void **state)
{
    (void)state;
    hipc_shm shm;
    make(&shm, HIPC_SHM_KEY_PRIVATE, 0644, 0);
    in_unprivileged_child(readable_segment_body, &shm);
    drop(&shm);
}

static int writable_segment_body(hipc_shm *shm)
{
    hipc_shm h;
    if (hipc_shm_open_id(&h, shm->id, 256, 0) != HIPC_OK)
        return 1;
    strcpy((char *)h.data, "other's data");
    return hipc_shm_close(&h) == HIPC_OK ? 0 : 2;
}

static void a_shared_write_segment_takes_writes_from_others(void **state)
{
    (void)state;
    hipc_test_needs_kernel("another process (an unprivileged one)");
    hipc_shm shm;
    make(&shm, HIPC_SHM_KEY_PRIVATE, 0666, HIPC_SHM_SHARED_WRITE);
    in_unprivileged_child(writable_segment_body, &shm);
    assert_string_equal((char *)shm.data, "other's data");
    drop(&shm);
}

static char locked_file[64];

static int locked_path_body(hipc_shm *shm)
{
    (void)shm;
    key_t key;
    int err = 0;
    int rc = hipc_shm_key_from_path(locked_file, 1, &key, &err);
    return rc == HIPC_E_PERM && err == EACCES ? 0 : 1;
}

/* A path behind a directory the caller may not search is a permission
 * problem, not a missing path. */
static void a_path_behind_a_locked_directory_is_perm(void **state)
{
    (void)state;
    char dir[] = "/tmp/hipc-perm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(locked_file, sizeof locked_file, "%s/f", dir);
    int fd = open(locked_file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    key_t key;
    assert_int_equal(hipc_shm_key_from_path(locked_file, 1, &key, NULL),
                     HIPC_OK);
    in_unprivileged_child(locked_path_body, NULL);
    assert_int_equal(unlink(locked_file), 0);
    assert_int_equal(rmdir(dir), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_owner_only_segment_refuses_other_users),
    cmocka_unit_test(a_world_readable_segment_is_read_only_for_others),
    cmocka_unit_test(a_shared_write_segment_takes_writes_from_others),
    cmocka_unit_test(a_path_behind_a_locked_directory_is_perm),
};

HIPC_TEST_MAIN(tests)
