/* SPDX-License-Identifier: MIT */
/* hipc — the doorbell: a descriptor an event loop can wait on for a
 * waiting end of a shared-memory object (see docs/doorbell.md).
 *
 * A bell is three descriptors the owner keeps: a datagram socket bound
 * to an abstract unix name (what the peer rings), a one-shot timer (the
 * bound on how late a wake-up can be, and the beat at which a dead peer
 * is noticed) and an epoll set holding both, which is the one descriptor
 * handed out. The name is published in shared memory as three 32-bit
 * words; nothing else about the bell is.
 */
#ifndef HIPC_BELL_H
#define HIPC_BELL_H

#include <stdint.h>

/* The name's words as shared memory carries them: the owner's pid and a
 * CLOCK_MONOTONIC reading (low, high) taken when it was made. All zero:
 * no bell. */
#define HIPC__BELL_WORDS 3

/* Which of a bell's descriptors sits where in its `int fds[3]`. */
enum hipc__bell_fd { HIPC__BELL_EP = 0, HIPC__BELL_SOCK, HIPC__BELL_TIMER };

/* Makes a bell for process `pid`: fds[] and its name words in words[].
 * HIPC_OK, or a code (sys_errno in *err) with nothing left open:
 * HIPC_E_LIMIT, HIPC_E_NOMEM, HIPC_E_EXISTS (the name is taken),
 * HIPC_E_PERM, HIPC_E_SYS. */
int hipc__bell_open(int fds[3], uint32_t words[HIPC__BELL_WORDS], uint32_t pid,
                    int *err);
void hipc__bell_close(int fds[3]);

/* Before a waiter announces that it waits on the bell: drops up to `n`
 * rings received so far (HIPC__BELL_DRAIN_ALL: as many as a flood can
 * have queued; each costs a read, so a waiter that knows none was sent
 * passes 0). Returns 0 when it read `n` or found the queue empty, or the
 * negative errno of a read that failed otherwise (rings may be left: a
 * caller that counted its own self-ring among them keeps counting it). */
/* (A unix datagram queue holds net.unix.max_dgram_qlen rings, 10 by
 * default; a peer that rings faster keeps the descriptor readable, which
 * is allowed, and cannot keep the drain going.) */
#define HIPC__BELL_DRAIN_ALL 8
int hipc__bell_drain(const int fds[3], int n);

/* Sets the bell's timer to run out `ns` ahead. HIPC_OK, or HIPC_E_SYS
 * (*err) when it cannot be set. */
int hipc__bell_arm(const int fds[3], int64_t ns, int *err);

/* Makes the bell's descriptor readable before it returns: one datagram
 * from the bell's own socket to its own name, formatted from words[],
 * which the caller keeps in its private memory (never read back from
 * shared memory, where a hostile peer could make it name another bell).
 * A unix socket sending to its own name is not held to the receive
 * queue's limit (net/unix/af_unix.c, unix_dgram_sendmsg), so every
 * self-ring is queued: the caller keeps at most one queued (a private
 * flag, set here on success, cleared by the drain of its next arming,
 * which counts it). Returns 0 or the negative errno of the failure (the
 * caller then falls back to its timer). */
int hipc__bell_self_ring(const int fds[3],
                         const uint32_t words[HIPC__BELL_WORDS]);

/* Rings the bell named by words[] from socket *ring (made on first use,
 * the flag in *have says whether it exists). A bell that is gone, full
 * or was never there is not an error the ringer can act on: the waiter's
 * timer covers it. Returns 0 or the negative errno of the failure. */
int hipc__bell_ring(int *ring, int *have,
                    const uint32_t words[HIPC__BELL_WORDS]);

#endif
