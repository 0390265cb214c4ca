/* SPDX-License-Identifier: MIT */
/* hipc — a state block: one writer publishes a value of fixed size, any
 * number of readers take a consistent copy of the latest one.
 *
 * The block lives in a hipc segment (tag HIPC_STATE_SHM_TAG) that holds
 * two copies of the value. The writer fills the copy readers are not
 * sent to, then points them at it; readers copy under a per-copy sequence
 * number and retry when the writer got round to that copy meanwhile. So a
 * reader never sees a torn value, never blocks the writer and never makes
 * it wait, and a writer killed in the middle of a write leaves the
 * previous value readable. Readers attach the segment read-only
 * (SHM_RDONLY): a reader cannot change anything the writer or another
 * reader sees, and a stray write by one faults in that reader alone.
 *
 * The writer's role is claimed with its pid, start time and pid namespace
 * (see hipc_chan.h); another process takes it over with
 * hipc_state_open_writer() once the holder closed or is gone. Readers read
 * the writer's record with hipc_state_get_writer().
 *
 * Everything a reader reads from the segment is read once, bounded and
 * checked: a corrupt block (a hostile writer) is HIPC_E_CORRUPT, and a
 * writer that rewrites the copy being read again and again without end
 * makes a read give up after HIPC_STATE_READ_RETRIES tries with
 * HIPC_E_RETRIES, never loop for ever. Pages: both sides make every page
 * of the segment present when they attach (a shortage of memory, or a
 * page the kernel cannot give, is HIPC_E_NOMEM, not a SIGBUS later).
 *
 * Waiting: hipc_state_wait() sleeps on a futex word in the block. The
 * writer makes the wake-up syscall only when a reader announced that it
 * sleeps; as readers cannot write to the block, they announce on a small
 * companion segment (the "board"), created by the writer already marked
 * for removal, so that it can never be left behind. A board scribbled on
 * by a hostile reader can cost other readers wake-ups; they then learn of
 * a change within HIPC_STATE_SLICE_NS.
 *
 * A handle is used by one thread at a time (each reader thread opens its
 * own); a copy of a handle, or one moved in memory, is refused.
 *
 * Errors every handle call shares: NULL handle HIPC_E_NULL; a handle never
 * opened, garbage, or a copy (moved or copied by value) HIPC_E_BAD_HANDLE;
 * a closed handle HIPC_E_STALE_HANDLE. They are not repeated below.
 */
#ifndef HIPC_STATE_H
#define HIPC_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hipc/config.h"
#include "hipc/shm.h"
#include "hipc/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the state block layout inside the segment. */
#define HIPC_STATE_LAYOUT_VERSION 1u

/* The application tag of segments that hold a state block. */
#define HIPC_STATE_SHM_TAG 0x54415453u /* "STAT" */

/* Value sizes: 1 to HIPC_STATE_MAX_VALUE bytes (a read returns the length
 * as an int). */
#define HIPC_STATE_MAX_VALUE HIPC_MAX_MSG_BYTES

/* How many times a read starts over when the writer keeps rewriting the
 * copy it reads, before it gives up with HIPC_E_RETRIES. The writer must
 * complete two writes during each of these tries for that to happen. */
#define HIPC_STATE_READ_RETRIES 1000u

/* The longest a waiting reader sleeps before it looks at the block and
 * the writer again. */
#define HIPC_STATE_SLICE_NS ((int64_t)50 * 1000 * 1000)

/* Config, for create and both opens: zeroed (or a NULL pointer) means
 * defaults. */
typedef struct hipc_state_config {
    unsigned mode;  /* create: permission bits, 0 = 0600; read bits say who
                      may read; group/world write bits are refused
                      (HIPC_E_BAD_MODE): only the writer writes */
    unsigned flags; /* none defined yet; must be 0 */
} hipc_state_config;

/* The writer's end. Caller-allocated; must stay where it was opened. */
typedef struct hipc_state_writer {
    /* Public, read-only. */
    size_t value_size;
    uint64_t generation; /* of the last value published (0: none yet) */
    int sys_errno;       /* errno of the last failed syscall */
    pid_t holder_pid;    /* HIPC_E_EXISTS: the live writer's pid, or 0 */
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned state_;
    size_t stride_;
    uint32_t seq_[2];
    pid_t pid_;
    uint64_t start_, pidns_;
    void *hdr_;
    const struct hipc_state_writer *self_;
    hipc_shm shm_;
    uint64_t board_[40];
} hipc_state_writer;

