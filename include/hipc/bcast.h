/* SPDX-License-Identifier: MIT */
/* hipc — a broadcast ring: one producer, any number of consumers, each at
 * its own pace, none of which can hurt the producer.
 *
 * The ring lives in a hipc segment tagged HIPC_BCAST_SHM_TAG. The producer
 * attaches it read-write and never waits for anyone: when the ring is
 * full, a new message overwrites the oldest ones. Consumers attach it
 * read-only (HIPC_SHM_RDONLY), so a consumer cannot corrupt the ring or
 * slow the producer down; an attempt to write faults in the consumer.
 *
 * Losses: every message carries a 64-bit sequence number. A consumer that
 * fell more than a ring behind gets HIPC_E_OVERRUN once, with the exact
 * number of messages it lost in hipc_bcast_get_lost(), and its next
 * receive returns the oldest message still in the ring;
 * hipc_bcast_skip_to_newest() jumps to the newest instead. A message that
 * the producer overwrote while a consumer copied it is never delivered
 * torn: the consumer checks, after its copy, that the producer had not
 * reclaimed the message's bytes, and otherwise counts it as lost.
 *
 * A hostile producer: every index, length and sequence number a consumer
 * reads from the ring is read once, bounded and checked; a ring that no
 * honest producer could have written is HIPC_E_CORRUPT, never an
 * out-of-bounds access or an endless loop. Payload bytes are untrusted
 * input, like bytes from a pipe.
 *
 * Waiting: a consumer waits for the next message on a futex word in the
 * read-only ring, and announces its sleep on a small companion segment
 * (the board) that the producer creates, so the producer makes the
 * wake-up syscall only when someone sleeps. A sleeper whose announcement
 * was missed wakes at the end of a short slice, so a wake-up can be late,
 * never lost.
 *
 * Producers: one at a time. The producer's role is claimed with its pid,
 * start time and pid namespace; a producer that died (even in the middle
 * of a send) is replaced by hipc_bcast_open_producer(), which resumes
 * after the last message its predecessor published. A message whose send
 * never returned was either published whole or not at all.
 *
 * A handle belongs to the process and thread that opened it and is bound
 * to its address: a copy made by value is HIPC_E_BAD_HANDLE. Errors every
 * handle call shares: NULL handle HIPC_E_NULL; a handle never opened,
 * garbage or a copy HIPC_E_BAD_HANDLE; a closed handle
 * HIPC_E_STALE_HANDLE. They are not repeated below.
 */
#ifndef HIPC_BCAST_H
#define HIPC_BCAST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hipc/config.h"
#include "hipc/shm.h"
#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the ring's layout inside the segment. */
#define HIPC_BCAST_LAYOUT_VERSION 1u

/* The application tag of segments that hold a broadcast ring. */
#define HIPC_BCAST_SHM_TAG 0x48424354u /* "HBCT" */

/* Ring bytes: a power of two from HIPC_BCAST_MIN_CAPACITY to
 * HIPC_CHAN_MAX_CAPACITY (hipc/config.h). Every message costs a
 * HIPC_BCAST_REC_HEADER-byte record header plus padding to a multiple of
 * 16. A config whose capacity is 0 gets HIPC_BCAST_CAPACITY_DEFAULT. */
#define HIPC_BCAST_MIN_CAPACITY 64u
#define HIPC_BCAST_CAPACITY_DEFAULT 65536u
#define HIPC_BCAST_REC_HEADER 16u

/* Bytes of shared header in front of the ring. */
#define HIPC_BCAST_HEADER_SIZE 512u

/* A consumer's busy-poll before it sleeps, by default. */
#define HIPC_BCAST_SPIN_DEFAULT ((int64_t)20000)

/* Flags. Unknown bits are HIPC_E_BAD_FLAGS. */
/* Consumer: start at the oldest message still in the ring (default: only
 * messages sent after the open). */
#define HIPC_BCAST_OLDEST 0x01u
#define HIPC_BCAST_FLAGS_ALL_ 0x01u

