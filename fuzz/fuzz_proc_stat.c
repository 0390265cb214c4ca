/* SPDX-License-Identifier: MIT */
/* Fuzz target: the /proc parsers (pure, no syscalls) - each input goes to
 * all three.
 *
 * /proc/PID/stat: only HIPC_OK or HIPC_E_CORRUPT come back; on success the
 * state is the character two places after the last ')' and the start time
 * is the decimal number that opens field 22, which a slow reference parser
 * finds independently.
 * A /proc/sys value: accepted exactly when the input is digits and one
 * final newline with a value within the bound, and then that value.
 * timens_offsets: only HIPC_OK or HIPC_E_CORRUPT, and a boottime offset
 * within the kernel's bound. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hipc/error.h"
#include "proc.h"
#include "procfs.h"
#include "support.h"

/* The reference: find the last ')', then count space-separated fields. */
static int reference(const char *buf, size_t len, uint64_t *start)
{
    size_t close = len;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ')')
            close = i;
    if (close == len)
        return -1;
    size_t i = close + 1;
    for (int field = 2; field < 22; field++) {
        while (i < len && buf[i] == ' ')
            i++;
        if (field == 21)
            break;
        while (i < len && buf[i] != ' ')
            i++;
    }
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++, digits++)
        v = v * 10u + (uint64_t)(buf[i] - '0');
    *start = v;
    return digits > 0 ? 0 : -1;
}

/* The reference for a sysctl value, by a different road: all digits but
 * a final newline, and the digits (leading zeros dropped) compared as a
 * string with the bound printed in decimal. */
static int value_reference(const char *buf, size_t len, uint64_t max,
                           uint64_t *out)
{
    char bound[24];
    if (len < 2 || buf[len - 1] != '\n')
        return -1;
    for (size_t i = 0; i + 1 < len; i++)
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
    size_t i = 0, n = len - 1;
    while (i + 1 < n && buf[i] == '0')
        i++;
    size_t blen =
        (size_t)snprintf(bound, sizeof bound, "%llu", (unsigned long long)max);
    if (n - i > blen || (n - i == blen && memcmp(buf + i, bound, blen) > 0))
        return -1;
    uint64_t v = 0;
    for (; i < n; i++)
        v = v * 10u + (uint64_t)(buf[i] - '0');
    *out = v;
    return 0;
}

static void check_value(const char *buf, size_t len, uint64_t max)
{
    uint64_t got = 0, want = 0;
    int rc = hipc__procfs_parse_value(buf, len, max, &got);
    int ref = value_reference(buf, len, max, &want);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_CORRUPT);
    HIPC_FUZZ_CHECK((rc == HIPC_OK) == (ref == 0));
    HIPC_FUZZ_CHECK(rc != HIPC_OK || got == want);
}

static void check_offsets(const char *buf, size_t len)
{
    int64_t ticks = 0;
    int rc = hipc__proc_parse_offsets(buf, len, 100, &ticks);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_CORRUPT);
    /* KTIME_SEC_MAX / 2 seconds, at 100 ticks a second, either way. */
    HIPC_FUZZ_CHECK(rc != HIPC_OK ||
                    (ticks <= 461168601900LL && ticks >= -461168601900LL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    check_value(buf, size, UINT64_MAX);
    check_value(buf, size, 1048576);
    check_offsets(buf, size);
    char state = 0;
    uint64_t start = 0;
    int rc = hipc__proc_parse_stat(buf, size, &state, &start);
    HIPC_FUZZ_CHECK(rc == HIPC_OK || rc == HIPC_E_CORRUPT);
    if (rc != HIPC_OK)
        return 0;
    const char *close = NULL;
    for (size_t i = 0; i < size; i++)
        if (buf[i] == ')')
            close = buf + i;
    HIPC_FUZZ_CHECK(close != NULL && close + 2 < buf + size);
    HIPC_FUZZ_CHECK(close[1] == ' ' && state == close[2]);
    uint64_t ref = 0;
    HIPC_FUZZ_CHECK(reference(buf, size, &ref) == 0 && ref == start);
    return 0;
}
