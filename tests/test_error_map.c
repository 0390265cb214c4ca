/* SPDX-License-Identifier: MIT */
/* The errno mapping every module shares (hipc__from_errno): each errno the
 * kernel reports to hipc lands on the code a caller acts on. */
#include <errno.h>

#include "hipc/error.h"
#include "internal.h"
#include "support.h"

static void every_mapped_errno_lands_on_its_code(void **state)
{
    (void)state;
    static const struct {
        int err, code;
    } map[] = {
        {0, HIPC_OK},
        {EEXIST, HIPC_E_EXISTS},
        {ENOENT, HIPC_E_NOT_FOUND},
        {ESRCH, HIPC_E_NOT_FOUND},
        {EACCES, HIPC_E_PERM},
        {EPERM, HIPC_E_PERM},
        {ENOSPC, HIPC_E_LIMIT},
        {EMFILE, HIPC_E_LIMIT},
        {ENFILE, HIPC_E_LIMIT},
        {ENOMEM, HIPC_E_NOMEM},
        {EIDRM, HIPC_E_REMOVED},
        {EINTR, HIPC_E_INTR},
        {ETIMEDOUT, HIPC_E_TIMEDOUT},
        {EPIPE, HIPC_E_PEER_GONE},
        {EAGAIN, HIPC_E_AGAIN},
        {EBADF, HIPC_E_BAD_FD},
        {EFAULT, HIPC_E_BAD_ADDR},
        {ENOSYS, HIPC_E_UNSUPPORTED},
        {EOPNOTSUPP, HIPC_E_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        assert_int_equal(hipc__from_errno(map[i].err), map[i].code);
}

static void
errnos_without_a_meaning_of_their_own_are_system_errors(void **state)
{
    (void)state;
    const int other[] = {EIO, EINVAL, EXDEV, ENOTTY, EOVERFLOW, 4095, -1};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(hipc__from_errno(other[i]), HIPC_E_SYS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_mapped_errno_lands_on_its_code),
    cmocka_unit_test(errnos_without_a_meaning_of_their_own_are_system_errors),
};

HIPC_TEST_MAIN(tests)