typedef enum hipc_bcast_role {
    HIPC_BCAST_PRODUCER = 1,
    HIPC_BCAST_CONSUMER = 2
} hipc_bcast_role;

/* Zero-initialise, then set what you need: a zeroed config (or NULL) is
 * every default. */
typedef struct hipc_bcast_config {
    size_t capacity; /* ring bytes (create only): a power of two;
                        0: HIPC_BCAST_CAPACITY_DEFAULT */
    size_t max_msg;  /* largest message (create only);
                        0: capacity - HIPC_BCAST_REC_HEADER */
    unsigned flags;  /* HIPC_BCAST_OLDEST (consumers) */
    unsigned mode;   /* segment permission bits (create only); 0: 0600.
                        Read bits say who may consume. */
    int64_t spin_ns; /* consumer: busy-poll before sleeping; 0: default */
} hipc_bcast_config;

typedef struct hipc_bcast {
    /* Public, read-only. */
    size_t capacity;      /* ring bytes */
    size_t max_msg;       /* largest message */
    hipc_bcast_role role; /* HIPC_BCAST_PRODUCER or HIPC_BCAST_CONSUMER */
    int sys_errno;        /* errno of the last failed syscall */
    int64_t spin_ns;
    hipc_shm shm; /* the segment */
    /* Set when create or open_producer fails with HIPC_E_EXISTS because a
     * live producer holds the role: its pid, or 0 when not known here. */
    pid_t holder_pid;
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned state_;
    unsigned flags_;
    uint32_t mask_;
    uint32_t head_;   /* consumer: the producer's last validated head */
    uint32_t stream_; /* consumer: head loads in a row that found more */
    uint64_t pos_;    /* own byte position (64-bit, never wraps) */
    uint64_t seq_;    /* sequence of the message at pos_ */
    uint64_t tail_;   /* producer: oldest byte still held */
    uint64_t lost_;   /* consumer: lost at the last HIPC_E_OVERRUN */
    uint64_t lost_total_;
    pid_t pid_;
    uint64_t start_;
    uint64_t pidns_;
    void *hdr_;
    unsigned char *ring_;
    const struct hipc_bcast *self_;
    /* The board (lib/board.h), held in place; a union for its alignment,
     * as C++ has no _Alignas. */
    union {
        unsigned char bytes[256];
        uint64_t align_;
        void *ptr_;
    } board_;
} hipc_bcast;

/* What hipc_bcast_get_producer() and hipc_bcast_stat_id() found about the
 * producer. */
typedef enum hipc_bcast_producer_state {
    HIPC_BCAST_PRODUCER_NONE = 0,   /* never claimed (not yet formatted) */
    HIPC_BCAST_PRODUCER_ALIVE = 1,  /* its process runs */
    HIPC_BCAST_PRODUCER_HIDDEN = 2, /* held by a process hipc cannot judge
                                       (another pid namespace, hidepid;
                                       for hipc_bcast_stat_id also a /proc
                                       that could not be read) */
    HIPC_BCAST_PRODUCER_GONE = 3    /* it closed, or its process died */
} hipc_bcast_producer_state;

/* `hipcctl ls/stat`'s view of a broadcast segment. */
typedef struct hipc_bcast_stat {
    size_t capacity;
    size_t max_msg;
    uint64_t sent;   /* messages published so far (the next sequence) */
    uint64_t oldest; /* sequence of the oldest message still held: sent
                        when the ring is empty */
    hipc_bcast_producer_state producer;
    pid_t producer_pid;      /* as named here; 0 when unknown */
    unsigned long consumers; /* attachments but the producer's and ours */
} hipc_bcast_stat;

