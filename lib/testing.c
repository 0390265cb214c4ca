/* SPDX-License-Identifier: MIT */
/* hipc — the public face of the fault plan (include/hipc/testing.h) and
 * the hostile-peer hooks. Compiled only with HIPC_FAULT_INJECTION, like
 * lib/fault.c, which holds the plan itself.
 *
 * The hooks write where another end writes, so they know the shared
 * layouts (lib/chan.c, lib/state.c, lib/bcast.c describe them); those are
 * versioned formats that other processes and older hipc versions read, so
 * they do not move, and tests/test_testing.c checks every offset below by
 * building what a real peer writes from hook input. */
#include "fault.h"

#ifdef HIPC_FAULT_INJECTION

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "hipc/error.h"
#include "hipc/testing.h"
#include "sim.h"
#include "sys.h"

/* Every seam kind has its public name with the same value, and the public
 * list has no more kinds than the seam: a kind added to HIPC_SYS_CALLS
 * stops the build here until include/hipc/testing.h names it. */
#define HIPC_TESTING_SAME_(name)                                               \
    _Static_assert((int)HIPC_CALL_##name == (int)HIPC_SYS_##name,              \
                   "hipc_testing_call and the seam disagree on " #name);
HIPC_SYS_CALLS(HIPC_TESTING_SAME_)
#undef HIPC_TESTING_SAME_
_Static_assert((int)HIPC_CALL_KINDS == (int)HIPC_SYS_COUNT_,
               "include/hipc/testing.h must list every seam kind "
               "(HIPC_SYS_CALLS in lib/sys.h) and count them in "
               "HIPC_CALL_KINDS");
_Static_assert((int)HIPC_CALL_KINDS < (int)HIPC_CALL_ANY,
               "HIPC_CALL_ANY is not a kind's value");

static int bad_call(hipc_testing_call call)
{
    return (unsigned)call >= (unsigned)HIPC_CALL_KINDS && call != HIPC_CALL_ANY;
}

/* The plan's name for a kind: HIPC_SYS_COUNT_ is its "any call". */
static enum hipc__sys_call to_sys(hipc_testing_call call)
{
    return call == HIPC_CALL_ANY ? HIPC_SYS_COUNT_ : (enum hipc__sys_call)call;
}

static int bad_errno(int err)
{
    return err < 1 || err > HIPC_TESTING_MAX_ERRNO;
}

void hipc_testing_reset(void)
{
    hipc_fault_reset();
}

int hipc_testing_fail_nth(hipc_testing_call call, unsigned long nth, int err)
{
    if (bad_call(call) || bad_errno(err))
        return HIPC_E_BAD_FLAGS;
    if (nth == 0)
        return HIPC_E_BAD_SIZE;
    hipc_fault_fail_nth(to_sys(call), nth, err);
    return HIPC_OK;
}

int hipc_testing_fail_every(hipc_testing_call call, int err)
{
    if (bad_call(call) || bad_errno(err))
        return HIPC_E_BAD_FLAGS;
    hipc_fault_fail_every(to_sys(call), err);
    return HIPC_OK;
}

int hipc_testing_get_fired(void)
{
    return hipc_fault_fired();
}

int hipc_testing_get_calls(hipc_testing_call call, unsigned long *count)
{
    if (count == NULL)
        return HIPC_E_NULL;
    if (bad_call(call))
        return HIPC_E_BAD_FLAGS;
    *count = hipc_fault_calls(to_sys(call));
    return HIPC_OK;
}

int hipc_testing_set_modes(const hipc_testing_modes *modes)
{
    static const hipc_testing_modes none = {0, 0, 0, 0};
    const hipc_testing_modes *m = modes != NULL ? modes : &none;
    if (m->realtime_s > HIPC_TESTING_MAX_SHIFT ||
        m->realtime_s < -HIPC_TESTING_MAX_SHIFT)
        return HIPC_E_OVERFLOW;
    if (m->short_max > HIPC_MAX_MSG_BYTES)
        return HIPC_E_BAD_SIZE;
    hipc_fault_eintr_first(m->eintr_first);
    hipc_fault_eagain_first(m->eagain_first);
    hipc_fault_short_io(m->short_max);
    hipc_fault_step_realtime(m->realtime_s);
    return HIPC_OK;
}

int hipc_testing_get_modes(hipc_testing_modes *out)
{
    if (out == NULL)
        return HIPC_E_NULL;
    hipc_fault_get_modes(&out->eintr_first, &out->eagain_first,
                         &out->short_max);
    out->realtime_s = hipc_fault_realtime_shift();
    return HIPC_OK;
}

/* The fuzzer's input, consumed front to back. */
struct input {
    const unsigned char *at;
    size_t left;
};

/* Copies the next `n` input bytes to `dst`, as far as the input reaches. */
static void take(void *dst, size_t n, struct input *in)
{
    size_t k = n < in->left ? n : in->left;
    if (k != 0)
        memcpy(dst, in->at, k);
    in->at += k;
    in->left -= k;
}

/* The handles' private marks (lib/chan.c, lib/state.c, lib/bcast.c). */
#define CHAN_HANDLE 0x4348414eu
#define STATE_WRITER 0x57535453u
#define BCAST_HANDLE 0x42435354u

/* An open handle of the kind `want` names, made here (not a copy), and
 * input that is there. `peer` is not NULL. */
static int check(const void *peer, const void *self, uint32_t magic,
                 uint32_t want, const void *mem, const void *bytes, size_t len)
{
    if (magic != want || self != peer)
        return HIPC_E_BAD_HANDLE;
    if (mem == NULL)
        return HIPC_E_STALE_HANDLE;
    if (bytes == NULL && len != 0)
        return HIPC_E_NULL;
    /* The count of bytes used must fit the int returned. */
    return len > INT_MAX ? HIPC_E_BAD_SIZE : HIPC_OK;
}

/* check() for any of the three handle types, NULL included. */
#define CHECK_PEER(peer, want)                                                 \
    ((peer) == NULL ? HIPC_E_NULL                                              \
                    : check((peer), (peer)->self_, (peer)->magic_, (want),     \
                            (peer)->hdr_, bytes, len))

/* lib/chan.c: 128-byte lines; tail in line 2, head in line 3, each end's
 * "I sleep" word first in its wait line (consumer 4, producer 5). */
#define CHAN_TAIL 256u
#define CHAN_HEAD 384u
#define CHAN_CONS_WAIT 512u
#define CHAN_PROD_WAIT 640u

int hipc_testing_chan_peer(hipc_chan *peer, const void *bytes, size_t len)
{
    int rc = CHECK_PEER(peer, CHAN_HANDLE);
    if (rc != HIPC_OK)
        return rc;
    struct input in = {bytes, len};
    unsigned char *h = peer->hdr_;
    int prod = peer->role == HIPC_CHAN_PRODUCER;
    take(h + (prod ? CHAN_TAIL : CHAN_HEAD), 4, &in);
    take(h + (prod ? CHAN_PROD_WAIT : CHAN_CONS_WAIT), 4, &in);
    if (prod)
        take(peer->ring_, peer->capacity, &in);
    return (int)(len - in.left);
}

/* lib/state.c: 64-byte lines; the current generation opens line 1, the
 * two slots of `stride` bytes start at line 2. */
#define STATE_CUR 64u
#define STATE_SLOTS 128u

int hipc_testing_state_peer(hipc_state_writer *peer, const void *bytes,
                            size_t len)
{
    int rc = CHECK_PEER(peer, STATE_WRITER);
    if (rc != HIPC_OK)
        return rc;
    struct input in = {bytes, len};
    unsigned char *h = peer->hdr_;
    take(h + STATE_CUR, 4, &in);
    take(h + STATE_SLOTS, 2 * peer->stride_, &in);
    return (int)(len - in.left);
}

/* lib/bcast.c: 128-byte lines; head opens line 2, tail and the next
 * sequence number line 3; the ring follows the header. */
#define BCAST_HEAD 256u
#define BCAST_TAIL 384u
#define BCAST_NEXT_SEQ 392u

int hipc_testing_bcast_peer(hipc_bcast *peer, const void *bytes, size_t len)
{
    int rc = CHECK_PEER(peer, BCAST_HANDLE);
    if (rc != HIPC_OK)
        return rc;
    if (peer->role != HIPC_BCAST_PRODUCER)
        return HIPC_E_WRONG_END;
    struct input in = {bytes, len};
    unsigned char *h = peer->hdr_;
    take(h + BCAST_HEAD, 4, &in);
    take(h + BCAST_TAIL, 8, &in);
    take(h + BCAST_NEXT_SEQ, 8, &in);
    take(peer->ring_, peer->capacity, &in);
    return (int)(len - in.left);
}

/* ---- the simulated kernel (lib/sim.c) ------------------------------------ */

_Static_assert(HIPC_TESTING_SIM_SEGMENTS == HIPC__SIM_SEGS,
               "include/hipc/testing.h and lib/sim.h disagree on the "
               "segment table");

int hipc_testing_sim_begin(const hipc_testing_sim_limits *limits)
{
    struct hipc__sim_limits l = {0, 0, 0};
    if (limits != NULL) {
        l.shmmax = limits->shmmax;
        l.shmall = limits->shmall;
        l.shmmni = limits->shmmni;
    }
    int r = hipc__sim_begin(&l);
    if (r == -EBUSY)
        return HIPC_E_BAD_STATE;
    return r == 0 ? HIPC_OK : HIPC_E_TOO_BIG;
}

int hipc_testing_sim_end(void)
{
    return hipc__sim_end() == 0 ? HIPC_OK : HIPC_E_BAD_STATE;
}

int hipc_testing_get_sim(hipc_testing_sim_usage *out)
{
    if (out == NULL)
        return HIPC_E_NULL;
    out->running = hipc__sim_active();
    hipc__sim_usage(&out->segments, &out->attachments, &out->descriptors,
                    &out->pages);
    return HIPC_OK;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int hipc_testing_unused_;
#endif
