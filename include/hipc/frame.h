/* SPDX-License-Identifier: MIT */
/* hipc — length-prefixed frames, encoded and decoded without syscalls.
 *
 * A frame is an 8-byte header followed by the payload:
 *
 *   byte 0..1  magic 'h' 'f'        (catches a stream that lost its place)
 *   byte 2     format version (1)
 *   byte 3     reserved, must be 0
 *   byte 4..7  payload length, unsigned 32-bit little-endian
 *
 * Every function here is pure: no syscalls, no allocation, no global state,
 * so the decoder can be fuzzed on its own. Each takes a caller-set maximum
 * payload size `max_payload` (0 means HIPC_MAX_MSG_BYTES) and never reads
 * or writes outside the buffers it is given.
 *
 * Decoding errors say what went wrong: HIPC_E_TRUNCATED (the input ends
 * inside the header or payload), HIPC_E_BAD_FRAME (the bytes are not a
 * hipc frame: wrong magic or reserved byte), HIPC_E_VERSION (a frame
 * format version this hipc does not know), HIPC_E_MSG_TOO_BIG (the
 * announced length exceeds the maximum). After any of these but
 * TRUNCATED a stream is out of step and should be closed.
 *
 * Each function lists every code it returns.
 *
 * Over a pipe (hipc/pipe.h) a frame is never spliced: a send that stops
 * part-way leaves the rest of that frame owed, and only the same frame may
 * be sent next; in packet mode a packet that does not match its header is
 * HIPC_E_BAD_FRAME.
 */
#ifndef HIPC_FRAME_H
#define HIPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "hipc/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HIPC_FRAME_HEADER_BYTES 8u
#define HIPC_FRAME_VERSION 1u

/* Writes the header for a payload of `payload_len` bytes into `out`.
 * Returns HIPC_OK, or HIPC_E_NULL (out), HIPC_E_TOO_BIG (max_payload above
 * HIPC_MAX_MSG_BYTES), HIPC_E_MSG_TOO_BIG (payload_len above the
 * maximum). */
int hipc_frame_encode_header(uint8_t out[HIPC_FRAME_HEADER_BYTES],
                             size_t payload_len, size_t max_payload);

/* Writes header and payload into `out` (capacity `cap`); the frame's total
 * size goes to *written. `payload` may be NULL only when `payload_len` is
 * 0. Returns HIPC_OK, or HIPC_E_NULL (out, written, or payload with a
 * length), HIPC_E_TOO_BIG (max_payload above HIPC_MAX_MSG_BYTES),
 * HIPC_E_MSG_TOO_BIG (payload_len above the maximum), HIPC_E_BUF_TOO_SMALL
 * (the frame does not fit `cap`). */
int hipc_frame_encode(void *out, size_t cap, const void *payload,
                      size_t payload_len, size_t max_payload, size_t *written);

/* Checks the first HIPC_FRAME_HEADER_BYTES of `buf` (length `len`) and
 * stores the payload length it announces in *payload_len. Returns HIPC_OK,
 * or HIPC_E_NULL (buf, payload_len), HIPC_E_TOO_BIG (max_payload above
 * HIPC_MAX_MSG_BYTES), HIPC_E_TRUNCATED (len < HIPC_FRAME_HEADER_BYTES),
 * HIPC_E_BAD_FRAME, HIPC_E_VERSION, HIPC_E_MSG_TOO_BIG. */
int hipc_frame_decode_header(const void *buf, size_t len, size_t max_payload,
                             size_t *payload_len);

/* Decodes the first frame of `buf`: *payload points into `buf` (nothing is
 * copied), *payload_len is its length and *consumed the frame's total size,
 * so a caller walks a buffer of several frames by advancing `consumed`
 * bytes. This is the entry point for fuzzing. Returns HIPC_OK, or
 * HIPC_E_NULL (buf, payload, payload_len, consumed), HIPC_E_TOO_BIG
 * (max_payload above HIPC_MAX_MSG_BYTES), HIPC_E_TRUNCATED (the header or
 * the payload is cut short), HIPC_E_BAD_FRAME, HIPC_E_VERSION,
 * HIPC_E_MSG_TOO_BIG. */
int hipc_frame_decode(const void *buf, size_t len, size_t max_payload,
                      const void **payload, size_t *payload_len,
                      size_t *consumed);

#ifdef __cplusplus
}
#endif
#endif
