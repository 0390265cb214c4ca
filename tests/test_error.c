/* SPDX-License-Identifier: MIT */
/* Tests for the error table: codes, names and messages stay consistent. */
#include <string.h>

#include "hipc/hipc.h"
#include "internal.h"
#include "support.h"

#include <errno.h>

static void every_code_has_a_distinct_name_and_message(void **state)
{
    (void)state;
    for (int a = 0; a >= HIPC_ERROR_LAST_; a--) {
        assert_true(hipc_err_is_known(a));
        assert_string_not_equal(hipc_err_name(a), "HIPC_E_UNKNOWN");
        assert_string_not_equal(hipc_strerror(a), "unknown hipc error");
        for (int b = a - 1; b >= HIPC_ERROR_LAST_; b--) {
            assert_string_not_equal(hipc_err_name(a), hipc_err_name(b));
            assert_string_not_equal(hipc_strerror(a), hipc_strerror(b));
        }
    }
}

static void names_match_the_enum(void **state)
{
    (void)state;
    assert_string_equal(hipc_err_name(HIPC_OK), "HIPC_OK");
    assert_string_equal(hipc_err_name(HIPC_E_REMOVED), "HIPC_E_REMOVED");
    assert_string_equal(hipc_err_name(HIPC_E_UNSUPPORTED),
                        "HIPC_E_UNSUPPORTED");
}

static void unknown_codes_are_reported_as_unknown(void **state)
{
    (void)state;
    const int bad[] = {1, 42, HIPC_ERROR_LAST_ - 1, -1000, -2147483647 - 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(hipc_err_is_known(bad[i]));
        assert_string_equal(hipc_err_name(bad[i]), "HIPC_E_UNKNOWN");
        assert_string_equal(hipc_strerror(bad[i]), "unknown hipc error");
    }
}

static void errno_values_map_to_actionable_codes(void **state)
{
    (void)state;
    assert_int_equal(hipc__from_errno(EEXIST), HIPC_E_EXISTS);
    assert_int_equal(hipc__from_errno(ENOENT), HIPC_E_NOT_FOUND);
    assert_int_equal(hipc__from_errno(EACCES), HIPC_E_PERM);
    assert_int_equal(hipc__from_errno(EPERM), HIPC_E_PERM);
    assert_int_equal(hipc__from_errno(ENOSPC), HIPC_E_LIMIT);
    assert_int_equal(hipc__from_errno(EMFILE), HIPC_E_LIMIT);
    assert_int_equal(hipc__from_errno(ENOMEM), HIPC_E_NOMEM);
    assert_int_equal(hipc__from_errno(EIDRM), HIPC_E_REMOVED);
    assert_int_equal(hipc__from_errno(EINTR), HIPC_E_INTR);
    assert_int_equal(hipc__from_errno(EPIPE), HIPC_E_PEER_GONE);
    assert_int_equal(hipc__from_errno(EAGAIN), HIPC_E_AGAIN);
    assert_int_equal(hipc__from_errno(EXDEV), HIPC_E_SYS);
}

static void version_query_matches_the_header(void **state)
{
    (void)state;
    assert_int_equal(hipc_version(), HIPC_VERSION);
    assert_string_equal(hipc_version_string(), HIPC_VERSION_STRING);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_code_has_a_distinct_name_and_message),
    cmocka_unit_test(names_match_the_enum),
    cmocka_unit_test(unknown_codes_are_reported_as_unknown),
    cmocka_unit_test(errno_values_map_to_actionable_codes),
    cmocka_unit_test(version_query_matches_the_header),
};

HIPC_TEST_MAIN(tests)
