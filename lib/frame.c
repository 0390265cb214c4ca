/* SPDX-License-Identifier: MIT */
/* hipc — frame encoding and decoding. Pure: no syscalls, no allocation. */
#include "hipc/frame.h"

#include <string.h>

#include "hipc/config.h"
#include "hipc/error.h"

#define FRAME_MAGIC0 0x68u /* 'h' */
#define FRAME_MAGIC1 0x66u /* 'f' */

/* The length field is 32 bits wide; a larger configured maximum could not
 * be represented on the wire. */
_Static_assert(HIPC_MAX_MSG_BYTES <= UINT32_MAX,
               "HIPC_MAX_MSG_BYTES must fit the 32-bit frame length");

/* Resolves the caller's maximum: 0 selects the compile-time limit. */
static int effective_max(size_t max_payload, size_t *out)
{
    if (max_payload > HIPC_MAX_MSG_BYTES)
        return HIPC_E_TOO_BIG;
    *out = max_payload == 0 ? HIPC_MAX_MSG_BYTES : max_payload;
    return HIPC_OK;
}

int hipc_frame_encode_header(uint8_t out[HIPC_FRAME_HEADER_BYTES],
                             size_t payload_len, size_t max_payload)
{
    size_t max = 0;
    if (out == NULL)
        return HIPC_E_NULL;
    int rc = effective_max(max_payload, &max);
    if (rc != HIPC_OK)
        return rc;
    if (payload_len > max)
        return HIPC_E_MSG_TOO_BIG;
    uint32_t n = (uint32_t)payload_len;
    out[0] = FRAME_MAGIC0;
    out[1] = FRAME_MAGIC1;
    out[2] = HIPC_FRAME_VERSION;
    out[3] = 0;
    for (unsigned i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(n >> (8 * i));
    return HIPC_OK;
}

int hipc_frame_encode(void *out, size_t cap, const void *payload,
                      size_t payload_len, size_t max_payload, size_t *written)
{
    if (out == NULL || written == NULL || (payload == NULL && payload_len != 0))
        return HIPC_E_NULL;
    int rc = hipc_frame_encode_header(out, payload_len, max_payload);
    if (rc != HIPC_OK)
        return rc;
    /* payload_len is at most HIPC_MAX_MSG_BYTES here, so the sum cannot
     * wrap. */
    if (cap < HIPC_FRAME_HEADER_BYTES + payload_len)
        return HIPC_E_BUF_TOO_SMALL;
    if (payload_len != 0)
        memcpy((uint8_t *)out + HIPC_FRAME_HEADER_BYTES, payload, payload_len);
    *written = HIPC_FRAME_HEADER_BYTES + payload_len;
    return HIPC_OK;
}

int hipc_frame_decode_header(const void *buf, size_t len, size_t max_payload,
                             size_t *payload_len)
{
    size_t max = 0;
    if (buf == NULL || payload_len == NULL)
        return HIPC_E_NULL;
    int rc = effective_max(max_payload, &max);
    if (rc != HIPC_OK)
        return rc;
    if (len < HIPC_FRAME_HEADER_BYTES)
        return HIPC_E_TRUNCATED;
    const uint8_t *h = buf;
    /* Bytes that are not a frame: a writer that sends none, or a stream
     * that has lost its place. */
    if (h[0] != FRAME_MAGIC0 || h[1] != FRAME_MAGIC1 || h[3] != 0)
        return HIPC_E_BAD_FRAME;
    if (h[2] != HIPC_FRAME_VERSION)
        return HIPC_E_VERSION;
    uint32_t n = 0;
    for (unsigned i = 0; i < 4; i++)
        n |= (uint32_t)h[4 + i] << (8 * i);
    if (n > max)
        return HIPC_E_MSG_TOO_BIG;
    *payload_len = n;
    return HIPC_OK;
}

int hipc_frame_decode(const void *buf, size_t len, size_t max_payload,
                      const void **payload, size_t *payload_len,
                      size_t *consumed)
{
    size_t n = 0;
    if (payload == NULL || payload_len == NULL || consumed == NULL)
        return HIPC_E_NULL;
    int rc = hipc_frame_decode_header(buf, len, max_payload, &n);
    if (rc != HIPC_OK)
        return rc;
    /* n is bounded by the maximum, so header + n cannot wrap. */
    if (len - HIPC_FRAME_HEADER_BYTES < n)
        return HIPC_E_TRUNCATED;
    *payload = (const uint8_t *)buf + HIPC_FRAME_HEADER_BYTES;
    *payload_len = n;
    *consumed = HIPC_FRAME_HEADER_BYTES + n;
    return HIPC_OK;
}
