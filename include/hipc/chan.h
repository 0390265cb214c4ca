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
 * Waiting: a call with timeout 0 never waits (HIPC_E_AGAIN, or
 * HIPC_E_PEER_GONE once the peer is known gone: see
 * HIPC_CHAN_PEER_CHECK_NS); otherwise it busy-polls for the handle's spin
 * time, then sleeps on a futex word in the shared memory. A side only
 * makes the wake-up syscall when its peer has announced that it sleeps, so
 * a busy channel makes no syscalls at all.
 *
 * A handle belongs to the process (and, for send/recv, the thread) that
 * attached it: one producer, one consumer. Each end is claimed with the
 * process's pid, start time and pid namespace (so a process that has
 * unshared a time namespace without entering it cannot attach an end:
 * HIPC_E_UNSUPPORTED, as its start time cannot be stated). A peer is
 * judged gone only when hipc can see that it is: an end held from another
 * pid namespace, or by a process /proc hides from us (hidepid), counts as
 * held - such a peer that dies is noticed only when it closed its end or
 * by timeouts. A copy of a handle inherited over fork closes without
 * giving up the parent's claim. A handle is bound to the address it was
 * opened at: a copy made by value (or a handle moved in memory) is
 * HIPC_E_BAD_HANDLE for every call, so it can never act on the original's
 * positions or release its segment. Payload bytes handed out by
 * hipc_chan_peek() live in shared memory and can still be changed by a
 * hostile producer: treat them as untrusted input, like bytes from a pipe.
 *
 * Capacity and speed: a producer's stores wait until the consumer's copy
 * of each line is invalidated. With a ring larger than the L2 caches of
 * the two cores the ends run on together, the lines a producer rewrites
 * have left the consumer's cache and need no cross-core invalidation, so
 * for throughput prefer a ring several times that size (measure on your
 * machine: bench/). Small rings cost less memory and suit
 * latency-bound traffic.
 *
 * Pages: hipc_chan_create makes every page of the segment present (so a
 * shortage of memory is HIPC_E_NOMEM, not a SIGBUS later), and
 * hipc_chan_open / hipc_chan_open_id map them into the opener the same
 * way, so neither end takes page faults in its first lap over the ring
 * (HIPC_CHAN_LAZY opts out for the opener). hipc_chan_attach_mem leaves the
 * caller's memory as the caller mapped it.
 *
 * Errors every handle call shares: NULL handle HIPC_E_NULL; a handle never
 * attached, garbage, or a copy (moved or copied by value) HIPC_E_BAD_HANDLE;
 * a closed handle HIPC_E_STALE_HANDLE. They are not repeated below.
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

/* Ring bytes: a power of two from HIPC_CHAN_MIN_CAPACITY to
 * HIPC_CHAN_MAX_CAPACITY (hipc/config.h). Every message costs an 8-byte
 * record header plus padding to a multiple of 8. A config whose capacity
 * is 0 gets HIPC_CHAN_CAPACITY_DEFAULT (64 KiB). */
#define HIPC_CHAN_MIN_CAPACITY 64u
#define HIPC_CHAN_CAPACITY_DEFAULT 65536u

/* Bytes of shared header in front of the ring. */
#define HIPC_CHAN_HEADER_SIZE 768u

/* Spin times: the default spins a little longer than a futex round trip
 * costs; HIPC_CHAN_SPIN_ALWAYS busy-polls and never sleeps. */
#define HIPC_CHAN_SPIN_DEFAULT ((int64_t)20000)
#define HIPC_CHAN_SPIN_ALWAYS INT64_MAX

/* How a call that does not wait (timeout 0) and finds nothing to do
 * learns that its peer was killed without closing: it reads the clock at
 * every HIPC_CHAN_PEER_CHECK_TRIES-th such try (the first one included),
 * and asks /proc whether the peer still runs when HIPC_CHAN_PEER_CHECK_NS
 * of CLOCK_MONOTONIC time have passed since it last found it alive. So
 * the first failed try after a quiet spell knows at once, and a caller
 * trying in a loop gets HIPC_E_PEER_GONE at most HIPC_CHAN_PEER_CHECK_NS
 * plus HIPC_CHAN_PEER_CHECK_TRIES tries after the death; a peer found
 * gone stays gone for every later try. A peer that closed is seen at the
 * first try. A try that moves a message reads neither clock nor /proc. */
