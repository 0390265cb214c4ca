/* SPDX-License-Identifier: MIT */
/* The protocol of the compatibility peers (ci/stages/compat.sh), shared by
 * every API generation's peer: what is written, how the two processes take
 * turns, and how a result is reported. It uses no hipc call, so a peer for
 * an old release's API can include it unchanged. Keep it stable: a
 * release's own tests/compat/peer_current.c may be built against it.
 *
 *   peer shm-create                 peer shm-open ID
 *   peer chan-create producer       peer chan-open consumer ID
 *   peer chan-create consumer       peer chan-open producer ID
 *
 * A creator makes its object (a producer creator sends COMPAT_MSGS
 * messages at once), prints "READY <id>" and waits for one line on
 * standard input: "CHECK" when the opener reported success (the creator
 * then checks what the opener left: the opener's pattern in a segment, or
 * the opener's messages and then HIPC_E_PEER_GONE), "SKIP" otherwise. It
 * removes and closes its object either way. Every peer ends by printing
 * "RESULT <step> <code name>": the first step that did not return HIPC_OK
 * (or WRONG_DATA for bytes that differ), or "done HIPC_OK". */
#ifndef HIPC_COMPAT_PROTO_H
#define HIPC_COMPAT_PROTO_H

#include <stdio.h>
#include <string.h>

#define COMPAT_SHM_BYTES 4096u
#define COMPAT_SHM_TAG 0x434f4d50u /* "COMP" */
#define COMPAT_CAPACITY 4096u
#define COMPAT_MSGS 8u
#define COMPAT_MSG_MAX 256u

/* The creator writes seed 1, the opener overwrites with seed 2. */
static inline unsigned char compat_pattern(unsigned seed, size_t i)
{
    return (unsigned char)(i * (5u + seed * 2u) + seed);
}

/* Lengths vary so that records of several sizes meet in the ring. */
static inline size_t compat_msg_len(unsigned i)
{
    return 1u + (i * 37u) % 200u;
}

static inline unsigned char compat_msg_byte(unsigned i, size_t j)
{
    return (unsigned char)(i * 31u + j * 3u + 7u);
}

static inline void compat_fill_msg(unsigned i, unsigned char *buf)
{
    for (size_t j = 0; j < compat_msg_len(i); j++)
        buf[j] = compat_msg_byte(i, j);
}

static inline int compat_msg_ok(unsigned i, const unsigned char *buf,
                                size_t len)
{
    if (len != compat_msg_len(i))
        return 0;
    for (size_t j = 0; j < len; j++)
        if (buf[j] != compat_msg_byte(i, j))
            return 0;
    return 1;
}

static inline void compat_fill(unsigned char *p, unsigned seed)
{
    for (size_t i = 0; i < COMPAT_SHM_BYTES; i++)
        p[i] = compat_pattern(seed, i);
}

static inline int compat_holds(const unsigned char *p, unsigned seed)
{
    for (size_t i = 0; i < COMPAT_SHM_BYTES; i++)
        if (p[i] != compat_pattern(seed, i))
            return 0;
    return 1;
}

static inline void compat_ready(int id)
{
    printf("READY %d\n", id);
    fflush(stdout);
}

/* 1 for "CHECK", 0 for anything else (including end of input). */
static inline int compat_wait_turn(void)
{
    char line[32];
    if (fgets(line, sizeof line, stdin) == NULL)
        return 0;
    return strncmp(line, "CHECK", 5) == 0;
}

static inline int compat_result(const char *step, const char *code)
{
    printf("RESULT %s %s\n", step, code);
    fflush(stdout);
    return 0;
}

#endif
