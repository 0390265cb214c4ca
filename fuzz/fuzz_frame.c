/* SPDX-License-Identifier: MIT */
/* Fuzz target: the frame decoder, and encode/decode round trips (pure).
 *
 * Input: one byte choosing the maximum payload size, then a stream of bytes
 * that is decoded frame after frame. Invariants: every code is one the
 * decoder documents; a decoded frame lies inside the input, re-encodes to
 * exactly the bytes it came from, and does not fit one byte less; whatever
 * payload follows the last frame encodes and decodes back to itself. */
#include <stdlib.h>
#include <string.h>

#include "hipc/config.h"
#include "hipc/error.h"
#include "hipc/frame.h"
#include "support.h"

static size_t pick_max(hipc_fuzz_in *in)
{
    static const size_t table[] = {
        0, 1, 8, 64, 4096, HIPC_MAX_MSG_BYTES, (size_t)HIPC_MAX_MSG_BYTES + 1u};
    uint8_t sel = hipc_fuzz_u8(in);
    if (sel < sizeof table / sizeof table[0])
        return table[sel];
    return hipc_fuzz_u32(in);
}

static size_t effective(size_t max)
{
    return max == 0 ? HIPC_MAX_MSG_BYTES : max;
}

static int decode_error_ok(int rc)
{
    return rc == HIPC_E_TRUNCATED || rc == HIPC_E_BAD_FRAME ||
           rc == HIPC_E_VERSION || rc == HIPC_E_MSG_TOO_BIG;
}

/* The frame at `frame` (consumed bytes) re-encodes to the same bytes, into
 * a buffer of exactly that size, and not into one byte less. */
static void check_reencode(const uint8_t *frame, size_t consumed,
                           const void *payload, size_t n, size_t max)
{
    uint8_t *out = malloc(consumed);
    HIPC_FUZZ_CHECK(out != NULL);
    size_t written = 0;
    HIPC_FUZZ_CHECK(
        hipc_frame_encode(out, consumed, payload, n, max, &written) == HIPC_OK);
    HIPC_FUZZ_CHECK(written == consumed && memcmp(out, frame, consumed) == 0);
    HIPC_FUZZ_CHECK(hipc_frame_encode(out, consumed - 1, payload, n, max,
                                      &written) == HIPC_E_BUF_TOO_SMALL);
    free(out);
}

/* Decodes frames until the stream ends or breaks; returns where it stopped. */
static size_t walk(const uint8_t *buf, size_t len, size_t max)
{
    size_t off = 0;
    while (off < len) {
        const void *payload = NULL;
        size_t n = 0, consumed = 0, hn = 0;
        int rc = hipc_frame_decode(buf + off, len - off, max, &payload, &n,
                                   &consumed);
        int hrc = hipc_frame_decode_header(buf + off, len - off, max, &hn);
        if (max > HIPC_MAX_MSG_BYTES) {
            HIPC_FUZZ_CHECK(rc == HIPC_E_TOO_BIG && hrc == HIPC_E_TOO_BIG);
            return off;
        }
        if (rc != HIPC_OK) {
            HIPC_FUZZ_CHECK(decode_error_ok(rc));
            HIPC_FUZZ_CHECK(hrc == rc ||
                            (hrc == HIPC_OK && rc == HIPC_E_TRUNCATED));
            return off;
        }
        HIPC_FUZZ_CHECK(hrc == HIPC_OK && hn == n && n <= effective(max));
        HIPC_FUZZ_CHECK(consumed == HIPC_FRAME_HEADER_BYTES + n);
        HIPC_FUZZ_CHECK(consumed <= len - off);
        HIPC_FUZZ_CHECK(payload == buf + off + HIPC_FRAME_HEADER_BYTES);
        check_reencode(buf + off, consumed, payload, n, max);
        off += consumed;
    }
    return off;
}

/* Encodes `n` bytes as a frame and decodes them back. */
static void round_trip(const uint8_t *p, size_t n, size_t max)
{
    size_t cap = HIPC_FRAME_HEADER_BYTES + n;
    uint8_t *out = malloc(cap);
    HIPC_FUZZ_CHECK(out != NULL);
    size_t written = 0;
    int rc = hipc_frame_encode(out, cap, n ? p : NULL, n, max, &written);
    if (max > HIPC_MAX_MSG_BYTES)
        HIPC_FUZZ_CHECK(rc == HIPC_E_TOO_BIG);
    else if (n > effective(max))
        HIPC_FUZZ_CHECK(rc == HIPC_E_MSG_TOO_BIG);
    else
        HIPC_FUZZ_CHECK(rc == HIPC_OK && written == cap);
    if (rc == HIPC_OK) {
        const void *payload = NULL;
        size_t got = 0, consumed = 0;
        HIPC_FUZZ_CHECK(hipc_frame_decode(out, cap, max, &payload, &got,
                                          &consumed) == HIPC_OK);
        HIPC_FUZZ_CHECK(got == n && consumed == cap);
        HIPC_FUZZ_CHECK(n == 0 || memcmp(payload, p, n) == 0);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_fuzz_in in = {data, size};
    size_t max = pick_max(&in);
    size_t stop = walk(in.p, in.n, max);
    round_trip(in.p + stop, in.n - stop, max);
    return 0;
}
