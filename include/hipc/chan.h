/* SPDX-License-Identifier: MIT */
/* hipc — a single-producer single-consumer message channel in shared memory.
 *
 * The channel is a ring of variable-length messages behind a small header.
 * It lives either in a hipc segment (hipc_chan_create / hipc_chan_open) or in
 * any memory the caller shares by other means (hipc_chan_init_mem /
 * hipc_chan_attach_mem). Each side keeps its own position in its handle and
 * only publishes it to the shared memory; the peer's position, the header
 * and every message length are read once, checked and masked before use, so
 * a crashed or hostile peer yields HIPC_E_CORRUPT or HIPC_E_PEER_GONE, never
 * an out-of-bounds access or an endless loop.
 *
 * Waiting: a call with timeout 0 never waits (HIPC_E_AGAIN); otherwise it
 * busy-polls for the handle's spin time, then sleeps on a futex word in the
 * shared memory. A side only makes the wake-up syscall when its peer has
 * announced that it sleeps, so a busy channel makes no syscalls at all.
 *
 * A handle belongs to the process (and, for send/recv, the thread) that
 * attached it: one producer, one consumer. Each end is claimed with the
 * process's pid, start time and pid namespace (so a process that has
 * unshared a time namespace without entering it cannot attach an end:
 * HIPC_E_UNSUPPORTED, as its start time cannot be stated). A peer is judged gone only
 * when hipc can see that it is: an end held from another pid namespace,
 * or by a process /proc hides from us (hidepid), counts as held - such a
 * peer that dies is noticed only when it closed its end or by timeouts.
 * A copy of a handle inherited over fork closes
 * without giving up the parent's claim. A handle is bound to the address
 * it was opened at: a copy made by value (or a handle moved in memory) is
 * HIPC_E_BAD_HANDLE for every call, so it can never act on the original's
 * positions or release its segment. Payload bytes handed out by
 * hipc_chan_peek() live in shared memory and can still be changed by a
 * hostile producer: treat them as untrusted input, like bytes from a pipe.
 *
 * Capacity and speed: a producer's stores wait until the consumer's copy
 * of each line is invalidated. With a ring larger than the two cores' L2
 * caches together, the lines a producer rewrites have left the consumer's
 * cache and need no cross-core invalidation: on the 2-core machines hipc
 * is measured on (1 MiB L2 per core), a 4 MiB ring moved 64-byte messages
 * 3x and 4 KiB messages 2x faster than a 256 KiB one (bench/). Small rings
 * cost less memory and suit latency-bound traffic.
 */
#ifndef HIPC_CHAN_H
#define HIPC_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hipc/config.h"
#include "hipc/shm.h"
#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the channel header layout inside the memory. */
#define HIPC_CHAN_LAYOUT_VERSION 1u

/* The application tag of segments that hold a channel. */
#define HIPC_CHAN_SHM_TAG 0x4843484eu /* "HCHN" */

/* Ring bytes: a power of two within these bounds. Every message costs an
 * 8-byte record header plus padding to a multiple of 8. */
#define HIPC_CHAN_MIN_CAPACITY 64u

/* Bytes of shared header in front of the ring. */
#define HIPC_CHAN_HEADER_SIZE 768u

/* Spin times: the default spins a little longer than a futex round trip
 * costs here; HIPC_CHAN_SPIN_ALWAYS busy-polls and never sleeps. */
#define HIPC_CHAN_SPIN_DEFAULT ((int64_t)20000)
#define HIPC_CHAN_SPIN_ALWAYS INT64_MAX

/* Flags. Unknown bits are HIPC_E_BAD_FLAGS. */
#define HIPC_CHAN_ANONYMOUS                                                    \
    0x01u /* claim no identity, never check the peer:
                                     one process only (tests, fuzzing) */
#define HIPC_CHAN_FLAGS_ALL_ 0x01u

enum hipc_chan_role { HIPC_CHAN_PRODUCER = 1, HIPC_CHAN_CONSUMER = 2 };

/* Zero-initialise, then set what you need. */
typedef struct hipc_chan_config {
    size_t capacity; /* ring bytes (creator only): power of two */
    size_t max_msg;  /* largest message (creator only); 0: capacity - 8 */
    unsigned flags;
    unsigned mode;   /* segment permission bits (create only); 0: 0600 */
    int64_t spin_ns; /* busy-poll before sleeping; 0: the default */
} hipc_chan_config;

