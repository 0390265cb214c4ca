/* SPDX-License-Identifier: MIT */
/* hipc — the board: where readers that attached a segment read-only
 * announce that they sleep, so that its writer makes the wake-up syscall
 * only when someone waits. Internal (state blocks, broadcast rings).
 *
 * A reader of a read-only mapping cannot store anything in the data
 * segment, so the writer creates a small companion segment, the board:
 * IPC_PRIVATE, writable by everyone who may read the data segment, marked
 * for removal (IPC_RMID) at once while the writer holds it attached. Linux
 * still lets a process shmat a segment marked for removal, by its id,
 * while the segment exists; it vanishes when the last process detaches,
 * so no crash of anyone can leave a board behind. The writer publishes
 * the board's id and its own identity (pid and start time, which the
 * board's hipc header repeats) in the data segment (struct
 * hipc__board_ref); a reader checks the board it attaches against them.
 *
 * Waiting is Dekker's: the reader increments the board's sleepers word,
 * looks at the data segment's futex word once more and FUTEX_WAITs on it
 * (FUTEX_WAIT reads the word only: it works on a read-only mapping), then
 * decrements; the writer stores the word, then loads the sleepers word
 * (both seq_cst) and calls FUTEX_WAKE only when it is not zero.
 *
 * The board is untrusted by everyone: any reader can scribble on it. A
 * counter held above zero costs the writer a wasted wake per publish; one
 * forced to zero loses wake-ups, which the sleepers make up for because
 * no sleep lasts longer than HIPC__BOARD_SLICE_NS. Nothing on the board
 * is ever used as an index or a length. */
#ifndef HIPC_BOARD_H
#define HIPC_BOARD_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "bell.h"
#include "hipc/shm.h"

/* The longest sleep of one hipc__board_wait(): bounds how late a sleeper
 * whose announcement was lost (a scribbled board, a new writer's board
 * not seen yet, no board at all) learns of a change. */
#define HIPC__BOARD_SLICE_NS ((int64_t)50 * 1000 * 1000)

/* The board's tag in its hipc header. */
#define HIPC__BOARD_TAG 0x64726f62u /* "bord" */

/* No board published (id word). */
#define HIPC__BOARD_NONE 0xffffffffu

/* What the writer publishes in the data segment: the board's shm id and
 * the writer's identity as the board's header records it (creator pid
 * and start time). Readers load it; nothing in it is trusted. */
struct hipc__board_ref {
    _Atomic uint32_t id; /* HIPC__BOARD_NONE, or the board's shm id */
    _Atomic uint32_t pid;
    _Atomic uint32_t start_lo, start_hi;
};

/* Bell slots on a board (hipc_state_get_fd, hipc_bcast_get_fd): a reader
 * with a descriptor claims one and announces there, per arming, that it
 * waits on its bell. Readers beyond this many are woken by their bell's
 * timer beat only. A claim is given back when its reader leaves the
 * board; one whose bell no longer exists (its reader died) is taken over
 * by the writer's ring (refused) or a reader's probe (see
 * hipc__board_bell_arm). */
#define HIPC__BOARD_BELLS 64

/* Claims probed per arming that found no free slot (once per slice): a
 * claim of a dead reader is found within 64 / this many slices, and a
 * reader beyond the 64th sends at most this many probes per slice. */
#define HIPC__BOARD_PROBES 8

/* The sleepers word counts futex sleepers in its low half and armed bells
 * in its high half: one word, so the writer's one look (the existing
 * check for a non-zero word) covers both. */
#define HIPC__BOARD_BELL_ONE 0x10000u

/* A reader's bell, kept across boards (zeroed: none). */
struct hipc__board_bell {
    int fds[3];    /* valid when `have` */
    int slot;      /* 1 + the slot claimed on the board held; 0: none */
    uint32_t tag;  /* what our claim stores in the slot */
    uint32_t seen; /* the word's value at the last arming */
    uint32_t name[HIPC__BELL_WORDS];
    int ring;           /* writer: the socket it rings from, when ring_have */
    int64_t due;        /* when the bell's timer runs out (0: it did) */
    int64_t look_at;    /* the writer's /proc record is asked again then */
    int64_t probe_at;   /* claims on a full board are probed again then */
    int64_t keep_until; /* the spin after the reader's last progress ends
                           (0: none under way) */
    uint32_t keep_mark; /* the reader's progress when that spin began */
    unsigned char probe_next; /* the next slot a probe looks at */
    unsigned char have;       /* the bell is open */
    unsigned char armed;      /* our announcement is up (count and slot) */
    unsigned char rung; /* a writer took our announcement: a ring is queued */
    unsigned char ring_have;
    unsigned char self; /* we rang our own bell: one ring of ours queued */
};

