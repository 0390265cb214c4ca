/* Fuzz target: the /proc/PID/stat parser (pure, no syscalls).
 *
 * Invariants: only HIPC_OK or HIPC_E_CORRUPT come back; on success the state
 * is the character two places after the last ')' and the start time is the
 * decimal number that opens field 22, which a slow reference parser finds
 * independently. */
#include <stdint.h>
#include <string.h>

#include "hipc/error.h"
#include "proc.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
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