typedef struct hipc_chan {
    /* Public, read-only. */
    size_t capacity; /* ring bytes */
    size_t max_msg;  /* largest message this channel carries */
    int role;        /* HIPC_CHAN_PRODUCER or HIPC_CHAN_CONSUMER */
    int sys_errno;   /* errno of the last failed syscall on this handle */
    int64_t spin_ns;
    hipc_shm shm; /* the segment, for create/open; unused for _mem */
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned state_;
    unsigned flags_;
    uint32_t mask_;
    uint32_t pos_;     /* own position (tail or head), authoritative */
    uint32_t peer_;    /* the peer's last validated position */
    uint32_t pending_; /* bytes of the reserved or peeked record */
    uint32_t stream_;  /* consumer: tail loads in a row that found more */
    pid_t pid_;
    uint64_t start_;
    uint64_t pidns_; /* our pid namespace's inode; 0: no namespaces */
    void *hdr_;
    unsigned char *ring_;
    const struct hipc_chan *self_; /* where the handle was opened */
    /* This end's side, resolved once at attach so that no call has to ask
     * which end it is: its functions, and its own and the peer's slot and
     * wait line in the header. */
    const void *side_;
    void *own_slot_, *peer_slot_;
    void *own_wait_, *peer_wait_;
} hipc_chan;

/* Bytes of memory a channel with `capacity` ring bytes needs. HIPC_OK, or
 * HIPC_E_BAD_SIZE when the capacity is not a power of two in bounds. */
int hipc_chan_mem_size(size_t capacity, size_t *size);

/* Formats a channel into `mem` (8-byte aligned, `size` bytes). Nobody may
 * be attached to that memory yet. */
int hipc_chan_init_mem(void *mem, size_t size, const hipc_chan_config *cfg);

/* Attaches one end to a formatted channel. Fails with HIPC_E_EXISTS while
 * a live process holds that end; the end of a process that died or closed
 * can be taken over, resuming at the position it published. `cfg` may be
 * NULL; only flags and spin_ns are used. */
int hipc_chan_attach_mem(hipc_chan *ch, void *mem, size_t size, int role,
                         const hipc_chan_config *cfg);

/* Creates a hipc segment under `key` (or HIPC_SHM_KEY_PRIVATE) holding a
 * new channel, and attaches to it as `role`. */
int hipc_chan_create(hipc_chan *ch, hipc_key key, int role,
                     const hipc_chan_config *cfg);

/* Opens an existing channel segment by key or id and attaches as `role`.
 * A segment whose tag is not HIPC_CHAN_SHM_TAG is HIPC_E_FOREIGN. One whose
 * creator is still formatting it is HIPC_E_AGAIN (try again); one whose
 * creator died before formatting it (nobody else attached, or the
 * creator's process gone) is HIPC_E_PEER_GONE: remove it, or let
 * hipc_inspect_gc()/`hipcctl gc` collect it. */
int hipc_chan_open(hipc_chan *ch, hipc_key key, int role,
                   const hipc_chan_config *cfg);
int hipc_chan_open_id(hipc_chan *ch, int id, int role,
                      const hipc_chan_config *cfg);

/* Marks the channel's segment for removal (it goes with the last detach). */
int hipc_chan_remove(hipc_chan *ch);

/* Leaves the channel: the peer sees HIPC_E_PEER_GONE once it has drained
 * what was sent. Detaches the segment for create/open. */
int hipc_chan_close(hipc_chan *ch);

/* Sets the busy-poll time before sleeping (>= 0, or HIPC_CHAN_SPIN_ALWAYS). */
int hipc_chan_set_spin(hipc_chan *ch, int64_t spin_ns);

/* Copies `len` bytes in as one message. HIPC_OK; HIPC_E_AGAIN (full, timeout
 * 0), HIPC_E_TIMEDOUT, HIPC_E_MSG_TOO_BIG, HIPC_E_PEER_GONE (full and the
 * consumer is gone), HIPC_E_CORRUPT. */
int hipc_chan_send(hipc_chan *ch, const void *msg, size_t len,
                   int64_t timeout_ns);

/* Copies the next message out and returns its length. A buffer too small
 * for it is HIPC_E_BUF_TOO_SMALL and leaves the message in place. */
int hipc_chan_recv(hipc_chan *ch, void *buf, size_t cap, int64_t timeout_ns);

/* Zero-copy send: `*out` gets room for `len` contiguous bytes inside the
 * ring; hipc_chan_commit() publishes `len` (<= reserved) of them. */
int hipc_chan_reserve(hipc_chan *ch, size_t len, void **out,
                      int64_t timeout_ns);
int hipc_chan_commit(hipc_chan *ch, size_t len);

/* Zero-copy receive: `*out` points at the next message inside the ring and
 * its length is returned; hipc_chan_release() frees it. */
int hipc_chan_peek(hipc_chan *ch, const void **out, int64_t timeout_ns);
int hipc_chan_release(hipc_chan *ch);

#ifdef __cplusplus
}
#endif
#endif