/* Creates a segment under `key` (or HIPC_SHM_KEY_PRIVATE) holding a new
 * ring, with every page present, and opens it as its producer. `cfg` may
 * be NULL. The mode's read bits say who may consume; group or world write
 * bits are taken as meant (HIPC_SHM_SHARED_WRITE), though consumers never
 * need them.
 * Returns HIPC_OK, or: HIPC_E_NULL (b); HIPC_E_BAD_FLAGS;
 * HIPC_E_BAD_TIMEOUT (negative spin_ns); HIPC_E_BAD_CAPACITY (not a power
 * of two from HIPC_BCAST_MIN_CAPACITY to HIPC_CHAN_MAX_CAPACITY);
 * HIPC_E_BAD_SIZE (max_msg above capacity - HIPC_BCAST_REC_HEADER);
 * hipc_shm_create's codes (HIPC_E_BAD_MODE, HIPC_E_EXISTS for a taken
 * key, HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_PERM, HIPC_E_REMOVED, ...;
 * sys_errno kept); reading our identity in /proc: HIPC_E_NOT_FOUND,
 * HIPC_E_PERM, HIPC_E_UNSUPPORTED, HIPC_E_CORRUPT, HIPC_E_LIMIT,
 * HIPC_E_NOMEM, HIPC_E_SYS; creating the board: HIPC_E_LIMIT,
 * HIPC_E_NOMEM, HIPC_E_PERM, HIPC_E_SYS. On failure no segment is left
 * behind and the handle is not open. */
int hipc_bcast_create(hipc_bcast *b, hipc_key key,
                      const hipc_bcast_config *cfg);

/* Opens an existing ring by key as its producer, taking over from a
 * producer that closed or died (also in the middle of a send): sending
 * resumes after the last message it published. `cfg` may be NULL; only
 * flags (none apply) and spin_ns are checked.
 * Returns HIPC_OK, or: HIPC_E_NULL; HIPC_E_BAD_FLAGS; HIPC_E_BAD_TIMEOUT;
 * hipc_shm_open's codes (HIPC_E_BAD_KEY, HIPC_E_NOT_FOUND, HIPC_E_PERM,
 * HIPC_E_REMOVED, HIPC_E_SIZE_MISMATCH, HIPC_E_FOREIGN, HIPC_E_VERSION,
 * HIPC_E_LAYOUT, HIPC_E_CORRUPT, HIPC_E_AGAIN, HIPC_E_NOMEM, ...);
 * HIPC_E_FOREIGN (another tag); HIPC_E_AGAIN (not formatted yet: its
 * creator is at work); what the ring says: HIPC_E_FOREIGN (another
 * magic), HIPC_E_LAYOUT, HIPC_E_VERSION, HIPC_E_CORRUPT (impossible
 * sizes, positions or records); HIPC_E_EXISTS while a live producer holds
 * the role (holder_pid names it where known); the /proc and board codes
 * of hipc_bcast_create. On failure nothing stays attached. */
int hipc_bcast_open_producer(hipc_bcast *b, hipc_key key,
                             const hipc_bcast_config *cfg);

/* Opens an existing ring by key (hipc_bcast_open_consumer) or segment id
 * (hipc_bcast_open_consumer_id) read-only, as a consumer that starts
 * after the newest message, or at the oldest one with HIPC_BCAST_OLDEST.
 * `cfg` may be NULL; only flags and spin_ns are used.
 * Returns HIPC_OK, or: HIPC_E_NULL; HIPC_E_BAD_FLAGS; HIPC_E_BAD_TIMEOUT;
 * HIPC_E_BAD_ID (a negative id); hipc_shm_open's codes as for
 * hipc_bcast_open_producer (HIPC_E_PERM: no read permission); what the
 * ring says: HIPC_E_AGAIN (not formatted yet), HIPC_E_FOREIGN,
 * HIPC_E_LAYOUT, HIPC_E_VERSION, HIPC_E_CORRUPT; HIPC_E_RETRIES when a
 * producer laps the ring faster than the consumer can find its place. On
 * failure nothing stays attached. */
int hipc_bcast_open_consumer(hipc_bcast *b, hipc_key key,
                             const hipc_bcast_config *cfg);
int hipc_bcast_open_consumer_id(hipc_bcast *b, int id,
                                const hipc_bcast_config *cfg);

/* Producer: publishes `len` bytes as one message, overwriting the oldest
 * messages when the ring is full. Never waits, never fails for want of
 * room. Returns HIPC_OK; HIPC_E_NULL (msg NULL with len > 0);
 * HIPC_E_WRONG_END (a consumer); HIPC_E_MSG_TOO_BIG (len > max_msg). */
