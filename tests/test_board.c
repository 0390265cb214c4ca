/* SPDX-License-Identifier: MIT */
/* The board (lib/board.c): a removed segment still attachable by id, by an
 * unprivileged reader too; a scribbled board; a replaced writer; refused
 * impostors. Wake-ups between threads: test_board_threads.c. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#define WAIT_NS ((int64_t)20 * 1000 * 1000 * 1000)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One sleep of `ns` (capped at a slice), taken again after an early
 * return: the fault build's EINTR-first mode interrupts the first. */
static int sleep_full(struct hipc__board *b, const _Atomic uint32_t *word,
                      uint32_t seen, int64_t ns)
{
    int64_t want = ns < HIPC__BOARD_SLICE_NS ? ns : HIPC__BOARD_SLICE_NS;
    int64_t t0 = now_ns();
    int rc = HIPC_E_AGAIN;
    for (int i = 0; i < 3 && rc == HIPC_E_AGAIN && now_ns() - t0 < want; i++)
        rc = hipc__board_wait(b, word, seen, want - (now_ns() - t0), NULL);
    return rc;
}

static void board_is_removed_yet_attachable_by_id(void **state)
{
    (void)state;
    struct hipc__board w, r;
    struct hipc__board_ref ref;
    int err = -1;
    assert_int_equal(hipc__board_create(&w, 0600, &err), HIPC_OK);
    assert_int_equal(err, 0);
    hipc__board_publish(&w, &ref);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat_id(w.id, &info, NULL), HIPC_OK);
    assert_true(info.removed);
    assert_int_equal(info.mode & 0777u, 0600u);
    memset(&r, 0, sizeof r);
    assert_int_equal(hipc__board_attach(&r, &ref, &err), HIPC_OK);
    assert_int_equal(r.id, w.id);
    /* Attaching the same board again changes nothing. */
    void *base = r.base;
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_OK);
    assert_ptr_equal(r.base, base);
    assert_int_equal(hipc_shm_stat_id(w.id, &info, NULL), HIPC_OK);
    assert_int_equal(info.nattch, 2);
    int id = w.id;
    hipc__board_detach(&w);
    /* The writer gone, the board lives on while a reader holds it. */
    assert_int_equal(hipc_shm_stat_id(id, &info, NULL), HIPC_OK);
    assert_int_equal(info.nattch, 1);
    hipc__board_detach(&r);
    assert_int_equal(hipc_shm_stat_id(id, &info, NULL), HIPC_E_NOT_FOUND);
    assert_null(r.sleepers);
    /* Detaching nothing is harmless. */
    hipc__board_detach(&r);
}

static int attach_as_nobody(const struct hipc__board_ref *ref)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (hipc_test_drop_privileges() != 0)
            _exit(100);
        struct hipc__board b;
        memset(&b, 0, sizeof b);
        int err = 0;
        int rc = hipc__board_attach(&b, ref, &err);
        if (rc == HIPC_OK) {
            /* It may announce: the store must not fault. */
            atomic_fetch_add(b.sleepers, 1u);
            atomic_fetch_sub(b.sleepers, 1u);
            hipc__board_detach(&b);
            _exit(0);
        }
        _exit(rc == HIPC_E_PERM && err == EACCES ? 1 : 99);
    }
    return hipc_test_wait_child(pid, 30);
}

static void unprivileged_reader_attaches_what_it_may_read(void **state)
{
    (void)state;
    struct hipc__board w;
    struct hipc__board_ref ref;
    assert_int_equal(hipc__board_create(&w, 0644, NULL), HIPC_OK);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat_id(w.id, &info, NULL), HIPC_OK);
    assert_int_equal(info.mode & 0777u, 0666u);
    hipc__board_publish(&w, &ref);
    assert_int_equal(attach_as_nobody(&ref), 0);
    hipc__board_detach(&w);
    /* Valgrind's shmat asks IPC_STAT first and answers otherwise than the
     * kernel when that is refused (support.h); the refusal is the
     * kernel's to test. */
    if (hipc_test_under_valgrind())
        return;
    assert_int_equal(hipc__board_create(&w, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w, &ref);
    assert_int_equal(attach_as_nobody(&ref), 1);
    hipc__board_detach(&w);
}

