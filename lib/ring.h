/* SPDX-License-Identifier: MIT */
/* hipc — the first line of a ring's segment, shared by the channel
 * (lib/chan.c) and the broadcast ring (lib/bcast.c): what each writes
 * when it formats a ring, and the one check of it an attacher makes
 * before it trusts any field. Internal. */
#ifndef HIPC_RING_H
#define HIPC_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hipc/chan.h"
#include "hipc/error.h"

/* Written in the creator's byte order: an attacher of another order (a
 * segment shared through a foreign emulator) reads it as something else. */
#define HIPC__RING_ENDIAN 0x01020304u

/* The fields every ring header opens with. The magic is stored last,
 * with release, once the others are there. */
struct hipc__ring_meta {
    _Atomic uint32_t magic;
    uint32_t version;
    uint32_t endian;
    uint32_t header_size;
    uint32_t capacity;
    uint32_t max_msg;
};

_Static_assert(sizeof(struct hipc__ring_meta) == 24,
               "six words, as every released layout has them");

/* What one kind of ring expects of its header. */
struct hipc__ring_kind {
    uint32_t magic, version, header_size, min_capacity, rec_header;
};

static inline int hipc__is_pow2(size_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* Everything but the magic, which the caller stores last (release). */
static inline void hipc__ring_meta_fill(struct hipc__ring_meta *m,
                                        const struct hipc__ring_kind *k,
                                        uint32_t cap, uint32_t max_msg)
{
    m->version = k->version;
    m->endian = HIPC__RING_ENDIAN;
    m->header_size = k->header_size;
    m->capacity = cap;
    m->max_msg = max_msg != 0 ? max_msg : cap - k->rec_header;
}

/* Reads the header once into locals and checks it against the real size
 * of the memory, which the caller (or the kernel) vouches for. HIPC_OK
 * with *cap and *max_msg; HIPC_E_AGAIN (still being formatted),
 * HIPC_E_FOREIGN, HIPC_E_LAYOUT, HIPC_E_VERSION, HIPC_E_CORRUPT. */
static inline int hipc__ring_meta_read(const struct hipc__ring_meta *m,
                                       const struct hipc__ring_kind *k,
                                       size_t size, uint32_t *cap,
                                       uint32_t *max_msg)
{
    uint32_t magic = atomic_load_explicit(&m->magic, memory_order_acquire);
    if (magic == 0)
        return HIPC_E_AGAIN;
    if (magic != k->magic)
        return HIPC_E_FOREIGN;
    if (m->endian != HIPC__RING_ENDIAN || m->header_size != k->header_size)
        return HIPC_E_LAYOUT;
    if (m->version != k->version)
        return HIPC_E_VERSION;
    uint32_t c = m->capacity, x = m->max_msg;
    if (!hipc__is_pow2(c) || c < k->min_capacity ||
        c > HIPC_CHAN_MAX_CAPACITY || c > size - k->header_size ||
        x > c - k->rec_header)
        return HIPC_E_CORRUPT;
    *cap = c;
    *max_msg = x;
    return HIPC_OK;
}

#endif