/* A process's view of one board: the writer's (created) or a reader's
 * (attached). Zeroed, or after hipc__board_detach(), it holds no board;
 * every function accepts that state. */
struct hipc__board {
    _Atomic uint32_t *sleepers; /* NULL: no board */
    void *base;                 /* this process's mapping */
    hipc_shm shm;               /* the writer's handle */
    int writer;                 /* created (1) or attached (0) */
    int id;                     /* identity of the board held */
    uint32_t pid;
    uint64_t start;
    int bells; /* the board held has bell slots (not a 1.1.0 board) */
    struct hipc__board_bell bell;
};

/* Writer: creates a board readable and writable by whoever the data
 * segment's `mode` lets read it (each read bit also grants write; the
 * owner always has rw), marks it removed and keeps it attached. `b` must
 * stay where it is until hipc__board_detach (it holds a hipc_shm).
 * Returns HIPC_OK, HIPC_E_BAD_MODE (mode > 0777), or the codes of
 * hipc_shm_create for a private key (HIPC_E_LIMIT, HIPC_E_NOMEM,
 * HIPC_E_PERM, HIPC_E_SYS...), errno in *sys_errno (may be NULL). On
 * failure `b` holds no board and nothing is left behind. */
int hipc__board_create(struct hipc__board *b, unsigned mode, int *sys_errno);

/* Writer: publishes the board `b` holds (or HIPC__BOARD_NONE when it
 * holds none) into `ref` in the data segment: the id is withdrawn first
 * and stored last, with release order, so a reader that sees the id
 * also sees the identity stored with it. */
void hipc__board_publish(const struct hipc__board *b,
                         struct hipc__board_ref *ref);

/* Reader: makes `b` hold the board that `ref` names now. Does nothing when
 * it holds that board already (same id, pid and start); otherwise detaches
 * the one it holds and attaches the new one read-write, checking that the
 * segment is a board (size within one page, hipc header with
 * HIPC__BOARD_TAG) whose header names the pid and start time of `ref`, and
 * making its page present first so that no read or write can SIGBUS.
 * Returns HIPC_OK (b holds the board) or, with `b` holding no board:
 *   HIPC_E_NOT_FOUND   no board published, or its id names no segment
 *                      (EINVAL, EIDRM: the writer is gone and so are all
 *                      who held its board)
 *   HIPC_E_PERM        no write permission on the board (EACCES)
 *   HIPC_E_CORRUPT     the segment is not the board `ref` names (size,
 *                      header, tag, pid or start); also a ref that
 *                      changed while it was read
 *   HIPC_E_UNSUPPORTED the page cannot be proved present (a kernel before
 *                      5.14 without MADV_POPULATE_WRITE and the page not
 *                      in memory)
 *   HIPC_E_NOMEM       the page cannot be made present, or no address
 *                      space
 *   hipc__from_errno() of any other errno, kept in *sys_errno (may be
 *   NULL; 0 when hipc's own checks failed).
 * A reader that gets an error still waits correctly, only without
 * announcing: its wake-ups come at the end of each slice. */
int hipc__board_attach(struct hipc__board *b, const struct hipc__board_ref *ref,
                       int *sys_errno);

/* Detaches the board `b` holds, if any (writer or reader); `b` then holds
 * none. A writer's board vanishes with its last reader. A reader gives
 * back the bell slot it holds there; its bell stays open. A writer closes
 * the socket it rang from. */
void hipc__board_detach(struct hipc__board *b);