static void bad_mode_is_refused(void **state)
{
    (void)state;
    struct hipc__board w;
    int err = -1;
    assert_int_equal(hipc__board_create(&w, 01000, &err), HIPC_E_BAD_MODE);
    assert_int_equal(err, 0);
    assert_null(w.sleepers);
}

static void impostors_are_refused(void **state)
{
    (void)state;
    struct hipc__board w, r;
    struct hipc__board_ref ref;
    memset(&r, 0, sizeof r);
    assert_int_equal(hipc__board_create(&w, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w, &ref);
    /* No board published. */
    struct hipc__board_ref none;
    struct hipc__board nothing;
    memset(&nothing, 0, sizeof nothing);
    hipc__board_publish(&nothing, &none);
    assert_int_equal(hipc__board_attach(&r, &none, NULL), HIPC_E_NOT_FOUND);
    atomic_store(&none.id, 0x80000000u);
    assert_int_equal(hipc__board_attach(&r, &none, NULL), HIPC_E_NOT_FOUND);
    /* Another pid or start time than the board's header names. */
    struct hipc__board_ref bad = ref;
    atomic_store(&bad.pid, atomic_load(&ref.pid) + 1u);
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    bad = ref;
    atomic_store(&bad.start_hi, atomic_load(&ref.start_hi) + 1u);
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    /* Held, then the ref names another writer: let go, refused. */
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_OK);
    bad = ref;
    atomic_store(&bad.start_lo, atomic_load(&ref.start_lo) ^ 1u);
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    assert_null(r.sleepers);
    /* A hipc segment with another tag, a raw one, a big one. */
    hipc_shm other;
    hipc_shm_config cfg = {.size = 64, .tag = 7};
    assert_int_equal(hipc_shm_create(&other, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    bad = ref;
    atomic_store(&bad.id, (uint32_t)other.id);
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_remove(&other), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    cfg.size = 2 * 4096;
    assert_int_equal(hipc_shm_create(&other, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    atomic_store(&bad.id, (uint32_t)other.id);
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_remove(&other), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    /* The board's tag, another payload size. */
    cfg.size = 128;
    cfg.tag = HIPC__BOARD_TAG;
    assert_int_equal(hipc_shm_create(&other, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    atomic_store(&bad.id, (uint32_t)other.id);
    atomic_store(&bad.pid, atomic_load(&ref.pid));
    atomic_store(&bad.start_lo, atomic_load(&ref.start_lo));
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_remove(&other), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    cfg.size = 64;
    cfg.tag = 7;
    cfg.flags = HIPC_SHM_RAW;
    assert_int_equal(hipc_shm_create(&other, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    atomic_store(&bad.id, (uint32_t)other.id);
    assert_int_equal(hipc__board_attach(&r, &bad, NULL), HIPC_E_CORRUPT);
    /* An id that names nothing (the segment just removed). */
    assert_int_equal(hipc_shm_remove(&other), HIPC_OK);
    assert_int_equal(hipc_shm_close(&other), HIPC_OK);
    int err = 0;
    assert_int_equal(hipc__board_attach(&r, &bad, &err), HIPC_E_NOT_FOUND);
    assert_true(err == EINVAL || err == EIDRM);
    assert_null(r.sleepers);
    hipc__board_detach(&w);
}

static void wait_sees_a_change_and_times_out_without_one(void **state)
{
    (void)state;
    struct hipc__board w, r;
    struct hipc__board_ref ref;
    _Atomic uint32_t word = 5;
    memset(&r, 0, sizeof r);
    assert_int_equal(hipc__board_create(&w, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w, &ref);
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_OK);
    assert_int_equal(hipc__board_wait(&r, &word, 4, WAIT_NS, NULL), HIPC_OK);
    assert_int_equal(hipc__board_wait(&r, &word, 5, 0, NULL), HIPC_E_AGAIN);
    int64_t t0 = now_ns();
    assert_int_equal(sleep_full(&r, &word, 5, 1000000), HIPC_E_AGAIN);
    assert_true(now_ns() - t0 >= 1000000);
    /* Never longer than a slice, whatever it is asked. */
    t0 = now_ns();
    assert_int_equal(hipc__board_wait(NULL, &word, 5, WAIT_NS, NULL),
                     HIPC_E_AGAIN);
    assert_true(now_ns() - t0 < 10 * HIPC__BOARD_SLICE_NS);
    assert_int_equal(atomic_load(r.sleepers), 0);
    /* Nobody asleep: no wake. */
    assert_int_equal(hipc__board_wake(&w, &word), 0);
    hipc__board_detach(&r);
    hipc__board_detach(&w);
    assert_int_equal(hipc__board_wake(&w, &word), 0);
}

static void scribbled_board_delays_but_never_hangs(void **state)
{
    (void)state;
    struct hipc__board w, r;
    struct hipc__board_ref ref;
    _Atomic uint32_t word = 1;
    memset(&r, 0, sizeof r);
    assert_int_equal(hipc__board_create(&w, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w, &ref);
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_OK);
    /* A hostile reader holds the counter at its maximum: every wake is
     * made (wasted), none fails. */
    atomic_store(r.sleepers, UINT32_MAX);
    assert_int_equal(hipc__board_wake(&w, &word), 0);
    /* Forced to zero under a sleeper: its wake-up is lost, yet it wakes
     * by the end of its slice; the counter it leaves behind wraps. */
    atomic_store(r.sleepers, 0);
    int64_t t0 = now_ns();
    assert_int_equal(sleep_full(&r, &word, 1, WAIT_NS), HIPC_E_AGAIN);
    int64_t took = now_ns() - t0;
    assert_true(took >= HIPC__BOARD_SLICE_NS);
    assert_true(took < 20 * HIPC__BOARD_SLICE_NS);
    /* Garbage in the header does not matter to those attached. */
    memset(r.base, 0xa5, HIPC_SHM_HEADER_SIZE);
    assert_int_equal(hipc__board_wake(&w, &word), 0);
    /* ...but a new reader refuses it. */
    struct hipc__board r2;
    memset(&r2, 0, sizeof r2);
    assert_int_equal(hipc__board_attach(&r2, &ref, NULL), HIPC_E_CORRUPT);
    hipc__board_detach(&r);
    hipc__board_detach(&w);
}

static void replaced_writer_is_followed(void **state)
{
    (void)state;
    struct hipc__board w1, w2, r;
    struct hipc__board_ref ref;
    memset(&r, 0, sizeof r);
    assert_int_equal(hipc__board_create(&w1, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w1, &ref);
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_OK);
    int old = w1.id;
    hipc__board_detach(&w1);
    assert_int_equal(hipc__board_create(&w2, 0600, NULL), HIPC_OK);
    hipc__board_publish(&w2, &ref);
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_OK);
    assert_int_equal(r.id, w2.id);
    /* The old board went with its last holder. */
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat_id(old, &info, NULL), HIPC_E_NOT_FOUND);
    /* A board withdrawn: the reader lets go of it. */
    struct hipc__board nothing;
    memset(&nothing, 0, sizeof nothing);
    hipc__board_publish(&nothing, &ref);
    assert_int_equal(hipc__board_attach(&r, &ref, NULL), HIPC_E_NOT_FOUND);
    assert_null(r.sleepers);
    hipc__board_detach(&w2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(board_is_removed_yet_attachable_by_id,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(
        unprivileged_reader_attaches_what_it_may_read, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(bad_mode_is_refused, hipc_test_fd_setup,
                                    hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(impostors_are_refused, hipc_test_fd_setup,
                                    hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(
        wait_sees_a_change_and_times_out_without_one, hipc_test_fd_setup,
        hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(scribbled_board_delays_but_never_hangs,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
    cmocka_unit_test_setup_teardown(replaced_writer_is_followed,
                                    hipc_test_fd_setup, hipc_test_fd_teardown),
};

HIPC_TEST_MAIN(tests)