#define HIPC_CHAN_PEER_CHECK_NS ((int64_t)10000000) /* 10 ms */
#define HIPC_CHAN_PEER_CHECK_TRIES 8u

/* Flags. Unknown bits are HIPC_E_BAD_FLAGS. */
/* Claim no identity and never check the peer: one process only (tests,
 * fuzzing). hipc_chan_get_peer() then says HIPC_E_BAD_STATE. */
#define HIPC_CHAN_ANONYMOUS 0x01u
/* hipc_chan_open / hipc_chan_open_id: map the ring's pages as they are
 * first touched instead of at open (less work at open, page faults in the
 * first lap). No effect on create (always present) or attach_mem. */
#define HIPC_CHAN_LAZY 0x02u
#define HIPC_CHAN_FLAGS_ALL_ 0x03u

typedef enum hipc_chan_role {
    HIPC_CHAN_PRODUCER = 1,
    HIPC_CHAN_CONSUMER = 2
} hipc_chan_role;

/* Zero-initialise, then set what you need: a zeroed config (or NULL) is
 * every default. */
typedef struct hipc_chan_config {
    size_t capacity; /* ring bytes (creator only): a power of two;
                        0: HIPC_CHAN_CAPACITY_DEFAULT */
    size_t max_msg;  /* largest message (creator only); 0: capacity - 8 */
    unsigned flags;  /* HIPC_CHAN_ANONYMOUS, HIPC_CHAN_LAZY */
    unsigned mode;   /* segment permission bits (create only); 0: 0600 */
    int64_t spin_ns; /* busy-poll before sleeping; 0: the default */
} hipc_chan_config;

typedef struct hipc_chan {
    /* Public, read-only. */
    size_t capacity;     /* ring bytes */
    size_t max_msg;      /* largest message this channel carries */
    hipc_chan_role role; /* HIPC_CHAN_PRODUCER or HIPC_CHAN_CONSUMER */
    int sys_errno;       /* errno of the last failed syscall on this handle */
    int64_t spin_ns;
    hipc_shm shm; /* the segment, for create/open; unused for _mem */
    /* Set when an attach, create or open fails with HIPC_E_EXISTS because
     * a live process holds the end: that process's pid, or 0 when it is
     * not known here (held from another pid namespace, or the segment's
     * key taken). 0 otherwise. */
    pid_t holder_pid;
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
    uint64_t pidns_;  /* our pid namespace's inode; 0: no namespaces */
    int64_t look_at_; /* a failed try asks /proc again from then on */
    uint32_t tries_;  /* failed tries since the clock was last read */
    void *hdr_;
    unsigned char *ring_;
    const struct hipc_chan *self_; /* where the handle was opened */
    /* This end's side, resolved once at attach so that no call has to ask
     * which end it is: its functions, and its own and the peer's slot and
     * wait line in the header. */
    const void *side_;
    void *own_slot_, *peer_slot_;
    void *own_wait_, *peer_wait_;
    /* The doorbell (hipc_chan_get_fd): its epoll set, socket and timer;
     * the socket this end rings its peer's bell from; where our position
     * was at the last arming; the bell's name (our own copy: the one in
     * the segment is the peer's to read, and to scribble on); when the
     * bell's timer runs out; when the spin after the last progress ends.
     * Valid as flags_ says. */
    int bell_[3];
    int ringfd_;
    uint32_t bell_pos_;
    uint32_t bell_name_[3];
    int64_t bell_due_;
    int64_t bell_keep_until_;
} hipc_chan;

/* What hipc_chan_get_peer() found about the other end. */
typedef enum hipc_chan_peer_state {
    HIPC_CHAN_PEER_NONE = 0,   /* nobody has attached that end yet */
    HIPC_CHAN_PEER_ALIVE = 1,  /* attached, and its process runs */
    HIPC_CHAN_PEER_HIDDEN = 2, /* attached by a process hipc cannot identify
                                  (another pid namespace, /proc mounted
                                  hidepid, an unknown time namespace
                                  offset): counted as there */
    HIPC_CHAN_PEER_GONE = 3    /* it closed its end, or its process died */
} hipc_chan_peer_state;

