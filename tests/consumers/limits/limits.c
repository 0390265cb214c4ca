/* SPDX-License-Identifier: MIT */
/* A consumer of a hipc built with a limit of its own (ci/stages/consumers.sh
 * builds one with -DHIPC_MAX_MSG_BYTES=1024): the installed header must say
 * the value the library was built with, and the library must enforce that
 * same value. HIPC_EXPECT_MAX_MSG_BYTES is what the stage configured. */
#include <hipc/hipc.h>
#include <stdint.h>
#include <stdio.h>

#ifndef HIPC_EXPECT_MAX_MSG_BYTES
#error                                                                         \
    "compile with -DHIPC_EXPECT_MAX_MSG_BYTES=<the value hipc was built with>"
#endif

int main(void)
{
    uint8_t hdr[HIPC_FRAME_HEADER_BYTES];
    if (HIPC_MAX_MSG_BYTES != HIPC_EXPECT_MAX_MSG_BYTES) {
        fprintf(stderr,
                "limits: the header says %lu, hipc was built with %lu\n",
                (unsigned long)HIPC_MAX_MSG_BYTES,
                (unsigned long)HIPC_EXPECT_MAX_MSG_BYTES);
        return 1;
    }
    /* max_payload 0 means "the library's own maximum". */
    int at = hipc_frame_encode_header(hdr, HIPC_MAX_MSG_BYTES, 0);
    int over =
        hipc_frame_encode_header(hdr, (size_t)HIPC_MAX_MSG_BYTES + 1u, 0);
    if (at != HIPC_OK || over >= 0) {
        fprintf(stderr, "limits: the library took %lu bytes: %s, %lu: %s\n",
                (unsigned long)HIPC_MAX_MSG_BYTES, hipc_err_name(at),
                (unsigned long)HIPC_MAX_MSG_BYTES + 1ul, hipc_err_name(over));
        return 1;
    }
    printf("limits: header and library agree, HIPC_MAX_MSG_BYTES = %lu\n",
           (unsigned long)HIPC_MAX_MSG_BYTES);
    return 0;
}
