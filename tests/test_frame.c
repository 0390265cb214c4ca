/* SPDX-License-Identifier: MIT */
/* Tests for the pure frame encoder and decoder. */
#include <string.h>

#include "hipc/config.h"
#include "hipc/error.h"
#include "hipc/frame.h"
#include "support.h"

static void encoded_frame_decodes_to_the_same_payload(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t written = 0, len = 0, used = 0;
    const void *payload = NULL;
    assert_int_equal(hipc_frame_encode(buf, sizeof buf, "hello", 5, 16,
                                       &written),
                     HIPC_OK);
    assert_int_equal(written, HIPC_FRAME_HEADER_BYTES + 5);
    assert_int_equal(hipc_frame_decode(buf, written, 16, &payload, &len, &used),
                     HIPC_OK);
    assert_int_equal(len, 5);
    assert_int_equal(used, written);
    assert_memory_equal(payload, "hello", 5);
    assert_ptr_equal(payload, buf + HIPC_FRAME_HEADER_BYTES);
}

static void
header_layout_is_magic_version_zero_and_little_endian_length(void **state)
{
    (void)state;
    uint8_t h[HIPC_FRAME_HEADER_BYTES];
    assert_int_equal(hipc_frame_encode_header(h, 0x010203, 0), HIPC_OK);
    const uint8_t want[] = {'h', 'f', 1, 0, 0x03, 0x02, 0x01, 0x00};
    assert_memory_equal(h, want, sizeof want);
}

static void empty_payload_is_a_valid_frame(void **state)
{
    (void)state;
    uint8_t buf[HIPC_FRAME_HEADER_BYTES];
    size_t written = 0, len = 99, used = 0;
    const void *payload = NULL;
    assert_int_equal(hipc_frame_encode(buf, sizeof buf, NULL, 0, 1, &written),
                     HIPC_OK);
    assert_int_equal(hipc_frame_decode(buf, written, 1, &payload, &len, &used),
                     HIPC_OK);
    assert_int_equal(len, 0);
    assert_int_equal(used, HIPC_FRAME_HEADER_BYTES);
}

static void several_frames_in_one_buffer_decode_in_order(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t a = 0, b = 0, len = 0, used = 0;
    const void *payload = NULL;
    assert_int_equal(hipc_frame_encode(buf, sizeof buf, "one", 3, 0, &a),
                     HIPC_OK);
    assert_int_equal(hipc_frame_encode(buf + a, sizeof buf - a, "three", 5, 0,
                                       &b),
                     HIPC_OK);
    assert_int_equal(hipc_frame_decode(buf, a + b, 0, &payload, &len, &used),
                     HIPC_OK);
    assert_memory_equal(payload, "one", 3);
    assert_int_equal(hipc_frame_decode(buf + used, a + b - used, 0, &payload,
                                       &len, &used),
                     HIPC_OK);
    assert_memory_equal(payload, "three", 5);
}

static void payload_above_the_maximum_is_msg_too_big_both_ways(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t written = 0, len = 0;
    assert_int_equal(hipc_frame_encode(buf, sizeof buf, "12345", 5, 4,
                                       &written),
                     HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_frame_encode(buf, sizeof buf, "12345", 5, 5,
                                       &written),
                     HIPC_OK);
    assert_int_equal(hipc_frame_decode_header(buf, written, 4, &len),
                     HIPC_E_MSG_TOO_BIG);
}

static void maximum_above_the_compile_time_limit_is_too_big(void **state)
{
    (void)state;
    uint8_t h[HIPC_FRAME_HEADER_BYTES];
    size_t len = 0;
    size_t over = (size_t)HIPC_MAX_MSG_BYTES + 1;
    assert_int_equal(hipc_frame_encode_header(h, 1, over), HIPC_E_TOO_BIG);
    assert_int_equal(hipc_frame_encode_header(h, 1, 0), HIPC_OK);
    assert_int_equal(hipc_frame_decode_header(h, sizeof h, over, &len),
                     HIPC_E_TOO_BIG);
}

static void huge_announced_length_is_rejected_without_reading_it(void **state)
{
    (void)state;
    const uint8_t h[] = {'h', 'f', 1, 0, 0xff, 0xff, 0xff, 0xff};
    size_t len = 0;
    const void *payload = NULL;
    size_t used = 0;
    assert_int_equal(hipc_frame_decode_header(h, sizeof h, 0, &len),
                     HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_frame_decode(h, sizeof h, 0, &payload, &len, &used),
                     HIPC_E_MSG_TOO_BIG);
}

static void short_header_and_short_payload_are_truncated(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t written = 0, len = 0, used = 0;
    const void *payload = NULL;
    assert_int_equal(hipc_frame_encode(buf, sizeof buf, "abcdef", 6, 0,
                                       &written),
                     HIPC_OK);
    for (size_t cut = 0; cut < written; cut++)
        assert_int_equal(hipc_frame_decode(buf, cut, 0, &payload, &len, &used),
                         HIPC_E_TRUNCATED);
    assert_int_equal(hipc_frame_decode_header(buf, 7, 0, &len),
                     HIPC_E_TRUNCATED);
}

