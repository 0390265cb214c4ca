/* SPDX-License-Identifier: MIT */
/* hipc — the types every module shares. */
#ifndef HIPC_TYPES_H
#define HIPC_TYPES_H

#include <stdint.h>

/* A System V IPC key. Linux's key_t is an int on every architecture (the
 * library checks this when it is built); hipc names the type itself
 * because strict ISO C (-std=c11 without feature macros) does not declare
 * key_t, and a public header must compile there. key_t values convert to
 * and from hipc_key without loss. */
typedef int hipc_key;

/* Timeouts, in every module: int64_t nanoseconds. 0 tries once and never
 * waits; HIPC_FOREVER waits until the call can complete or the peer is
 * gone; any other negative value is HIPC_E_BAD_TIMEOUT. */
#define HIPC_FOREVER ((int64_t)-1)

#endif