/* A reader's end. Caller-allocated; must stay where it was opened. */
typedef struct hipc_state_reader {
    /* Public, read-only. */
    size_t value_size;
    int sys_errno;
    /* Private: do not touch. */
    uint32_t magic_;
    unsigned state_;
    size_t stride_;
    uint64_t last_gen_;
    uint32_t seen_; /* futex value the last read left behind */
    int read_;      /* a read has happened */
    pid_t pid_;
    uint64_t start_, pidns_;
    const void *hdr_;
    const struct hipc_state_reader *self_;
    hipc_shm shm_;
    uint64_t board_[40];
} hipc_state_reader;

/* What a read learned besides the value. */
typedef struct hipc_state_info {
    uint64_t generation; /* 0: the zeroed value from create; then 1, 2... */
    int changed;         /* non-zero: another generation than this handle's last
                    read (the first read of a handle counts as changed) */
} hipc_state_info;

/* Whether the writer runs (hipc_state_get_writer, hipc_state_stat_id).
 * Numbered as hipc_chan_peer_state and hipc_bcast_producer_state are; a
 * state block always had a writer, so the 0 of "never held" is not used. */
enum hipc_state_writer_state {
    HIPC_STATE_WRITER_ALIVE = 1,  /* its process runs */
    HIPC_STATE_WRITER_HIDDEN = 2, /* held by a process hipc cannot judge
                                     (another pid namespace, hidepid) */
    HIPC_STATE_WRITER_GONE = 3    /* closed, or its process is gone */
};

/* What hipc_state_stat_id() finds, for `hipcctl ls` and `stat`. */
typedef struct hipc_state_stat {
    size_t value_size;
    uint64_t generation;
    pid_t writer_pid; /* as named here; 0 when held in another pid
                         namespace, or never held */
    enum hipc_state_writer_state writer;
    unsigned long readers; /* attachments but the writer's */
} hipc_state_stat;

/* Creates a state block under `key` (HIPC_SHM_KEY_PRIVATE for one shared
 * across fork only) holding a value of `value_size` bytes, all zero
 * (generation 0), and opens the writer's end of it.
 *
 * Returns HIPC_OK, or:
 *   HIPC_E_NULL       w is NULL
 *   HIPC_E_BAD_SIZE   value_size is 0
 *   HIPC_E_TOO_BIG    value_size exceeds HIPC_STATE_MAX_VALUE
 *   HIPC_E_BAD_FLAGS  cfg->flags is not 0
 *   HIPC_E_BAD_MODE   mode above 0777, without owner rw, or with group or
 *                     world write bits
 *   HIPC_E_UNSUPPORTED this process's start time cannot be stated (an
 *                     unshared time namespace not entered)
 *   the codes of hipc_shm_create() (HIPC_E_EXISTS for a key in use,
 *   HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_PERM...) for the block and for its
 *   board, and of /proc reads (HIPC_E_NOT_FOUND, HIPC_E_CORRUPT...).
 * On failure nothing is left behind and w->sys_errno holds the errno. */
int hipc_state_create(hipc_state_writer *w, hipc_key key, size_t value_size,
                      const hipc_state_config *cfg);

/* Takes over the writer's end of an existing block, from a writer that
 * closed or whose process is gone. The value and generation go on from
 * what the last complete write left (a write cut short by a kill is
 * lost); a new board is published for waiting readers.
 *
 * Returns HIPC_OK, or HIPC_E_NULL, HIPC_E_BAD_FLAGS, HIPC_E_BAD_KEY
 * (HIPC_SHM_KEY_PRIVATE), HIPC_E_EXISTS (a live writer holds the block:
 * its pid in w->holder_pid, 0 if not known here), HIPC_E_CORRUPT (not a
 * valid state block), HIPC_E_FOREIGN (a hipc segment with another tag),
 * HIPC_E_VERSION (another state layout), HIPC_E_UNSUPPORTED, the codes of
 * hipc_shm_open() (HIPC_E_NOT_FOUND, HIPC_E_PERM, HIPC_E_REMOVED...) and of
 * the board's creation (as in hipc_state_create). */
