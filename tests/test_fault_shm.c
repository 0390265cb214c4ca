/* SPDX-License-Identifier: MIT */
/* Fault injection over shared memory (lib/shm.c): every syscall of each
 * scenario fails in turn with every errno it can meet; the code must be
 * right, the errno kept, and no segment left behind — above all when a
 * create fails half-way. */
#include <errno.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#ifdef HIPC_FAULT_INJECTION
#include "fault/driver.h"

/* What a scenario holds. `owned` lists the ids of segments that were
 * handed to the caller, so cleanup removes those and nothing else: a
 * segment a failed call left behind stays and is found as a leak. */
struct shm_ctx {
    hipc_shm a, b;
    int owned[2];
    int n_owned;
};

static int keep(struct shm_ctx *c, const hipc_shm *h)
{
    c->owned[c->n_owned++] = h->id;
    return HIPC_OK;
}

static int failed(const hipc_shm *h, int rc, int *sys_errno)
{
    *sys_errno = h->sys_errno;
    return rc;
}

static void shm_cleanup(void *ctx)
{
    struct shm_ctx *c = ctx;
    (void)hipc_shm_close(&c->a);
    (void)hipc_shm_close(&c->b);
    for (int i = 0; i < c->n_owned; i++)
        (void)hipc_shm_remove_id(c->owned[i], NULL);
}

static hipc_shm_config config(size_t size, unsigned flags)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.flags = flags;
    cfg.tag = 7;
    return cfg;
}

/* A limit that cannot be read is left to the kernel, and an unsupported
 * prefault falls back to a hint: success is right after those. So is a
 * fresh key after EEXIST, and BAD_PATH for a path that does not exist.
 * For a bare id, EIDRM says no segment has it (any more): NOT_FOUND, as
 * EINVAL does (shm_priv.h, hipc__shm_id_fail). */
static int shm_accept(enum hipc__sys_call call, int err, int rc)
{
    if (call == HIPC_SYS_SHMCTL && err == EIDRM && rc == HIPC_E_NOT_FOUND)
        return 1;
    if (rc == HIPC_OK)
        return call == HIPC_SYS_OPEN || call == HIPC_SYS_READ ||
               (call == HIPC_SYS_MADVISE && err == EINVAL) ||
               (call == HIPC_SYS_SHMGET && err == EEXIST);
    return call == HIPC_SYS_STAT && err == ENOENT && rc == HIPC_E_BAD_PATH;
}

static int life_cycle_run(void *ctx, int *sys_errno)
{
    struct shm_ctx *c = ctx;
    hipc_shm_config cfg = config(3 * 4096, HIPC_SHM_PREFAULT);
    hipc_shm_info info;
    int rc = hipc_shm_create(&c->a, 0x6a17, &cfg);
    if (rc != HIPC_OK)
        return failed(&c->a, rc, sys_errno);
    keep(c, &c->a);
    if ((rc = hipc_shm_stat(&c->a, &info)) != HIPC_OK ||
        (rc = hipc_shm_detach(&c->a)) != HIPC_OK ||
        (rc = hipc_shm_attach(&c->a, HIPC_SHM_PREFAULT)) != HIPC_OK ||
        (rc = hipc_shm_remove(&c->a)) != HIPC_OK ||
        (rc = hipc_shm_close(&c->a)) != HIPC_OK)
        return failed(&c->a, rc, sys_errno);
    return HIPC_OK;
}

static int open_run(void *ctx, int *sys_errno)
{
    struct shm_ctx *c = ctx;
    hipc_shm_config cfg = config(100, HIPC_SHM_NO_ATTACH);
    int rc = hipc_shm_create(&c->a, 0x0be7, &cfg);
    if (rc != HIPC_OK)
        return failed(&c->a, rc, sys_errno);
    keep(c, &c->a);
    rc = hipc_shm_open(&c->b, 0x0be7, 100,
                       HIPC_SHM_RDONLY | HIPC_SHM_PREFAULT |
                           HIPC_SHM_REMOVE_ON_ATTACH);
    if (rc != HIPC_OK)
        return failed(&c->b, rc, sys_errno);
    if ((rc = hipc_shm_close(&c->b)) != HIPC_OK)
        return failed(&c->b, rc, sys_errno);
    return HIPC_OK;
}

static int fresh_run(void *ctx, int *sys_errno)
{
    struct shm_ctx *c = ctx;
    hipc_shm_config cfg = config(64, HIPC_SHM_REMOVE_ON_ATTACH);
    int rc = hipc_shm_create_fresh(&c->a, 0x0f5e, &cfg);
    if (rc != HIPC_OK)
        return failed(&c->a, rc, sys_errno);
    keep(c, &c->a);
    return (rc = hipc_shm_close(&c->a)) != HIPC_OK
               ? failed(&c->a, rc, sys_errno)
               : HIPC_OK;
}

static int by_id_run(void *ctx, int *sys_errno)
{
    struct shm_ctx *c = ctx;
    key_t key;
    int rc = hipc_shm_key_from_path("/", 1, &key, sys_errno);
    if (rc != HIPC_OK)
        return rc;
    hipc_shm_config cfg = config(10, HIPC_SHM_RAW);
    if ((rc = hipc_shm_create(&c->a, key, &cfg)) != HIPC_OK)
        return failed(&c->a, rc, sys_errno);
    keep(c, &c->a);
    hipc_shm_info info;
    if ((rc = hipc_shm_close(&c->a)) != HIPC_OK)
        return failed(&c->a, rc, sys_errno);
    if ((rc = hipc_shm_stat_id(c->a.id, &info, sys_errno)) != HIPC_OK)
        return rc;
    return hipc_shm_remove_id(c->a.id, sys_errno);
}

static void drive(const char *name, int (*run)(void *, int *))
{
    const struct fault_scenario s = {name, run, shm_cleanup, shm_accept};
    fault_drive_all(&s, 1);
}

static void a_life_cycle_survives_every_syscall_failure(void **state)
{
    (void)state;
    drive("shm: create prefault, stat, detach, attach, remove", life_cycle_run);
}

static void an_open_survives_every_syscall_failure(void **state)
{
    (void)state;
    drive("shm: open rdonly prefault remove-on-attach", open_run);
}

static void a_fresh_create_survives_every_syscall_failure(void **state)
{
    (void)state;
    drive("shm: create_fresh remove-on-attach", fresh_run);
}

static void handle_less_calls_survive_every_syscall_failure(void **state)
{
    (void)state;
    drive("shm: key from path, stat_id, remove_id", by_id_run);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_life_cycle_survives_every_syscall_failure),
    cmocka_unit_test(an_open_survives_every_syscall_failure),
    cmocka_unit_test(a_fresh_create_survives_every_syscall_failure),
    cmocka_unit_test(handle_less_calls_survive_every_syscall_failure),
};
HIPC_TEST_MAIN(tests)
#else
HIPC_TEST_MAIN_FAULT_BUILD_ONLY()
#endif