int hipc_bcast_send(hipc_bcast *b, const void *msg, size_t len);

/* Consumer: copies the next message into `buf` (`cap` bytes) and returns
 * its length (>= 0). Timeouts: 0 tries once, HIPC_FOREVER waits until a
 * message comes or the producer is gone, other positive values are
 * nanoseconds, other negatives HIPC_E_BAD_TIMEOUT. Returns, else:
 *   HIPC_E_NULL          buf NULL with cap > 0
 *   HIPC_E_WRONG_END     a producer
 *   HIPC_E_BAD_TIMEOUT
 *   HIPC_E_BUF_TOO_SMALL the message is longer than `cap`; it stays
 *   HIPC_E_OVERRUN       messages were overwritten before this consumer
 *                        read them: hipc_bcast_get_lost() says how many;
 *                        the next call returns the oldest one left
 *   HIPC_E_AGAIN         timeout 0 and no message (also: a producer that
 *                        laps the ring so fast that no place was found)
 *   HIPC_E_TIMEDOUT      the timeout passed
 *   HIPC_E_PEER_GONE     every message is read and the producer closed
 *                        (timeout 0), or closed or died (waiting calls,
 *                        and tries with a descriptor, which ask /proc
 *                        about every 50 ms); a successor
 *                        producer makes it go away again
 *   HIPC_E_CORRUPT       the ring holds what no honest producer writes
 *   HIPC_E_SYS           a futex wait failed unexpectedly (sys_errno); a
 *                        consumer with a descriptor (hipc_bcast_get_fd):
 *                        its timer could not be armed, or (in the spin
 *                        after progress) neither its own ring nor its
 *                        timer could make the descriptor readable
 *   /proc failures       HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_SYS */
int hipc_bcast_recv(hipc_bcast *b, void *buf, size_t cap, int64_t timeout_ns);

/* Waiting in an event loop (poll, epoll, libuv, sd-event ...), as with
 * hipc_chan_get_fd() (see hipc/chan.h for the whole protocol).
 *
 * hipc_bcast_get_fd() gives a consumer a descriptor, in *fd, to watch for
 * readability with the caller's other descriptors:
 *   - it is readable when hipc_bcast_get_fd() returns, until the next
 *     call that arms it (as a channel end's);
 *   - when it is readable, call hipc_bcast_recv() with timeout 0 until it
 *     answers HIPC_E_AGAIN, or a final code such as HIPC_E_PEER_GONE;
 *   - such a try never spins or waits;
 *   - for the consumer's spin time (spin_ns of its config) after its
 *     last progress (a message taken, or its place moved), a
 *     HIPC_E_AGAIN keeps the descriptor readable instead of arming it
 *     (the handle rings its own bell: one datagram queued at most) and
 *     announces no wait: the loop comes straight back and tries again,
 *     as a blocking recv spins, and the producer has no one to ring. A
 *     loop with nothing else to do burns CPU for that long after the
 *     last message; a spin below a microsecond (spin_ns 1) arms at once;
 *   - after that, a HIPC_E_AGAIN arms the descriptor: it becomes readable once a
 *     message is published, or once the producer has closed (at once) or
 *     died (seen within about 50 ms: a try with a descriptor asks /proc,
 *     at most once per 50 ms). After HIPC_E_PEER_GONE it is readable
 *     when that call returns and stays readable:
 *     take it out of the loop, or try again later (a successor may take
 *     over).
 * Readiness can be spurious (a late ring, the timer beat, anybody in the
 * network namespace sending to the bell): the try then answers
 * HIPC_E_AGAIN again and arms again. A wake-up is never lost; one that
 * races with the arming comes up to 5 ms late (50 ms after a spell
 * without messages), as with the futex wait. The producer rings only
 * consumers that armed, once per arming: a stream to consumers that are
 * busy reading makes no syscall for the bells. The board holds 64
 * announcement slots: consumers with a descriptor beyond them, consumers
 * of a 1.1.0 producer's board, and consumers whose slot a hostile
 * consumer scribbles on, learn of a message at the timer beat, within
 * 50 ms. The slot of a consumer that died is taken over: by the producer
 * when its ring is refused, or by a consumer that finds no free slot. A
 * recv with a timeout other than 0 waits on the futex as ever.
 *
 * The descriptor belongs to the handle: do not close it or read from it;
 * take it out of your loop before hipc_bcast_close(), which closes it. It
 * is close-on-exec; producer and consumer must share a network namespace,
 * or the rings get lost and only the beat is left.
 *
 * Returns HIPC_OK, the same descriptor on every call for the handle's
 * life; HIPC_E_NULL (fd); HIPC_E_WRONG_END (a producer); HIPC_E_LIMIT (no
 * descriptor left: EMFILE, ENFILE, or ENOSPC for the epoll set's user
 * limit); HIPC_E_NOMEM; HIPC_E_EXISTS (the bell's name is taken, see
 * hipc_chan_get_fd: try again); HIPC_E_PERM (refused by a security
 * module); HIPC_E_SYS (anything else; sys_errno says what). On failure
 * nothing is left open. */