typedef struct hipc_chan_peer_info {
    hipc_chan_peer_state state;
    /* ALIVE, and HIDDEN behind hidepid: its pid. GONE: the pid it had
     * (which may name another process by now). 0 for NONE, and for a
     * holder in another pid namespace (its pid means nothing here). */
    pid_t pid;
} hipc_chan_peer_info;

/* Bytes of memory a channel with `capacity` ring bytes needs (0: the
 * default capacity), in *size. HIPC_OK; HIPC_E_NULL (size);
 * HIPC_E_BAD_CAPACITY when the capacity is not a power of two from
 * HIPC_CHAN_MIN_CAPACITY to HIPC_CHAN_MAX_CAPACITY. */
int hipc_chan_mem_size(size_t capacity, size_t *size);

/* Formats a channel into `mem` (8-byte aligned, `size` bytes), zeroing the
 * header and the ring. Nobody may be attached to that memory yet. `cfg`
 * may be NULL (every default); capacity, max_msg and flags are checked,
 * mode is not used. Returns HIPC_OK, or, before writing anything:
 * HIPC_E_NULL (mem), HIPC_E_BAD_FLAGS (unknown flag bits),
 * HIPC_E_BAD_TIMEOUT (negative spin_ns), HIPC_E_BAD_CAPACITY (see
 * hipc_chan_mem_size), HIPC_E_BAD_SIZE (max_msg above capacity - 8, or
 * `size` smaller than hipc_chan_mem_size's answer), HIPC_E_BAD_ADDR
 * (`mem` not 8-byte aligned). */
int hipc_chan_init_mem(void *mem, size_t size, const hipc_chan_config *cfg);

/* Attaches one end (`role`) to a channel formatted in `mem` (`size`
 * bytes, which the caller vouches for). `cfg` may be NULL; only flags and
 * spin_ns are used. The end is claimed with this process's pid, start
 * time and pid namespace; the end of a process that died or closed can be
 * taken over, resuming at the position it published.
 * Returns HIPC_OK, or: HIPC_E_NULL (ch, mem); HIPC_E_BAD_FLAGS;
 * HIPC_E_BAD_TIMEOUT (negative spin_ns); HIPC_E_BAD_ROLE; HIPC_E_BAD_ADDR
 * (`mem` not 8-byte aligned); HIPC_E_BAD_SIZE (`size` below
 * HIPC_CHAN_HEADER_SIZE); what the header says: HIPC_E_AGAIN (not
 * formatted yet: zero magic), HIPC_E_FOREIGN (another magic),
 * HIPC_E_LAYOUT (other endianness or header size), HIPC_E_VERSION,
 * HIPC_E_CORRUPT (capacity or max_msg impossible, or larger than `size`;
 * published positions impossible); HIPC_E_EXISTS while a live process
 * holds that end (ch->holder_pid names it where known); failures to read
 * /proc (our own identity or the holder's): HIPC_E_NOT_FOUND (no /proc),
 * HIPC_E_PERM (our /proc entry hidden, or a holder caught mid-claim that
 * /proc hides), HIPC_E_UNSUPPORTED (this process unshared a time
 * namespace without entering it), HIPC_E_LIMIT / HIPC_E_NOMEM (no
 * descriptor or memory), HIPC_E_CORRUPT (a /proc file hipc cannot parse),
 * HIPC_E_SYS (anything else; sys_errno says what). On failure the handle
 * is not attached (HIPC_E_BAD_HANDLE for every call) and the end is left
 * as it was found. */
int hipc_chan_attach_mem(hipc_chan *ch, void *mem, size_t size,
                         hipc_chan_role role, const hipc_chan_config *cfg);

