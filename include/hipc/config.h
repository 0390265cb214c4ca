/* SPDX-License-Identifier: MIT */
/* hipc — compile-time limits. Each can be overridden with -D at build time;
 * the defaults suit a firmware-like program with small stacks. */
#ifndef HIPC_CONFIG_H
#define HIPC_CONFIG_H

/* Largest message a frame or channel will carry. */
#ifndef HIPC_MAX_MSG_BYTES
#define HIPC_MAX_MSG_BYTES (16u * 1024u * 1024u)
#endif

/* How many fresh keys hipc_shm_create_fresh() tries before HIPC_E_RETRIES. */
#ifndef HIPC_SHM_CREATE_RETRIES
#define HIPC_SHM_CREATE_RETRIES 64
#endif

/* Largest channel ring, in bytes (a power of two, at most 2^31). */
#ifndef HIPC_CHAN_MAX_CAPACITY
#define HIPC_CHAN_MAX_CAPACITY (1u << 30)
#endif

/* Longest line accepted from /proc/sysvipc/shm; longer lines are corrupt. */
#ifndef HIPC_INSPECT_LINE_MAX
#define HIPC_INSPECT_LINE_MAX 512
#endif

#endif