int hipc_state_open_writer(hipc_state_writer *w, hipc_key key,
                           const hipc_state_config *cfg);

/* Publishes a new value of exactly w->value_size bytes: readers that start
 * a read after this returns get it (or a later one), and sleeping readers
 * are woken. Never waits for a reader.
 *
 * Returns HIPC_OK, or HIPC_E_NULL (value), HIPC_E_BAD_SIZE (len differs
 * from value_size), and the shared handle errors. A failed
 * wake-up syscall is not an error (the value is out; sleepers see it
 * within HIPC_STATE_SLICE_NS) but leaves its errno in w->sys_errno. */
int hipc_state_publish(hipc_state_writer *w, const void *value, size_t len);

/* Marks the block's segment for removal (IPC_RMID): it vanishes when the
 * last reader and the writer have detached; no new reader can open it.
 * Returns HIPC_OK or the codes of hipc_shm_remove(). */
int hipc_state_remove(hipc_state_writer *w);

/* Gives up the writer's role (readers then see HIPC_STATE_WRITER_GONE),
 * detaches the block and the board. Does not remove the block. Returns
 * HIPC_OK; closing twice is HIPC_E_STALE_HANDLE. */
int hipc_state_close_writer(hipc_state_writer *w);

/* Opens a reader's end of the block under `key`, attached read-only.
 *
 * Returns HIPC_OK, or HIPC_E_NULL, HIPC_E_BAD_FLAGS, HIPC_E_BAD_KEY,
 * HIPC_E_FOREIGN (another tag), HIPC_E_VERSION, HIPC_E_CORRUPT (an
 * inconsistent block: sizes, magic), HIPC_E_AGAIN (its creator has not
 * finished it yet), HIPC_E_UNSUPPORTED, and the codes of
 * hipc_shm_open() with HIPC_SHM_RDONLY|HIPC_SHM_PREFAULT. */
int hipc_state_open_reader(hipc_state_reader *r, hipc_key key,
                           const hipc_state_config *cfg);

/* The same by segment id (a block under HIPC_SHM_KEY_PRIVATE, shared
 * across fork, or one a tool found): HIPC_E_BAD_ID for a negative id,
 * HIPC_E_NOT_FOUND when no segment has it (EINVAL), HIPC_E_REMOVED when it
 * is marked for removal, the rest as hipc_state_open_reader. */
int hipc_state_open_reader_id(hipc_state_reader *r, int shm_id,
                              const hipc_state_config *cfg);

/* Copies the latest value into buf (cap bytes at least value_size) and
 * returns its length, value_size. info (may be NULL) receives its
 * generation and whether it changed since this handle's last read.
 * A read makes no syscall and does not judge the writer's liveness: the
 * last complete value stays readable whatever became of its writer (ask
 * hipc_state_get_writer, or wait with hipc_state_wait, for that).
 *
 * Returns value_size, or:
 *   HIPC_E_NULL          buf is NULL
 *   HIPC_E_BUF_TOO_SMALL cap < value_size (nothing read)
 *   HIPC_E_RETRIES       the writer rewrote the copy being read
 *                        HIPC_STATE_READ_RETRIES times in a row
 *   HIPC_E_CORRUPT       the block says what no writer writes (a copy
 *                        holding a generation of the other copy's parity)
 * On an error buf may hold a torn value: do not use it. */
int hipc_state_read(hipc_state_reader *r, void *buf, size_t cap,
                    hipc_state_info *info);

/* Waits until a value of another generation than this handle's last read
 * (or, before any read, than the one current at open) is published.
 *
 * Returns HIPC_OK (read it with hipc_state_read), or:
 *   HIPC_E_AGAIN        timeout 0 and nothing new
 *   HIPC_E_TIMEDOUT     nothing new within timeout_ns
 *   HIPC_E_PEER_GONE    nothing new and the writer closed or is gone (a
 *                       successor may still take over: waiting again is
 *                       fine)
 *   HIPC_E_BAD_TIMEOUT  a negative timeout other than HIPC_FOREVER
 *   HIPC_E_SYS          an unexpected futex errno (in r->sys_errno); a
 *                       reader with a descriptor (hipc_state_get_fd):
 *                       its timer could not be armed
 *   the codes of /proc reads while judging the writer. */
