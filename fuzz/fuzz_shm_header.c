/* SPDX-License-Identifier: MIT */
/* Fuzz target: the segment-header validator hipc_shm_header_check (pure).
 *
 * Input: a flags byte, the segment size (8 bytes), then the bytes that
 * start the segment. With flag bit 0 the target stores a correct checksum
 * into the header first, so the fuzzer gets past it to the field checks.
 * Invariants: only the documented codes; an accepted header describes a
 * payload that fits the segment, and its fields are the bytes it holds; the
 * answer does not depend on whether the caller wants the fields. */
#include <stdlib.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#define CHECKSUM_OFFSET 60u

/* Layout version 1's checksum: FNV-1a over bytes 4..59. */
static uint32_t fnv1a(const uint8_t *p)
{
    uint32_t sum = 2166136261u;
    for (size_t i = 4; i < CHECKSUM_OFFSET; i++) {
        sum ^= p[i];
        sum *= 16777619u;
    }
    return sum;
}

static int code_ok(int rc)
{
    return rc == HIPC_OK || rc == HIPC_E_FOREIGN || rc == HIPC_E_AGAIN ||
           rc == HIPC_E_LAYOUT || rc == HIPC_E_VERSION || rc == HIPC_E_CORRUPT;
}

static uint64_t field64(const uint8_t *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static uint32_t field32(const uint8_t *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static void check_accepted(const uint8_t *h, size_t len, size_t seg,
                           const hipc_shm_header_info *info)
{
    HIPC_FUZZ_CHECK(len >= HIPC_SHM_HEADER_SIZE && seg >= HIPC_SHM_HEADER_SIZE);
    HIPC_FUZZ_CHECK(info->version == HIPC_SHM_LAYOUT_VERSION);
    HIPC_FUZZ_CHECK(info->payload_offset == HIPC_SHM_HEADER_SIZE);
    HIPC_FUZZ_CHECK(info->requested > 0 &&
                    info->requested <= seg - info->payload_offset);
    HIPC_FUZZ_CHECK(info->creator_pid > 0);
    HIPC_FUZZ_CHECK(info->tag == field32(h, 12));
    HIPC_FUZZ_CHECK(info->requested == field64(h, 16));
    HIPC_FUZZ_CHECK(info->creator_start == field64(h, 32));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hipc_fuzz_in in = {data, size};
    uint8_t flags = hipc_fuzz_u8(&in);
    size_t seg = (size_t)hipc_fuzz_u64(&in);
    /* A private, exactly-sized copy: the checksum fix-up writes into it. */
    uint8_t *h = malloc(in.n);
    HIPC_FUZZ_CHECK(h != NULL || in.n == 0);
    if (in.n != 0)
        memcpy(h, in.p, in.n);
    if ((flags & 1u) && in.n >= HIPC_SHM_HEADER_SIZE) {
        uint32_t sum = fnv1a(h);
        memcpy(h + CHECKSUM_OFFSET, &sum, sizeof sum);
    }
    hipc_shm_header_info info;
    memset(&info, 0, sizeof info);
    const void *buf = h != NULL ? (const void *)h : (const void *)data;
    int rc = hipc_shm_header_check(buf, in.n, seg, &info);
    HIPC_FUZZ_CHECK(code_ok(rc));
    HIPC_FUZZ_CHECK(hipc_shm_header_check(buf, in.n, seg, NULL) == rc);
    if (rc == HIPC_OK)
        check_accepted(h, in.n, seg, &info);
    free(h);
    return 0;
}
