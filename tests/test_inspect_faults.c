/* The inspector (lib/inspect.c) when the creator of a foreign segment
 * cannot be looked up: the verdict is "unknown", never a guess, and gc
 * leaves such a segment alone. */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "support.h"
#ifdef HIPC_FAULT_INJECTION
#include "fault.h"

/* Lists the one segment with the nth /proc open failing (1: the table,
 * 2: the creator's start time, 3: whether it still runs). */
static enum hipc_seg_orphan verdict_with_open_failing(unsigned long nth)
{
    hipc_seg_entry e;
    size_t total = 0;
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    hipc_fault_fail_nth(HIPC_SYS_OPEN, nth, EMFILE);
    int n = hipc_inspect_list(&e, 1, &total, HIPC_INSPECT_NO_PEEK, NULL);
    assert_true(hipc_fault_fired());
    hipc_fault_reset();
    assert_int_equal(n, 1);
    return e.orphan;
}

static void a_creator_that_cannot_be_looked_up_is_unknown(void **state)
{
    (void)state;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    assert_int_equal(verdict_with_open_failing(2), HIPC_ORPHAN_UNKNOWN);
    assert_int_equal(verdict_with_open_failing(3), HIPC_ORPHAN_UNKNOWN);
    /* Nothing failing: we made it and still run, after three opens. */
    hipc_seg_entry one;
    size_t n = 0;
    hipc_fault_reset();
    hipc_fault_set_mode("none");
    assert_int_equal(hipc_inspect_list(&one, 1, &n, HIPC_INSPECT_NO_PEEK, NULL), 1);
    assert_int_equal(one.orphan, HIPC_ORPHAN_NO);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_OPEN), 3);
    size_t found = 9;
    hipc_seg_entry e;
    hipc_fault_fail_nth(HIPC_SYS_OPEN, 3, EMFILE);
    assert_int_equal(hipc_inspect_gc(&e, 1, &found, 0, NULL), 0);
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
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lists_of_a_namespace_without_segments_are_empty),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(a_creator_that_cannot_be_looked_up_is_unknown),
#endif
};

HIPC_TEST_MAIN(tests)
