/* Tests for System V shared memory: the life cycle, two processes, the
 * header, and the handle state machine. */
#include <signal.h>
#include <string.h>
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
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
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
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(4096, 0);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
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
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg), HIPC_OK);
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

static void a_plain_segment_with_junk_is_foreign(void **state)
{
    (void)state;
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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_attach_write_read_and_remove),
    cmocka_unit_test(open_by_key_sees_the_creators_data),
    cmocka_unit_test(two_processes_share_data_both_ways),
    cmocka_unit_test(detach_twice_is_bad_state_and_attach_again_works),
    cmocka_unit_test(zeroed_and_garbage_handles_are_bad),
    cmocka_unit_test(a_plain_segment_with_junk_is_foreign),
};

HIPC_TEST_MAIN(tests)