static void wrong_magic_or_reserved_byte_is_bad_frame(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t magic[] = {'H', 'f', 1, 0, 1, 0, 0, 0};
    const uint8_t magic2[] = {'h', 'F', 1, 0, 1, 0, 0, 0};
    const uint8_t reserved[] = {'h', 'f', 1, 7, 1, 0, 0, 0};
    assert_int_equal(hipc_frame_decode_header(magic, 8, 0, &len),
                     HIPC_E_BAD_FRAME);
    assert_int_equal(hipc_frame_decode_header(magic2, 8, 0, &len),
                     HIPC_E_BAD_FRAME);
    assert_int_equal(hipc_frame_decode_header(reserved, 8, 0, &len),
                     HIPC_E_BAD_FRAME);
}

static void unknown_version_is_reported_as_version(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t h[] = {'h', 'f', 2, 0, 1, 0, 0, 0};
    assert_int_equal(hipc_frame_decode_header(h, 8, 0, &len), HIPC_E_VERSION);
}

static void
output_buffer_too_small_is_reported_and_untouched_past_cap(void **state)
{
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xAA, sizeof buf);
    size_t written = 0;
    assert_int_equal(hipc_frame_encode(buf, 12, "abcde", 5, 0, &written),
                     HIPC_E_BUF_TOO_SMALL);
    for (size_t i = 12; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);
    assert_int_equal(hipc_frame_encode(buf, 13, "abcde", 5, 0, &written),
                     HIPC_OK);
}

static void null_arguments_are_rejected(void **state)
{
    (void)state;
    uint8_t buf[16] = {'h', 'f', 1, 0, 1, 0, 0, 0, 'x'};
    size_t n = 0;
    const void *p = NULL;
    assert_int_equal(hipc_frame_encode_header(NULL, 0, 0), HIPC_E_NULL);
    assert_int_equal(hipc_frame_encode(NULL, 16, "a", 1, 0, &n), HIPC_E_NULL);
    assert_int_equal(hipc_frame_encode(buf, 16, NULL, 1, 0, &n), HIPC_E_NULL);
    assert_int_equal(hipc_frame_encode(buf, 16, "a", 1, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_frame_decode_header(NULL, 8, 0, &n), HIPC_E_NULL);
    assert_int_equal(hipc_frame_decode_header(buf, 8, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_frame_decode(buf, 8, 0, NULL, &n, &n), HIPC_E_NULL);
    assert_int_equal(hipc_frame_decode(buf, 8, 0, &p, NULL, &n), HIPC_E_NULL);
    assert_int_equal(hipc_frame_decode(buf, 8, 0, &p, &n, NULL), HIPC_E_NULL);
}

/* A cheap deterministic sweep: every single-byte corruption of a valid
 * frame either decodes within bounds or fails with a known code. */
static void
every_single_byte_corruption_fails_cleanly_or_stays_in_bounds(void **state)
{
    (void)state;
    uint8_t good[24];
    size_t written = 0;
    assert_int_equal(hipc_frame_encode(good, sizeof good, "0123456789", 10, 64,
                                       &written),
                     HIPC_OK);
    for (size_t pos = 0; pos < written; pos++) {
        for (unsigned v = 0; v < 256; v++) {
            uint8_t buf[24];
            memcpy(buf, good, written);
            buf[pos] = (uint8_t)v;
            const void *p = NULL;
            size_t len = 0, used = 0;
            int rc = hipc_frame_decode(buf, written, 64, &p, &len, &used);
            if (rc == HIPC_OK)
                assert_true(used <= written &&
                            len + HIPC_FRAME_HEADER_BYTES == used);
            else
                assert_true(rc == HIPC_E_BAD_FRAME || rc == HIPC_E_VERSION ||
                            rc == HIPC_E_TRUNCATED || rc == HIPC_E_MSG_TOO_BIG);
        }
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(encoded_frame_decodes_to_the_same_payload),
    cmocka_unit_test(
        header_layout_is_magic_version_zero_and_little_endian_length),
    cmocka_unit_test(empty_payload_is_a_valid_frame),
    cmocka_unit_test(several_frames_in_one_buffer_decode_in_order),
    cmocka_unit_test(payload_above_the_maximum_is_msg_too_big_both_ways),
    cmocka_unit_test(maximum_above_the_compile_time_limit_is_too_big),
    cmocka_unit_test(huge_announced_length_is_rejected_without_reading_it),
    cmocka_unit_test(short_header_and_short_payload_are_truncated),
    cmocka_unit_test(wrong_magic_or_reserved_byte_is_bad_frame),
    cmocka_unit_test(unknown_version_is_reported_as_version),
    cmocka_unit_test(
        output_buffer_too_small_is_reported_and_untouched_past_cap),
    cmocka_unit_test(null_arguments_are_rejected),
    cmocka_unit_test(
        every_single_byte_corruption_fails_cleanly_or_stays_in_bounds),
};

HIPC_TEST_MAIN(tests)