/* Creates a hipc segment under `key` (or HIPC_SHM_KEY_PRIVATE) holding a
 * new channel, with every page present, and attaches to it as `role`.
 * `cfg` may be NULL: every default (64 KiB ring, mode 0600). A mode with
 * group or world write is taken as meant (HIPC_SHM_SHARED_WRITE).
 * Returns HIPC_OK, or: HIPC_E_NULL (ch); HIPC_E_BAD_FLAGS;
 * HIPC_E_BAD_TIMEOUT; HIPC_E_BAD_CAPACITY; HIPC_E_BAD_SIZE (max_msg);
 * HIPC_E_BAD_ROLE; then hipc_shm_create's codes (HIPC_E_BAD_MODE,
 * HIPC_E_EXISTS for a taken key with holder_pid 0, HIPC_E_LIMIT,
 * HIPC_E_NOMEM for memory short at the prefault, HIPC_E_PERM,
 * HIPC_E_REMOVED, ...; sys_errno kept) and hipc_chan_attach_mem's /proc
 * codes. On failure no segment is left behind and the handle is not
 * attached. */
int hipc_chan_create(hipc_chan *ch, hipc_key key, hipc_chan_role role,
                     const hipc_chan_config *cfg);

/* Opens an existing channel segment by key (hipc_chan_open) or id
 * (hipc_chan_open_id) and attaches as `role`. `cfg` may be NULL; only
 * flags and spin_ns are used. Unless cfg->flags has HIPC_CHAN_LAZY, the
 * segment's pages are made present in this process once it is known to
 * hold a channel (see "Pages" above).
 * Returns HIPC_OK, or: HIPC_E_NULL (ch); HIPC_E_BAD_ROLE;
 * HIPC_E_BAD_FLAGS; HIPC_E_BAD_TIMEOUT; hipc_shm_open's codes
 * (HIPC_E_BAD_KEY for HIPC_SHM_KEY_PRIVATE, HIPC_E_BAD_ID, HIPC_E_NOT_FOUND,
 * HIPC_E_PERM, HIPC_E_REMOVED, HIPC_E_SIZE_MISMATCH for a segment too
 * small for a channel header, HIPC_E_FOREIGN / HIPC_E_VERSION /
 * HIPC_E_LAYOUT / HIPC_E_CORRUPT for a bad hipc header, HIPC_E_NOMEM,
 * ...); HIPC_E_FOREIGN for a segment whose tag is not HIPC_CHAN_SHM_TAG;
 * HIPC_E_AGAIN for one whose creator is still formatting it (try again);
 * HIPC_E_PEER_GONE for one whose creator died before formatting it
 * (nobody else attached, or the creator's process gone: remove it, or let
 * hipc_inspect_gc()/`hipcctl gc` collect it); then hipc_chan_attach_mem's
 * codes (HIPC_E_EXISTS with holder_pid, ...). On failure nothing stays
 * attached and the handle is not attached. */
int hipc_chan_open(hipc_chan *ch, hipc_key key, hipc_chan_role role,
                   const hipc_chan_config *cfg);
int hipc_chan_open_id(hipc_chan *ch, int id, hipc_chan_role role,
                      const hipc_chan_config *cfg);

/* Marks the channel's segment for removal (it goes with the last detach).
 * HIPC_OK; HIPC_E_BAD_STATE for a channel in caller memory (attach_mem);
 * otherwise hipc_shm_remove's codes (HIPC_E_REMOVED if already marked or
 * gone, HIPC_E_PERM, ...; sys_errno kept). */
int hipc_chan_remove(hipc_chan *ch);

/* Leaves the channel: the peer sees HIPC_E_PEER_GONE once it has drained
 * what was sent, and a peer asleep in a wait is woken. Detaches the
 * segment for create/open. The handle is closed even when the detach
 * fails. HIPC_OK, or hipc_shm_close's code (HIPC_E_SYS, sys_errno
 * EINVAL). A copy inherited over fork closes without signing the
 * parent's end out. */
int hipc_chan_close(hipc_chan *ch);

/* Sets the busy-poll time before sleeping (>= 0, or HIPC_CHAN_SPIN_ALWAYS).
 * HIPC_OK, or HIPC_E_BAD_TIMEOUT for a negative time. */
int hipc_chan_set_spin(hipc_chan *ch, int64_t spin_ns);