/* Reader: one sleep while *word == seen: announces it on the board (if `b`
 * holds one), looks at *word again, FUTEX_WAITs for at most `ns` and at
 * most HIPC__BOARD_SLICE_NS (ns <= 0: no sleep, only the look), then
 * withdraws the announcement.
 * Returns HIPC_OK when *word != seen was seen (before or after the sleep),
 * HIPC_E_AGAIN when the caller should check its own state and deadline
 * and call again (the time ran out, a signal or a spurious wake-up
 * interrupted the sleep: transparent, like the channel's), or HIPC_E_SYS
 * for an unexpected futex errno, kept in *sys_errno (may be NULL). */
int hipc__board_wait(struct hipc__board *b, const _Atomic uint32_t *word,
                     uint32_t seen, int64_t ns, int *sys_errno);

/* Writer: call after storing the new value of *word with seq_cst order
 * (atomic_store, not _explicit with a weaker order). Wakes every sleeper
 * on *word if, and only if, the board shows one announced, and rings the
 * bells announced in its slots (each taken down first, so rung once per
 * arming; at most HIPC__BOARD_BELLS rings). Returns the
 * futex's error (negative errno) or 0; a failed wake only delays the
 * sleepers to the end of their slice. */
int hipc__board_wake(struct hipc__board *b, _Atomic uint32_t *word);

/* ---- bells (a descriptor for an event loop) ----
 *
 * A reader's try (a wait with timeout 0) on a handle with a bell calls
 * hipc__board_bell_disarm() first, looks for news, and when there is none
 * hipc__board_bell_arm(): the writer's next hipc__board_wake() then rings
 * the bell. Dekker's again, through the sleepers word (high half) and the
 * slot's ARMED bit; the timer bounds every loss (a scribbled board, no
 * slot free, no board at all, a writer that skips the fence). */

/* Opens the reader's bell (once; then returns the same descriptor) and
 * makes it readable before returning (hipc__board_bell_ready): the
 * caller's first try arms it. HIPC_OK with the
 * epoll descriptor in *fd, or the codes of hipc__bell_open and HIPC_E_SYS
 * (timer), errno in *err; nothing is left open on failure. */
int hipc__board_bell_open(struct hipc__board *b, int *fd, int *err);

/* Closes the reader's bell (after hipc__board_detach gave the slot back). */
void hipc__board_bell_close(struct hipc__board *b);

/* Takes our announcement down, if up; remembers whether a writer took it
 * (then a ring is queued). */
void hipc__board_bell_disarm(struct hipc__board *b);

/* Nothing new: drains the bell, sets its timer `ns` ahead (kept when it
 * runs out sooner), claims a slot if we hold none (or our claim was taken
 * from us), announces, and looks at *word once more. On a board with no
 * free slot it probes, at most once per HIPC__BOARD_SLICE_NS and at most
 * HIPC__BOARD_PROBES slots at a time, whether the bells that claims name
 * still exist, and takes over the first claim whose bell is gone.
 * HIPC_E_AGAIN when armed and still *word == seen; HIPC_OK when *word
 * changed (disarmed again); HIPC_E_SYS when the timer cannot be set
 * (*err). */
int hipc__board_bell_arm(struct hipc__board *b, const _Atomic uint32_t *word,
                         uint32_t seen, int64_t now, int64_t ns, int *err);

/* Keeps the bell readable without announcing a wait, for a reader in the
 * spin after its last progress (the caller decides when): our last
 * self-ring and a ring a writer queued by taking an announcement are read
 * away and a new self-ring is sent, so a loop waiting edge-triggered gets
 * a fresh event at every such try and no more than one of ours is ever
 * queued. HIPC_E_AGAIN, or HIPC_E_SYS (*err) when neither the self-ring
 * nor the timer can make the bell readable. */
int hipc__board_bell_keep(struct hipc__board *b, int *err);

/* Makes the bell readable before returning and until the next arming (at
 * first; and once the writer is gone: gone stays gone for the loop too):
 * a ring to our own bell, named from our private copy of its name (never
 * the board's), at most one queued. If it cannot be sent, the timer runs
 * out at once instead (readable a moment later, with its interrupt).
 * Returns 0, or the timer's error (negative errno) when that fails too. */
int hipc__board_bell_ready(struct hipc__board *b);

#endif