int hipc_state_wait(hipc_state_reader *r, int64_t timeout_ns);

/* Whether the writer runs (reads its record and /proc), answered as
 * hipc_chan_get_peer() and hipc_bcast_get_producer() answer; its pid as
 * named here in *pid (may be NULL; 0 when held from another pid
 * namespace). Returns HIPC_OK (it runs), HIPC_E_PEER_GONE (it closed or
 * its process is gone), HIPC_E_PERM (held by a process hipc cannot judge:
 * another pid namespace, /proc hidden), the handle codes, or a failure to
 * read /proc: HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_CORRUPT, HIPC_E_SYS
 * (sys_errno kept). */
int hipc_state_get_writer(hipc_state_reader *r, pid_t *pid);

/* Waiting in an event loop (poll, epoll, libuv, sd-event ...), as with
 * hipc_chan_get_fd() (see hipc/chan.h for the whole protocol).
 *
 * hipc_state_get_fd() gives the reader a descriptor, in *fd, to watch for
 * readability with the caller's other descriptors:
 *   - it is readable when hipc_state_get_fd() returns, until the next
 *     call that arms it (as a channel end's);
 *   - when it is readable, call hipc_state_wait(r, 0) (and
 *     hipc_state_read() after each HIPC_OK) until the wait answers
 *     HIPC_E_AGAIN, or a final code such as HIPC_E_PEER_GONE;
 *   - such a try never spins or waits;
 *   - its HIPC_E_AGAIN arms the descriptor: it becomes readable once a
 *     value of another generation is published, or once the writer has
 *     closed (at once) or died (seen within about HIPC_STATE_SLICE_NS).
 *     After HIPC_E_PEER_GONE it is readable when that call returns and
 *     stays readable: take it out of the loop,
 *     or try again later (a successor may take over).
 * Readiness can be spurious (a late ring, the timer beat, anybody in the
 * network namespace sending to the bell): the try then answers
 * HIPC_E_AGAIN again and arms again. A wake-up is never lost. The writer
 * rings only readers that armed: a publish with no reader armed makes no
 * syscall for the bells. The board (see above) holds 64 announcement
 * slots: readers with a descriptor beyond them, readers of a 1.1.0
 * writer's board, and readers whose slot a hostile reader scribbles on,
 * learn of a change at the timer beat, within HIPC_STATE_SLICE_NS. The
 * slot of a reader that died is taken over: by the writer when its ring
 * is refused, or by a reader that finds no free slot. A wait with a
 * timeout other than 0 waits on the futex as ever.
 *
 * The descriptor belongs to the handle: do not close it or read from it;
 * take it out of your loop before hipc_state_close_reader(), which closes
 * it. It is close-on-exec; the writer and the reader must share a network
 * namespace, or the rings get lost and only the beat is left.
 *
 * Returns HIPC_OK, the same descriptor on every call for the handle's
 * life; HIPC_E_NULL (fd); HIPC_E_LIMIT (no descriptor left: EMFILE,
 * ENFILE, or ENOSPC for the epoll set's user limit); HIPC_E_NOMEM;
 * HIPC_E_EXISTS (the bell's name is taken, see hipc_chan_get_fd: try
 * again); HIPC_E_PERM (refused by a security module); HIPC_E_SYS
 * (anything else; sys_errno says what). On failure nothing is left
 * open. */
int hipc_state_get_fd(hipc_state_reader *r, int *fd);

/* Detaches the reader. Returns HIPC_OK; twice HIPC_E_STALE_HANDLE. */
int hipc_state_close_reader(hipc_state_reader *r);

/* Looks at the state block with segment id `shm_id` without a handle
 * (attached read-only for a moment), for tools.
 * Returns HIPC_OK with *out filled, or HIPC_E_NULL, HIPC_E_BAD_ID, the
 * codes of hipc_shm_open_id() and of the block's checks
 * (HIPC_E_FOREIGN, HIPC_E_VERSION, HIPC_E_CORRUPT, HIPC_E_AGAIN,
 * HIPC_E_RETRIES) and of reading /proc. */
int hipc_state_stat_id(int shm_id, hipc_state_stat *out, int *sys_errno);

#ifdef __cplusplus
}
#endif
#endif