/* Whether the other end is attached and its process alive (reads its slot
 * and, when it is held, /proc: a few syscalls). `out` may be NULL.
 * Returns HIPC_OK: attached and alive (out->pid its pid);
 * HIPC_E_PEER_GONE: it closed its end or its process died;
 * HIPC_E_NOT_FOUND: nobody has attached that end yet;
 * HIPC_E_PERM: held by a process hipc cannot identify (another pid
 * namespace, hidepid, an unknown time-namespace offset): sends and
 * receives count it as there. HIPC_E_BAD_STATE for a HIPC_CHAN_ANONYMOUS
 * handle (no identities are recorded); a failure to read /proc its code
 * (HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_CORRUPT, HIPC_E_SYS; sys_errno
 * kept). *out is written for the four answers above only. */
int hipc_chan_get_peer(hipc_chan *ch, hipc_chan_peer_info *out);

/* Timeouts (every call below): 0 tries once and never waits,
 * HIPC_FOREVER waits until the call can complete or the peer is gone,
 * other positive values are nanoseconds, other negatives
 * HIPC_E_BAD_TIMEOUT. Waiting calls ask /proc after their peer about
 * every 50 ms; tries as HIPC_CHAN_PEER_CHECK_NS says. The codes every
 * waiting call shares:
 *   HIPC_E_AGAIN      timeout 0 and nothing to do yet
 *   HIPC_E_TIMEDOUT   the timeout passed, the peer is there
 *   HIPC_E_PEER_GONE  the peer closed or died (a consumer: once it has
 *                     drained what was sent; a producer: when the ring is
 *                     too full for the message)
 *   HIPC_E_CORRUPT    the peer published impossible positions or records
 *   HIPC_E_SYS        a futex wait failed unexpectedly, or (timeout 0,
 *                     an end with a descriptor: hipc_chan_get_fd) its
 *                     timer could not be armed (sys_errno)
 *   /proc failures    HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_CORRUPT,
 *                     HIPC_E_SYS (sys_errno kept) */

/* Copies `len` bytes in as one message. HIPC_OK; HIPC_E_NULL (msg NULL
 * with len > 0); HIPC_E_WRONG_END (a consumer); HIPC_E_BAD_STATE (a
 * reservation is open); HIPC_E_MSG_TOO_BIG (len > max_msg); the waiting
 * codes above. */
int hipc_chan_send(hipc_chan *ch, const void *msg, size_t len,
                   int64_t timeout_ns);

/* Copies the next message into `buf` (`cap` bytes) and returns its length
 * (>= 0). HIPC_E_NULL (buf NULL with cap > 0); HIPC_E_WRONG_END (a
 * producer); HIPC_E_BAD_STATE (a peeked message not released);
 * HIPC_E_BUF_TOO_SMALL (the message is longer than `cap`: it stays for a
 * bigger buffer); the waiting codes above. */
int hipc_chan_recv(hipc_chan *ch, void *buf, size_t cap, int64_t timeout_ns);

/* Zero-copy send: `*out` gets room for `len` contiguous bytes inside the
 * ring. HIPC_OK; HIPC_E_NULL (out); HIPC_E_WRONG_END; HIPC_E_BAD_STATE
 * (already reserved); HIPC_E_MSG_TOO_BIG; the waiting codes above.
 * hipc_chan_commit() publishes `len` (<= reserved) of them: HIPC_OK,
 * HIPC_E_WRONG_END, HIPC_E_BAD_STATE (nothing reserved), HIPC_E_BAD_SIZE
 * (more than reserved). */
int hipc_chan_reserve(hipc_chan *ch, size_t len, void **out,
                      int64_t timeout_ns);
int hipc_chan_commit(hipc_chan *ch, size_t len);

/* Zero-copy receive: `*out` points at the next message inside the ring and
 * its length (>= 0) is returned; HIPC_E_NULL (out), HIPC_E_WRONG_END,
 * HIPC_E_BAD_STATE (already peeked), the waiting codes above. The bytes
 * stay writable by the producer's process: treat them as untrusted.
 * hipc_chan_release() frees the message: HIPC_OK, HIPC_E_WRONG_END,
 * HIPC_E_BAD_STATE (nothing peeked). */
int hipc_chan_peek(hipc_chan *ch, const void **out, int64_t timeout_ns);
int hipc_chan_release(hipc_chan *ch);

