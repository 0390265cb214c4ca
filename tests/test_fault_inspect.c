/* SPDX-License-Identifier: MIT */
/* Fault injection over the segment inspector (lib/inspect.c): listing the
 * live table (read through the seam in chunks) and classifying each
 * segment, finding one, collecting orphans and removing by key. */
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/inspect.h"
#include "hipc/shm.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "lists segments through /proc/sysvipc, the kernel's list, not the world's")

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

#define KEY 0x49534e50

struct insp_ctx {
    hipc_shm mine;
    int orphan_id; /* id + 1 */
    int mine_id;   /* id + 1 */
};

static void insp_release(void *p)
{
    struct insp_ctx *x = p;
    (void)hipc_shm_close(&x->mine);
    if (x->mine_id > 0)
        shmctl(x->mine_id - 1, IPC_RMID, NULL);
    if (x->orphan_id > 0)
        shmctl(x->orphan_id - 1, IPC_RMID, NULL);
}

static int list_find_gc(void *p, int *sys_errno)
{
    struct insp_ctx *x = p;
    hipc_seg_entry e[4];
    size_t total = 0, found = 0;
    int id = hipc_test_make_orphan();
    if (id < 0)
        return HIPC_E_SYS;
    x->orphan_id = id + 1;
    hipc_shm_config cfg = {.size = 100, .tag = 5};
    int rc = hipc_shm_create(&x->mine, KEY, &cfg);
    if (rc != HIPC_OK) {
        *sys_errno = x->mine.sys_errno;
        return rc;
    }
    x->mine_id = x->mine.id + 1;
    rc = hipc_inspect_list(e, 4, &total, 0, sys_errno);
    if (rc < 0)
        return rc;
    if (total != 2)
        return HIPC_E_CORRUPT;
    rc = hipc_inspect_find_id(x->mine.id, e, 0, sys_errno);
    if (rc < 0)
        return rc;
    if (e[0].kind != HIPC_SEG_HIPC || e[0].tag != 5)
        return HIPC_E_CORRUPT;
    rc = hipc_inspect_gc(e, 4, &found, HIPC_INSPECT_DRY_RUN, sys_errno);
    if (rc < 0)
        return rc;
    rc = hipc_inspect_gc(e, 4, &found, 0, sys_errno);
    if (rc < 0)
        return rc;
    if (rc != 1 || found != 1 || e[0].id != id)
        return HIPC_E_CORRUPT;
    rc = hipc_shm_close(&x->mine);
    if (rc != HIPC_OK)
        return rc;
    return hipc_shm_remove_key(KEY, sys_errno);
}

/* Classifying a segment stats and attaches it for a moment: a segment
 * that cannot be looked at is listed as unreadable (with the reason), not
 * an error, and the brief mapping is dropped without looking at shmdt's
 * answer. Whether a creator still runs comes from /proc (which must be
 * our pid namespace's: readlink of /proc/self), kill(pid, 0) and the
 * clocks:
 * what cannot be looked up makes the verdict "unknown", so gc leaves the
 * segment alone (the scenario then reports HIPC_E_CORRUPT: not removed).
 * A header page that cannot be made present (MADVISE, mincore too) is never
 * read: that segment is unreadable, which is no error either.
 * A missing /proc/sysvipc/shm means System V IPC is not there at all. */
static int insp_accepts(enum hipc__sys_call call, int err, int rc)
{
    /* Removing by key goes by id: EIDRM is no such id, as EINVAL is. */
    if (call == HIPC_SYS_SHMCTL && err == EIDRM && rc == HIPC_E_NOT_FOUND)
        return 1;
    int looking = call == HIPC_SYS_SHMAT || call == HIPC_SYS_SHMCTL ||
                  call == HIPC_SYS_SHMDT || call == HIPC_SYS_OPEN ||
                  call == HIPC_SYS_READ || call == HIPC_SYS_CLOCK ||
                  call == HIPC_SYS_KILL || call == HIPC_SYS_STAT ||
                  call == HIPC_SYS_MADVISE || call == HIPC_SYS_READLINK;
    if (rc == HIPC_OK || rc == HIPC_E_CORRUPT)
        return looking;
    return call == HIPC_SYS_OPEN && err == ENOENT && rc == HIPC_E_UNSUPPORTED;
}

static void inspect_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario s = {
        "inspect: list, find, gc dry run, gc, remove", list_find_gc,
        insp_release, insp_accepts};
    fault_drive_all(&s, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(inspect_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