int hipc_bcast_get_fd(hipc_bcast *b, int *fd);

/* Consumer: messages lost at the last HIPC_E_OVERRUN (*last), and since
 * the open (*total); either pointer may be NULL. HIPC_OK or
 * HIPC_E_WRONG_END. */
int hipc_bcast_get_lost(hipc_bcast *b, uint64_t *last, uint64_t *total);

/* Consumer: moves past every message published so far, so the next
 * receive returns the next one sent; *skipped (may be NULL) gets how many
 * were passed over (not counted as lost). HIPC_OK; HIPC_E_WRONG_END;
 * HIPC_E_CORRUPT; HIPC_E_RETRIES (a producer lapping the ring faster than
 * the skip). */
int hipc_bcast_skip_to_newest(hipc_bcast *b, uint64_t *skipped);

/* Whether the producer runs (reads its record and /proc). `pid` may be
 * NULL. Returns HIPC_OK (alive; *pid its pid), HIPC_E_PEER_GONE (closed
 * or died; *pid the pid it had), HIPC_E_NOT_FOUND (never claimed),
 * HIPC_E_PERM (held by a process hipc cannot judge; *pid as named here,
 * 0 from another pid namespace), or a /proc failure: HIPC_E_LIMIT,
 * HIPC_E_NOMEM, HIPC_E_CORRUPT, HIPC_E_SYS (sys_errno kept). */
int hipc_bcast_get_producer(hipc_bcast *b, pid_t *pid);

/* Marks the segment for removal (it goes with the last detach). HIPC_OK,
 * or hipc_shm_remove's codes (HIPC_E_REMOVED, HIPC_E_PERM, ...). */
int hipc_bcast_remove(hipc_bcast *b);

/* Leaves the ring (a producer marks its role left, and sleeping consumers
 * learn it at once) and detaches. The handle is closed even when the
 * detach fails. HIPC_OK, or hipc_shm_close's code (HIPC_E_SYS). A copy
 * inherited over fork closes without giving up the parent's role. */
int hipc_bcast_close(hipc_bcast *b);

/* Read-only look at the ring in segment `shm_id`, for tools: attaches it
 * read-only for the moment, never claims or changes anything. Returns
 * HIPC_OK and fills *out, or: HIPC_E_NULL (out); HIPC_E_BAD_ID;
 * hipc_shm_open_id's codes (HIPC_E_NOT_FOUND, HIPC_E_PERM, HIPC_E_FOREIGN,
 * ...); HIPC_E_FOREIGN (not a broadcast segment); HIPC_E_AGAIN (not
 * formatted yet); HIPC_E_LAYOUT, HIPC_E_VERSION, HIPC_E_CORRUPT; /proc
 * failures. *sys_errno (may be NULL) keeps the errno. */
int hipc_bcast_stat_id(int shm_id, hipc_bcast_stat *out, int *sys_errno);

#ifdef __cplusplus
}
#endif
#endif