/* Waiting in an event loop (poll, epoll, libuv, sd-event ...).
 *
 * hipc_chan_get_fd() gives this end a descriptor, in *fd, that the
 * caller watches for readability (POLLIN / EPOLLIN / UV_READABLE) with
 * its other descriptors. The protocol is that of a non-blocking socket:
 *   - the descriptor is readable when hipc_chan_get_fd() returns (the
 *     handle has rung its own bell), and stays readable until the next
 *     call that arms it;
 *   - when it is readable, make the call the end waits for (send,
 *     reserve, recv or peek) with timeout 0, until it answers
 *     HIPC_E_AGAIN (or a final code such as HIPC_E_PEER_GONE);
 *   - such a try never spins or waits, on an end with a descriptor too;
 *   - for the handle's spin time after the end's last progress (a
 *     message moved), a HIPC_E_AGAIN of such a call keeps the
 *     descriptor readable instead of arming it (the handle rings its own
 *     bell: one datagram queued at most), and announces no wait: the
 *     loop comes straight back and tries again, so the loop's own wait
 *     is the spin a blocking call makes inside hipc, and a busy peer
 *     never rings. A loop with nothing else to do burns CPU for the spin
 *     time after the last message; a spin below a microsecond (as with
 *     hipc_chan_set_spin(ch, 1)) arms at once, which suits a loop that
 *     mostly waits for replies rather than a stream;
 *     HIPC_CHAN_SPIN_ALWAYS never arms;
 *   - after that, a HIPC_E_AGAIN arms the descriptor: it becomes
 *     readable once that call could make progress - a record to read,
 *     room for the message that did not fit - or once the peer has
 *     closed its end, or died (seen within about 50 ms plus
 *     HIPC_CHAN_PEER_CHECK_NS; a peer that hipc cannot see, as
 *     hipc_chan_get_peer() calls HIDDEN, only when it closes).
 *     After HIPC_E_PEER_GONE it is readable when that call returns, and
 *     stays readable until the next call that arms it (which, the peer
 *     still gone, leaves it readable again): take it out of the loop.
 * Should the bell fail to ring itself (the kernel out of memory for the
 * datagram), its timer is set to run out at once instead: readable a
 * moment later, with the timer's interrupt.
 * Readiness can be spurious (a late ring, a timer beat, anybody in the
 * network namespace sending to the bell): the call then answers
 * HIPC_E_AGAIN again and arms again. A wake-up is never lost; one that
 * races with the arming comes up to 5 ms late (50 ms after a spell
 * without progress), as with the futex wait. A busy channel makes no
 * syscall for the bell: the peer rings only when this end has announced
 * in the shared memory that it waits on it, once per arming. Arming is
 * not free (a read of the bell after a ring, now and then its
 * timer and /proc): an end with a descriptor should try only when it is
 * readable. A call with
 * a timeout other than 0 waits on the futex as always, and disarms the
 * descriptor until the next HIPC_E_AGAIN.
 *
 * The descriptor belongs to the handle: do not close it or read from it;
 * take it out of your loop before hipc_chan_close(), which closes it.
 * It is close-on-exec. The doorbell is a datagram socket with an
 * abstract unix name (and a timer, behind an epoll descriptor): both
 * ends must share a network namespace, or the rings get lost and the
 * waiter hears of its peer at the 50 ms timer beats only. Nothing of it
 * is left in any file system, nothing survives the process, and there
 * is nothing for hipcctl gc to remove (docs/doorbell.md).
 *
 * Returns HIPC_OK, the same descriptor on every call for the handle's
 * life; HIPC_E_NULL (fd); HIPC_E_LIMIT (no descriptor left:
 * EMFILE/ENFILE, or ENOSPC for the epoll set's user limit);
 * HIPC_E_NOMEM; HIPC_E_EXISTS (the bell's name, made of our pid and
 * the clock's nanoseconds, is taken: a process of the same pid in
 * another pid namespace made its bell in the same nanosecond; try
 * again);
 * HIPC_E_PERM (refused by a security module); HIPC_E_SYS (anything
 * else; sys_errno says what). On failure nothing is left open. */
int hipc_chan_get_fd(hipc_chan *ch, int *fd);

#ifdef __cplusplus
}
#endif
#endif
