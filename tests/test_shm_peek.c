/* SPDX-License-Identifier: MIT */
/* hipc__shm_peek_header (lib/shm_priv.h), the inspector's safe look at a
 * header, and the codes shm.h names for ids and removed segments. */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "shm_priv.h"
#include "support.h"

static void peek_reads_a_hipc_header_and_leaves_nothing_attached(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 300,
                           .tag = 0x9ee4u,
                           .flags = HIPC_SHM_NO_ATTACH};
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    hipc_shm_header_info info;
    size_t size = 0;
    int err = -1;
    assert_int_equal(hipc__shm_peek_header(shm.id, &size, &info, &err),
                     HIPC_OK);
    assert_int_equal(err, 0);
    assert_int_equal(size, 300 + HIPC_SHM_HEADER_SIZE);
    assert_int_equal(info.tag, 0x9ee4u);
    assert_int_equal(info.requested, 300);
    assert_int_equal(info.creator_pid, getpid());
    assert_int_equal(hipc__shm_peek_header(shm.id, NULL, &info, NULL), HIPC_OK);
    hipc_shm_info si;
    assert_int_equal(hipc_shm_stat(&shm, &si), HIPC_OK);
    assert_int_equal(si.nattch, 0);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
}

static void peek_refuses_bad_arguments_before_the_kernel(void **state)
{
    (void)state;
    hipc_shm_header_info info;
    int err = -1;
    assert_int_equal(hipc__shm_peek_header(0, NULL, NULL, &err), HIPC_E_NULL);
    assert_int_equal(err, 0);
    assert_int_equal(hipc__shm_peek_header(-1, NULL, &info, &err),
                     HIPC_E_BAD_ID);
}

static void peek_of_a_missing_id_is_not_found(void **state)
{
    (void)state;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
    hipc_shm_header_info info;
    size_t size = 7;
    int err = 0;
    assert_int_equal(hipc__shm_peek_header(id, &size, &info, &err),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(err, EINVAL);
    assert_int_equal(size, 7);
}

/* A plain segment: its (zero) first page is made present and read, and
 * the header check says what it is. A stranger's junk is foreign. */
static void peek_of_a_plain_segment_reports_the_header_check(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    hipc_shm_header_info info;
    assert_int_equal(hipc__shm_peek_header(id, NULL, &info, NULL),
                     HIPC_E_AGAIN);
    char *p = shmat(id, NULL, 0);
    assert_true(p != (void *)-1);
    memcpy(p, "junk", 4);
    assert_int_equal(shmdt(p), 0);
    int err = -1;
    assert_int_equal(hipc__shm_peek_header(id, NULL, &info, &err),
                     HIPC_E_FOREIGN);
    assert_int_equal(err, 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* shm.h: a negative id is HIPC_E_BAD_ID for every call that takes one,
 * decided before the kernel is asked. */
static void negative_ids_are_bad_id(void **state)
{
    (void)state;
    hipc_shm h;
    hipc_shm_info info;
    int err = -1;
    assert_int_equal(hipc_shm_open_id(&h, -1, 0, 0), HIPC_E_BAD_ID);
    assert_int_equal(hipc_shm_close(&h), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_shm_stat_id(-5, &info, &err), HIPC_E_BAD_ID);
    assert_int_equal(err, 0);
    err = -1;
    assert_int_equal(hipc_shm_remove_id(-1, &err), HIPC_E_BAD_ID);
    assert_int_equal(err, 0);
}

/* shm.h: remove_id acts on whatever the id names, a marked segment too. */
static void remove_id_of_a_marked_segment_succeeds_again(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 10};
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(shm.id, NULL), HIPC_OK);
    int err = -1;
    assert_int_equal(hipc_shm_remove_id(shm.id, &err), HIPC_OK);
    assert_int_equal(err, 0);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat_id(shm.id, &info, NULL), HIPC_OK);
    assert_int_equal(info.removed, 1);
    assert_int_equal(info.key, HIPC_SHM_KEY_PRIVATE);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_stat_id(shm.id, &info, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(peek_reads_a_hipc_header_and_leaves_nothing_attached),
    cmocka_unit_test(peek_refuses_bad_arguments_before_the_kernel),
    cmocka_unit_test(peek_of_a_missing_id_is_not_found),
    cmocka_unit_test(peek_of_a_plain_segment_reports_the_header_check),
    cmocka_unit_test(negative_ids_are_bad_id),
    cmocka_unit_test(remove_id_of_a_marked_segment_succeeds_again),
};
HIPC_TEST_MAIN(tests)
