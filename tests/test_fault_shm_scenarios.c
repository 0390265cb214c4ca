/* SPDX-License-Identifier: MIT */
/* More fault-injection scenarios over System V segments (lib/shm.c), beside
 * the shm helper's own tests/test_fault_shm.c: a second handle on the same
 * segment by key and by id, raw segments, and ftok + limits. */
#include <string.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

struct shm_ctx {
    hipc_shm a, b, c;
    int id;
};

/* Runs one step; on failure hands back its code and the handle's errno. */
static void shm_release(void *p)
{
    struct shm_ctx *c = p;
    (void)hipc_shm_close(&c->a);
    (void)hipc_shm_close(&c->b);
    (void)hipc_shm_close(&c->c);
    if (c->id > 0)
        (void)hipc_shm_remove_id(c->id - 1, NULL);
}

/* Remembers a created segment so the release can remove it (id + 1, so a
 * zeroed context means "none"). */
static void keep(struct shm_ctx *c, const hipc_shm *h)
{
    c->id = h->id + 1;
}

/* A creator reads SHMMAX, SHMALL and SHMMNI from /proc/sys first. A limit
 * it cannot read counts as unlimited, as hipc_shm_get_limits documents, so
 * failing those opens and reads changes nothing. (The creator's start time
 * comes from /proc too; failures there are checked by test_fault_proc.)
 * EINVAL from madvise means a kernel without MADV_POPULATE, which falls
 * back to a hint; EFAULT from prefaulting means the memory is short. */
static int creator_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (rc == HIPC_OK && (call == HIPC_SYS_OPEN || call == HIPC_SYS_READ))
        return 1;
    if (call == HIPC_SYS_MADVISE)
        return (err == EINVAL && rc == HIPC_OK) ||
               (err == EFAULT && rc == HIPC_E_NOMEM);
    return 0;
}

/* Opening by id: an id that no longer names a segment (EINVAL or EIDRM
 * from IPC_STAT) is HIPC_E_NOT_FOUND, as documented. Verifying a header
 * maps the segment briefly and drops that mapping without looking at the
 * result, since a failed detach leaves nothing attached. */
static int sharer_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (creator_accepts(call, err, rc))
        return 1;
    if (call == HIPC_SYS_SHMCTL && err == EIDRM && rc == HIPC_E_NOT_FOUND)
        return 1;
    return call == HIPC_SYS_SHMDT && rc == HIPC_OK;
}

/* A taken key sends create_fresh on to the next one; the attach that must
 * find the segment removed finds it so whether the kernel says so (EIDRM,
 * EINVAL, from shmat or from the IPC_STAT that follows it) or the header
 * does. */
static int fresh_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (sharer_accepts(call, err, rc))
        return 1;
    if (rc != HIPC_OK)
        return 0;
    return (call == HIPC_SYS_SHMGET && err == EEXIST) ||
           ((call == HIPC_SYS_SHMCTL || call == HIPC_SYS_SHMAT) &&
            (err == EIDRM || err == EINVAL));
}

static int share_by_key(void *p, int *sys_errno)
{
    struct shm_ctx *c = p;
    hipc_shm_config cfg = {.size = 256, .tag = 9};
    FAULT_STEP(c->a, hipc_shm_create(&c->a, 0x48504643, &cfg));
    keep(c, &c->a);
    memcpy(c->a.data, "hello", 6);
    FAULT_STEP(c->b, hipc_shm_open(&c->b, 0x48504643, 256, 0));
    if (memcmp(c->b.data, "hello", 6) != 0 || c->b.tag != 9)
        return HIPC_E_CORRUPT;
    FAULT_STEP(c->c, hipc_shm_open_id(&c->c, c->a.id, 0, HIPC_SHM_NO_ATTACH));
    hipc_shm_info info;
    int rc = hipc_shm_stat_id(c->a.id, &info, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    if (info.nattch != 2)
        return HIPC_E_CORRUPT;
    FAULT_STEP(c->b, hipc_shm_close(&c->b));
    FAULT_STEP(c->c, hipc_shm_close(&c->c));
    FAULT_STEP(c->a, hipc_shm_close(&c->a));
    return hipc_shm_remove_id(c->a.id, sys_errno);
}

static int fresh_and_raw(void *p, int *sys_errno)
{
    struct shm_ctx *c = p;
    hipc_shm_config cfg = {.size = 100, .flags = HIPC_SHM_REMOVE_ON_ATTACH};
    FAULT_STEP(c->a, hipc_shm_create_fresh(&c->a, 0x1234, &cfg));
    hipc_shm_config raw = {.size = 5000,
                           .flags = HIPC_SHM_RAW | HIPC_SHM_NO_ATTACH};
    FAULT_STEP(c->b, hipc_shm_create(&c->b, HIPC_SHM_KEY_PRIVATE, &raw));
    keep(c, &c->b);
    FAULT_STEP(c->c,
               hipc_shm_open_id(&c->c, c->b.id, 5000,
                                HIPC_SHM_RAW | HIPC_SHM_REMOVE_ON_ATTACH));
    /* The opener marked it removed: attaching again must be refused. */
    int rc = hipc_shm_attach(&c->b, HIPC_SHM_PREFAULT);
    if (rc != HIPC_E_REMOVED) {
        *sys_errno = c->b.sys_errno;
        return rc == HIPC_OK ? HIPC_E_CORRUPT : rc;
    }
    FAULT_STEP(c->a, hipc_shm_close(&c->a));
    FAULT_STEP(c->b, hipc_shm_close(&c->b));
    FAULT_STEP(c->c, hipc_shm_close(&c->c));
    return HIPC_OK;
}

static int keys_and_limits(void *p, int *sys_errno)
{
    (void)p;
    key_t key = 0;
    hipc_shm_limits lim;
    int rc = hipc_shm_key_from_path("/proc", 1, &key, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    return hipc_shm_get_limits(&lim, sys_errno);
}

/* ENOENT and ENOTDIR from stat mean the path is bad; failing to read a
 * limit leaves it unlimited and is no failure at all. */
static int path_accepts(enum hipc__sys_call call, int err, int rc)
{
    if (call == HIPC_SYS_STAT)
        return rc == HIPC_E_BAD_PATH && (err == ENOENT || err == ENOTDIR);
    return rc == HIPC_OK && (call == HIPC_SYS_OPEN || call == HIPC_SYS_READ);
}

static void shm_scenarios_survive_every_syscall_failure(void **state)
{
    (void)state;
    static const struct fault_scenario scenarios[] = {
        {"shm: create by key, open by key and id", share_by_key, shm_release,
         sharer_accepts},
        {"shm: fresh key, raw, remove on attach", fresh_and_raw, shm_release,
         fresh_accepts},
        {"shm: key from path, limits", keys_and_limits, shm_release,
         path_accepts},
    };
    FAULT_DRIVE_ALL(scenarios);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shm_scenarios_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
